import { describe, expect, it } from 'vitest';
import { fromArrays, stack } from '../../src/data/index.js';
import { evaluateSync, keepLargestComponent, perClassScores, surfaceScores } from '../../src/metrics/index.js';
import { losses, models, nn, noGrad, tensor, train, type Tensor } from '../../src/index.js';

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

describe('evaluateModel with mirroring (test-time augmentation)', () => {
  it('scores the mean of the four mirrored passes, batched and by sliding window; the loss stays the plain pass\'s', async () => {
    const H = 8;
    const data = fromArrays(
      Array.from({ length: 3 }, (_, i) => ({
        image: Float32Array.from({ length: H * H }, (_, q) => ((q * 5 + i * 11) % 13) / 12),
        mask: Uint8Array.from({ length: H * H }, (_, q) => (q % H < 3 + i && q < 40 ? 1 : 0)),
      })),
      { height: H, width: H },
    );
    const model = new models.UNet({ inChannels: 1, outChannels: 1, widths: [4, 8], seed: 5 });
    model.eval();
    const batch = stack(await Promise.all(data.ids.map((_, i) => data.get(i))));
    const images = batch.images.dataSync() as Float32Array;
    // mirrored on the host: image n's pixel (y, x) read from (ud ? 7 − y : y, lr ? 7 − x : x)
    const mirror = (a: ArrayLike<number>, lr: boolean, ud: boolean) =>
      Float32Array.from({ length: a.length }, (_, q) => {
        const [n, y, x] = [Math.floor(q / 64), Math.floor(q / 8) % 8, q % 8];
        return a[n * 64 + (ud ? 7 - y : y) * 8 + (lr ? 7 - x : x)];
      });
    const mean = new Float32Array(images.length);
    for (const [lr, ud] of [[false, false], [true, false], [false, true], [true, true]]) {
      const p = noGrad(() => train.probabilities(model.forward(tensor(mirror(images, lr, ud), [3, 1, H, H])))).dataSync();
      mirror(p, lr, ud).forEach((v, q) => (mean[q] += v / 4));
    }
    const masks = batch.masks.dataSync() as Float32Array;
    const expected = evaluateSync(mean, masks, { shape: [3, 1, H, H] });
    const loss = losses.dice();
    const plain = await train.evaluateModel(model, loss, data, { batchSize: 2 });
    const got = await train.evaluateModel(model, loss, data, { batchSize: 2, mirror: true, keepPredictions: true });
    Array.from(got.predictions!.probs).forEach((v, q) => expect(v).toBeCloseTo(mean[q], 6));
    expect(got.auc).toBeCloseTo(expected.auc, 6);
    expect(got.iou).toBeCloseTo(expected.iou, 6);
    expect(got.loss).toBe(plain.loss);
    expect(Array.from(got.predictions!.probs)).not.toEqual(Array.from((await train.evaluateModel(model, null, data, { keepPredictions: true })).predictions!.probs));
    const windowed = await train.evaluateModel(model, null, data, { window: { patch: 8 }, mirror: true, keepPredictions: true });
    Array.from(windowed.predictions!.probs).forEach((v, q) => expect(v).toBeCloseTo(mean[q], 6));
  });
});

describe('evaluateModel keeping the largest object', () => {
  it('scores each image\'s largest predicted component only; several classes are an error', async () => {
    const H = 8;
    // images with two bright blocks each, one of them in the mask: a model that follows brightness predicts both
    const data = fromArrays(
      Array.from({ length: 3 }, (_, i) => ({
        image: Float32Array.from({ length: H * H }, (_, q) => ((q % H < 3 && q < 24 + 8 * i) || (q % H > 5 && q >= 48) ? 0.9 : 0.1)),
        mask: Uint8Array.from({ length: H * H }, (_, q) => (q % H < 3 && q < 24 + 8 * i ? 1 : 0)),
      })),
      { height: H, width: H },
    );
    const model = new (class extends nn.Module {
      forward(x: Tensor): Tensor {
        return x.sub(0.5).mul(10); // bright is foreground
      }
    })();
    const plain = await train.evaluateModel(model, null, data, { keepPredictions: true, threshold: 0.45 });
    const p = plain.predictions!;
    const kept = keepLargestComponent(p.probs, { shape: p.shape, threshold: 0.45 });
    expect(Array.from(kept)).not.toEqual(Array.from(p.probs)); // something was removed, so the scores could differ
    const got = await train.evaluateModel(model, null, data, { keepPredictions: true, threshold: 0.45, keepLargest: true });
    expect(Array.from(got.predictions!.probs)).toEqual(Array.from(kept));
    const expected = evaluateSync(kept, p.masks, { shape: p.shape, threshold: 0.45 });
    for (const k of ['iou', 'dice', 'precision', 'auc'] as const) expect(got[k]).toBe(expected[k]);
    // the stray 2×2 block is gone, the true one kept
    expect(plain.iou).toBeLessThan(1);
    expect(got.iou).toBe(1);
    await expect(train.evaluateModel(new models.UNet({ inChannels: 1, outChannels: 3, widths: [4, 8], seed: 3 }), null, threeClassData(), { keepLargest: true })).rejects.toThrow(/keepLargest keeps the largest object of a one-class model's prediction; this model predicts 3 classes/);
  });
});
