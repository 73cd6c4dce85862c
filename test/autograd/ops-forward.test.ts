import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ops from '../../src/autograd/index.js';
import { tensor, type DType, type Tensor } from '../../src/tensor/index.js';
import {
  axesArb, broadcastPairArb, permutationArb, ravel, shapeArb, shapedValuesArb, sizeOf, unravel, valuesArb, type ShapeArr,
} from '../helpers/arbitraries.js';

// Forward values of the primitives against independent naive computations (index math written from the
// definitions, over plain number arrays in double precision), in float32 and float64.

const DTYPES: DType[] = ['float32', 'float64'];
const RUNS = { numRuns: 30 };
const mk = (v: readonly number[], shape: readonly number[], dtype: DType): Tensor => tensor(Float64Array.from(v), shape, { dtype });
const rnd = (dtype: DType) => (v: number): number => (dtype === 'float32' ? Math.fround(v) : v);
const vals = (t: Tensor): number[] => Array.from(t.dataSync());

/** |got − want| ≤ tol·(1 + |want|) elementwise, with a message naming the index. */
function expectClose(got: readonly number[], want: readonly number[], tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) {
      throw new Error(`index ${i}: got ${got[i]}, want ${want[i]} (tol ${tol})`);
    }
  }
}

/** Reads `values` (shape `from`) at output multi-index `idx` of shape `to` under broadcasting. */
function bcastAt(values: readonly number[], from: ShapeArr, to: ShapeArr, idx: number[]): number {
  const off = to.length - from.length;
  return values[ravel(from.map((d, i) => (d === 1 ? 0 : idx[off + i])), from)];
}

describe.each(DTYPES)('forward values in %s', (dtype) => {
  const r = rnd(dtype);
  const tol = dtype === 'float32' ? 2e-6 : 1e-13;

  it('unary ops vs closed forms', () => {
    const defs: [keyof typeof ops, (x: number) => number, boolean][] = [
      ['neg', (x) => -x, false],
      ['exp', (x) => Math.exp(x), false],
      ['log', (x) => Math.log(x), true],
      ['log1p', (x) => Math.log(1 + x), true],
      ['sqrt', (x) => x ** 0.5, true],
      ['abs', (x) => (x < 0 ? -x : x), false],
      ['sigmoid', (x) => 1 / (1 + Math.exp(-x)), false],
      ['tanh', (x) => (Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1), false],
      ['relu', (x) => (x > 0 ? x : 0), false],
      ['softplus', (x) => Math.log(1 + Math.exp(x)), false],
      ['logSigmoid', (x) => -Math.log(1 + Math.exp(-x)), false],
      ['square', (x) => x * x, false],
      ['reciprocal', (x) => 1 / x, false],
      ['sign', (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), false],
      ['step', (x) => (x > 0 ? 1 : 0), false],
    ];
    fc.assert(
      fc.property(shapedValuesArb(shapeArb(), (n) => valuesArb(n, { minAbs: 0.05, maxAbs: 5 })), ({ shape, values }) => {
        for (const [name, f, positive] of defs) {
          const v = values.map((x) => r(positive ? Math.abs(x) : x));
          const y = (ops[name] as (x: Tensor) => Tensor)(mk(v, shape, dtype));
          expect(y.dtype).toBe(dtype);
          expect(y.shape).toEqual(shape);
          // log1p near 0 and log(1+e^x) lose digits in the naive form; 1e-12 still catches any formula slip
          expectClose(vals(y), v.map((x) => r(f(x))), dtype === 'float32' ? 2e-6 : 1e-12);
        }
      }),
      RUNS,
    );
  });

  it('unary ops at the stable extremes (no overflow to NaN/Infinity)', () => {
    const x = mk([-800, 800, 0], [3], dtype);
    expect(vals(ops.sigmoid(x))).toEqual([0, 1, 0.5]);
    expect(vals(ops.softplus(x))).toEqual([0, 800, r(Math.LN2)]);
    expect(vals(ops.logSigmoid(x))).toEqual([-800, 0, r(-Math.LN2)]);
  });

  it('broadcasting binary ops and comparisons vs a naive loop', () => {
    const defs: [string, (a: number, b: number) => number][] = [
      ['add', (a, b) => a + b], ['sub', (a, b) => a - b], ['mul', (a, b) => a * b], ['div', (a, b) => a / b],
      ['maximum', (a, b) => (a > b ? a : b)], ['minimum', (a, b) => (a < b ? a : b)],
      ['equal', (a, b) => +(a === b)], ['notEqual', (a, b) => +(a !== b)], ['less', (a, b) => +(a < b)],
      ['lessEqual', (a, b) => +(a <= b)], ['greater', (a, b) => +(a > b)], ['greaterEqual', (a, b) => +(a >= b)],
    ];
    // small integers make ties (for comparisons) common
    const v = (n: number) => fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }).filter((x) => x !== 0), fc.double({ min: -3, max: 3, noNaN: true }).filter((x) => Math.abs(x) > 0.01)), { minLength: n, maxLength: n });
    fc.assert(
      fc.property(
        broadcastPairArb().chain(([sa, sb, so]) => fc.tuple(fc.constant([sa, sb, so]), v(sizeOf(sa)), v(sizeOf(sb)))),
        ([[sa, sb, so], va0, vb0]) => {
          const va = va0.map(r);
          const vb = vb0.map(r);
          for (const [name, f] of defs) {
            const y = (ops as unknown as Record<string, (a: Tensor, b: Tensor) => Tensor>)[name](mk(va, sa, dtype), mk(vb, sb, dtype));
            expect(y.shape).toEqual(so);
            const want = Array.from({ length: sizeOf(so) }, (_, o) => {
              const idx = unravel(o, so);
              return r(f(bcastAt(va, sa, so, idx), bcastAt(vb, sb, so, idx)));
            });
            expect(vals(y)).toEqual(want);
          }
          // pow with a positive base
          const pa = va.map((x) => r(Math.abs(x)));
          const y = ops.pow(mk(pa, sa, dtype), mk(vb, sb, dtype));
          const want = Array.from({ length: sizeOf(so) }, (_, o) => {
            const idx = unravel(o, so);
            return r(Math.exp(bcastAt(vb, sb, so, idx) * Math.log(bcastAt(pa, sa, so, idx))));
          });
          expectClose(vals(y), want, dtype === 'float32' ? 2e-6 : 1e-12);
        },
      ),
      RUNS,
    );
  });

  it('where with three-way broadcasting vs a naive loop', () => {
    fc.assert(
      fc.property(
        broadcastPairArb().chain(([sa, sb, so]) =>
          fc.tuple(fc.constant([sa, sb, so]), valuesArb(sizeOf(sa)), valuesArb(sizeOf(sb)), fc.integer({ min: 0, max: so.length }).chain((drop) => {
            const sc = so.slice(drop);
            return fc.tuple(fc.constant(sc), fc.array(fc.constantFrom(0, 1, -2), { minLength: sizeOf(sc), maxLength: sizeOf(sc) }));
          })),
        ),
        ([[sa, sb, so], va, vb, [sc, vc]]) => {
          const y = ops.where(mk(vc, sc, dtype), mk(va, sa, dtype), mk(vb, sb, dtype));
          const want = Array.from({ length: sizeOf(so) }, (_, o) => {
            const idx = unravel(o, so);
            return r(bcastAt(vc, sc, so, idx) !== 0 ? bcastAt(va, sa, so, idx) : bcastAt(vb, sb, so, idx));
          });
          expect(y.shape).toEqual(so);
          expect(vals(y)).toEqual(want);
        },
      ),
      RUNS,
    );
  });

  it('sum/max/min/mean/variance along random axes vs naive folds', () => {
    fc.assert(
      fc.property(
        shapeArb({ maxSize: 60 }).chain((s) => fc.tuple(fc.constant(s), valuesArb(sizeOf(s), { minAbs: 0, maxAbs: 10 }), axesArb(s.length), fc.boolean())),
        ([shape, v0, axes, keepDims]) => {
          const v = v0.map(r);
          const ax = axes === undefined ? shape.map((_, i) => i) : (typeof axes === 'number' ? [axes] : axes).map((a) => (a < 0 ? a + shape.length : a));
          const kept = shape.map((d, i) => (ax.includes(i) ? 1 : d));
          const outShape = keepDims ? kept : shape.filter((_, i) => !ax.includes(i));
          const groups: number[][] = Array.from({ length: sizeOf(kept) }, () => []);
          v.forEach((x, flat) => {
            const idx = unravel(flat, shape);
            groups[ravel(idx.map((k, i) => (ax.includes(i) ? 0 : k)), kept)].push(x);
          });
          const sumD = (g: number[]) => g.reduce((a, b) => a + b, 0);
          const meanD = (g: number[]) => sumD(g) / g.length;
          const t = mk(v, shape, dtype);
          const cases: [Tensor, number[]][] = [
            [ops.sum(t, axes, { keepDims }), groups.map((g) => r(sumD(g)))],
            [ops.max(t, axes, { keepDims }), groups.map((g) => Math.max(...g))],
            [ops.min(t, axes, { keepDims }), groups.map((g) => Math.min(...g))],
            [ops.mean(t, axes, { keepDims }), groups.map((g) => r(meanD(g)))],
            [ops.variance(t, axes, { keepDims }), groups.map((g) => r(meanD(g.map((x) => (x - meanD(g)) ** 2))))],
          ];
          for (const [y, want] of cases) {
            expect(y.shape).toEqual(outShape);
            expectClose(vals(y), want, dtype === 'float32' ? 1e-5 : 1e-12);
          }
        },
      ),
      RUNS,
    );
  });

  it('softmax and logSoftmax vs the naive formula', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1 }).chain((s) => fc.tuple(fc.constant(s), valuesArb(sizeOf(s), { minAbs: 0, maxAbs: 20 }), fc.integer({ min: 0, max: s.length - 1 }))),
        ([shape, v0, axis]) => {
          const v = v0.map(r);
          const t = mk(v, shape, dtype);
          const sm = vals(ops.softmax(t, axis));
          const lsm = vals(ops.logSoftmax(t, axis));
          const st = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
          for (let flat = 0; flat < v.length; flat++) {
            const i = unravel(flat, shape)[axis];
            const base = flat - i * st;
            const row = Array.from({ length: shape[axis] }, (_, j) => v[base + j * st]);
            const z = row.reduce((a, x) => a + Math.exp(x), 0);
            expect(Math.abs(sm[flat] - Math.exp(v[flat]) / z)).toBeLessThanOrEqual(dtype === 'float32' ? 1e-6 : 1e-14);
            expect(Math.abs(lsm[flat] - (v[flat] - Math.log(z)))).toBeLessThanOrEqual(dtype === 'float32' ? 1e-5 : 1e-12);
          }
        },
      ),
      RUNS,
    );
  });

  it('matmul (2-D, batched, broadcast batch) vs a naive triple loop', () => {
    const dim = fc.integer({ min: 1, max: 5 });
    fc.assert(
      fc.property(
        fc.tuple(dim, dim, dim, broadcastPairArb({ maxRank: 3, maxDim: 3, maxSize: 12 })).chain(([m, k, n, [ba, bb, bo]]) =>
          fc.tuple(fc.constant({ m, k, n, ba, bb, bo }), valuesArb(sizeOf(ba) * m * k, { minAbs: 0, maxAbs: 3 }), valuesArb(sizeOf(bb) * k * n, { minAbs: 0, maxAbs: 3 })),
        ),
        ([{ m, k, n, ba, bb, bo }, va0, vb0]) => {
          const va = va0.map(r);
          const vb = vb0.map(r);
          const y = ops.matmul(mk(va, [...ba, m, k], dtype), mk(vb, [...bb, k, n], dtype));
          expect(y.shape).toEqual([...bo, m, n]);
          const want: number[] = [];
          const scale: number[] = [];
          for (let bi = 0; bi < sizeOf(bo); bi++) {
            const idx = unravel(bi, bo);
            const offA = ravel(idx.slice(bo.length - ba.length).map((x, i) => (ba[i] === 1 ? 0 : x)), ba) * m * k;
            const offB = ravel(idx.slice(bo.length - bb.length).map((x, i) => (bb[i] === 1 ? 0 : x)), bb) * k * n;
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                let a = 0;
                for (let p = 0; p < k; p++) {
                  s += va[offA + i * k + p] * vb[offB + p * n + j];
                  a += Math.abs(va[offA + i * k + p] * vb[offB + p * n + j]);
                }
                want.push(s);
                scale.push(a);
              }
            }
          }
          const got = vals(y);
          // float32 accumulates in float32: error bounded by k·2⁻²⁴·Σ|a·b|
          want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThanOrEqual((dtype === 'float32' ? 1e-6 * k : 1e-14) * (scale[i] + 1)));
        },
      ),
      RUNS,
    );
  });

  it('permute, transpose and broadcastTo vs naive index math', () => {
    fc.assert(
      fc.property(
        shapedValuesArb(shapeArb({ minRank: 1, maxSize: 60 })).chain((sv) => fc.tuple(fc.constant(sv), permutationArb(sv.shape.length))),
        ([{ shape, values }, perm]) => {
          const v = values.map(r);
          const y = ops.permute(mk(v, shape, dtype), perm);
          const outShape = perm.map((p) => shape[p]);
          expect(y.shape).toEqual(outShape);
          const want = Array.from({ length: v.length }, (_, o) => {
            const oi = unravel(o, outShape);
            const src = new Array<number>(shape.length);
            perm.forEach((p, i) => (src[p] = oi[i]));
            return v[ravel(src, shape)];
          });
          expect(vals(y)).toEqual(want);
          if (shape.length >= 2) {
            const tt = ops.transpose(mk(v, shape, dtype));
            const ts = [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]];
            expect(tt.shape).toEqual(ts);
            expect(vals(tt)).toEqual(Array.from({ length: v.length }, (_, o) => {
              const oi = unravel(o, ts);
              const src = [...oi];
              [src[src.length - 1], src[src.length - 2]] = [oi[oi.length - 2], oi[oi.length - 1]];
              return v[ravel(src, shape)];
            }));
          }
          const target = [2, ...shape.map((d) => (d === 1 ? 3 : d))];
          const b = ops.broadcastTo(mk(v, shape, dtype), target);
          expect(vals(b)).toEqual(Array.from({ length: sizeOf(target) }, (_, o) => bcastAt(v, shape, target, unravel(o, target))));
        },
      ),
      RUNS,
    );
  });

  it('slice, pad and take vs naive index math', () => {
    fc.assert(
      fc.property(
        shapedValuesArb(shapeArb({ minRank: 1, maxSize: 60 })).chain((sv) =>
          fc.tuple(
            fc.constant(sv),
            fc.tuple(...sv.shape.map((d) => fc.integer({ min: 0, max: d }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 0, max: d - b }))))),
            fc.tuple(...sv.shape.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))),
            fc.double({ min: -5, max: 5, noNaN: true }),
            fc.array(fc.integer({ min: 0, max: sizeOf(sv.shape) - 1 }), { maxLength: 10 }),
          ),
        ),
        ([{ shape, values }, box, widths, value, idx]) => {
          const v = values.map(r);
          const x = mk(v, shape, dtype);
          const begin = box.map(([b]) => b);
          const size = box.map(([, s]) => s);
          const s = ops.slice(x, begin, size);
          expect(s.shape).toEqual(size);
          expect(vals(s)).toEqual(Array.from({ length: sizeOf(size) }, (_, o) => v[ravel(unravel(o, size).map((k, i) => k + begin[i]), shape)]));

          const p = ops.pad(x, widths, value);
          const ps = shape.map((d, i) => d + widths[i][0] + widths[i][1]);
          expect(p.shape).toEqual(ps);
          expect(vals(p)).toEqual(Array.from({ length: sizeOf(ps) }, (_, o) => {
            const src = unravel(o, ps).map((k, i) => k - widths[i][0]);
            return src.every((k, i) => k >= 0 && k < shape[i]) ? v[ravel(src, shape)] : r(value);
          }));

          const tk = ops.take(x, mk(idx, [idx.length], dtype));
          expect(vals(tk)).toEqual(idx.map((i) => v[i]));
        },
      ),
      RUNS,
    );
  });

  it('flip vs naive index math: each flipped axis read backwards', () => {
    fc.assert(
      fc.property(
        shapedValuesArb(shapeArb({ minRank: 1, maxSize: 60 })).chain((sv) => fc.tuple(fc.constant(sv), fc.subarray(sv.shape.map((_, a) => a)))),
        ([{ shape, values }, axes]) => {
          const v = values.map(r);
          const f = ops.flip(mk(v, shape, dtype), axes);
          expect(f.shape).toEqual(shape);
          expect(vals(f)).toEqual(Array.from({ length: sizeOf(shape) }, (_, o) => v[ravel(unravel(o, shape).map((k, i) => (axes.includes(i) ? shape[i] - 1 - k : k)), shape)]));
        },
      ),
      RUNS,
    );
    expect(tensor([[1, 2], [3, 4]], undefined, { dtype }).flip(1).toArray()).toEqual([[2, 1], [4, 3]]);
    expect(() => ops.flip(tensor([1, 2], undefined, { dtype }), 1)).toThrow(/flip/);
  });

  it('take past 2^24 elements: float32 indices are an error, float64 ones reach the last element', () => {
    const n = 2 ** 24 + 2;
    const last = [n - 1, n - 2];
    expect(() => ops.take(tensor(new Float32Array(n), [n]), tensor(last, [2]))).toThrow(`take: x [${n}] has ${n} elements, more than float32 indices name exactly (2^24 = 16777216)`);
    const x = new Float64Array(n);
    x[n - 1] = 7;
    x[n - 2] = 5;
    expect(Array.from(ops.take(tensor(x, [n], { dtype: 'float64' }), tensor(last, [2], { dtype: 'float64' })).dataSync())).toEqual([7, 5]);
  });

  it('concat and stack vs naive index math', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1, maxSize: 16 }).chain((s) =>
          fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s.length - 1 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 })).chain(([s2, ax, lens]) => {
            const shapes = lens.map((l) => s2.map((d, i) => (i === ax ? l : d)));
            return fc.tuple(fc.constant({ shapes, ax }), fc.tuple(...shapes.map((sh) => valuesArb(sizeOf(sh)))));
          }),
        ),
        ([{ shapes, ax }, vs0]) => {
          const vs = vs0.map((v) => v.map(r));
          const y = ops.concat(vs.map((v, i) => mk(v, shapes[i], dtype)), ax);
          const outShape = shapes[0].map((d, i) => (i === ax ? shapes.reduce((a, s) => a + s[ax], 0) : d));
          expect(y.shape).toEqual(outShape);
          expect(vals(y)).toEqual(Array.from({ length: sizeOf(outShape) }, (_, o) => {
            const idx = unravel(o, outShape);
            let k = idx[ax];
            let part = 0;
            while (k >= shapes[part][ax]) k -= shapes[part++][ax];
            idx[ax] = k;
            return vs[part][ravel(idx, shapes[part])];
          }));
          // stack equal shapes along a new axis: out[..., j, ...] = xs[j][...]
          const same = vs.map(() => vs[0]);
          const st = ops.stack(same.map((v) => mk(v, shapes[0], dtype)), ax);
          const ss = [...shapes[0]];
          ss.splice(ax, 0, same.length);
          expect(st.shape).toEqual(ss);
          expect(vals(st)).toEqual(Array.from({ length: sizeOf(ss) }, (_, o) => {
            const idx = unravel(o, ss);
            idx.splice(ax, 1);
            return vs[0][ravel(idx, shapes[0])];
          }));
        },
      ),
      RUNS,
    );
  });
});
