import { describe, expect, it } from 'vitest';
import { groupScores } from '../../src/metrics/index.js';

describe('groupScores', () => {
  it('pools each group\'s images, then averages over the groups (hand-computed)', () => {
    // images of 1×4: a = images 0 and 2, b = image 1
    // image 0: predicted 1 1 0 0, true 1 0 0 0 → TP 1 FP 1; image 2: predicted 0 0 0 0, true 0 0 1 1 → FN 2
    // image 1: predicted 0 1 1 0, true 0 1 1 0 → TP 2
    const probs = [0.9, 0.8, 0.1, 0.2, /**/ 0.1, 0.7, 0.6, 0, /**/ 0, 0.3, 0.4, 0.1];
    const masks = [1, 0, 0, 0, /**/ 0, 1, 1, 0, /**/ 0, 0, 1, 1];
    const g = groupScores(probs, masks, { shape: [3, 1, 1, 4], groups: ['a', 'b', 'a'] });
    // a: TP 1, FP 1, FN 2 → IoU 1/4, Dice 2/5; b: IoU 1, Dice 1
    expect(g.perGroup).toEqual([
      { group: 'a', images: 2, iou: 1 / 4, dice: 2 / 5 },
      { group: 'b', images: 1, iou: 1, dice: 1 },
    ]);
    expect(g.groups).toBe(2);
    expect(g.iou).toBeCloseTo((1 / 4 + 1) / 2, 12);
    expect(g.dice).toBeCloseTo((2 / 5 + 1) / 2, 12);
    // a field of view that leaves out image 2's true pixels: a has TP 1, FP 1 → Dice 2/3
    const fov = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    expect(groupScores(probs, masks, { shape: [3, 1, 1, 4], groups: ['a', 'b', 'a'], fov }).perGroup[0].dice).toBeCloseTo(2 / 3, 12);
    expect(() => groupScores(probs, masks, { shape: [3, 1, 1, 4], groups: ['a'] })).toThrow(/one group per image \(1\)/);
  });

  it('gives each class\'s Dice pooled within a group, NaN where a class is neither there nor predicted', () => {
    // two 1×2 images of one group, K = 3: true classes [1, 2] and [1, 0], predicted [1, 1] and [1, 0]
    const onehot = (cls: number[]) => Float32Array.from({ length: 3 * cls.length }, (_, q) => (cls[q % cls.length] === Math.floor(q / cls.length) ? 1 : 0));
    const classProbs = Float32Array.from([...onehot([1, 1]), ...onehot([1, 0])]);
    const classMasks = Float32Array.from([...onehot([1, 2]), ...onehot([1, 0])]);
    const fg = (x: Float32Array) => [0, 1, 2, 3].map((q) => 1 - x[Math.floor(q / 2) * 6 + (q % 2)]);
    const g = groupScores(fg(classProbs), fg(classMasks), { shape: [2, 1, 1, 2], groups: ['v', 'v'], classes: { probs: classProbs, masks: classMasks, count: 3 } });
    // class 1: TP 2, FP 1 → Dice 4/5; class 2: FN 1 → Dice 0
    expect(g.classDice).toEqual([4 / 5, 0]);
    const none = groupScores([0, 0], [0, 0], { shape: [1, 1, 1, 2], groups: ['w'], classes: { probs: Float32Array.from([1, 1, 0, 0, 0, 0]), masks: Float32Array.from([1, 1, 0, 0, 0, 0]), count: 3 } });
    expect(none.classDice!.every(Number.isNaN)).toBe(true);
  });

  it('with a voxel size, stacks each whole-volume group\'s images and gives its 3D HD95 and ASSD', () => {
    // group v: two slices of 1×3; predicted voxel (z 0, x 0), true voxel (z 1, x 2); voxels 2 × 1 × 1: √(2² + 2²)
    const probs = [0.9, 0, 0, /**/ 0, 0, 0, /**/ 0.9, 0, 0];
    const masks = [0, 0, 0, /**/ 0, 0, 1, /**/ 1, 0, 0];
    const g = groupScores(probs, masks, { shape: [3, 1, 1, 3], groups: ['v', 'v', 'w'], spacing: new Map([['v', [2, 1, 1] as const]]) });
    expect(g.perGroup[0].hd95).toBeCloseTo(Math.sqrt(8), 12);
    expect(g.perGroup[0].assd).toBeCloseTo(Math.sqrt(8), 12);
    expect(g.perGroup[1].hd95).toBeUndefined(); // w has no voxel size: not a whole volume
    expect(g.hd95).toBeCloseTo(Math.sqrt(8), 12);
    expect(groupScores(probs, masks, { shape: [3, 1, 1, 3], groups: ['v', 'v', 'w'] }).hd95).toBeUndefined();
  });
});
