/**
 * Batches samples into `[N, C, H, W]` tensors, shuffled per (seed, epoch), optionally augmented, with
 * decoding running ahead of the training step. No Node: works in the browser too.
 */
import { Rng, tensor } from '../tensor/index.js';
import { mixSeed } from './seeds.js';
import type { Batch, Dataset, Sample } from './types.js';

export interface AugmentOptions {
  /** Random horizontal and vertical flips, each with probability ½. */
  flip?: boolean;
  /** Random rotation by a multiple of 90° (by 0° or 180° only for non-square samples, so batches keep one shape). */
  rotate90?: boolean;
  /**
   * Random intensity changes of the image alone, as nnU-Net's: brightness ×0.75…1.25, contrast ×0.75…1.25
   * about each channel's mean, and gamma 0.7…1.5 (below or above 1 alike), each with probability 0.3 and
   * drawn per image; values are kept in [0, 1].
   */
  intensity?: boolean;
}

export interface LoaderOptions {
  /** Samples per batch. Default 16. */
  batchSize?: number;
  /** Shuffle every epoch, from (seed, epoch). Default false. */
  shuffle?: boolean;
  /** Seed of the shuffling and augmentation. Default 0. */
  seed?: number;
  /** Augmentation, off by default (the paper uses none). Images, masks and fov get the same transform. */
  augment?: AugmentOptions;
  /** Batches decoded ahead while the caller works on the current one. Default 2; 0 loads on demand. */
  prefetch?: number;
  /** Drop the last batch when it is smaller than batchSize. Default false. */
  dropLast?: boolean;
}

/**
 * Iterates a dataset in batches, one epoch at a time:
 * `for await (const { images, masks } of loader.epoch(e)) { … }`.
 * The order of epoch e depends only on (seed, e), so a run resumed at epoch e sees the same batches.
 * Every sample in a batch must have one shape (resize the dataset otherwise). The caller owns the
 * batch tensors and disposes them (or uses `tidy`).
 */
export class Loader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly prefetch: number;
  readonly dropLast: boolean;
  readonly augment: Required<AugmentOptions>;

  constructor(
    readonly dataset: Dataset,
    opts: LoaderOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 16;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.prefetch = opts.prefetch ?? 2;
    this.dropLast = opts.dropLast ?? false;
    this.augment = { flip: opts.augment?.flip ?? false, rotate90: opts.augment?.rotate90 ?? false, intensity: opts.augment?.intensity ?? false };
    if (!Number.isInteger(this.batchSize) || this.batchSize <= 0) throw new Error(`Loader: batchSize must be a positive integer, got ${this.batchSize}`);
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0) throw new Error(`Loader: prefetch must be a non-negative integer, got ${this.prefetch}`);
    if (dataset.length === 0) throw new Error(`Loader: dataset ${dataset.name} is empty`);
  }

  /** Batches in one epoch (the last one may be partial unless dropLast). */
  get batchesPerEpoch(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The dataset indices in the order epoch `epoch` visits them. */
  order(epoch: number): number[] {
    const idx = Array.from({ length: this.dataset.length }, (_, i) => i);
    return this.shuffle ? new Rng(mixSeed(this.seed, epoch)).shuffle(idx) : idx;
  }

  /** The batches of epoch `epoch` (default 0), with up to `prefetch` batches loading ahead. */
  async *epoch(epoch = 0): AsyncGenerator<Batch, void, undefined> {
    const order = this.order(epoch);
    const total = this.batchesPerEpoch;
    const pending: Promise<Sample[]>[] = [];
    let next = 0;
    const start = (b: number): void => {
      const p = this.loadBatch(order, b, epoch);
      p.catch(() => undefined); // a batch prefetched past an early `break` must not be an unhandled rejection
      pending.push(p);
    };
    while (true) {
      if (pending.length === 0) {
        if (next >= total) return;
        start(next++);
      }
      const samples = await pending.shift()!;
      while (pending.length < this.prefetch && next < total) start(next++);
      yield stack(samples, this.dataset.name);
    }
  }

  private async loadBatch(order: number[], b: number, epoch: number): Promise<Sample[]> {
    const indices = order.slice(b * this.batchSize, (b + 1) * this.batchSize);
    const samples = await Promise.all(indices.map((i) => this.dataset.get(i)));
    if (!this.augment.flip && !this.augment.rotate90 && !this.augment.intensity) return samples;
    return samples.map((s, k) => augmentSample(s, new Rng(mixSeed(this.seed, epoch, b * this.batchSize + k, 0x41554721)), this.augment));
  }
}

/** Stacks samples of one shape into a batch; throws naming the ids when shapes differ. */
export function stack(samples: readonly Sample[], source = 'dataset'): Batch {
  if (samples.length === 0) throw new Error(`stack: no samples from ${source}`);
  const first = samples[0].shape;
  for (const s of samples) {
    const d = s.shape;
    if (d.channels !== first.channels || d.classes !== first.classes || d.height !== first.height || d.width !== first.width) {
      throw new Error(
        `Loader: ${source}: sample ${s.id} is image ${d.channels}×${d.height}×${d.width}, mask ${d.classes}×${d.height}×${d.width}, but ${samples[0].id} is ${first.channels}×${first.height}×${first.width}, ${first.classes}×${first.height}×${first.width}; resize the dataset (size option) or use batchSize 1`,
      );
    }
    // a Dataset written by hand can state one shape and hold another; set() would misplace it silently
    const plane = d.height * d.width;
    if (s.image.length !== d.channels * plane || s.mask.length !== d.classes * plane || (s.fov && s.fov.length !== plane)) {
      throw new Error(
        `Loader: ${source}: sample ${s.id} states image ${d.channels}×${d.height}×${d.width} (${d.channels * plane} values) and mask ${d.classes}×${d.height}×${d.width} (${d.classes * plane}), ` +
          `but holds ${s.image.length} and ${s.mask.length}${s.fov && s.fov.length !== plane ? `, fov ${s.fov.length} of ${plane}` : ''}`,
      );
    }
  }
  const { channels: C, classes: K, height: H, width: W } = first;
  const N = samples.length;
  const images = new Float32Array(N * C * H * W);
  const masks = new Float32Array(N * K * H * W);
  const withFov = samples.every((s) => s.fov);
  const fov = withFov ? new Float32Array(N * H * W) : null;
  samples.forEach((s, n) => {
    images.set(s.image, n * C * H * W);
    masks.set(s.mask, n * K * H * W);
    if (fov) fov.set(s.fov!, n * H * W);
  });
  return {
    images: tensor(images, [N, C, H, W]),
    masks: tensor(masks, [N, K, H, W]),
    ids: samples.map((s) => s.id),
    ...(fov ? { fov: tensor(fov, [N, 1, H, W]) } : {}),
  };
}

/**
 * Applies a random flip / 90° rotation drawn from `rng` to image, mask and fov alike, then (with
 * `intensity`) random brightness, contrast and gamma to the image alone.
 */
export function augmentSample(s: Sample, rng: Rng, opts: AugmentOptions): Sample {
  const turned = turnSample(s, rng, opts);
  return opts.intensity ? { ...turned, image: intensityChanged(turned.image, turned.shape.channels, rng) } : turned;
}

/** The random flip and 90° rotation (drawn first, so runs without intensity draw what they always drew). */
function turnSample(s: Sample, rng: Rng, opts: AugmentOptions): Sample {
  const flipX = opts.flip ? rng.uniform() < 0.5 : false;
  const flipY = opts.flip ? rng.uniform() < 0.5 : false;
  const square = s.shape.height === s.shape.width;
  const turns = opts.rotate90 ? (square ? rng.int(0, 4) : 2 * rng.int(0, 2)) : 0;
  if (!flipX && !flipY && turns === 0) return s;
  const { height: H, width: W } = s.shape;
  const outH = turns % 2 ? W : H, outW = turns % 2 ? H : W;
  const transform = (data: Float32Array, planes: number): Float32Array => {
    const out = new Float32Array(data.length);
    for (let c = 0; c < planes; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          let sy = flipY ? H - 1 - y : y, sx = flipX ? W - 1 - x : x;
          // rotate (sy, sx) counter-clockwise `turns` times within the current frame
          let h = H, w = W;
          for (let t = 0; t < turns; t++) {
            [sy, sx] = [w - 1 - sx, sy];
            [h, w] = [w, h];
          }
          out[c * outH * outW + sy * outW + sx] = data[c * H * W + y * W + x];
        }
      }
    }
    return out;
  };
  return {
    ...s,
    image: transform(s.image, s.shape.channels),
    mask: transform(s.mask, s.shape.classes),
    ...(s.fov ? { fov: transform(s.fov, 1) } : {}),
    shape: { ...s.shape, height: outH, width: outW },
  };
}

/** Brightness, contrast and gamma, each drawn with probability 0.3, applied in that order and clipped to [0, 1]. */
function intensityChanged(image: Float32Array, channels: number, rng: Rng): Float32Array {
  const drawn = (): number | null => (rng.uniform() < 0.3 ? rng.uniform() : null);
  const b = drawn();
  const c = drawn();
  const g = drawn();
  if (b === null && c === null && g === null) return image;
  const brightness = b === null ? 1 : 0.75 + 0.5 * b;
  const contrast = c === null ? 1 : 0.75 + 0.5 * c;
  // half the gammas below 1 (brighter mid-tones), half above (darker), as nnU-Net draws them
  const gamma = g === null ? 1 : g < 0.5 ? 0.7 + 0.6 * g : 1 + (g - 0.5);
  const out = new Float32Array(image.length);
  const plane = image.length / channels;
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  for (let ch = 0; ch < channels; ch++) {
    let mean = 0;
    for (let p = 0; p < plane; p++) mean += clip(image[ch * plane + p] * brightness);
    mean /= plane;
    for (let p = 0; p < plane; p++) {
      const v = clip((clip(image[ch * plane + p] * brightness) - mean) * contrast + mean);
      out[ch * plane + p] = gamma === 1 ? v : v ** gamma;
    }
  }
  return out;
}
