import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abs, clamp, concat, exp, gradcheck, leakyRelu, log, log1p, logSigmoid, logSoftmax, matmul, max, mean, min, neg,
  pad, permute, reciprocal, relu, reshape, sigmoid, slice, softmax, softplus, sqrt, square, squeeze, stack, sum,
  flip, take, tanh, transpose, unsqueeze, variance, where, add, sub, mul, div, pow, maximum, minimum, broadcastTo, expand, axpby,
} from '../../src/autograd/index.js';
import { tensor, type Tensor } from '../../src/tensor/index.js';
import {
  axesArb, axisArb, broadcastPairArb, distinctValuesArb, permutationArb, shapeArb, shapedValuesArb, sizeOf, valuesArb, type ShapeArr,
} from '../helpers/arbitraries.js';
import { f64, weightedSum } from '../helpers/tensors.js';

// Every differentiable op's tape gradient against central finite differences in float64 on cpu.
// Non-scalar outputs are reduced with fixed irregular weights (weightedSum) so each output element
// carries a distinct upstream gradient.

const RUNS = { numRuns: 25 };
const small = shapeArb({ maxSize: 24 });

/** Runs gradcheck element-wise and asserts it passed (it throws with the worst index otherwise). */
function check(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): void {
  const report = gradcheck(f, inputs, { mode: 'elementwise' });
  expect(report.ok).toBe(true);
  expect(report.checks).toBe(inputs.reduce((n, x) => n + x.size, 0));
}

describe('unary op gradients (float64, finite differences)', () => {
  const cases: [string, (x: Tensor) => Tensor, (n: number) => fc.Arbitrary<number[]>][] = [
    ['neg', neg, (n) => valuesArb(n)],
    ['exp', exp, (n) => valuesArb(n)],
    ['log', log, (n) => valuesArb(n, { positive: true, minAbs: 0.2, maxAbs: 3 })],
    ['log1p', log1p, (n) => valuesArb(n, { minAbs: 0, maxAbs: 0.8 })],
    ['sqrt', sqrt, (n) => valuesArb(n, { positive: true, minAbs: 0.2, maxAbs: 3 })],
    ['abs', abs, (n) => valuesArb(n)],
    ['sigmoid', sigmoid, (n) => valuesArb(n, { minAbs: 0, maxAbs: 6 })],
    ['tanh', tanh, (n) => valuesArb(n, { minAbs: 0, maxAbs: 3 })],
    ['relu', relu, (n) => valuesArb(n)],
    ['softplus', softplus, (n) => valuesArb(n, { minAbs: 0, maxAbs: 8 })],
    ['logSigmoid', logSigmoid, (n) => valuesArb(n, { minAbs: 0, maxAbs: 8 })],
    ['square', square, (n) => valuesArb(n)],
    ['reciprocal', reciprocal, (n) => valuesArb(n, { minAbs: 0.2, maxAbs: 3 })],
    ['sign-preserving method chain x.exp().log()', (x) => x.exp().log(), (n) => valuesArb(n)],
  ];
  for (const [name, op, values] of cases) {
    it(`${name}`, () => {
      fc.assert(
        fc.property(shapedValuesArb(small, values), ({ shape, values: v }) => {
          check((x) => weightedSum(op(x)), [f64(v, shape)]);
        }),
        RUNS,
      );
    });
  }

  it('leakyRelu with a random slope, values away from 0', () => {
    fc.assert(
      fc.property(shapedValuesArb(small), fc.double({ min: -0.5, max: 0.5, noNaN: true }), ({ shape, values }, slope) => {
        check((x) => weightedSum(leakyRelu(x, slope)), [f64(values, shape)]);
        check((x) => weightedSum(x.leakyRelu()), [f64(values, shape)]);
      }),
      RUNS,
    );
  });

  it('clamp with both, low-only and high-only bounds, values away from the bounds', () => {
    const bounds = fc.tuple(fc.double({ min: -1, max: 0, noNaN: true }), fc.double({ min: 0.1, max: 1, noNaN: true }));
    fc.assert(
      fc.property(shapedValuesArb(small), bounds, ({ shape, values }, [lo, hi]) => {
        fc.pre(values.every((v) => Math.abs(v - lo) > 0.01 && Math.abs(v - hi) > 0.01));
        check((x) => weightedSum(clamp(x, lo, hi)), [f64(values, shape)]);
        check((x) => weightedSum(clamp(x, lo)), [f64(values, shape)]);
        check((x) => weightedSum(x.clamp(undefined, hi)), [f64(values, shape)]);
      }),
      RUNS,
    );
  });
});

describe('binary op gradients with broadcasting (both operands)', () => {
  const pair = broadcastPairArb({ maxSize: 24 });
  const cases: [string, (a: Tensor, b: Tensor) => Tensor, fc.Arbitrary<number>, fc.Arbitrary<number>][] = [
    ['add', add, fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })],
    ['sub', sub, fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })],
    ['mul', mul, fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })],
    ['div', div, fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0.3, max: 3, noNaN: true }).chain((m) => fc.constantFrom(m, -m))],
    ['pow (base > 0)', pow, fc.double({ min: 0.2, max: 3, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })],
  ];
  for (const [name, op, aVal, bVal] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(
          pair.chain(([sa, sb, so]) => fc.tuple(fc.constant([sa, sb, so] as ShapeArr[]), fc.array(aVal, { minLength: sizeOf(sa), maxLength: sizeOf(sa) }), fc.array(bVal, { minLength: sizeOf(sb), maxLength: sizeOf(sb) }))),
          ([[sa, sb, so], va, vb]) => {
            const a = f64(va, sa);
            const b = f64(vb, sb);
            expect(op(a, b).shape).toEqual(so);
            check((x, y) => weightedSum(op(x, y)), [a, b]);
          },
        ),
        RUNS,
      );
    });
  }

  for (const [name, op] of [['maximum', maximum], ['minimum', minimum]] as const) {
    it(`${name} with distinct values (no ties)`, () => {
      fc.assert(
        fc.property(
          pair.chain(([sa, sb]) => fc.tuple(fc.constant([sa, sb]), distinctValuesArb(sizeOf(sa) + sizeOf(sb)))),
          ([[sa, sb], v]) => {
            check((x, y) => weightedSum(op(x, y)), [f64(v.slice(0, sizeOf(sa)), sa), f64(v.slice(sizeOf(sa)), sb)]);
          },
        ),
        RUNS,
      );
    });
  }

  it('binary ops with a plain-number operand on either side (methods and functions)', () => {
    fc.assert(
      fc.property(shapedValuesArb(small, (n) => valuesArb(n, { positive: true, minAbs: 0.3, maxAbs: 2 })), fc.double({ min: 0.5, max: 2, noNaN: true }), ({ shape, values }, c) => {
        const x = f64(values, shape);
        check((t) => weightedSum(t.add(c).mul(c).sub(c).div(c)), [x]);
        check((t) => weightedSum(sub(c, t)), [x]);
        check((t) => weightedSum(div(c, t)), [x]);
        check((t) => weightedSum(t.pow(c)), [x]);
        check((t) => weightedSum(pow(c, t)), [x]);
      }),
      RUNS,
    );
  });

  it('axpby (α·a + β·b, same shapes): gradients α and β', () => {
    fc.assert(
      fc.property(shapedValuesArb(small), fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), ({ shape, values }, alpha, beta) => {
        const a = f64(values, shape);
        const b = f64(values.map((v, i) => Math.cos(v + i)), shape);
        check((x, y) => weightedSum(axpby(x, alpha, y, beta)), [a, b]);
      }),
      RUNS,
    );
  });

  it('where: gradient goes to the chosen branch, cond broadcast, both branches broadcast', () => {
    fc.assert(
      fc.property(
        pair.chain(([sa, sb, so]) =>
          fc.tuple(
            fc.constant([sa, sb, so] as ShapeArr[]),
            valuesArb(sizeOf(sa)),
            valuesArb(sizeOf(sb)),
            fc.array(fc.boolean(), { minLength: sizeOf(so), maxLength: sizeOf(so) }),
          ),
        ),
        ([[sa, sb, so], va, vb, cv]) => {
          const cond = f64(cv.map(Number), so);
          check((x, y) => weightedSum(where(cond, x, y)), [f64(va, sa), f64(vb, sb)]);
          check((x) => weightedSum(where(cond, x, 0.5)), [f64(va, sa)]);
        },
      ),
      RUNS,
    );
  });

  it('the same tensor used twice accumulates both paths (x·x, x + x)', () => {
    fc.assert(
      fc.property(shapedValuesArb(small), ({ shape, values }) => {
        check((x) => weightedSum(x.mul(x).add(x)), [f64(values, shape)]);
      }),
      RUNS,
    );
  });
});

describe('cast gradient (float64 → float32 → float64 is not gradcheckable, so checked directly)', () => {
  it('the gradient of a float32 cast arrives in float64 with the upstream values', () => {
    fc.assert(
      fc.property(shapedValuesArb(small), ({ shape, values }) => {
        const x = f64(values, shape, true);
        const y = x.cast('float32');
        expect(y.dtype).toBe('float32');
        // d/dx Σ w·cast(x) = w, rounded through float32 on the way back
        const w = values.map((_, i) => 0.5 + i);
        y.mul(tensor(Float32Array.from(w), shape)).sum().backward();
        expect(x.grad!.dtype).toBe('float64');
        expect(x.grad!.shape).toEqual(shape);
        expect(Array.from(x.grad!.dataSync())).toEqual(w.map(Math.fround));
      }),
      { numRuns: 10 },
    );
  });

  it('cast to the same dtype is the identity for values and gradient', () => {
    const x = f64([1, -2, 3], [3], true);
    x.cast('float64').mul(f64([2, 3, 4], [3])).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 3, 4]);
  });
});

describe('reduction gradients along random axes, keepDims true and false', () => {
  const shaped = (values: (n: number) => fc.Arbitrary<number[]>) =>
    shapeArb({ minRank: 0, maxSize: 24 }).chain((s) => fc.record({ shape: fc.constant(s), values: values(sizeOf(s)), axes: axesArb(s.length), keepDims: fc.boolean() }));

  it('sum and mean', () => {
    fc.assert(
      fc.property(shaped((n) => valuesArb(n)), ({ shape, values, axes, keepDims }) => {
        check((x) => weightedSum(sum(x, axes, { keepDims })), [f64(values, shape)]);
        check((x) => weightedSum(mean(x, axes, { keepDims })), [f64(values, shape)]);
      }),
      RUNS,
    );
  });

  it('max and min with distinct values', () => {
    fc.assert(
      fc.property(shaped((n) => distinctValuesArb(n)), ({ shape, values, axes, keepDims }) => {
        check((x) => weightedSum(max(x, axes, { keepDims })), [f64(values, shape)]);
        check((x) => weightedSum(x.min(axes, { keepDims })), [f64(values, shape)]);
      }),
      RUNS,
    );
  });

  it('variance with correction 0 and (where the count allows) 1', () => {
    fc.assert(
      fc.property(shaped((n) => valuesArb(n)), ({ shape, values, axes, keepDims }) => {
        check((x) => weightedSum(variance(x, axes, { keepDims })), [f64(values, shape)]);
        const ax = axes === undefined ? shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
        const count = ax.reduce((n, a) => n * shape[a < 0 ? a + shape.length : a], 1);
        if (count > 1) check((x) => weightedSum(x.variance(axes, { keepDims, correction: 1 })), [f64(values, shape)]);
      }),
      RUNS,
    );
  });

  it('softmax and logSoftmax along an axis', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1, maxSize: 24 }).chain((s) => fc.record({ shape: fc.constant(s), values: valuesArb(sizeOf(s), { minAbs: 0, maxAbs: 3 }), axis: axisArb(s.length) })),
        ({ shape, values, axis }) => {
          check((x) => weightedSum(softmax(x, axis)), [f64(values, shape)]);
          check((x) => weightedSum(logSoftmax(x, axis)), [f64(values, shape)]);
        },
      ),
      RUNS,
    );
  });
});

describe('matmul gradients', () => {
  const dim = fc.integer({ min: 1, max: 3 });
  const vals = (s: ShapeArr) => valuesArb(sizeOf(s), { minAbs: 0, maxAbs: 2 });

  it('2-D, batched, and broadcasting batch dimensions', () => {
    const shapes = fc
      .tuple(dim, dim, dim, broadcastPairArb({ maxRank: 2, maxDim: 3, maxSize: 6 }), fc.constantFrom('2d', 'batched', 'broadcast'))
      .map(([m, k, n, [ba, bb], kind]): [ShapeArr, ShapeArr] => {
        if (kind === '2d') return [[m, k], [k, n]];
        if (kind === 'batched') return [[...ba, m, k], [...ba, k, n]];
        return [[...ba, m, k], [...bb, k, n]];
      });
    fc.assert(
      fc.property(shapes.chain(([sa, sb]) => fc.tuple(fc.constant([sa, sb]), vals(sa), vals(sb))), ([[sa, sb], va, vb]) => {
        check((a, b) => weightedSum(matmul(a, b)), [f64(va, sa), f64(vb, sb)]);
      }),
      RUNS,
    );
  });
});

describe('layout op gradients', () => {
  const shaped = (opts = {}) => shapedValuesArb(shapeArb({ maxSize: 24, ...opts }));

  it('reshape (including -1 and added size-1 axes), squeeze, unsqueeze, flatten', () => {
    fc.assert(
      fc.property(
        shaped().chain((sv) => fc.tuple(fc.constant(sv), fc.shuffledSubarray(sv.shape, { minLength: sv.shape.length, maxLength: sv.shape.length }), fc.integer({ min: 0, max: sv.shape.length }))),
        ([{ shape, values }, target, at]) => {
          const withOne = [...target];
          withOne.splice(at, 0, 1);
          check((x) => weightedSum(reshape(x, withOne)), [f64(values, shape)]);
          check((x) => weightedSum(x.reshape([-1])), [f64(values, shape)]);
          check((x) => weightedSum(squeeze(x)), [f64(values, shape)]);
          check((x) => weightedSum(unsqueeze(x, at)), [f64(values, shape)]);
          check((x) => weightedSum(x.flatten()), [f64(values, shape)]);
        },
      ),
      RUNS,
    );
  });

  it('permute and transpose', () => {
    fc.assert(
      fc.property(
        shaped({ minRank: 1 }).chain((sv) => fc.tuple(fc.constant(sv), permutationArb(sv.shape.length), axisArb(sv.shape.length), axisArb(sv.shape.length))),
        ([{ shape, values }, perm, a0, a1]) => {
          check((x) => weightedSum(permute(x, perm)), [f64(values, shape)]);
          check((x) => weightedSum(x.permute()), [f64(values, shape)]);
          check((x) => weightedSum(transpose(x, a0, a1)), [f64(values, shape)]);
        },
      ),
      RUNS,
    );
  });

  it('broadcastTo / expand over size-1 and new leading axes', () => {
    fc.assert(
      fc.property(
        broadcastPairArb({ maxSize: 24 }).chain(([sa, , so]) => fc.tuple(fc.constant([sa, so]), valuesArb(sizeOf(sa)))),
        ([[sa, so], v]) => {
          check((x) => weightedSum(broadcastTo(x, so)), [f64(v, sa)]);
          check((x) => weightedSum(expand(x, [2, ...so])), [f64(v, sa)]);
        },
      ),
      RUNS,
    );
  });

  it('slice with random begins and sizes (negative begins and -1 sizes included)', () => {
    const box = shaped({ minRank: 1 }).chain((sv) =>
      fc.tuple(
        fc.constant(sv),
        fc.tuple(...sv.shape.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: d - b }), fc.boolean(), fc.boolean())))),
      ),
    );
    fc.assert(
      fc.property(box, ([{ shape, values }, spec]) => {
        const begin = spec.map(([b, , negBegin], i) => (negBegin ? b - shape[i] : b));
        const size = spec.map(([b, s, toEnd], i) => (toEnd && b + s === shape[i] ? -1 : s));
        check((x) => weightedSum(slice(x, begin, size)), [f64(values, shape)]);
      }),
      RUNS,
    );
  });

  it('concat of 1–3 tensors along a random axis', () => {
    const parts = shapeArb({ minRank: 1, maxSize: 8 }).chain((s) =>
      fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s.length - 1 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })),
    );
    fc.assert(
      fc.property(
        parts.chain(([s, ax, lens]) => {
          const shapes = lens.map((l) => s.map((d, i) => (i === ax ? l : d)));
          return fc.tuple(fc.constant({ shapes, ax }), fc.tuple(...shapes.map((sh) => valuesArb(sizeOf(sh)))), fc.boolean());
        }),
        ([{ shapes, ax }, vals, negative]) => {
          const axis = negative ? ax - shapes[0].length : ax;
          check((...xs) => weightedSum(concat(xs, axis)), vals.map((v, i) => f64(v, shapes[i])));
        },
      ),
      RUNS,
    );
  });

  it('stack of 1–3 tensors along a new axis (negative axes included)', () => {
    fc.assert(
      fc.property(
        shapeArb({ maxSize: 8 }).chain((s) =>
          fc.tuple(fc.constant(s), fc.integer({ min: -(s.length + 1), max: s.length }), fc.integer({ min: 1, max: 3 }).chain((n) => fc.array(valuesArb(sizeOf(s)), { minLength: n, maxLength: n }))),
        ),
        ([s, axis, vals]) => {
          const xs = vals.map((v) => f64(v, s));
          const expected = [...s];
          expected.splice(axis < 0 ? axis + s.length + 1 : axis, 0, vals.length);
          expect(stack(xs, axis).shape).toEqual(expected);
          check((...ts) => weightedSum(stack(ts, axis)), xs);
        },
      ),
      RUNS,
    );
  });

  it('pad with random widths and value', () => {
    fc.assert(
      fc.property(
        shaped({ minRank: 1, maxSize: 12 }).chain((sv) => fc.tuple(fc.constant(sv), fc.tuple(...sv.shape.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))), fc.double({ min: -1, max: 1, noNaN: true }))),
        ([{ shape, values }, widths, value]) => {
          check((x) => weightedSum(pad(x, widths, value)), [f64(values, shape)]);
        },
      ),
      RUNS,
    );
  });

  it('take with repeated indices (gradients accumulate)', () => {
    fc.assert(
      fc.property(
        shaped({ minRank: 1 }).chain((sv) => fc.tuple(fc.constant(sv), shapeArb({ maxSize: 12 }).chain((is) => fc.tuple(fc.constant(is), fc.array(fc.integer({ min: 0, max: sizeOf(sv.shape) - 1 }), { minLength: sizeOf(is), maxLength: sizeOf(is) }))))),
        ([{ shape, values }, [ishape, idx]]) => {
          const indices = f64(idx, ishape);
          expect(take(f64(values, shape), indices).shape).toEqual(ishape);
          check((x) => weightedSum(take(x, indices)), [f64(values, shape)]);
        },
      ),
      RUNS,
    );
  });

  it('flip along any axes', () => {
    fc.assert(
      fc.property(
        shaped({ minRank: 1, maxSize: 12 }).chain((sv) => fc.tuple(fc.constant(sv), fc.subarray(sv.shape.map((_, a) => a), { minLength: 1 }))),
        ([{ shape, values }, axes]) => {
          check((x) => weightedSum(flip(x, axes)), [f64(values, shape)]);
        },
      ),
      RUNS,
    );
  });
});
