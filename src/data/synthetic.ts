/**
 * Synthetic segmentation data generated from a seed, with the foreground fraction as a knob, so every
 * feature works offline and the loss comparison can sweep class imbalance. No Node: works in the browser.
 *
 * Each kind draws a continuous "shape field" F (high inside the objects), then thresholds it at the
 * quantile that leaves exactly the requested fraction of pixels above it: the objects grow or shrink
 * uniformly, so the mask's foreground fraction matches the request up to rounding.
 */
import { Rng } from '../tensor/index.js';
import { oneHotMask, resizeBilinear } from './image.js';
import { mixSeed } from './seeds.js';
import { checkIndex, normaliseSize, type Dataset, type Sample, type SizeOption } from './types.js';

export type SyntheticKind = 'blobs' | 'vessels' | 'nuclei';

export interface SyntheticOptions {
  /** 'blobs' (a few ellipses), 'vessels' (thin curved lines on a textured background), 'nuclei' (many small round cells). */
  kind: SyntheticKind;
  /** Number of samples. Default 100. */
  count?: number;
  /** Image side, or `[height, width]`. Default 64. */
  size?: SizeOption;
  /** Target foreground fraction of every mask, in (0, 1). Default: blobs 0.2, vessels 0.1, nuclei 0.15. */
  foreground?: number;
  /** Standard deviation of the additive Gaussian pixel noise. Default 0.08. */
  noise?: number;
  /** Seed; sample i depends only on (seed, kind, i). Default 0. */
  seed?: number;
  /** Image channels, 1 or 3 (tinted copies). Default 1. */
  channels?: 1 | 3;
  /**
   * Mask classes K, background included. Default 1 (binary masks). With K ≥ 2 the foreground is split
   * into classes 1…K−1 of about equal area along a smooth field, each class brighter than the one
   * before, and masks are one-hot `[K, H, W]`: a multi-class set to try `classes=K` runs on.
   */
  classes?: number;
}

/** Default foreground fraction per kind. */
export const SYNTHETIC_FOREGROUND: Record<SyntheticKind, number> = { blobs: 0.2, vessels: 0.1, nuclei: 0.15 };

const KIND_CODE: Record<SyntheticKind, number> = { blobs: 1, vessels: 2, nuclei: 3 };

/**
 * A synthetic dataset: images `[C, H, W]` in [0, 1] where the foreground is brighter on average
 * (by a contrast that varies per sample) under a smooth texture and noise; binary masks `[1, H, W]`
 * whose foreground fraction is `foreground` up to rounding. Samples are generated on first use and kept.
 * @example const ds = synthetic({ kind: 'vessels', count: 200, size: 64, foreground: 0.05, seed: 1 });
 */
export function synthetic(opts: SyntheticOptions): SyntheticDataset {
  return new SyntheticDataset(opts);
}

export class SyntheticDataset implements Dataset {
  readonly name: string;
  readonly length: number;
  readonly ids: readonly string[];
  readonly options: Required<Omit<SyntheticOptions, 'size'>> & { size: [number, number] };
  private readonly memory = new Map<number, Sample>();

  constructor(opts: SyntheticOptions) {
    const kind = opts.kind;
    if (!(kind in KIND_CODE)) throw new Error(`synthetic: unknown kind '${kind}', expected blobs, vessels or nuclei`);
    const count = opts.count ?? 100;
    if (!Number.isInteger(count) || count <= 0) throw new Error(`synthetic: count must be a positive integer, got ${count}`);
    const foreground = opts.foreground ?? SYNTHETIC_FOREGROUND[kind];
    if (!(foreground > 0 && foreground < 1)) throw new Error(`synthetic: foreground must be in (0, 1), got ${foreground}`);
    const noise = opts.noise ?? 0.08;
    if (!(noise >= 0)) throw new Error(`synthetic: noise must be >= 0, got ${noise}`);
    const channels = opts.channels ?? 1;
    if (channels !== 1 && channels !== 3) throw new Error(`synthetic: channels must be 1 or 3, got ${channels}`);
    const classes = opts.classes ?? 1;
    if (!Number.isInteger(classes) || classes < 1 || classes > 8) throw new Error(`synthetic: classes must be an integer from 1 to 8, got ${classes}`);
    const size = normaliseSize(opts.size ?? 64, 'synthetic');
    if (size[0] < 8 || size[1] < 8) throw new Error(`synthetic: size must be at least 8×8, got ${size[0]}×${size[1]}`);
    this.options = { kind, count, foreground, noise, seed: opts.seed ?? 0, channels, classes, size };
    this.length = count;
    this.name = `synthetic:${kind}`;
    this.ids = Array.from({ length: count }, (_, i) => `${kind}-${i}`);
  }

  async get(i: number): Promise<Sample> {
    return this.getSync(i);
  }

  /** Sample i, generated synchronously. */
  getSync(i: number): Sample {
    checkIndex(this.name, i, this.length);
    let s = this.memory.get(i);
    if (!s) {
      s = generateSample(this.options, i);
      this.memory.set(i, s);
    }
    return s;
  }
}

/** Generates sample i of a synthetic set (pure: same options and index, same sample). */
export function generateSample(opts: { kind: SyntheticKind; foreground: number; noise: number; seed: number; channels: 1 | 3; size: [number, number]; classes?: number }, i: number): Sample {
  const [H, W] = opts.size;
  const rng = new Rng(mixSeed(opts.seed, KIND_CODE[opts.kind], i));
  const field = opts.kind === 'blobs' ? blobField(rng, H, W, opts.foreground) : opts.kind === 'nuclei' ? nucleiField(rng, H, W, opts.foreground) : vesselField(rng, H, W);
  for (let q = 0; q < field.length; q++) field[q] += 1e-6 * rng.uniform(); // break ties so the quantile is exact
  const t = kthLargest(field, Math.max(1, Math.round(opts.foreground * H * W)));
  const mask = new Float32Array(H * W);
  for (let q = 0; q < field.length; q++) mask[q] = field[q] >= t ? 1 : 0;
  const K = opts.classes ?? 1;
  const label = K > 1 ? splitForeground(rng, mask, H, W, K) : null;

  const texture = smoothNoise(rng, H, W);
  const contrast = 0.18 + 0.14 * rng.uniform();
  const base = 0.3 + 0.15 * rng.uniform();
  // Soft edges: intensity ramps over about a pixel around the threshold instead of a hard step.
  const scale = fieldScale(opts.kind, H, W);
  const gray = new Float32Array(H * W);
  for (let q = 0; q < gray.length; q++) {
    const inside = 1 / (1 + Math.exp(-(field[q] - t) / scale));
    // with classes, each one brighter than the one before
    const lift = label && K > 2 ? 0.6 + (0.9 * (Math.max(label[q], 1) - 1)) / (K - 2) : 1;
    gray[q] = base + 0.18 * texture[q] + lift * contrast * (0.35 + 0.65 * inside) * inside;
  }
  const C = opts.channels;
  const image = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    const tint = C === 1 ? 1 : 0.8 + 0.4 * rng.uniform();
    for (let q = 0; q < H * W; q++) image[c * H * W + q] = Math.min(1, Math.max(0, gray[q] * tint + opts.noise * rng.normal()));
  }
  return { image, mask: label ? oneHotMask(label, K, `synthetic ${opts.kind}-${i}`) : mask, shape: { channels: C, classes: K, height: H, width: W }, id: `${opts.kind}-${i}` };
}

/**
 * Class indices for a binary mask's foreground: classes 1…K−1 by quantiles of a smooth field over the
 * foreground pixels (connected regions of about equal area), 0 elsewhere.
 */
function splitForeground(rng: Rng, mask: Float32Array, H: number, W: number, K: number): Uint8Array {
  const field = smoothNoise(rng, H, W);
  const fg = Float32Array.from(field.filter((_, q) => mask[q] > 0)).sort();
  const label = new Uint8Array(H * W);
  for (let q = 0; q < label.length; q++) {
    if (!(mask[q] > 0)) continue;
    let k = 1;
    while (k < K - 1 && field[q] > fg[Math.floor((k * fg.length) / (K - 1))]) k++;
    label[q] = k;
  }
  return label;
}

/** The field change corresponding to about one pixel at the object edge. */
function fieldScale(kind: SyntheticKind, H: number, W: number): number {
  return kind === 'vessels' ? 0.7 : 1 / (0.15 * Math.min(H, W));
}

/** The k-th largest value of `values` (1-based). */
function kthLargest(values: Float32Array, k: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[sorted.length - Math.min(k, sorted.length)];
}

/** Smooth texture in about [-1, 1]: two octaves of bilinearly upsampled random grids. */
function smoothNoise(rng: Rng, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (const [cells, weight] of [[4, 0.65], [12, 0.35]] as const) {
    const grid = new Float32Array(cells * cells).map(() => 2 * rng.uniform() - 1);
    const up = resizeBilinear(grid, 1, cells, cells, H, W);
    for (let q = 0; q < out.length; q++) out[q] += weight * up[q];
  }
  return out;
}

/** Ellipse field: max over ellipses of 1 − (normalised radius); a level set is a union of scaled ellipses. */
function ellipseField(H: number, W: number, ellipses: { cy: number; cx: number; a: number; b: number; theta: number }[]): Float32Array {
  const F = new Float32Array(H * W).fill(-Infinity);
  for (const { cy, cx, a, b, theta } of ellipses) {
    const cos = Math.cos(theta), sin = Math.sin(theta);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const dy = y + 0.5 - cy, dx = x + 0.5 - cx;
        const u = (dx * cos + dy * sin) / a, v = (-dx * sin + dy * cos) / b;
        const f = 1 - Math.sqrt(u * u + v * v);
        if (f > F[y * W + x]) F[y * W + x] = f;
      }
    }
  }
  return F;
}

function blobField(rng: Rng, H: number, W: number, foreground: number): Float32Array {
  const n = 1 + rng.int(0, 4);
  // Nominal axes sized so n ellipses cover about the requested fraction; the quantile fixes the rest.
  const r = Math.sqrt((foreground * H * W) / (n * Math.PI));
  const ellipses = Array.from({ length: n }, () => {
    const ratio = 0.6 + 0.8 * rng.uniform();
    return { cy: H * (0.15 + 0.7 * rng.uniform()), cx: W * (0.15 + 0.7 * rng.uniform()), a: Math.max(1, r * Math.sqrt(ratio)), b: Math.max(1, r / Math.sqrt(ratio)), theta: Math.PI * rng.uniform() };
  });
  return ellipseField(H, W, ellipses);
}

function nucleiField(rng: Rng, H: number, W: number, foreground: number): Float32Array {
  const radius = Math.max(1.5, Math.min(H, W) / 18);
  const n = Math.max(3, Math.round((foreground * H * W) / (Math.PI * radius * radius)));
  const cells = Array.from({ length: n }, () => {
    const r = radius * (0.7 + 0.6 * rng.uniform());
    const ratio = 0.8 + 0.4 * rng.uniform();
    return { cy: H * rng.uniform(), cx: W * rng.uniform(), a: r * ratio, b: r / ratio, theta: Math.PI * rng.uniform() };
  });
  return ellipseField(H, W, cells);
}

/** Vessel field: max over segments of (local half-width − distance to the centre line), tapering along each curve. */
function vesselField(rng: Rng, H: number, W: number): Float32Array {
  const side = Math.min(H, W);
  const segments: { y0: number; x0: number; y1: number; x1: number; w: number }[] = [];
  const grow = (y: number, x: number, angle: number, width: number, steps: number, depth: number): void => {
    const step = side / 16;
    for (let s = 0; s < steps; s++) {
      angle += 0.35 * rng.normal();
      const ny = y + step * Math.sin(angle), nx = x + step * Math.cos(angle);
      segments.push({ y0: y, x0: x, y1: ny, x1: nx, w: width });
      y = ny;
      x = nx;
      width *= 0.97;
      if (depth < 2 && rng.uniform() < 0.12) grow(y, x, angle + (rng.uniform() < 0.5 ? 1 : -1) * (0.5 + 0.6 * rng.uniform()), width * 0.7, Math.ceil(steps / 2), depth + 1);
      if (y < -step || y > H + step || x < -step || x > W + step) break;
    }
  };
  const trunks = 2 + rng.int(0, 3);
  for (let k = 0; k < trunks; k++) {
    // Start on a random border, heading inwards.
    const edge = rng.int(0, 4);
    const t = rng.uniform();
    const [y, x, angle] = edge === 0 ? [0, t * W, Math.PI / 2] : edge === 1 ? [H, t * W, -Math.PI / 2] : edge === 2 ? [t * H, 0, 0] : [t * H, W, Math.PI];
    grow(y, x, angle + 0.6 * (rng.uniform() - 0.5), 1 + 1.5 * rng.uniform(), 22, 0);
  }
  const F = new Float32Array(H * W).fill(-Infinity);
  for (const { y0, x0, y1, x1, w } of segments) {
    const dy = y1 - y0, dx = x1 - x0;
    const len2 = dy * dy + dx * dx || 1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const py = y + 0.5 - y0, px = x + 0.5 - x0;
        const s = Math.min(1, Math.max(0, (py * dy + px * dx) / len2));
        const ey = py - s * dy, ex = px - s * dx;
        const f = w - Math.sqrt(ey * ey + ex * ex);
        if (f > F[y * W + x]) F[y * W + x] = f;
      }
    }
  }
  return F;
}
