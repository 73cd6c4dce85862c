/**
 * Confusion counts of a binary segmentation and the ratios built on them.
 *
 * Conventions shared by every function here:
 * - a pixel is predicted positive when `pred >= threshold` (default 0.5), the same rule `rocCurve` uses
 *   for its thresholds;
 * - a target pixel is positive when `target > 0.5` (soft labels are binarised);
 * - with a mask, only pixels where `mask > 0.5` are scored (DRIVE's field of view).
 */
export interface ConfusionCounts {
  /** Predicted positive, target positive. */
  tp: number;
  /** Predicted positive, target negative. */
  fp: number;
  /** Predicted negative, target positive. */
  fn: number;
  /** Predicted negative, target negative. */
  tn: number;
}

export interface ConfusionOptions {
  /** Predictions `>= threshold` are positive (default 0.5). */
  threshold?: number;
  /** Only pixels where `mask > 0.5` count; same length as the predictions. */
  mask?: ArrayLike<number>;
}

/**
 * Counts TP, FP, FN and TN of `pred` (probabilities) against `target` (labels), over the pixels the mask
 * keeps. Throws on a NaN prediction: a diverged model must not pass as "all negative".
 * @example confusionCounts([0.9, 0.2, 0.7, 0.1], [1, 1, 0, 0]) // { tp: 1, fp: 1, fn: 1, tn: 1 }
 */
export function confusionCounts(pred: ArrayLike<number>, target: ArrayLike<number>, opts: ConfusionOptions = {}): ConfusionCounts {
  checkLengths('confusionCounts', pred, target, opts.mask);
  return countRange(pred, target, opts.mask, resolveThreshold('confusionCounts', opts.threshold), 0, pred.length);
}

/** @internal Counts over pixels [start, end): the per-image protocol calls it once per image. */
export function countRange(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  mask: ArrayLike<number> | undefined,
  threshold: number,
  start: number,
  end: number,
): ConfusionCounts {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = start; i < end; i++) {
    if (mask && !(mask[i] > 0.5)) continue;
    const p = pred[i];
    if (Number.isNaN(p)) throw new Error(`confusionCounts: prediction ${i} is NaN`);
    const predicted = p >= threshold;
    if (target[i] > 0.5) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  return { tp, fp, fn, tn };
}

/**
 * @internal The predicted and the true foreground of `count` values from `offset`, as 0/1 by the rules
 * above, both 0 where `mask` leaves a pixel out: the binary maps the boundary and object metrics work on.
 */
export function binaryPair(pred: ArrayLike<number>, target: ArrayLike<number>, mask: ArrayLike<number> | undefined, threshold: number, offset: number, count: number): [Uint8Array, Uint8Array] {
  const P = new Uint8Array(count);
  const G = new Uint8Array(count);
  for (let q = 0; q < count; q++) {
    if (mask && !(mask[offset + q] > 0.5)) continue;
    P[q] = pred[offset + q] >= threshold ? 1 : 0;
    G[q] = target[offset + q] > 0.5 ? 1 : 0;
  }
  return [P, G];
}

/** @internal */
export function resolveThreshold(fn: string, threshold = 0.5): number {
  if (!Number.isFinite(threshold)) throw new Error(`${fn}: threshold must be a finite number, got ${threshold}`);
  return threshold;
}

/** @internal */
export function checkLengths(fn: string, pred: ArrayLike<number>, target: ArrayLike<number>, mask?: ArrayLike<number>): void {
  if (pred.length !== target.length) {
    throw new Error(`${fn}: predictions have ${pred.length} values but the target has ${target.length}`);
  }
  if (mask && mask.length !== pred.length) {
    throw new Error(`${fn}: the mask has ${mask.length} values but the predictions have ${pred.length}`);
  }
}

/**
 * num/den, with the convention every ratio here shares for an empty denominator (0/0): the score is 1
 * when the prediction makes no error on the scored pixels (FP = FN = 0), else 0. So an empty prediction
 * on an empty target has IoU = Dice = precision = recall = 1, and predicting nothing when a lesion
 * exists has precision 0.
 */
function ratio(num: number, den: number, c: ConfusionCounts): number {
  if (den > 0) return num / den;
  return c.fp === 0 && c.fn === 0 ? 1 : 0;
}

/** IoU (Jaccard index) = TP / (TP + FP + FN); 1 when target and prediction are both empty. */
export function iou(c: ConfusionCounts): number {
  return ratio(c.tp, c.tp + c.fp + c.fn, c);
}

/** Dice = F1 = 2TP / (2TP + FP + FN); 1 when target and prediction are both empty. */
export function dice(c: ConfusionCounts): number {
  return ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, c);
}

/** Precision = TP / (TP + FP); with no positive prediction: 1 if the target has no positive either, else 0. */
export function precision(c: ConfusionCounts): number {
  return ratio(c.tp, c.tp + c.fp, c);
}

/** Recall = sensitivity = TPR = TP / (TP + FN); with no positive target pixel: 1 if nothing is predicted positive, else 0. */
export function recall(c: ConfusionCounts): number {
  return ratio(c.tp, c.tp + c.fn, c);
}

/** Specificity = TNR = TN / (TN + FP); with no negative target pixel: 1 if nothing is predicted negative, else 0. */
export function specificity(c: ConfusionCounts): number {
  return ratio(c.tn, c.tn + c.fp, c);
}

/** Accuracy = (TP + TN) / (TP + FP + FN + TN); 1 when no pixel is scored. */
export function accuracy(c: ConfusionCounts): number {
  return ratio(c.tp + c.tn, c.tp + c.fp + c.fn + c.tn, c);
}
