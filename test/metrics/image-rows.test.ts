import { describe, expect, it } from 'vitest';
import { imageRows } from '../../src/metrics/index.js';

describe('imageRows', () => {
  it('scores each image on its own pixels, inside the field of view, with the true and predicted foreground shares', () => {
    // image a: predictions 1 1 0 0 against 1 0 0 1 → TP 1, FP 1, FN 1, TN 1; image b: all outside the field of view
    const probs = [0.9, 0.6, 0.2, 0.1, 0.9, 0.9, 0.9, 0.9];
    const masks = [1, 0, 0, 1, 1, 1, 1, 1];
    const [a, b] = imageRows(probs, masks, { shape: [2, 1, 1, 4], ids: ['a', 'b'], fov: [1, 1, 1, 1, 0, 0, 0, 0] });
    expect(a).toMatchObject({ id: 'a', iou: 1 / 3, dice: 1 / 2, precision: 1 / 2, recall: 1 / 2, specificity: 1 / 2, accuracy: 1 / 2, foreground: 1 / 2, predicted: 1 / 2 });
    expect(a.auc).toBeCloseTo(0.5, 12); // ranks: 0.9(1) 0.6(0) 0.2(0) 0.1(1)
    // edges (one row: every foreground pixel): predicted 0, 1 and true 0, 3; distances [0, 1] and [0, 2]
    expect(a.hd95).toBeCloseTo(0.95 * 2, 12);
    expect(a.assd).toBeCloseTo(3 / 4, 12);
    expect(b.id).toBe('b');
    for (const k of ['iou', 'dice', 'auc', 'foreground', 'predicted', 'hd95', 'assd'] as const) expect(b[k]).toBeNaN();
    // without a field of view image b counts, all right
    const [, whole] = imageRows(probs, masks, { shape: [2, 1, 1, 4], ids: ['a', 'b'], threshold: 0.95 });
    expect(whole).toMatchObject({ iou: 0, foreground: 1, predicted: 0, hd95: NaN }); // nothing predicted: no boundary distance
    expect(() => imageRows(probs, masks, { shape: [2, 1, 1, 4], ids: ['a'] })).toThrow(/need 2 ids/);
    expect(() => imageRows(probs, masks, { shape: [2, 1, 1, 4], ids: ['a', 'b'], fov: [1, 1] })).toThrow(/got 2 ids, 8 mask values and 2 fov values/);
    expect(() => imageRows(probs, masks, { shape: [2, 4], ids: ['a', 'b'] })).toThrow(/shape \[2, 4\] must be \[N, 1, H, W\]/);
  });
});
