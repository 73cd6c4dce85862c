import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateSync, perClassScores } from '../../src/metrics/index.js';

/** Planar [N, K, H·W] class probabilities giving each pixel the class `predicted[n][q]` (0.8 against 0.1s). */
function probsFor(predicted: number[][], K: number): Float32Array {
  const plane = predicted[0].length;
  const out = new Float32Array(predicted.length * K * plane);
  predicted.forEach((img, n) => img.forEach((k, q) => {
    for (let c = 0; c < K; c++) out[(n * K + c) * plane + q] = c === k ? 0.8 : 0.1;
  }));
  return out;
}

/** One-hot [N, K, H·W] masks of class indices. */
function oneHot(truth: number[][], K: number): Float32Array {
  const plane = truth[0].length;
  const out = new Float32Array(truth.length * K * plane);
  truth.forEach((img, n) => img.forEach((k, q) => (out[(n * K + k) * plane + q] = 1)));
  return out;
}

describe('perClassScores', () => {
  // Image 0: true 0 1 1 / 2 2 0, predicted 0 1 2 / 2 0 0 → class 1: TP 1, FN 1; class 2: TP 1, FP 1, FN 1.
  // Image 1: all background, one pixel predicted 1 → class 1: FP 1 (IoU 0); class 2 neither present nor predicted.
  const truth = [[0, 1, 1, 2, 2, 0], [0, 0, 0, 0, 0, 0]];
  const predicted = [[0, 1, 2, 2, 0, 0], [0, 0, 0, 0, 0, 1]];
  const shape = [2, 3, 2, 3] as const;

  it('per image: the mean over the images where the class is present or predicted (hand-computed)', () => {
    const s = perClassScores(probsFor(predicted, 3), oneHot(truth, 3), { shape });
    expect(s.map((c) => c.class)).toEqual([1, 2]);
    expect(s[0].iou).toBeCloseTo((1 / 2 + 0) / 2, 12);
    expect(s[0].dice).toBeCloseTo((2 / 3 + 0) / 2, 12);
    expect(s[1].iou).toBeCloseTo(1 / 3, 12); // image 1 has nothing of class 2: left out, not counted as 1 or 0
    expect(s[1].dice).toBeCloseTo(2 / 4, 12);
    // precision over the images that predict the class, recall over those that hold it
    expect(s[0].precision).toBeCloseTo((1 + 0) / 2, 12); // image 0: 1/1; image 1: 0/1
    expect(s[0].recall).toBeCloseTo(1 / 2, 12); // image 0 only (image 1 holds no class 1)
    expect([s[1].precision, s[1].recall]).toEqual([1 / 2, 1 / 2]);
    // HD95 (every pixel of a 2-row image is an edge), image 0 only: class 1's distances [0] and [0, 1] → 0.95;
    // class 2's [0, √2] (predicted (0,2) to true (1,1)) and [0, 1] → 0.95·√2; image 1 predicts class 1 where none is
    expect(s[0].hd95).toBeCloseTo(0.95, 12);
    expect(s[1].hd95).toBeCloseTo(0.95 * Math.SQRT2, 12);
  });

  it('pooled: one count over all pixels; a field of view leaves pixels out; a class never seen is NaN', () => {
    const pooled = perClassScores(probsFor(predicted, 3), oneHot(truth, 3), { shape, protocol: 'pooled' });
    expect(pooled[0]).toMatchObject({ class: 1, iou: 1 / 3, dice: 2 / 4, precision: 1 / 2, recall: 1 / 2 }); // TP 1, FP 1, FN 1
    expect(pooled[1]).toMatchObject({ class: 2, iou: 1 / 3, dice: 2 / 4, precision: 1 / 2, recall: 1 / 2 });
    expect(pooled.map((c) => c.hd95)).toEqual(perClassScores(probsFor(predicted, 3), oneHot(truth, 3), { shape }).map((c) => c.hd95)); // per image either way
    const fov = Float32Array.from([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]); // drops image 0's pixel 2 (true 1, predicted 2)
    const inside = perClassScores(probsFor(predicted, 3), oneHot(truth, 3), { shape, protocol: 'pooled', fov });
    // HD95: class 1 is one pixel in both; class 2's true (1,1) lies 1 from the predicted (1,0)
    expect(inside[0]).toEqual({ class: 1, iou: 1 / 2, dice: 2 / 3, precision: 1 / 2, recall: 1, hd95: 0 }); // TP 1, FP 1
    expect(inside[1]).toEqual({ class: 2, iou: 1 / 2, dice: 2 / 3, precision: 1, recall: 1 / 2, hd95: 0.95 }); // TP 1, FN 1
    const none = perClassScores(probsFor([[0, 0]], 3), oneHot([[0, 0]], 3), { shape: [1, 3, 1, 2] });
    expect(none.every((c) => [c.iou, c.dice, c.precision, c.recall, c.hd95].every(Number.isNaN))).toBe(true);
  });

  it('a tie goes to the first class; shapes are checked', () => {
    const tie = Float32Array.from([0.4, 0.4, 0.2]); // [1, 3, 1, 1]: classes 0 and 1 tie → 0
    expect(perClassScores(tie, Float32Array.from([0, 1, 0]), { shape: [1, 3, 1, 1], protocol: 'pooled' })[0]).toEqual({ class: 1, iou: 0, dice: 0, precision: NaN, recall: 0, hd95: NaN });
    expect(() => perClassScores(new Float32Array(5), new Float32Array(6), { shape: [1, 3, 1, 2] })).toThrow(/needs 6 values, got probabilities 5 and masks 6/);
    expect(() => perClassScores(new Float32Array(6), new Float32Array(6), { shape: [1, 3, 1, 2], fov: new Float32Array(3) })).toThrow(/fov has 3 values/);
  });

  it('with two classes, pooled, class 1 scores as the binary metrics do at threshold 0.5 (no ties drawn)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0.01, max: 0.99, noNaN: true }).filter((p) => Math.abs(p - 0.5) > 1e-6), fc.boolean()), { minLength: 4, maxLength: 40 }),
        (pixels) => {
          const n = pixels.length;
          const probs = new Float32Array(2 * n);
          const masks = new Float32Array(2 * n);
          pixels.forEach(([p, fg], q) => {
            probs[q] = 1 - p;
            probs[n + q] = p;
            masks[(fg ? n : 0) + q] = 1;
          });
          const [c1] = perClassScores(probs, masks, { shape: [1, 2, 1, n], protocol: 'pooled' });
          const binary = evaluateSync(probs.subarray(n), masks.subarray(n), { protocol: 'pooled' });
          const seen = pixels.some(([p, fg]) => fg || p > 0.5);
          if (!seen) return Number.isNaN(c1.iou);
          expect(c1.iou).toBeCloseTo(binary.iou, 12);
          expect(c1.dice).toBeCloseTo(binary.dice, 12);
          if (pixels.some(([p]) => p > 0.5)) expect(c1.precision).toBeCloseTo(binary.precision, 12);
          if (pixels.some(([, fg]) => fg)) expect(c1.recall).toBeCloseTo(binary.recall, 12);
          return true;
        },
      ),
    );
  });
});
