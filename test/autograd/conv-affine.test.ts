import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, conv2d, conv2dAffine, gradcheck, mul, noGrad, randn, relu, reshape, type Tensor } from '../../src/index.js';

// conv2dAffine = relu?(conv2d(x, w)·scale + shift): the fused cpu kernel (no gradient needed) against the
// composed ops, bit for bit, and the gradients of the composed path against finite differences.

const composed = (x: Tensor, w: Tensor, s: Tensor, t: Tensor, opts: Parameters<typeof conv2dAffine>[4] = {}): Tensor => {
  const c = [1, w.shape[0], 1, 1];
  const y = add(mul(conv2d(x, w, opts), reshape(s, c)), reshape(t, c));
  return opts.relu ? relu(y) : y;
};
const bits = (t: Tensor): number[] => Array.from(t.dataSync());

describe('conv2dAffine, fused (cpu, no gradient)', () => {
  // 3×3 stride 1 (the direct layout, scale and shift in the copy-out), a 1×1 and a strided conv (the
  // other conv paths, then one loop), float32 and float64
  const cases = [
    { name: '3×3 padding 1, large enough for both threads', x: [2, 16, 64, 64], w: [24, 16, 3, 3], opts: { padding: 1 } },
    { name: '3×3 padding 1, small', x: [3, 5, 9, 7], w: [6, 5, 3, 3], opts: { padding: 1 } },
    // 24 output rows: a column block of the GEMM holds about 87.7K grid positions, so image rows are cut
    // between two blocks; an odd width leaves three values a row past the last whole vector
    { name: '3×3 padding 1, odd width 301, over two column blocks', x: [1, 2, 300, 301], w: [24, 2, 3, 3], opts: { padding: 1 } },
    { name: '3×3 dilation 2, no padding', x: [1, 4, 12, 12], w: [5, 4, 3, 3], opts: { dilation: 2 } },
    { name: '1×1 (pointwise)', x: [2, 6, 10, 10], w: [4, 6, 1, 1], opts: {} },
    { name: '3×3 stride 2', x: [2, 3, 11, 11], w: [4, 3, 3, 3], opts: { stride: 2, padding: 1 } },
    { name: '2×2 stride 2 (non-overlapping patches)', x: [2, 3, 8, 8], w: [5, 3, 2, 2], opts: { stride: 2 } },
  ] as const;
  for (const dtype of ['float32', 'float64'] as const) {
    for (const c of cases) {
      it(`${c.name}, ${dtype}: the same bits as conv2d, mul, add, relu`, () => {
        const x = randn(c.x, { seed: 1, dtype });
        const w = randn(c.w, { seed: 2, dtype });
        const s = randn([c.w[0]], { seed: 3, dtype });
        const t = randn([c.w[0]], { seed: 4, dtype });
        for (const relu of [false, true]) {
          const opts = { ...c.opts, relu };
          const fused = noGrad(() => conv2dAffine(x, w, s, t, opts));
          const want = composed(x, w, s, t, opts);
          expect(fused.shape).toEqual(want.shape);
          const [got, ref] = [bits(fused), bits(want)];
          // a count, not toEqual: a diff of 200K numbers takes vitest minutes to print
          expect(ref.filter((v, i) => !Object.is(v, got[i])).length).toBe(0);
          if (relu) expect(bits(fused).filter((v) => v === 0).length).toBeGreaterThan(0);
        }
      });
    }
  }

  it('names the shapes when scale or shift do not match the output channels', () => {
    const x = randn([1, 2, 5, 5], { seed: 1 });
    const w = randn([3, 2, 3, 3], { seed: 2 });
    expect(() => conv2dAffine(x, w, randn([2], { seed: 3 }), randn([3], { seed: 4 }))).toThrow(/conv2dAffine: scale and shift must be \[3\] for weight \[3,2,3,3\], got \[2\]/);
  });
});

describe('conv2dAffine gradients (composed when a gradient is needed)', () => {
  const f64 = { dtype: 'float64' as const };
  const weighted = (y: Tensor, seed: number): Tensor => y.mul(randn(y.shape, { seed, ...f64 })).sum();

  it('x, w, scale and shift match finite differences', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 3, max: 6 }), fc.nat(1000), (cin, cout, h, seed) => {
        const x = randn([2, cin, h, h], { seed, ...f64 });
        const w = randn([cout, cin, 3, 3], { seed: seed + 1, ...f64 });
        const s = randn([cout], { seed: seed + 2, ...f64 });
        const t = randn([cout], { seed: seed + 3, ...f64 });
        expect(gradcheck((a, b, c, d) => weighted(conv2dAffine(a, b, c, d, { padding: 1 }), seed + 4), [x, w, s, t]).ok).toBe(true);
      }),
      { numRuns: 10, seed: 3 },
    );
  });

  it('with the ReLU, away from its kink', () => {
    const x = randn([2, 2, 5, 5], { seed: 7, ...f64 });
    const w = randn([3, 2, 3, 3], { seed: 8, ...f64 });
    const s = randn([3], { seed: 9, ...f64 });
    const t = randn([3], { seed: 10, ...f64 });
    const pre = bits(composed(x, w, s, t, { padding: 1 }));
    expect(Math.min(...pre.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(pre.some((v) => v < 0) && pre.some((v) => v > 0)).toBe(true);
    expect(gradcheck((a, b, c, d) => weighted(conv2dAffine(a, b, c, d, { padding: 1, relu: true }), 11), [x, w, s, t]).ok).toBe(true);
  });
});
