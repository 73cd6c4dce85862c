import { afterAll, describe, expect, it } from 'vitest';
import { Loader, synthetic } from '../../src/data/index.js';
import { prepareGpu, setBackend, sigmoid, tidy } from '../../src/index.js';
import { dice } from '../../src/losses/index.js';
import { Conv2d } from '../../src/nn/index.js';
import { Module } from '../../src/nn/module.js';
import { evaluateModel } from '../../src/train/index.js';
import { READ_AHEAD, readAhead } from '../../src/train/read-ahead.js';
import type { Tensor } from '../../src/tensor/index.js';
import { useSwiftShaderIfNoDriver } from '../tensor/gpu-modes.js';

/** A 3×3 convolution: a model small enough to recompute by hand, batch by batch. */
class Small extends Module {
  conv = new Conv2d(1, 1, { kernel: 3, padding: 1, seed: 7 });
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

/**
 * evaluateModel on five images in batches of 2, 2 and 1 against the same batches scored one at a time:
 * the predictions in dataset order and the loss as the mean over images of each batch's (batch-pooled)
 * Dice, weighted by the batch's size.
 */
async function check(): Promise<void> {
  const data = synthetic({ kind: 'blobs', count: 5, size: 16, seed: 2 });
  const model = new Small();
  const loss = dice();
  const probs: number[] = [];
  let lossSum = 0;
  for await (const batch of new Loader(data, { batchSize: 2, shuffle: false }).epoch(0)) {
    const { p, l } = tidy(() => {
      const q = sigmoid(model.forward(batch.images));
      return { p: q, l: loss(q, batch.masks) };
    });
    probs.push(...(await p.data()));
    lossSum += (await l.data())[0] * batch.ids.length;
    for (const t of [p, l, batch.images, batch.masks]) t.dispose();
  }
  const r = await evaluateModel(model, loss, data, { batchSize: 2, keepPredictions: true });
  expect(r.predictions!.ids).toEqual(data.ids);
  expect(r.predictions!.probs.length).toBe(probs.length);
  r.predictions!.probs.forEach((v, i) => expect(Math.abs(v - probs[i]), `pixel ${i}`).toBeLessThan(1e-6));
  expect(Math.abs(r.loss - lossSum / 5)).toBeLessThan(1e-6);
}

describe('evaluateModel', () => {
  it('predictions in dataset order and the size-weighted mean loss over uneven batches (cpu)', check);

  it('submits a batch only once fewer than READ_AHEAD reads are pending (readAhead)', async () => {
    expect(READ_AHEAD).toBe(2);
    let release!: () => void;
    const older = new Promise<void>((r) => (release = r));
    const newer = new Promise<void>(() => {});
    let passed = false;
    const waiting = readAhead([older, newer]).then(() => (passed = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(passed).toBe(false);
    release();
    await waiting;
    expect(passed).toBe(true);
    // one pending read: the next batch goes at once
    await readAhead([newer]);
  });
});

const vulkan = await useSwiftShaderIfNoDriver();

describe.skipIf(!vulkan)('evaluateModel on gpu:webgpu', () => {
  afterAll(() => void setBackend('cpu'));

  it('the same, with every batch read back after all were submitted', async () => {
    expect((await prepareGpu('webgpu')).ok).toBe(true);
    setBackend('gpu', { mode: 'webgpu' });
    try {
      await check();
    } finally {
      setBackend('cpu');
    }
  });
});
