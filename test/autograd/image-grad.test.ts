import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { avgPool2d, conv2d, convTranspose2d, gradcheck, maxPool2d, randn, resize, Rng, tensor, type Tensor } from '../../src/index.js';

// Gradients of the image ops against float64 central finite differences. Each loss weights the output
// with a fixed random tensor so every output element carries a different upstream gradient.

const f64 = { dtype: 'float64' as const };
const weighted = (y: Tensor, seed: number): Tensor => y.mul(randn(y.shape, { seed, ...f64 })).sum();

describe('conv2d gradients', () => {
  const geo = fc.record({
    n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cpg: fc.integer({ min: 1, max: 2 }), opg: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 3, max: 6 }), w: fc.integer({ min: 3, max: 6 }), k: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 2 }), dilation: fc.integer({ min: 1, max: 2 }), padding: fc.oneof(fc.constant<'same'>('same'), fc.integer({ min: 0, max: 2 })),
    seed: fc.nat(1000),
  }).filter((r) => r.h + 4 >= r.dilation * (r.k - 1) + 1 && r.w + 4 >= r.dilation * (r.k - 1) + 1)
    .map((r) => ({ ...r, stride: r.padding === 'same' ? 1 : r.stride, padding: r.padding === 'same' || r.h + 2 * r.padding >= r.dilation * (r.k - 1) + 1 && r.w + 2 * r.padding >= r.dilation * (r.k - 1) + 1 ? r.padding : 2 }));

  it('input and weight gradients match finite differences (stride, padding, dilation, groups)', () => {
    fc.assert(
      fc.property(geo, (r) => {
        const x = randn([r.n, r.groups * r.cpg, r.h, r.w], { seed: r.seed, ...f64 });
        const w = randn([r.groups * r.opg, r.cpg, r.k, r.k], { seed: r.seed + 1, ...f64 });
        const opts = { stride: r.stride, padding: r.padding, dilation: r.dilation, groups: r.groups };
        const report = gradcheck((a, b) => weighted(conv2d(a, b, opts), r.seed + 2), [x, w]);
        expect(report.ok).toBe(true);
      }),
      { numRuns: 15, seed: 1 },
    );
  });

  it('asymmetric padding [top, bottom, left, right] and rectangular kernels', () => {
    const x = randn([1, 2, 5, 4], { seed: 3, ...f64 });
    const w = randn([3, 2, 2, 3], { seed: 4, ...f64 });
    expect(gradcheck((a, b) => weighted(conv2d(a, b, { padding: [0, 2, 1, 0], stride: [2, 1] }), 5), [x, w]).ok).toBe(true);
  });
});

describe('convTranspose2d gradients', () => {
  it('input and weight gradients match finite differences (stride, padding, outputPadding, dilation, groups)', () => {
    const geo = fc.record({
      n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), ipg: fc.integer({ min: 1, max: 2 }), opg: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 2, max: 4 }), w: fc.integer({ min: 2, max: 4 }), k: fc.integer({ min: 1, max: 3 }),
      stride: fc.integer({ min: 1, max: 3 }), dilation: fc.integer({ min: 1, max: 2 }), padding: fc.nat(1), op: fc.nat(2), seed: fc.nat(1000),
    }).map((r) => ({ ...r, op: r.op % Math.max(r.stride, r.dilation) }))
      .filter((r) => (Math.min(r.h, r.w) - 1) * r.stride - 2 * r.padding + r.dilation * (r.k - 1) + r.op + 1 > 0);
    fc.assert(
      fc.property(geo, (r) => {
        const x = randn([r.n, r.groups * r.ipg, r.h, r.w], { seed: r.seed, ...f64 });
        const w = randn([r.groups * r.ipg, r.opg, r.k, r.k], { seed: r.seed + 1, ...f64 });
        const opts = { stride: r.stride, padding: r.padding, outputPadding: r.op, dilation: r.dilation, groups: r.groups };
        expect(gradcheck((a, b) => weighted(convTranspose2d(a, b, opts), r.seed + 2), [x, w]).ok).toBe(true);
      }),
      { numRuns: 15, seed: 2 },
    );
  });
});

describe('pooling gradients', () => {
  const geo = fc.record({
    n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 2, max: 7 }), w: fc.integer({ min: 2, max: 7 }),
    k: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 3 }), padding: fc.nat(1), seed: fc.nat(1000),
  }).filter((r) => 2 * r.padding <= r.k && r.h + 2 * r.padding >= r.k && r.w + 2 * r.padding >= r.k);

  it('maxPool2d matches finite differences away from ties (distinct values, gaps ≥ 0.01)', () => {
    fc.assert(
      fc.property(geo, (r) => {
        const size = r.n * r.c * r.h * r.w;
        // a shuffled ramp: all values distinct, so no window has a tie within the finite-difference step
        const ramp = new Rng(r.seed).shuffle(Array.from({ length: size }, (_, i) => (i - size / 2) * 0.01));
        const x = tensor(ramp, [r.n, r.c, r.h, r.w], f64);
        expect(gradcheck((a) => weighted(maxPool2d(a, { kernel: r.k, stride: r.stride, padding: r.padding }), r.seed), [x]).ok).toBe(true);
      }),
      { numRuns: 20, seed: 3 },
    );
  });

  it('avgPool2d matches finite differences', () => {
    fc.assert(
      fc.property(geo, (r) => {
        const x = randn([r.n, r.c, r.h, r.w], { seed: r.seed, ...f64 });
        expect(gradcheck((a) => weighted(avgPool2d(a, { kernel: r.k, stride: r.stride, padding: r.padding }), r.seed + 1), [x]).ok).toBe(true);
      }),
      { numRuns: 20, seed: 4 },
    );
  });

  it('maxPool2d with ties sends the whole gradient to the first maximum of each window (row-major)', () => {
    const x = tensor([[[[1, 1, 0], [1, 1, 1], [0, 1, 1]]]], undefined, { ...f64, requiresGrad: true });
    maxPool2d(x, { kernel: 2, stride: 1 }).sum().backward();
    // windows at (0,0), (0,1), (1,0), (1,1) all hold max 1; their first 1 is at (0,0), (0,1), (1,0), (1,1)
    expect(x.grad!.toArray()).toEqual([[[[1, 1, 0], [1, 1, 0], [0, 0, 0]]]]);
  });

  it('maxPool2d ties with padding: the first real cell wins, never a padded one', () => {
    const x = tensor([[[[0, 0], [0, 0]]]], undefined, { ...f64, requiresGrad: true });
    maxPool2d(x, { kernel: 2, stride: 1, padding: 1 }).sum().backward();
    // 9 windows; each sends 1 to its first real (row-major) cell
    expect(x.grad!.toArray()).toEqual([[[[4, 2], [2, 1]]]]);
  });
});

describe('resize gradients', () => {
  for (const mode of ['nearest', 'bilinear'] as const) {
    it(`${mode} matches finite differences (up- and down-sampling)`, () => {
      const geo = fc.record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 6 }), oh: fc.integer({ min: 1, max: 9 }), ow: fc.integer({ min: 1, max: 9 }), seed: fc.nat(1000) });
      fc.assert(
        fc.property(geo, (r) => {
          const x = randn([r.n, r.c, r.h, r.w], { seed: r.seed, ...f64 });
          expect(gradcheck((a) => weighted(resize(a, [r.oh, r.ow], mode), r.seed + 1), [x]).ok).toBe(true);
        }),
        { numRuns: 20, seed: 5 },
      );
    });
  }
});
