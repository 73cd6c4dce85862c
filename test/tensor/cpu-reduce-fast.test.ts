import { describe, expect, it } from 'vitest';
import { randn, sum } from '../../src/index.js';

/** The float32 sum of reduce.ts over contiguous runs (four accumulators) against the float64 reference. */
describe('cpu float32 sum over contiguous runs', () => {
  it('agrees with float64 for batch-norm statistics, whole tensors and runs that are not multiples of 4', () => {
    const cases: [number[], number[] | undefined][] = [
      [[8, 16, 32, 32], [0, 2, 3]],
      [[3, 5, 7, 9], [0, 2, 3]],
      [[2, 3, 17], [2]],
      [[1000003], undefined],
      [[4, 21], [1]],
      [[21, 4], [0]],
    ];
    for (const [shape, axes] of cases) {
      const x = randn(shape, { seed: shape.length, dtype: 'float64' });
      const s64 = sum(x, axes).dataSync();
      const s32 = sum(x.cast('float32'), axes).dataSync();
      const scale = Math.sqrt(x.size / s64.length);
      for (let i = 0; i < s64.length; i++) expect(Math.abs(s32[i] - s64[i])).toBeLessThan(1e-5 * scale);
    }
  });
});
