import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, conv2d, conv2dAffine, conv2dAffinePair, gradcheck, type ConvAffineSpec, mul, noGrad, randn, relu, reshape, type Tensor } from '../../src/index.js';

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

describe('conv2dAffinePair: two conv2dAffine in a row, fused (cpu, no gradient)', () => {
  // the first's output handed to the second in its staging layout where the pitches agree (3 × 3
  // padding 1 twice, or asymmetric pads of one pitch), else the two calls; either way the bits of the
  // two calls. A batch that takes several runs of the staging area, the last shorter; padding rows and
  // columns that hold the first GEMM's values of grid positions outside the image unless zeroed.
  const cases = [
    { name: '3×3 padding 1 twice (U-Net), both threads', x: [9, 16, 64, 64], a: [16, 16, 3, 3], b: [16, 16, 3, 3], pa: 1, pb: 1 },
    // 64 staged channels of 5 images overflow the staging area: runs of 2, 2 and 1 images
    { name: '3×3 padding 1 twice, 64 → 2 → 2 at 128² in three runs, the last short', x: [5, 64, 128, 128], a: [2, 64, 3, 3], b: [2, 2, 3, 3], pa: 1, pb: 1 },
    { name: '3×3 padding 1 twice, odd sizes', x: [3, 5, 9, 7], a: [6, 5, 3, 3], b: [4, 6, 3, 3], pa: 1, pb: 1 },
    { name: 'odd width 301 over two column blocks', x: [1, 2, 300, 301], a: [24, 2, 3, 3], b: [3, 24, 3, 3], pa: 1, pb: 1 },
    { name: '3×3 padding [0, 2, 1, 1] then [1, 1, 0, 2]: asymmetric pads of the same pitch', x: [2, 3, 11, 10], a: [4, 3, 3, 3], b: [5, 4, 3, 3], pa: [0, 2, 1, 1], pb: [1, 1, 0, 2] },
    // a 1×1 conv takes the pointwise GEMM in conv2dAffine, whose depth blocks differ from the direct layout's
    { name: '1×1 twice, 300 input channels: the two calls', x: [2, 300, 6, 6], a: [8, 300, 1, 1], b: [4, 8, 1, 1], pa: 0, pb: 0 },
    { name: '1×1 then 3×3 padding 1: the two calls', x: [2, 300, 6, 6], a: [8, 300, 1, 1], b: [4, 8, 3, 3], pa: 0, pb: 1 },
    { name: 'pitches differ (padding 2 then 1): the two calls', x: [2, 3, 10, 10], a: [4, 3, 5, 5], b: [5, 4, 3, 3], pa: 2, pb: 1 },
    { name: 'a strided first conv: the two calls', x: [2, 3, 11, 11], a: [4, 3, 3, 3], b: [5, 4, 3, 3], pa: 1, pb: 1, stride: 2 },
  ] as const;
  const spec = (w: readonly number[], padding: number | readonly number[], seed: number, dtype: 'float32' | 'float64', relu: boolean, stride = 1): ConvAffineSpec => ({
    w: randn(w, { seed, dtype }),
    scale: randn([w[0]], { seed: seed + 1, dtype }),
    shift: randn([w[0]], { seed: seed + 2, dtype }),
    opts: { padding: padding as 1, stride, relu },
  });
  const twoCalls = (x: Tensor, a: ConvAffineSpec, b: ConvAffineSpec): Tensor =>
    noGrad(() => conv2dAffine(conv2dAffine(x, a.w, a.scale, a.shift, a.opts), b.w, b.scale, b.shift, b.opts));
  // float64 never takes the fused path: the small cases show it falls back
  const small = (c: (typeof cases)[number]): boolean => c.x.reduce((p: number, v: number) => p * v, 1) < 1000;
  for (const dtype of ['float32', 'float64'] as const) {
    for (const c of cases.filter((c) => dtype === 'float32' || small(c))) {
      it(`${c.name}, ${dtype}: the bits of two conv2dAffine calls`, () => {
        // fill the staging area with non-zero values first, so padding left unwritten shows
        noGrad(() => conv2dAffine(randn([8, 16, 64, 64], { seed: 9 }).add(3), randn([16, 16, 3, 3], { seed: 8 }), randn([16], { seed: 7 }), randn([16], { seed: 6 }).add(5), { padding: 1 }));
        const x = randn(c.x, { seed: 1, dtype });
        for (const relu of [false, true]) {
          const a = spec(c.a, c.pa, 2, dtype, relu, 'stride' in c ? c.stride : 1);
          const b = spec(c.b, c.pb, 5, dtype, relu);
          const fused = noGrad(() => conv2dAffinePair(x, a, b));
          const want = twoCalls(x, a, b);
          expect(fused.shape).toEqual(want.shape);
          const [got, ref] = [bits(fused), bits(want)];
          expect(ref.filter((v, i) => !Object.is(v, got[i])).length).toBe(0);
          // and against conv2d, mul, add, relu in float64: the reference the fused kernels are held to
          const f64 = (t: Tensor): Tensor => t.cast('float64');
          const [a64, b64] = [a, b].map((s) => ({ w: f64(s.w), scale: f64(s.scale), shift: f64(s.shift), opts: s.opts }));
          const exact = bits(composed(composed(f64(x), a64.w, a64.scale, a64.shift, a64.opts), b64.w, b64.scale, b64.shift, b64.opts));
          const scaleOf = exact.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(exact.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0)).toBeLessThan(1e-4 * scaleOf);
        }
      });
    }
  }

  it('names the shapes when the second weight does not take the first output', () => {
    const x = randn([1, 2, 5, 5], { seed: 1 });
    const a = spec([3, 2, 3, 3], 1, 2, 'float32', true);
    const b = spec([4, 5, 3, 3], 1, 5, 'float32', true);
    expect(() => noGrad(() => conv2dAffinePair(x, a, b))).toThrow(/conv2dAffinePair: input \[1,3,5,5\] does not match weight \[4,5,3,3\]/);
  });

  it('gradients (the two calls, composed) match finite differences', () => {
    const f64 = { dtype: 'float64' as const };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 3, max: 5 }), fc.nat(1000), (cin, cmid, h, seed) => {
        const x = randn([2, cin, h, h], { seed, ...f64 });
        const params = [[cmid, cin, 3, 3], [cmid], [cmid], [2, cmid, 3, 3], [2], [2]].map((s, i) => randn(s, { seed: seed + 1 + i, ...f64 }));
        const weights = randn([2, 2, h, h], { seed: seed + 9, ...f64 });
        const f = (x: Tensor, w1: Tensor, s1: Tensor, t1: Tensor, w2: Tensor, s2: Tensor, t2: Tensor): Tensor =>
          conv2dAffinePair(x, { w: w1, scale: s1, shift: t1, opts: { padding: 1 } }, { w: w2, scale: s2, shift: t2, opts: { padding: 1 } }).mul(weights).sum();
        expect(gradcheck(f, [x, ...params]).ok).toBe(true);
      }),
      { numRuns: 8, seed: 4 },
    );
  });
});
