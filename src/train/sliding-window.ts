import { reassemble, slidingWindow } from '../data/patches.js';
import type { Sample } from '../data/types.js';
import type { Module } from '../nn/module.js';
import { noGrad, tensor, type TypedArray } from '../tensor/index.js';
import { tidyBatch } from './batch-limit.js';
import { mirroredProbabilities, probabilities } from './outputs.js';
import { readAhead } from './read-ahead.js';

export interface SlidingWindowOptions {
  /** Side of the square patches the model sees (e.g. DRIVE's 64). */
  patch: number;
  /** Step between patches (default patch/2: overlapping windows, averaged). */
  stride?: number;
  /** Patches per forward pass (default 16). */
  batchSize?: number;
  /** Average each patch's prediction with its mirror images' (`mirroredProbabilities`): four passes. */
  mirror?: boolean;
  /** How overlapping patches combine: 'mean' (default) or 'gaussian' (centre-weighted, as nnU-Net; see `reassemble`). */
  blend?: 'mean' | 'gaussian';
}

/**
 * Predicts a whole image with a model trained on patches: cuts `[C, H, W]` into overlapping patches
 * (the far edges are always covered), runs the model in eval mode, and averages the overlapping
 * probabilities back into `[K, H, W]` — the test-time protocol of patch-trained vessel models (DRIVE).
 */
export async function predictSlidingWindow(model: Module, sample: Sample, opts: SlidingWindowOptions): Promise<Float32Array> {
  const { channels, height, width } = sample.shape;
  const patch = opts.patch;
  const stride = opts.stride ?? Math.max(1, Math.floor(patch / 2));
  const batchSize = opts.batchSize ?? 16;
  const { patches, positions, count } = slidingWindow(sample.image, { channels, height, width }, patch, stride);
  const inSize = channels * patch * patch;
  let classes = 0;
  // each batch is read back while the next is submitted (readAhead): on an asynchronous device its
  // kernels are encoded while the last batch runs, instead of the device waiting on each read
  const reads: Promise<TypedArray>[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for (let b = 0; b < count; b += batchSize) {
      await readAhead(reads);
      const n = Math.min(batchSize, count - b);
      const probs = tidyBatch('predictSlidingWindow', n, () =>
        noGrad(() => {
          const x = tensor(patches.subarray(b * inSize, (b + n) * inSize), [n, channels, patch, patch]);
          return opts.mirror ? mirroredProbabilities(model, x) : probabilities(model.forward(x));
        }),
      );
      classes = probs.shape[1];
      reads.push(probs.data());
      // safe before the read ends: a read holds its buffer until it is done
      probs.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
  const outs = await Promise.all(reads);
  const all = new Float32Array(count * classes * patch * patch);
  let o = 0;
  for (const x of outs) {
    all.set(x, o);
    o += x.length;
  }
  return reassemble(all, positions, { channels: classes, height, width }, patch, opts.blend);
}
