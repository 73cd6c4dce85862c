import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { objectScores } from '../../src/metrics/index.js';

/** A 6×6 image with the given pixels (y, x) set. */
function image(...pixels: [number, number][]): number[] {
  const out = new Array<number>(36).fill(0);
  for (const [y, x] of pixels) out[y * 6 + x] = 1;
  return out;
}

describe('objectScores', () => {
  it('matches objects by IoU: a square found with one pixel too many, two objects predicted as one blob, a miss', () => {
    const square = [[1, 1], [1, 2], [2, 1], [2, 2]] as [number, number][];
    // image 0: the square predicted with a fifth pixel, IoU 4/5: a match at t = 0.5 … 0.75, not from 0.8 on
    // image 1: two 1×2 bars one column apart, predicted as one 2×3 block: IoU 2/6 each, no match
    // image 2: a square not predicted at all
    const masks = [...image(...square), ...image([0, 0], [1, 0], [0, 2], [1, 2]), ...image(...square)];
    const probs = [...image(...square, [3, 1]), ...image([0, 0], [1, 0], [0, 1], [1, 1], [0, 2], [1, 2]), ...image()];
    const s = objectScores(probs, masks, { shape: [3, 1, 6, 6] });
    expect(s.perImage).toEqual([
      { trueObjects: 1, predictedObjects: 1, matched: 1, dsb: 6 / 10 },
      { trueObjects: 2, predictedObjects: 1, matched: 0, dsb: 0 },
      { trueObjects: 1, predictedObjects: 0, matched: 0, dsb: 0 },
    ]);
    expect(s).toMatchObject({ trueObjects: 4, predictedObjects: 2, matched: 1, f1: 2 / 6 });
    expect(s.dsb).toBeCloseTo((0.6 + 0 + 0) / 3, 12);
  });

  it('separates diagonal neighbours with 4-connectivity, honours the threshold and the field of view', () => {
    const mask = image([0, 0], [1, 1]);
    expect(objectScores(mask, mask, { shape: [1, 1, 6, 6] }).trueObjects).toBe(1);
    expect(objectScores(mask, mask, { shape: [1, 1, 6, 6], connectivity: 4 })).toMatchObject({ trueObjects: 2, matched: 2, f1: 1, dsb: 1 });
    const soft = mask.map((v) => v * 0.4);
    expect(objectScores(soft, mask, { shape: [1, 1, 6, 6] }).predictedObjects).toBe(0);
    expect(objectScores(soft, mask, { shape: [1, 1, 6, 6], threshold: 0.3 }).matched).toBe(1);
    const fov = image([0, 0]);
    expect(objectScores(image([5, 5]), mask, { shape: [1, 1, 6, 6], fov })).toMatchObject({ trueObjects: 1, predictedObjects: 0 });
    // nothing on either side: no DSB score, no F1
    expect(objectScores(image(), image(), { shape: [1, 1, 6, 6] })).toMatchObject({ f1: NaN, dsb: NaN });
    expect(() => objectScores(mask, mask, { shape: [1, 1, 5, 6] })).toThrow(/must be \[N, 1, H, W\]/);
  });

  it('a prediction equal to the mask scores 1, and swapping the two keeps F1', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 36, maxLength: 36 }), fc.array(fc.boolean(), { minLength: 36, maxLength: 36 }), (a, b) => {
        const [x, y] = [a.map(Number), b.map(Number)];
        const same = objectScores(x, x, { shape: [1, 1, 6, 6] });
        if (x.some(Boolean)) expect([same.f1, same.dsb]).toEqual([1, 1]);
        const there = objectScores(x, y, { shape: [1, 1, 6, 6] });
        const back = objectScores(y, x, { shape: [1, 1, 6, 6] });
        expect(back.f1).toBe(there.f1);
        expect(back.matched).toBe(there.matched);
        expect(there.matched).toBeLessThanOrEqual(Math.min(there.trueObjects, there.predictedObjects));
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});
