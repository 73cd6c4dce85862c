import { afterAll, describe, expect, it } from 'vitest';
import { conv2d, noGrad, prepareGpu, rand, setBackend, sigmoid, tensor } from '../../src/index.js';
import { Conv2d } from '../../src/nn/index.js';
import { Module } from '../../src/nn/module.js';
import { evaluateModel, predictSlidingWindow } from '../../src/train/index.js';
import { reassemble, slidingWindow, type Dataset, type Sample } from '../../src/data/index.js';
import type { Tensor } from '../../src/tensor/index.js';
import { useSwiftShaderIfNoDriver } from '../tensor/gpu-modes.js';

/** A pointwise model (1×1 conv): its prediction of a pixel does not depend on the window it sits in. */
class Pointwise extends Module {
  conv = new Conv2d(2, 1, { kernel: 1, seed: 3 });
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

function sample(h: number, w: number, seed: number): Sample {
  const image = rand([2, h, w], { seed }).dataSync() as Float32Array;
  const mask = Float32Array.from({ length: h * w }, (_, i) => (i % 7 < 3 ? 1 : 0));
  const fov = Float32Array.from({ length: h * w }, (_, i) => (i % w > 2 ? 1 : 0));
  return { image, mask, fov, shape: { channels: 2, classes: 1, height: h, width: w }, id: `s${seed}` };
}

describe('sliding-window prediction', () => {
  it('reassembles overlapping patches of a pointwise model into the whole-image prediction (sizes not divisible by the patch)', async () => {
    const model = new Pointwise();
    const s = sample(37, 29, 1);
    const whole = noGrad(() => sigmoid(model.forward(tensor(s.image, [1, 2, 37, 29]))).dataSync());
    const windowed = await predictSlidingWindow(model, s, { patch: 16, stride: 5, batchSize: 4 });
    expect(windowed.length).toBe(37 * 29);
    windowed.forEach((v, i) => expect(v).toBeCloseTo(whole[i], 6));
  });

  it('blend gaussian: the patch outputs weighted by the importance map, as reassemble computes them', async () => {
    // a model whose output depends on the window (a 3×3 conv sees zero padding at patch borders)
    const model = new (class extends Module {
      conv = new Conv2d(2, 1, { kernel: 3, padding: 1, seed: 5 });
      forward(x: Tensor): Tensor {
        return this.conv.forward(x);
      }
    })();
    const s = sample(20, 18, 4);
    const { patches, positions } = slidingWindow(s.image, s.shape, 8, 3);
    const outs = noGrad(() => sigmoid(model.forward(tensor(patches, [positions.length, 2, 8, 8]))).dataSync()) as Float32Array;
    const want = reassemble(outs, positions, { channels: 1, height: 20, width: 18 }, 8, 'gaussian');
    const got = await predictSlidingWindow(model, s, { patch: 8, stride: 3, blend: 'gaussian' });
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    const mean = await predictSlidingWindow(model, s, { patch: 8, stride: 3 });
    expect(Array.from(mean)).not.toEqual(Array.from(got));
  });

  it('evaluates whole images inside the field of view, equal to scoring the direct prediction', async () => {
    const model = new Pointwise();
    const samples = [sample(20, 24, 1), sample(20, 24, 2)];
    const ds: Dataset = { name: 'tiny', length: 2, ids: samples.map((s) => s.id), get: async (i) => samples[i] };
    const r = await evaluateModel(model, null, ds, { window: { patch: 8, stride: 4 }, protocol: 'pooled', keepPredictions: true });
    // recompute the pooled IoU inside the FOV from the direct prediction
    let tp = 0, fp = 0, fn = 0;
    for (const s of samples) {
      const p = noGrad(() => sigmoid(conv2d(tensor(s.image, [1, 2, 20, 24]), model.conv.weight).add(model.conv.bias!.reshape([1, 1, 1, 1]))).dataSync());
      p.forEach((v, i) => {
        if (!s.fov![i]) return;
        const pred = v >= 0.5, gt = s.mask[i] > 0.5;
        if (pred && gt) tp++;
        else if (pred) fp++;
        else if (gt) fn++;
      });
    }
    expect(r.iou).toBeCloseTo(tp / (tp + fp + fn), 10);
    expect(Number.isNaN(r.loss)).toBe(true);
    expect(r.predictions!.shape).toEqual([2, 1, 20, 24]);
  });
});

const vulkan = await useSwiftShaderIfNoDriver();

describe.skipIf(!vulkan)('sliding-window prediction on gpu:webgpu', () => {
  afterAll(() => void setBackend('cpu'));

  it('gives the cpu backend\'s whole-image prediction, every batch read back after all were submitted', async () => {
    const s = sample(37, 29, 1);
    const opts = { patch: 16, stride: 5, batchSize: 4 };
    const cpu = await predictSlidingWindow(new Pointwise(), s, opts);
    expect((await prepareGpu('webgpu')).ok).toBe(true);
    setBackend('gpu', { mode: 'webgpu' });
    const gpu = await predictSlidingWindow(new Pointwise(), s, opts);
    setBackend('cpu');
    expect(gpu.length).toBe(cpu.length);
    gpu.forEach((v, i) => expect(Math.abs(v - cpu[i]), `pixel ${i}`).toBeLessThan(1e-6));
  });
});
