/**
 * Object-level scores: each connected component of the mask is a true object and each component of the
 * thresholded prediction a predicted one; a pair whose IoU exceeds t is a match (for t ≥ 0.5 an object can
 * match at most one other, so no assignment is needed). This counts what pixel scores hide: two nuclei
 * predicted as one blob, or a lesion missed while a large one is found. Touching objects in a merged mask
 * (a union of instance masks, as dsb2018 reads them) count as one.
 */
import { labelComponents } from './components.js';
import { binaryPair, resolveThreshold } from './confusion.js';

/** The IoU thresholds of the 2018 Data Science Bowl's score: 0.5, 0.55, …, 0.95. */
export const DSB_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);

export interface ImageObjects {
  /** Components of the mask and of the prediction. */
  trueObjects: number;
  predictedObjects: number;
  /** Pairs with IoU > 0.5. */
  matched: number;
  /** The Data Science Bowl's precision: the mean over t in 0.5…0.95 of TP/(TP + FP + FN) at IoU > t; NaN with no object on either side. */
  dsb: number;
}

export interface ObjectScores {
  trueObjects: number;
  predictedObjects: number;
  /** Pairs with IoU > 0.5, over all images. */
  matched: number;
  /** Object F1 at IoU 0.5 from the pooled counts: 2·matched / (true + predicted); NaN with no object at all. */
  f1: number;
  /** The mean of each image's `dsb` over the images that have an object on either side; NaN if none. */
  dsb: number;
  perImage: ImageObjects[];
}

/**
 * Counts and matches the objects of each image of `[N, 1, H, W]` foreground probabilities (`>= threshold`)
 * against masks (`> 0.5`), inside `fov` when given; 8-connected unless `connectivity: 4`.
 * @example objectScores(probs, masks, { shape: [10, 1, 256, 256] }).f1 // nuclei found at IoU > 0.5
 */
export function objectScores(probs: ArrayLike<number>, masks: ArrayLike<number>, opts: { shape: readonly number[]; threshold?: number; fov?: ArrayLike<number>; connectivity?: 4 | 8 }): ObjectScores {
  const [n, c, height, width] = opts.shape;
  const plane = height * width;
  if (opts.shape.length !== 4 || c !== 1 || n * plane !== probs.length || masks.length !== probs.length || (opts.fov && opts.fov.length !== probs.length)) {
    throw new Error(`objectScores: shape [${opts.shape.join(', ')}] must be [N, 1, H, W] and hold as many values as the predictions (${probs.length}), masks (${masks.length})${opts.fov ? ` and fov (${opts.fov.length})` : ''}`);
  }
  const threshold = resolveThreshold('objectScores', opts.threshold);
  const perImage: ImageObjects[] = [];
  for (let i = 0; i < n; i++) {
    const [predicted, truth] = binaryPair(probs, masks, opts.fov, threshold, i * plane, plane);
    perImage.push(imageObjects(labelComponents(truth, { height, width, connectivity: opts.connectivity }), labelComponents(predicted, { height, width, connectivity: opts.connectivity })));
  }
  const total = (k: 'trueObjects' | 'predictedObjects' | 'matched'): number => perImage.reduce((a, r) => a + r[k], 0);
  const [trueObjects, predictedObjects, matched] = [total('trueObjects'), total('predictedObjects'), total('matched')];
  const scored = perImage.filter((r) => !Number.isNaN(r.dsb));
  return {
    trueObjects,
    predictedObjects,
    matched,
    f1: trueObjects + predictedObjects ? (2 * matched) / (trueObjects + predictedObjects) : NaN,
    dsb: scored.length ? scored.reduce((a, r) => a + r.dsb, 0) / scored.length : NaN,
    perImage,
  };
}

function imageObjects(truth: ReturnType<typeof labelComponents>, predicted: ReturnType<typeof labelComponents>): ImageObjects {
  const [G, P] = [truth.sizes.length, predicted.sizes.length];
  // the overlap of every touching pair, then its IoU
  const overlap = new Map<number, number>();
  for (let p = 0; p < truth.labels.length; p++) {
    const [g, q] = [truth.labels[p], predicted.labels[p]];
    if (g && q) overlap.set(g * (P + 1) + q, (overlap.get(g * (P + 1) + q) ?? 0) + 1);
  }
  const ious = [...overlap].map(([key, inter]) => inter / (truth.sizes[Math.floor(key / (P + 1)) - 1] + predicted.sizes[(key % (P + 1)) - 1] - inter));
  const hits = (t: number): number => ious.filter((v) => v > t).length;
  const dsb = G + P ? DSB_THRESHOLDS.reduce((a, t) => a + hits(t) / (G + P - hits(t)), 0) / DSB_THRESHOLDS.length : NaN;
  return { trueObjects: G, predictedObjects: P, matched: hits(0.5), dsb };
}
