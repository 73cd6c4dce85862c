import { describe, expect, it } from 'vitest';
import { fromArrays, stack } from '../../src/data/index.js';
import { perClassScores, surfaceScores } from '../../src/metrics/index.js';
import { models, noGrad, train } from '../../src/index.js';

/** Four 8×8 one-channel images with class-index masks: a left band of class 1, a lower block of class 2. */
function threeClassData() {
  const H = 8;
  return fromArrays(
    Array.from({ length: 4 }, (_, i) => ({
      image: Float32Array.from({ length: H * H }, (_, q) => ((q * 7 + i * 13) % 17) / 16),
      mask: Uint8Array.from({ length: H * H }, (_, q) => (q % H < 2 + i ? 1 : Math.floor(q / H) > 5 ? 2 : 0)),
    })),
    { height: H, width: H, classes: 3 },
  );
}

describe('evaluateModel with several classes', () => {
  it('reports each foreground class\'s IoU and Dice and the foreground\'s boundary distances from the model\'s own probabilities, batched or by sliding window; no class scores for one class', async () => {
    const data = threeClassData();
    const model = new models.UNet({ inChannels: 1, outChannels: 3, widths: [4, 8], seed: 3 });
    model.eval();
    const samples = await Promise.all(data.ids.map((_, i) => data.get(i)));
    const batch = stack(samples);
    const probs = noGrad(() => train.probabilities(model.forward(batch.images))).dataSync() as Float32Array;
    const masks = batch.masks.dataSync() as Float32Array;
    for (const protocol of ['per-image', 'pooled'] as const) {
      const expected = perClassScores(probs, masks, { shape: [4, 3, 8, 8], protocol });
      const got = await train.evaluateModel(model, null, data, { batchSize: 3, protocol });
      expect(got.perClass).toEqual(expected);
      expect(expected.some((c) => c.iou > 0)).toBe(true); // a score that could be wrong, not all zeros
      const windowed = await train.evaluateModel(model, null, data, { protocol, window: { patch: 8 } });
      windowed.perClass!.forEach((c, k) => {
        expect(c.iou).toBeCloseTo(expected[k].iou, 5);
        expect(c.dice).toBeCloseTo(expected[k].dice, 5);
      });
    }
    // the boundary distances of the foreground (any class but 0): 1 − P(background) against 1 − mask₀
    const fg = (x: Float32Array) => Float32Array.from({ length: 4 * 64 }, (_, q) => 1 - x[Math.floor(q / 64) * 192 + (q % 64)]);
    const surface = surfaceScores(fg(probs), fg(masks), { shape: [4, 1, 8, 8] });
    expect(surface.images).toBeGreaterThan(0);
    expect((await train.evaluateModel(model, null, data, { batchSize: 3 })).surface).toEqual(surface);
    const windowed = (await train.evaluateModel(model, null, data, { window: { patch: 8 } })).surface;
    expect(windowed.images).toBe(surface.images);
    expect(windowed.hd95).toBeCloseTo(surface.hd95, 4);
    const binary = fromArrays([{ image: new Float32Array(64), mask: new Uint8Array(64) }], { height: 8, width: 8 });
    expect((await train.evaluateModel(new models.UNet({ inChannels: 1, outChannels: 1, widths: [4, 8], seed: 0 }), null, binary)).perClass).toBeUndefined();
  });
});

describe('evaluateModel progress', () => {
  it('reports the images predicted so far: after each batch, or each image by sliding window', async () => {
    const data = threeClassData();
    const model = new models.UNet({ inChannels: 1, outChannels: 3, widths: [4, 8], seed: 3 });
    const calls: [number, number][] = [];
    await train.evaluateModel(model, null, data, { batchSize: 3, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([[3, 4], [4, 4]]);
    calls.length = 0;
    await train.evaluateModel(model, null, data, { window: { patch: 8 }, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
  });
});
