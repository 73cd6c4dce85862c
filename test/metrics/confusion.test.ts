import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accuracy, confusionCounts, dice, iou, precision, recall, specificity, type ConfusionCounts } from '../../src/metrics/index.js';

// 3 TP, 1 FP, 2 FN, 4 TN, laid out by hand (threshold 0.5).
const pred = [0.9, 0.8, 0.7, 0.6, 0.1, 0.49, 0.2, 0.3, 0.0, 0.45];
const target = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0];

const all = (c: ConfusionCounts) => ({ iou: iou(c), dice: dice(c), precision: precision(c), recall: recall(c), specificity: specificity(c), accuracy: accuracy(c) });

describe('confusionCounts and ratios', () => {
  it('match a hand-computed confusion matrix', () => {
    const c = confusionCounts(pred, target);
    expect(c).toEqual({ tp: 3, fp: 1, fn: 2, tn: 4 });
    const m = all(c);
    expect(m.iou).toBeCloseTo(3 / 6, 12);
    expect(m.dice).toBeCloseTo(6 / 9, 12);
    expect(m.precision).toBeCloseTo(3 / 4, 12);
    expect(m.recall).toBeCloseTo(3 / 5, 12);
    expect(m.specificity).toBeCloseTo(4 / 5, 12);
    expect(m.accuracy).toBeCloseTo(7 / 10, 12);
    // The field's bug: "Jaccard" reported as accuracy. They differ here.
    expect(m.iou).not.toBeCloseTo(m.accuracy, 3);
  });

  it('takes the threshold option and counts pred == threshold as positive', () => {
    expect(confusionCounts(pred, target, { threshold: 0.65 })).toEqual({ tp: 3, fp: 0, fn: 2, tn: 5 });
    expect(confusionCounts([0.5, 0.5], [1, 0])).toEqual({ tp: 1, fp: 1, fn: 0, tn: 0 });
    expect(confusionCounts(Float32Array.from([0.3]), Float32Array.from([1]), { threshold: 0.3 })).toEqual({ tp: 1, fp: 0, fn: 0, tn: 0 });
  });

  it('binarises soft targets at 0.5', () => {
    expect(confusionCounts([1, 1, 0, 0], [0.51, 0.5, 0.9, 0.2])).toEqual({ tp: 1, fp: 1, fn: 1, tn: 1 });
  });

  it('the mask excludes pixels', () => {
    // Drop the FP (index 3) and one FN (index 4).
    const mask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1];
    expect(confusionCounts(pred, target, { mask })).toEqual({ tp: 3, fp: 0, fn: 1, tn: 4 });
  });

  it('masked counts equal the counts of the kept pixels (property)', () => {
    const px = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1), fc.constantFrom(0, 1));
    fc.assert(fc.property(fc.array(px, { maxLength: 40 }), (rows) => {
      const c = confusionCounts(rows.map((r) => r[0]), rows.map((r) => r[1]), { mask: rows.map((r) => r[2]) });
      const kept = rows.filter((r) => r[2] === 1);
      const expected = {
        tp: kept.filter(([p, g]) => p >= 0.5 && g === 1).length,
        fp: kept.filter(([p, g]) => p >= 0.5 && g === 0).length,
        fn: kept.filter(([p, g]) => p < 0.5 && g === 1).length,
        tn: kept.filter(([p, g]) => p < 0.5 && g === 0).length,
      };
      expect(c).toEqual(expected);
    }));
  });

  it('empty prediction on empty target scores 1 everywhere', () => {
    const c = confusionCounts([0.1, 0.2, 0.3], [0, 0, 0]);
    expect(c).toEqual({ tp: 0, fp: 0, fn: 0, tn: 3 });
    expect(all(c)).toEqual({ iou: 1, dice: 1, precision: 1, recall: 1, specificity: 1, accuracy: 1 });
  });

  it('missing every positive: precision and recall 0', () => {
    const c = confusionCounts([0.1, 0.2, 0.3], [1, 0, 0]);
    expect(all(c)).toEqual({ iou: 0, dice: 0, precision: 0, recall: 0, specificity: 1, accuracy: 2 / 3 });
  });

  it('predicting positives on an empty target: precision and recall 0', () => {
    const c = confusionCounts([0.9, 0.2], [0, 0]);
    expect(all(c)).toEqual({ iou: 0, dice: 0, precision: 0, recall: 0, specificity: 0.5, accuracy: 0.5 });
  });

  it('a target with no negatives: specificity 1 if nothing is predicted negative, else 0', () => {
    expect(specificity(confusionCounts([0.9, 0.8], [1, 1]))).toBe(1);
    expect(specificity(confusionCounts([0.9, 0.1], [1, 1]))).toBe(0);
  });

  it('nothing scored: accuracy 1 (vacuous)', () => {
    expect(accuracy({ tp: 0, fp: 0, fn: 0, tn: 0 })).toBe(1);
  });

  it('rejects mismatched lengths, NaN predictions and a bad threshold, naming the function', () => {
    expect(() => confusionCounts([0.1, 0.2], [1])).toThrow(/confusionCounts: .*2 values.*1/);
    expect(() => confusionCounts([0.1], [1], { mask: [1, 1] })).toThrow(/confusionCounts: the mask/);
    expect(() => confusionCounts([0.1, NaN], [1, 0])).toThrow(/confusionCounts: prediction 1 is NaN/);
    expect(() => confusionCounts([0.1], [1], { threshold: NaN })).toThrow(/threshold/);
    // A NaN outside the mask is not scored, so not an error.
    expect(confusionCounts([0.9, NaN], [1, 0], { mask: [1, 0] })).toEqual({ tp: 1, fp: 0, fn: 0, tn: 0 });
  });
});
