import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/index.js';
import { evaluate, evaluateSync, perImageResultsSync, perImageSync, pooled, pooledSync } from '../../src/metrics/index.js';

// Two 2×4 images, [N=2, 1, 2, 4].
// Image 0: the target has 4 pixels, predicted exactly. Image 1: one target pixel missed, one false alarm.
const shape = [2, 1, 2, 4];
const target = [
  1, 1, 0, 0,
  1, 1, 0, 0,
  0, 0, 0, 1,
  0, 0, 0, 0,
];
const pred = [
  0.9, 0.8, 0.1, 0.2,
  0.7, 0.6, 0.3, 0.0,
  0.6, 0.1, 0.2, 0.4,
  0.0, 0.1, 0.3, 0.2,
];

describe('evaluate protocols', () => {
  it('per-image and pooled differ where they must (hand-computed)', () => {
    const per = perImageSync(pred, target, { shape });
    // image 0: tp 4 fp 0 fn 0 tn 4 → iou 1;  image 1: tp 0 fp 1 fn 1 tn 6 → iou 0.
    expect(per.iou).toBeCloseTo(0.5, 12);
    expect(per.dice).toBeCloseTo(0.5, 12);
    expect(per.precision).toBeCloseTo(0.5, 12);
    expect(per.recall).toBeCloseTo(0.5, 12);
    expect(per.specificity).toBeCloseTo((1 + 6 / 7) / 2, 12);
    expect(per.accuracy).toBeCloseTo((1 + 6 / 8) / 2, 12);
    // pooled: tp 4 fp 1 fn 1 tn 10
    const pool = pooledSync(pred, target, { shape });
    expect(pool.iou).toBeCloseTo(4 / 6, 12);
    expect(pool.dice).toBeCloseTo(8 / 10, 12);
    expect(pool.precision).toBeCloseTo(4 / 5, 12);
    expect(pool.recall).toBeCloseTo(4 / 5, 12);
    expect(pool.specificity).toBeCloseTo(10 / 11, 12);
    expect(pool.accuracy).toBeCloseTo(14 / 16, 12);
    expect(pool.iou).not.toBeCloseTo(per.iou, 2);
  });

  it('AUC per image is averaged; pooled AUC pairs across images (continuous scores)', () => {
    // image 0: positives {0.9,0.8,0.7,0.6} beat every negative {0.1,0.2,0.3,0.0} → 1.
    // image 1: positive 0.4 beats 0.1,0.2,0.0,0.1,0.3,0.2 but not 0.6 → 6/7.
    const per = perImageSync(pred, target, { shape });
    expect(per.auc).toBeCloseTo((1 + 6 / 7) / 2, 12);
    // pooled: positives {0.9,0.8,0.7,0.6,0.4}, negatives {0.1,0.2,0.3,0.0,0.6,0.1,0.2,0.0,0.1,0.3,0.2}:
    // 0.9/0.8/0.7 beat all 11; 0.6 beats 10, ties 1; 0.4 beats 10.
    const pool = pooledSync(pred, target, { shape });
    expect(pool.auc).toBeCloseTo((33 + 10.5 + 10) / 55, 12);
  });

  it('AUC uses the probabilities, not the thresholded predictions', () => {
    // Thresholded at 0.5 everything is negative (AUC would be 0.5); the scores rank 3 of 4 pairs right.
    const r = evaluateSync([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], { protocol: 'pooled' });
    expect(r.auc).toBeCloseTo(0.75, 12);
  });

  it('per-image AUC skips images with one class; the results list keeps image order', () => {
    const p = [0.9, 0.1, 0.2, 0.3, /* image 1: no positive */ 0.2, 0.8, 0.1, 0.0];
    const g = [1, 0, 0, 0, 0, 0, 0, 0];
    const list = perImageResultsSync(p, g, { shape: [2, 4] });
    expect(list).toHaveLength(2);
    expect(list[0].auc).toBe(1);
    expect(list[1].auc).toBeNaN();
    expect(list[1].precision).toBe(0); // one false alarm, no positive
    expect(perImageSync(p, g, { shape: [2, 4] }).auc).toBe(1);
  });

  it('the mask (field of view) excludes pixels in both protocols', () => {
    // Mask out image 1's false alarm (index 8) and the bottom row of image 0.
    const mask = target.map((_, i) => (i === 8 || (i >= 4 && i < 8) ? 0 : 1));
    // pooled: image 0 keeps tp 2 tn 2; image 1 keeps fn 1 tn 6 → tp 2 fp 0 fn 1 tn 8.
    const pool = pooledSync(pred, target, { shape, mask });
    expect(pool.iou).toBeCloseTo(2 / 3, 12);
    expect(pool.precision).toBe(1);
    expect(pool.specificity).toBe(1);
    expect(pool.accuracy).toBeCloseTo(10 / 11, 12);
    // per image: iou 1 and 0 → 0.5; accuracy 1 and 6/7.
    const per = perImageSync(pred, target, { shape, mask });
    expect(per.iou).toBeCloseTo(0.5, 12);
    expect(per.accuracy).toBeCloseTo((1 + 6 / 7) / 2, 12);
  });

  it('images with an empty mask are left out; an all-empty mask is an error', () => {
    const mask = [...Array(8).fill(1), ...Array(8).fill(0)];
    const per = perImageSync(pred, target, { shape, mask });
    expect(per.iou).toBe(1);
    expect(perImageResultsSync(pred, target, { shape, mask })).toHaveLength(1);
    expect(() => pooledSync(pred, target, { mask: Array(16).fill(0) })).toThrow(/pooled: no pixel is scored/);
    expect(() => perImageSync(pred, target, { shape, mask: Array(16).fill(0) })).toThrow(/no pixel is scored/);
  });

  it('a plain array without a shape is one image, so per-image equals pooled', () => {
    expect(evaluateSync(pred, target)).toEqual(evaluateSync(pred, target, { protocol: 'pooled' }));
  });

  it('accepts tensors (async and sync) with the same results as arrays', async () => {
    const p = tensor(pred, shape), g = tensor(target, shape);
    const m = tensor(target.map((_, i) => (i === 8 ? 0 : 1)), shape);
    const fromArrays = evaluateSync(Float32Array.from(pred), target, { shape, protocol: 'per-image' });
    const fromTensors = await evaluate(p, g, { protocol: 'per-image' });
    for (const k of Object.keys(fromArrays) as (keyof typeof fromArrays)[]) expect(fromTensors[k]).toBeCloseTo(fromArrays[k], 6);
    expect(evaluateSync(p, g).iou).toBeCloseTo(0.5, 6);
    const masked = await pooled(p, g, { mask: m });
    expect(masked.precision).toBe(1);
    expect(masked.iou).toBeCloseTo(4 / 5, 6);
  });

  it('errors name the function and the shapes', async () => {
    expect(() => evaluateSync(tensor(pred, shape), tensor(pred, [2, 1, 4, 2]))).toThrow(/evaluate: predictions \[2, 1, 2, 4\] and target \[2, 1, 4, 2\]/);
    expect(() => evaluateSync(pred, target, { shape: [1, 2, 2, 4] })).toThrow(/evaluate: expected one channel/);
    expect(() => evaluateSync(pred, target, { shape: [3, 1, 2, 4] })).toThrow(/evaluate: shape \[3, 1, 2, 4\] holds 24/);
    await expect(evaluate(pred, target.slice(1), { shape })).rejects.toThrow(/evaluate: predictions have 16 values but the target has 15/);
    expect(() => evaluateSync(pred, target, { protocol: 'bogus' as 'pooled' })).toThrow(/protocol must be/);
  });
});

describe('TSDoc examples', () => {
  it('run as documented', async () => {
    const { confusionCounts, aucRoc } = await import('../../src/metrics/index.js');
    expect(confusionCounts([0.9, 0.2, 0.7, 0.1], [1, 1, 0, 0])).toEqual({ tp: 1, fp: 1, fn: 1, tn: 1 });
    expect(aucRoc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(evaluateSync([0.9, 0.2, 0.7, 0.1], [1, 1, 0, 0], { protocol: 'pooled' }).iou).toBeCloseTo(1 / 3, 12);
  });
});
