import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, convTranspose2d, convTranspose2dBias, gradcheck, noGrad, randn, reshape, type Tensor } from '../../src/index.js';
import { ConvTranspose2d } from '../../src/nn/index.js';

// convTranspose2dBias = convTranspose2d + bias per channel: the fused cpu kernel (no gradient needed)
// against the composed ops, bit for bit, and the gradients of the composed path against finite differences.

const composed = (x: Tensor, w: Tensor, b: Tensor, opts: Parameters<typeof convTranspose2d>[2] = {}): Tensor =>
  add(convTranspose2d(x, w, opts), reshape(b, [1, b.shape[0], 1, 1]));
const mismatches = (a: Tensor, b: Tensor): number => {
  const [x, y] = [a.dataSync(), b.dataSync()];
  // a count, not toEqual: a diff of 100K numbers takes vitest minutes to print
  let bad = 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) bad++;
  return bad;
};

describe('convTranspose2dBias, fused (cpu, no gradient)', () => {
  // 2×2 stride 2 (the patch path: the bias added in its scatter), with outputPadding (cells no patch
  // covers: the bias in a loop after), 3×3 stride 2 and stride 1 (the other transposed-conv paths)
  const cases = [
    { name: '2×2 stride 2, large enough for both threads', x: [2, 32, 32, 32], w: [32, 16, 2, 2], opts: { stride: 2 } },
    { name: '2×2 stride 2, small', x: [3, 5, 4, 3], w: [5, 7, 2, 2], opts: { stride: 2 } },
    { name: '3×3 stride 3, 120·9 filter rows (more than a result block: a row group split between blocks)', x: [2, 4, 5, 4], w: [4, 120, 3, 3], opts: { stride: 3 } },
    { name: '2×2 stride 2, outputPadding 1', x: [2, 3, 4, 4], w: [3, 4, 2, 2], opts: { stride: 2, outputPadding: 1 } },
    { name: '3×3 stride 2, padding 1', x: [2, 3, 5, 5], w: [3, 4, 3, 3], opts: { stride: 2, padding: 1, outputPadding: 1 } },
    { name: '3×3 stride 1, padding 1', x: [2, 6, 9, 9], w: [6, 5, 3, 3], opts: { padding: 1 } },
  ] as const;
  for (const dtype of ['float32', 'float64'] as const) {
    for (const c of cases) {
      it(`${c.name}, ${dtype}: the same bits as convTranspose2d then add`, () => {
        const x = randn(c.x, { seed: 1, dtype });
        const w = randn(c.w, { seed: 2, dtype });
        const b = randn([c.w[1]], { seed: 3, dtype });
        const fused = noGrad(() => convTranspose2dBias(x, w, b, c.opts));
        const want = composed(x, w, b, c.opts);
        expect(fused.shape).toEqual(want.shape);
        expect(mismatches(fused, want)).toBe(0);
        // and the bias is there: without it most cells differ
        expect(mismatches(fused, convTranspose2d(x, w, c.opts))).toBeGreaterThan(fused.size / 2);
      });
    }
  }

  it('ConvTranspose2d gives the same bits with and without gradients', () => {
    const layer = new ConvTranspose2d(8, 4, { seed: 5 });
    // a bias that is not zero, so the fused add is exercised
    layer.bias!.assign(randn([4], { seed: 6 }));
    const x = randn([2, 8, 6, 6], { seed: 7 });
    const withGrad = layer.forward(x);
    const fused = noGrad(() => layer.forward(x));
    expect(mismatches(fused, withGrad)).toBe(0);
  });

  it('names the shapes when the bias does not match the output channels', () => {
    const x = randn([1, 2, 3, 3], { seed: 1 });
    const w = randn([2, 3, 2, 2], { seed: 2 });
    expect(() => convTranspose2dBias(x, w, randn([2], { seed: 3 }), { stride: 2 })).toThrow(/convTranspose2dBias: bias must be \[3\] for weight \[2,3,2,2\], got \[2\]/);
  });
});

describe('convTranspose2dBias gradients (composed when a gradient is needed)', () => {
  const f64 = { dtype: 'float64' as const };
  it('x, w and bias match finite differences', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), fc.constantFrom(1, 2), fc.nat(1000), (cin, cout, h, stride, seed) => {
        const x = randn([2, cin, h, h], { seed, ...f64 });
        const w = randn([cin, cout, 2, 2], { seed: seed + 1, ...f64 });
        const b = randn([cout], { seed: seed + 2, ...f64 });
        const weights = randn([2, cout, (h - 1) * stride + 2, (h - 1) * stride + 2], { seed: seed + 3, ...f64 });
        expect(gradcheck((a, v, c) => convTranspose2dBias(a, v, c, { stride }).mul(weights).sum(), [x, w, b]).ok).toBe(true);
      }),
      { numRuns: 10, seed: 4 },
    );
  });
});
