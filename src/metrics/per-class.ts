/**
 * Per-class scores of a multi-class segmentation: each pixel is assigned its most probable class, and
 * each foreground class k ≥ 1 is scored one-vs-rest. The binary metrics (`evaluate`) see only
 * foreground against background; these say which class is found and which is not.
 */
import type { Protocol } from './evaluate.js';
import { surfaceDistances } from './surface.js';

/**
 * One class's scores; NaN where there is nothing to score: IoU and Dice where the class is neither
 * predicted nor present, precision where it is never predicted, recall where it is never present, HD95
 * where it is not both.
 */
export interface ClassScores {
  class: number;
  iou: number;
  dice: number;
  precision: number;
  recall: number;
  /** The boundary distance HD95 in pixels (`surfaceDistances`), the mean over the images where the class is both predicted and present, under either protocol. */
  hd95: number;
}

const METRICS = ['iou', 'dice', 'precision', 'recall'] as const;

/** The four scores of one count; NaN for 0/0. */
function scoresOf(c: { tp: number; fp: number; fn: number }): Record<(typeof METRICS)[number], number> {
  const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);
  return { iou: ratio(c.tp, c.tp + c.fp + c.fn), dice: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn), precision: ratio(c.tp, c.tp + c.fp), recall: ratio(c.tp, c.tp + c.fn) };
}

export interface PerClassOptions {
  /** `[N, K, H, W]` of `probs` and the one-hot `masks`. */
  shape: readonly [number, number, number, number];
  /** `per-image` (default): each image's score, then the mean over the images where it is defined. `pooled`: one count over all pixels. */
  protocol?: Protocol;
  /** `[N, 1, H, W]`: only pixels where it is > 0.5 are scored. */
  fov?: ArrayLike<number>;
}

/**
 * Scores classes 1…K−1 of planar class probabilities `[N, K, H, W]` against one-hot masks of the same
 * shape: a pixel's predicted class is its largest probability (the first on a tie), its true class the
 * mask's 1 (see {@link classIndices}).
 * @example perClassScores(probs, masks, { shape: [2, 3, 64, 64] }) // [{ class: 1, iou, dice }, { class: 2, iou, dice }]
 */
export function perClassScores(probs: ArrayLike<number>, masks: ArrayLike<number>, opts: PerClassOptions): ClassScores[] {
  const [N, K, H, W] = opts.shape;
  const plane = H * W;
  if (probs.length !== N * K * plane || masks.length !== probs.length) {
    throw new Error(`perClassScores: shape [${opts.shape.join(', ')}] needs ${N * K * plane} values, got probabilities ${probs.length} and masks ${masks.length}`);
  }
  if (opts.fov && opts.fov.length !== N * plane) throw new Error(`perClassScores: fov has ${opts.fov.length} values, [${N}, 1, ${H}, ${W}] is ${N * plane}`);
  const pooled = (opts.protocol ?? 'per-image') === 'pooled';
  // per class: tp, fp, fn summed over the images (pooled), or each score's sum and count over the images where it is defined
  const counts = Array.from({ length: K }, () => ({ tp: 0, fp: 0, fn: 0, sums: { iou: 0, dice: 0, precision: 0, recall: 0, hd95: 0 }, images: { iou: 0, dice: 0, precision: 0, recall: 0, hd95: 0 } }));
  for (let n = 0; n < N; n++) {
    const image = Array.from({ length: K }, () => ({ tp: 0, fp: 0, fn: 0 }));
    const predicted = classIndices(probs, K, plane, n * K * plane);
    const truth = classIndices(masks, K, plane, n * K * plane);
    for (let q = 0; q < plane; q++) {
      if (opts.fov && !(opts.fov[n * plane + q] > 0.5)) continue;
      if (predicted[q] === truth[q]) image[predicted[q]].tp++;
      else {
        image[predicted[q]].fp++;
        image[truth[q]].fn++;
      }
    }
    for (let k = 1; k < K; k++) {
      const c = image[k];
      const { hd95 } = surfaceDistances(classPlane(predicted, k, opts.fov, n * plane), classPlane(truth, k, opts.fov, n * plane), { height: H, width: W });
      if (!Number.isNaN(hd95)) {
        counts[k].sums.hd95 += hd95;
        counts[k].images.hd95++;
      }
      if (pooled) {
        counts[k].tp += c.tp;
        counts[k].fp += c.fp;
        counts[k].fn += c.fn;
      } else {
        const s = scoresOf(c);
        for (const m of METRICS) {
          if (Number.isNaN(s[m])) continue;
          counts[k].sums[m] += s[m];
          counts[k].images[m]++;
        }
      }
    }
  }
  return counts.slice(1).map((c, i) => {
    const mean = (m: keyof typeof c.sums): number => (c.images[m] ? c.sums[m] / c.images[m] : NaN);
    if (pooled) return { class: i + 1, ...scoresOf(c), hd95: mean('hd95') };
    return { class: i + 1, iou: mean('iou'), dice: mean('dice'), precision: mean('precision'), recall: mean('recall'), hd95: mean('hd95') };
  });
}

/** 1 where `indices` is `k` (inside the field of view read from `offset`), else 0: one class's binary map, for its boundary distances. */
function classPlane(indices: Uint8Array, k: number, fov: ArrayLike<number> | undefined, offset: number): Uint8Array {
  const out = new Uint8Array(indices.length);
  for (let q = 0; q < out.length; q++) out[q] = indices[q] === k && (!fov || fov[offset + q] > 0.5) ? 1 : 0;
  return out;
}

/**
 * Each pixel's most probable class (the first on a tie) of one image's planar `[K, H, W]` values at
 * `offset`: class probabilities, or a one-hot mask's classes.
 */
export function classIndices(values: ArrayLike<number>, classes: number, plane: number, offset = 0): Uint8Array {
  const out = new Uint8Array(plane);
  for (let q = 0; q < plane; q++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (values[offset + k * plane + q] > values[offset + best * plane + q]) best = k;
    out[q] = best;
  }
  return out;
}

