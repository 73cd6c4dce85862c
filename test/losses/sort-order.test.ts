import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decreasingOrder } from '../../src/losses/sort-order.js';

// The permutation the Lovász losses sort their errors by: decreasing, ties in index order, exactly what
// a stable comparator sort gives, for float32 (64-bit keys, native sort) and float64 (the comparator).
const byComparator = (v: ArrayLike<number>, base: number, len: number): number[] =>
  Array.from({ length: len }, (_, j) => j).sort((a, b) => v[base + b] - v[base + a]);

describe('decreasingOrder', () => {
  // values drawn from a small set, so ties are common, with ±0, negatives, subnormals and large values
  const pool = [0, -0, 1, -1, 0.5, -0.5, 1e-40, -1e-40, 3.4e38, -3.4e38, 2 ** -20, 7, 7.000001];
  const values = fc.array(fc.oneof(fc.constantFrom(...pool), fc.float({ noNaN: true, noDefaultInfinity: true })), { minLength: 1, maxLength: 300 });

  for (const Arr of [Float32Array, Float64Array]) {
    it(`${Arr.name}: the order of a stable sort by a decreasing comparator, from an offset`, () => {
      fc.assert(
        fc.property(values, fc.nat(5), (vs, skip) => {
          const v = Arr.from([...Array(skip).fill(9), ...vs]);
          const out = new Uint32Array(vs.length);
          decreasingOrder(v, skip, vs.length, out);
          expect(Array.from(out)).toEqual(byComparator(v, skip, vs.length));
        }),
        { numRuns: 200, seed: 11 },
      );
    });
  }

  it('a float32 view into a larger buffer reads its own elements', () => {
    const whole = Float32Array.from([0, 1, 2, 9, 5, 7, 3, 8]);
    const view = whole.subarray(2, 7);
    const out = new Uint32Array(3);
    // 9, 5, 7 (from the view's start, not the buffer's: 1, 2, 9)
    decreasingOrder(view, 1, 3, out);
    expect(Array.from(out)).toEqual([0, 2, 1]);
    const rising = Float32Array.from([1, 2, 3]);
    decreasingOrder(rising, 0, 3, out);
    expect(Array.from(out)).toEqual([2, 1, 0]);
  });
});
