import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { avgPool2d, conv2d, convTranspose2d, matmul, maxPool2d, randn, resize, tensor, valueAndGrad, type DType, type Tensor } from '../../src/index.js';
import { availableParallelism } from 'node:os';
import { gemmKernel, gemmThreadChunks, gemmThreads, useGemmThreads, useSimdKernel } from '../../src/tensor/backends/cpu/gemm.js';

// Independent naive implementations, written from the definitions over plain number arrays.

type Geo4 = { n: number; c: number; h: number; w: number };
const at = (a: ArrayLike<number>, s: Geo4, n: number, c: number, y: number, x: number): number =>
  y < 0 || y >= s.h || x < 0 || x >= s.w ? 0 : a[((n * s.c + c) * s.h + y) * s.w + x];

interface ConvCase {
  n: number; groups: number; cpg: number; opg: number; h: number; w: number; kh: number; kw: number;
  stride: [number, number]; dilation: [number, number]; pad: [number, number, number, number]; padding: 'same' | number | [number, number, number, number];
}

/** y[n, co, oy, ox] = Σ x[n, g·cpg + ci, oy·s − pt + ky·d, ox·s − pl + kx·d] · w[co, ci, ky, kx]. */
function naiveConv(x: number[], w: number[], k: ConvCase): { y: number[]; ho: number; wo: number } {
  const { n, groups, cpg, opg, h, w: wd, kh, kw, stride, dilation, pad } = k;
  const cin = groups * cpg;
  const cout = groups * opg;
  const ho = Math.floor((h + pad[0] + pad[1] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const wo = Math.floor((wd + pad[2] + pad[3] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  const s = { n, c: cin, h, w: wd };
  const y: number[] = [];
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          const g = Math.floor(co / opg);
          let acc = 0;
          for (let ci = 0; ci < cpg; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++)
                acc += at(x, s, b, g * cpg + ci, oy * stride[0] - pad[0] + ky * dilation[0], ox * stride[1] - pad[2] + kx * dilation[1]) * w[((co * cpg + ci) * kh + ky) * kw + kx];
          y.push(acc);
        }
  return { y, ho, wo };
}

/** Transposed conv as a scatter: out[n, g·opg + co, i·s − p + k·d] += x[n, ci, i] · w[ci, co, k]. */
function naiveConvTranspose(x: number[], w: number[], n: number, cin: number, h: number, wd: number, opg: number, kh: number, kw: number, groups: number, s: [number, number], p: [number, number], op: [number, number], d: [number, number]) {
  const ho = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1;
  const wo = (wd - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1;
  const cout = opg * groups;
  const y = new Array<number>(n * cout * ho * wo).fill(0);
  const ipg = cin / groups;
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < cin; ci++)
      for (let iy = 0; iy < h; iy++)
        for (let ix = 0; ix < wd; ix++)
          for (let co = 0; co < opg; co++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const oy = iy * s[0] - p[0] + ky * d[0];
                const ox = ix * s[1] - p[1] + kx * d[1];
                if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                const oc = Math.floor(ci / ipg) * opg + co;
                y[((b * cout + oc) * ho + oy) * wo + ox] += x[((b * cin + ci) * h + iy) * wd + ix] * w[((ci * opg + co) * kh + ky) * kw + kx];
              }
  return { y, ho, wo, cout };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (!(Math.abs(actual[i] - e) <= tol * (1 + Math.abs(e)))) throw new Error(`element ${i}: got ${actual[i]}, expected ${e} (tol ${tol})`);
  }
}

const vals = (len: number) => fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: len, maxLength: len });
const TOL: Record<DType, number> = { float64: 1e-12, float32: 2e-5 };

const convCase = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cpg: fc.integer({ min: 1, max: 3 }), opg: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 2 }), sw: fc.integer({ min: 1, max: 2 }), dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
    padKind: fc.constantFrom('same', 'number', 'four'), p: fc.integer({ min: 0, max: 2 }), p4: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
  })
  .map((r): ConvCase => {
    const stride: [number, number] = r.padKind === 'same' ? [1, 1] : [r.sh, r.sw];
    const dilation: [number, number] = [r.dh, r.dw];
    let pad: [number, number, number, number];
    let padding: ConvCase['padding'];
    if (r.padKind === 'same') {
      const th = r.dh * (r.kh - 1);
      const tw = r.dw * (r.kw - 1);
      pad = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
      padding = 'same';
    } else if (r.padKind === 'number') {
      pad = [r.p, r.p, r.p, r.p];
      padding = r.p;
    } else {
      pad = [...r.p4];
      padding = [...r.p4];
    }
    return { n: r.n, groups: r.groups, cpg: r.cpg, opg: r.opg, h: r.h, w: r.w, kh: r.kh, kw: r.kw, stride, dilation, pad, padding };
  })
  .filter((k) => k.h + k.pad[0] + k.pad[1] >= k.dilation[0] * (k.kh - 1) + 1 && k.w + k.pad[2] + k.pad[3] >= k.dilation[1] * (k.kw - 1) + 1);

describe('cpu conv2d forward', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`matches the summation definition (${dtype}; stride, padding incl. 'same', dilation, groups)`, () => {
      fc.assert(
        fc.property(
          convCase.chain((k) => fc.tuple(fc.constant(k), vals(k.n * k.groups * k.cpg * k.h * k.w), vals(k.groups * k.opg * k.cpg * k.kh * k.kw))),
          ([k, xv, wv]) => {
            const x = tensor(xv, [k.n, k.groups * k.cpg, k.h, k.w], { dtype });
            const w = tensor(wv, [k.groups * k.opg, k.cpg, k.kh, k.kw], { dtype });
            const y = conv2d(x, w, { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups });
            const ref = naiveConv(Array.from(x.dataSync()), Array.from(w.dataSync()), k);
            expect(y.shape).toEqual([k.n, k.groups * k.opg, ref.ho, ref.wo]);
            expectClose(y.dataSync(), ref.y, TOL[dtype]);
          },
        ),
        { numRuns: 40, seed: dtype === 'float64' ? 11 : 12 },
      );
    });
  }

  it('gives the hand-computed 3×3 box sum with padding 1 (PyTorch: [[4,6,4],[6,9,6],[4,6,4]])', () => {
    const y = conv2d(tensor(new Array(9).fill(1), [1, 1, 3, 3]), tensor(new Array(9).fill(1), [1, 1, 3, 3]), { padding: 1 });
    expect(Array.from(y.dataSync())).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });
});

describe('cpu convTranspose2d forward', () => {
  const ctCase = fc
    .record({
      n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), ipg: fc.integer({ min: 1, max: 2 }), opg: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 5 }), w: fc.integer({ min: 1, max: 5 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
      s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      p: fc.tuple(fc.nat(1), fc.nat(1)), op: fc.tuple(fc.nat(2), fc.nat(2)),
    })
    .map((r) => ({ ...r, op: [r.op[0] % Math.max(r.s[0], r.d[0]), r.op[1] % Math.max(r.s[1], r.d[1])] as [number, number] }))
    .filter((r) => (r.h - 1) * r.s[0] - 2 * r.p[0] + r.d[0] * (r.kh - 1) + r.op[0] + 1 > 0 && (r.w - 1) * r.s[1] - 2 * r.p[1] + r.d[1] * (r.kw - 1) + r.op[1] + 1 > 0);
  for (const dtype of ['float64', 'float32'] as const) {
    it(`matches the scatter definition (${dtype}; stride up to 3, outputPadding, dilation, groups)`, () => {
      fc.assert(
        fc.property(
          ctCase.chain((k) => fc.tuple(fc.constant(k), vals(k.n * k.groups * k.ipg * k.h * k.w), vals(k.groups * k.ipg * k.opg * k.kh * k.kw))),
          ([k, xv, wv]) => {
            const cin = k.groups * k.ipg;
            const x = tensor(xv, [k.n, cin, k.h, k.w], { dtype });
            const w = tensor(wv, [cin, k.opg, k.kh, k.kw], { dtype });
            const y = convTranspose2d(x, w, { stride: k.s, padding: k.p, outputPadding: k.op, dilation: k.d, groups: k.groups });
            const ref = naiveConvTranspose(Array.from(x.dataSync()), Array.from(w.dataSync()), k.n, cin, k.h, k.w, k.opg, k.kh, k.kw, k.groups, k.s, k.p, k.op, k.d);
            expect(y.shape).toEqual([k.n, ref.cout, ref.ho, ref.wo]);
            expectClose(y.dataSync(), ref.y, TOL[dtype]);
          },
        ),
        { numRuns: 40, seed: dtype === 'float64' ? 21 : 22 },
      );
    });
  }

  it('upsamples by 2 with a 2×2 kernel of ones into 2×2 blocks', () => {
    const y = convTranspose2d(tensor([1, 2, 3, 4], [1, 1, 2, 2]), tensor([1, 1, 1, 1], [1, 1, 2, 2]), { stride: 2 });
    expect(y.toArray()).toEqual([[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]);
  });
});

describe('cpu pooling forward', () => {
  const poolCase = fc
    .record({
      n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 8 }), w: fc.integer({ min: 1, max: 8 }),
      kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }), ph: fc.nat(1), pw: fc.nat(1),
    })
    .filter((r) => 2 * r.ph <= r.kh && 2 * r.pw <= r.kw && r.h + 2 * r.ph >= r.kh && r.w + 2 * r.pw >= r.kw);

  function naivePool(x: number[], r: { n: number; c: number; h: number; w: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number }, kind: 'max' | 'avg'): number[] {
    const ho = Math.floor((r.h + 2 * r.ph - r.kh) / r.sh) + 1;
    const wo = Math.floor((r.w + 2 * r.pw - r.kw) / r.sw) + 1;
    const out: number[] = [];
    for (let p = 0; p < r.n * r.c; p++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          const cells: number[] = [];
          for (let ky = 0; ky < r.kh; ky++)
            for (let kx = 0; kx < r.kw; kx++) {
              const iy = oy * r.sh - r.ph + ky;
              const ix = ox * r.sw - r.pw + kx;
              if (iy >= 0 && iy < r.h && ix >= 0 && ix < r.w) cells.push(x[(p * r.h + iy) * r.w + ix]);
            }
          out.push(kind === 'max' ? Math.max(...cells) : cells.reduce((a, b) => a + b, 0) / (r.kh * r.kw));
        }
    return out;
  }

  for (const kind of ['max', 'avg'] as const)
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${kind}Pool2d matches the window definition (${dtype})`, () => {
        fc.assert(
          fc.property(poolCase.chain((r) => fc.tuple(fc.constant(r), vals(r.n * r.c * r.h * r.w))), ([r, xv]) => {
            const x = tensor(xv, [r.n, r.c, r.h, r.w], { dtype });
            const opts = { kernel: [r.kh, r.kw] as [number, number], stride: [r.sh, r.sw] as [number, number], padding: [r.ph, r.pw] as [number, number] };
            const y = kind === 'max' ? maxPool2d(x, opts) : avgPool2d(x, opts);
            expectClose(y.dataSync(), naivePool(Array.from(x.dataSync()), r, kind), TOL[dtype]);
          }),
          { numRuns: 40, seed: 31 },
        );
      });
    }

  // float64: the JS window scan; float32: WebAssembly's four windows at a time (f32x4.pmax)
  for (const dtype of ['float64', 'float32'] as const)
  it(`2×2 stride-2 max pooling (the unrolled U-Net path, ${dtype}): first maximum wins, NaN, −∞ and −0 as in the window scan`, () => {
    // values from a small set, so most windows hold ties; odd sizes leave a last row and column unread,
    // widths past 8 take several groups of four windows and a partial one
    const pick = [0, 1, 1, -Infinity, Number.NaN, 2, -1, -0];
    fc.assert(
      fc.property(fc.record({ h: fc.integer({ min: 2, max: 7 }), w: fc.integer({ min: 2, max: 21 }), cells: fc.array(fc.integer({ min: 0, max: pick.length - 1 }), { minLength: 294, maxLength: 294 }) }), ({ h, w, cells }) => {
        const vals = Array.from({ length: 2 * h * w }, (_, i) => pick[cells[i]]);
        const x = tensor(vals, [1, 2, h, w], { dtype, requiresGrad: true });
        const y = maxPool2d(x, { kernel: 2, stride: 2 });
        const [ho, wo] = [Math.floor(h / 2), Math.floor(w / 2)];
        const want: number[] = [];
        const grad = new Array<number>(vals.length).fill(0);
        for (let p = 0; p < 2; p++)
          for (let oy = 0; oy < ho; oy++)
            for (let ox = 0; ox < wo; ox++) {
              // argmaxWindow's rule, written out: the first cell, then any strictly greater one
              let at = p * h * w + 2 * oy * w + 2 * ox;
              for (const d of [1, w, w + 1]) if (vals[p * h * w + 2 * oy * w + 2 * ox + d] > vals[at]) at = p * h * w + 2 * oy * w + 2 * ox + d;
              want.push(vals[at]);
              grad[at] += want.length;
            }
        const got = Array.from(y.dataSync());
        expect(got.length).toBe(want.length);
        // Object.is: −0 must stay −0 where it is the first maximum
        expect(got.filter((v, i) => !Object.is(v, want[i]))).toEqual([]);
        y.mul(tensor(want.map((_, i) => i + 1), y.shape, { dtype })).sum().backward();
        expect(Array.from(x.grad!.dataSync())).toEqual(grad);
      }),
      { numRuns: 60, seed: 32 },
    );
  });

  it('2×2 stride-2 max pooling in float32 agrees with float64 on a U-Net-sized batch (both threads)', () => {
    const x = randn([8, 16, 64, 62], { seed: 33 });
    const y32 = maxPool2d(x, { kernel: 2, stride: 2 }).dataSync();
    const y64 = maxPool2d(x.cast('float64'), { kernel: 2, stride: 2 }).dataSync();
    let bad = 0;
    for (let i = 0; i < y64.length; i++) if (y32[i] !== y64[i]) bad++;
    expect(y32.length).toBe(8 * 16 * 32 * 31);
    expect(bad).toBe(0);
  });

  it('maxPool2d padding never wins over negative values', () => {
    const y = maxPool2d(tensor([-1, -2, -3, -4], [1, 1, 2, 2]), { kernel: 2, stride: 1, padding: 1 });
    expect(y.toArray()).toEqual([[[[-1, -1, -2], [-1, -1, -2], [-3, -3, -4]]]]);
  });

  it('avgPool2d counts padding cells in the divisor (PyTorch count_include_pad=True)', () => {
    const y = avgPool2d(tensor([1, 1, 1, 1], [1, 1, 2, 2]), { kernel: 2, stride: 1, padding: 1 });
    expect(y.toArray()).toEqual([[[[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]]]);
  });
});

describe('cpu resize forward', () => {
  /** PyTorch's upsample kernels (UpSampleKernel.cpp / upsample_bilinear2d), transcribed. */
  function naiveResize(x: number[], n: number, c: number, h: number, w: number, oh: number, ow: number, mode: 'nearest' | 'bilinear'): number[] {
    const out: number[] = [];
    const src = (o: number, inS: number, outS: number) => {
      if (mode === 'nearest') {
        const i = Math.min(Math.floor((o * inS) / outS), inS - 1);
        return { i0: i, i1: i, l: 0 };
      }
      const r = Math.max((inS / outS) * (o + 0.5) - 0.5, 0);
      const i0 = Math.floor(r);
      const p = i0 < inS - 1 ? 1 : 0;
      return { i0, i1: i0 + p, l: r - i0 };
    };
    for (let p = 0; p < n * c; p++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          const a = src(oy, h, oh);
          const b = src(ox, w, ow);
          const v = (y: number, xx: number) => x[(p * h + y) * w + xx];
          out.push((1 - a.l) * ((1 - b.l) * v(a.i0, b.i0) + b.l * v(a.i0, b.i1)) + a.l * ((1 - b.l) * v(a.i1, b.i0) + b.l * v(a.i1, b.i1)));
        }
    return out;
  }

  for (const mode of ['nearest', 'bilinear'] as const)
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${mode} matches PyTorch's source-index formula (${dtype}; up and down)`, () => {
        const shape = fc.record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 1, max: 7 }), w: fc.integer({ min: 1, max: 7 }), oh: fc.integer({ min: 1, max: 11 }), ow: fc.integer({ min: 1, max: 11 }) });
        fc.assert(
          fc.property(shape.chain((r) => fc.tuple(fc.constant(r), vals(r.n * r.c * r.h * r.w))), ([r, xv]) => {
            const x = tensor(xv, [r.n, r.c, r.h, r.w], { dtype });
            const y = resize(x, [r.oh, r.ow], mode);
            expect(y.shape).toEqual([r.n, r.c, r.oh, r.ow]);
            expectClose(y.dataSync(), naiveResize(Array.from(x.dataSync()), r.n, r.c, r.h, r.w, r.oh, r.ow, mode), TOL[dtype]);
          }),
          { numRuns: 40, seed: 41 },
        );
      });
    }

  it('bilinear 2×2 → 4×4 gives PyTorch values (align_corners=False)', () => {
    const y = resize(tensor([1, 2, 3, 4], [1, 1, 2, 2]), [4, 4], 'bilinear');
    expect(y.toArray()).toEqual([[[[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]]]]);
  });

  it('bilinear 1×4 → 1×2 gives PyTorch values [0.5, 2.5]', () => {
    expect(Array.from(resize(tensor([0, 1, 2, 3], [1, 1, 1, 4]), [1, 2], 'bilinear').dataSync())).toEqual([0.5, 2.5]);
  });

  it('nearest picks floor(dst·in/out) like PyTorch: 3 → 5 is [0,0,1,1,2], 5 → 3 is [0,1,3]', () => {
    expect(Array.from(resize(tensor([0, 1, 2], [1, 1, 1, 3]), [1, 5], 'nearest').dataSync())).toEqual([0, 0, 1, 1, 2]);
    expect(Array.from(resize(tensor([0, 1, 2, 3, 4], [1, 1, 1, 5]), [1, 3], 'nearest').dataSync())).toEqual([0, 1, 3]);
  });
});

describe('cpu float32 fast path (packed SIMD GEMM) against the float64 reference', () => {
  // shapes large enough to cross every blocking edge of gemm.ts (KC = 256, MC = 128, NC = 2048, MR×NR = 4×8)
  const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < b.length; i++) {
      num = Math.max(num, Math.abs(a[i] - b[i]));
      den = Math.max(den, Math.abs(b[i]));
    }
    return num / den;
  };

  it('matmul agrees for random shapes, transposes and batch broadcasting', () => {
    fc.assert(
      fc.property(
        fc.record({ m: fc.integer({ min: 1, max: 140 }), k: fc.integer({ min: 1, max: 300 }), n: fc.integer({ min: 1, max: 40 }), ba: fc.constantFrom(1, 2), bb: fc.constantFrom(1, 2), ta: fc.boolean(), tb: fc.boolean(), seed: fc.nat(100) }),
        (r) => {
          const a = randn([r.ba, ...(r.ta ? [r.k, r.m] : [r.m, r.k])], { seed: r.seed, dtype: 'float64' });
          const b = randn([r.bb, ...(r.tb ? [r.n, r.k] : [r.k, r.n])], { seed: r.seed + 1, dtype: 'float64' });
          const a2 = r.ta ? a.transpose(1, 2) : a;
          const b2 = r.tb ? b.transpose(1, 2) : b;
          // reference: explicit float64 sums over the (transposed) row-major values
          const av = a2.dataSync();
          const bv = b2.dataSync();
          const batch = Math.max(r.ba, r.bb);
          const ref = new Float64Array(batch * r.m * r.n);
          for (let t = 0; t < batch; t++)
            for (let i = 0; i < r.m; i++)
              for (let j = 0; j < r.n; j++) {
                let s = 0;
                for (let p = 0; p < r.k; p++) s += av[(r.ba === 1 ? 0 : t) * r.m * r.k + i * r.k + p] * bv[(r.bb === 1 ? 0 : t) * r.k * r.n + p * r.n + j];
                ref[(t * r.m + i) * r.n + j] = s;
              }
          const y = matmul(r.ta ? a.cast('float32').transpose(1, 2) : a.cast('float32'), r.tb ? b.cast('float32').transpose(1, 2) : b.cast('float32'));
          expect(rel(y.dataSync(), ref)).toBeLessThan(1e-5);
        },
      ),
      { numRuns: 15, seed: 51 },
    );
  });

  it('matmul agrees across the NC = 2048 column block', () => {
    const a = randn([5, 300], { seed: 1, dtype: 'float64' });
    const b = randn([300, 2061], { seed: 2, dtype: 'float64' });
    expect(rel(matmul(a.cast('float32'), b.cast('float32')).dataSync(), matmul(a, b).dataSync())).toBeLessThan(1e-5);
  });

  it('conv2d forward, input grad and filter grad agree at a size that crosses every GEMM block', () => {
    // K = 29·9 = 261 > KC and P = 46·46 = 2116 > NC (rows > MC are covered by the matmul property);
    // dilation and asymmetric padding too
    const x = randn([1, 29, 46, 46], { seed: 3, dtype: 'float64' });
    const w = randn([22, 29, 3, 3], { seed: 4, dtype: 'float64' });
    const opts = { padding: [2, 2, 1, 3] as [number, number, number, number], dilation: [2, 1] as [number, number] };
    const loss = (xx: Tensor, ww: Tensor) =>
      valueAndGrad((p: Tensor, q: Tensor) => {
        const y = conv2d(p, q, opts);
        return y.mul(y.detach().tanh()).sum();
      })(xx, ww);
    const r64 = loss(x, w);
    const r32 = loss(x.cast('float32'), w.cast('float32'));
    expect(rel(r32.grads[0].dataSync(), r64.grads[0].dataSync())).toBeLessThan(1e-4);
    expect(rel(r32.grads[1].dataSync(), r64.grads[1].dataSync())).toBeLessThan(1e-4);
    expect(rel(conv2d(x.cast('float32'), w.cast('float32'), opts).dataSync(), conv2d(x, w, opts).dataSync())).toBeLessThan(1e-5);
  });

  it('strided, grouped and pointwise convolutions agree in all three kernels', () => {
    const cases = [
      { x: [2, 8, 33, 35], w: [12, 4, 3, 3], opts: { stride: 2, padding: 1, groups: 2 } },
      { x: [2, 16, 20, 21], w: [24, 16, 1, 1], opts: {} },
      { x: [1, 6, 19, 17], w: [6, 6, 4, 2], opts: { stride: [3, 2] as [number, number], padding: [0, 1, 2, 0] as [number, number, number, number] } },
      // padding beyond the kernel's reach: the flipped conv of the input gradient has negative padding
      { x: [1, 3, 6, 5], w: [4, 3, 1, 1], opts: { padding: 2 } },
      { x: [1, 2, 5, 5], w: [3, 2, 3, 3], opts: { padding: [3, 0, 0, 3] as [number, number, number, number], dilation: 2 } },
    ];
    for (const c of cases) {
      const x = randn(c.x, { seed: 5, dtype: 'float64' });
      const w = randn(c.w, { seed: 6, dtype: 'float64' });
      const f = (p: typeof x, q: typeof w) => conv2d(p, q, c.opts).square().sum();
      const r64 = valueAndGrad(f)(x, w);
      const r32 = valueAndGrad(f)(x.cast('float32'), w.cast('float32'));
      expect(rel(r32.grads[0].dataSync(), r64.grads[0].dataSync())).toBeLessThan(1e-4);
      expect(rel(r32.grads[1].dataSync(), r64.grads[1].dataSync())).toBeLessThan(1e-4);
    }
  });

  it('convTranspose2d (the input-gradient kernel on arbitrary output sizes) agrees', () => {
    const x = randn([2, 24, 17, 15], { seed: 7, dtype: 'float64' });
    const w = randn([24, 10, 3, 3], { seed: 8, dtype: 'float64' });
    const opts = { stride: 2, padding: 1, outputPadding: 1 };
    expect(rel(convTranspose2d(x.cast('float32'), w.cast('float32'), opts).dataSync(), convTranspose2d(x, w, opts).dataSync())).toBeLessThan(1e-5);
    const x1 = randn([1, 8, 9, 9], { seed: 9, dtype: 'float64' });
    const w1 = randn([8, 5, 1, 1], { seed: 10, dtype: 'float64' });
    expect(rel(convTranspose2d(x1.cast('float32'), w1.cast('float32'), { stride: 2 }).dataSync(), convTranspose2d(x1, w1, { stride: 2 }).dataSync())).toBeLessThan(1e-5);
  });
});

describe('cpu GEMM micro-kernels', () => {
  it('runs the WebAssembly SIMD kernel, with fused multiply-adds, on Node 20', () => {
    expect(gemmKernel()).toBe('wasm-simd+fma');
  });

  it('the scalar fallback kernel (no WebAssembly SIMD) gives the same matmul and conv results', () => {
    const a = randn([37, 300], { seed: 11, dtype: 'float64' });
    const b = randn([300, 29], { seed: 12, dtype: 'float64' });
    const x = randn([2, 5, 13, 11], { seed: 13, dtype: 'float64' });
    const w = randn([7, 5, 3, 3], { seed: 14, dtype: 'float64' });
    const f = (p: Tensor, q: Tensor) => conv2d(p, q, { padding: 1 }).square().sum();
    useSimdKernel(false);
    try {
      expect(gemmKernel()).toBe('js');
      const m32 = matmul(a.cast('float32'), b.cast('float32')).dataSync();
      const m64 = matmul(a, b).dataSync();
      expect(Math.max(...m32.map((v, i) => Math.abs(v - m64[i])))).toBeLessThan(1e-4 * Math.sqrt(300));
      const g64 = valueAndGrad(f)(x, w).grads.map((t) => t.dataSync());
      const g32 = valueAndGrad(f)(x.cast('float32'), w.cast('float32')).grads.map((t) => t.dataSync());
      for (let i = 0; i < 2; i++) {
        const scale = Math.max(...g64[i].map(Math.abs));
        expect(Math.max(...g32[i].map((v, j) => Math.abs(v - g64[i][j])))).toBeLessThan(1e-5 * scale);
      }
    } finally {
      useSimdKernel(true);
    }
  });
});

describe('cpu GEMM worker thread', () => {
  it('a worker computes part of large GEMMs, bit-for-bit the same as one thread', async () => {
    if (availableParallelism() < 2 || process.env.SEGRAD_CPU_THREADS === '1') {
      expect(gemmThreads()).toBe(1);
      return;
    }
    expect(gemmThreads()).toBe(2);
    const a = randn([200, 300], { seed: 21 });
    const b = randn([300, 700], { seed: 22 });
    const x = randn([2, 16, 40, 40], { seed: 23 });
    const w = randn([24, 16, 3, 3], { seed: 24 });
    const run = () => [matmul(a, b), conv2d(x, w, { padding: 1 })].map((t) => Array.from(t.dataSync()));
    useGemmThreads(false);
    const single = run();
    useGemmThreads(true);
    // the worker boots asynchronously; until then the main thread does every chunk itself
    const before = gemmThreadChunks().worker;
    let both = run();
    for (let i = 0; i < 50 && gemmThreadChunks().worker === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      useGemmThreads(true); // ends a back-off a busy machine may have caused
      both = run();
    }
    expect(gemmThreadChunks().worker).toBeGreaterThan(before);
    expect(both).toEqual(single);
  });
});
