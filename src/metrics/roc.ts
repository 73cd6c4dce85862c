/**
 * ROC analysis from continuous probabilities. AUC on thresholded predictions is a different (and
 * misleading) number: these functions take the raw scores.
 */
export interface RocOptions {
  /** Only pixels where `mask > 0.5` count; same length as the scores. */
  mask?: ArrayLike<number>;
}

export interface RocCurve {
  /** False-positive rate FP/N at each threshold, non-decreasing from 0 to 1. */
  fpr: number[];
  /** True-positive rate TP/P at each threshold, non-decreasing from 0 to 1. */
  tpr: number[];
  /** Decreasing thresholds; a pixel is positive when `score >= threshold`. The first is +Infinity (the point (0, 0)). */
  thresholds: number[];
}

/**
 * Splits the scored pixels into the sorted (ascending) scores of positives (`label > 0.5`) and negatives.
 * Sorting the two classes apart lets the typed arrays use the native numeric sort, fast enough for the
 * millions of pixels of a pooled DRIVE evaluation.
 */
function splitSorted(fn: string, scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>, start = 0, end = scores.length): { pos: Float64Array; neg: Float64Array } {
  let p = 0, n = 0;
  for (let i = start; i < end; i++) {
    if (mask && !(mask[i] > 0.5)) continue;
    if (Number.isNaN(scores[i])) throw new Error(`${fn}: score ${i} is NaN`);
    labels[i] > 0.5 ? p++ : n++;
  }
  const pos = new Float64Array(p), neg = new Float64Array(n);
  p = n = 0;
  for (let i = start; i < end; i++) {
    if (mask && !(mask[i] > 0.5)) continue;
    if (labels[i] > 0.5) pos[p++] = scores[i];
    else neg[n++] = scores[i];
  }
  return { pos: pos.sort(), neg: neg.sort() };
}

function checkRocLengths(fn: string, scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new Error(`${fn}: ${scores.length} scores but ${labels.length} labels`);
  if (mask && mask.length !== scores.length) throw new Error(`${fn}: the mask has ${mask.length} values but there are ${scores.length} scores`);
}

/**
 * Exact area under the ROC curve:
 *
 *   AUC = (1 / (P·N)) · Σ_{positive i} Σ_{negative j} [s_i > s_j] + ½·[s_i = s_j]
 *
 * the Mann–Whitney statistic with ties counted ½, equal to the trapezoid-rule area under `rocCurve`.
 * O(n log n) by sorting. NaN when the scored pixels hold only one class (the AUC is undefined).
 * @example aucRoc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) // 0.75
 */
export function aucRoc(scores: ArrayLike<number>, labels: ArrayLike<number>, opts: RocOptions = {}): number {
  checkRocLengths('aucRoc', scores, labels, opts.mask);
  return aucRange(scores, labels, opts.mask, 0, scores.length);
}

/** @internal AUC over pixels [start, end): the per-image protocol calls it once per image. */
export function aucRange(scores: ArrayLike<number>, labels: ArrayLike<number>, mask: ArrayLike<number> | undefined, start: number, end: number): number {
  const { pos, neg } = splitSorted('aucRoc', scores, labels, mask, start, end);
  if (pos.length === 0 || neg.length === 0) return NaN;
  // For ascending positives, `below` and `upTo` only move forward: #neg < s and #neg <= s.
  let below = 0, upTo = 0, wins = 0;
  for (const s of pos) {
    while (below < neg.length && neg[below] < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < neg.length && neg[upTo] <= s) upTo++;
    wins += below + 0.5 * (upTo - below);
  }
  return wins / (pos.length * neg.length);
}

export interface RocCurveOptions extends RocOptions {
  /** Drop points that lie on a straight segment between their neighbours (default true, as scikit-learn). The area is unchanged. */
  dropIntermediate?: boolean;
}

/**
 * The ROC curve: one point per distinct score t (descending), at (FP(t)/N, TP(t)/P) where a pixel is
 * positive when `score >= t`, starting at (0, 0) with threshold +Infinity and ending at (1, 1) with the
 * smallest score. Tied scores make one diagonal step, so the trapezoid area equals `aucRoc`.
 * When the scored pixels hold no positive (or no negative), TPR (or FPR) is NaN.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, opts: RocCurveOptions = {}): RocCurve {
  checkRocLengths('rocCurve', scores, labels, opts.mask);
  const { pos, neg } = splitSorted('rocCurve', scores, labels, opts.mask);
  const P = pos.length, N = neg.length;
  const tps = [0], fps = [0], thresholds = [Infinity];
  let ip = P - 1, ineg = N - 1;
  while (ip >= 0 || ineg >= 0) {
    const t = Math.max(ip >= 0 ? pos[ip] : -Infinity, ineg >= 0 ? neg[ineg] : -Infinity);
    while (ip >= 0 && pos[ip] === t) ip--;
    while (ineg >= 0 && neg[ineg] === t) ineg--;
    tps.push(P - 1 - ip);
    fps.push(N - 1 - ineg);
    thresholds.push(t);
  }
  let keep = tps.map((_, i) => i);
  if (opts.dropIntermediate ?? true) {
    // Counts are integers, so the collinearity test (a zero cross product) is exact.
    keep = keep.filter((i) => i === 0 || i === tps.length - 1 ||
      (fps[i] - fps[i - 1]) * (tps[i + 1] - tps[i]) !== (tps[i] - tps[i - 1]) * (fps[i + 1] - fps[i]));
  }
  return {
    fpr: keep.map((i) => (N > 0 ? fps[i] / N : NaN)),
    tpr: keep.map((i) => (P > 0 ? tps[i] / P : NaN)),
    thresholds: keep.map((i) => thresholds[i]),
  };
}
