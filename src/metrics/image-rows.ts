/**
 * One row of scores per image, to find the images a model fails on: each image's own metrics (its
 * pixels pooled), with the share of foreground in its mask and in the prediction.
 */
import { evaluateSync, type EvaluationResult } from './evaluate.js';

export interface ImageRow extends EvaluationResult {
  id: string;
  /** Share of the image's scored pixels that are foreground in the mask, and predicted foreground. */
  foreground: number;
  predicted: number;
}

/**
 * Scores each image of foreground probabilities `[N, 1, H, W]` against its mask (inside `fov` when
 * given), in order; `ids` name them. An image with no scored pixel gets NaN scores.
 * @example imageRows(probs, masks, { shape: [2, 1, 64, 64], ids: ['a', 'b'] }).sort((x, y) => x.iou - y.iou)[0].id // the worst image
 */
export function imageRows(probs: ArrayLike<number>, masks: ArrayLike<number>, opts: { shape: readonly number[]; ids: readonly string[]; threshold?: number; fov?: ArrayLike<number> }): ImageRow[] {
  const n = opts.shape[0];
  const plane = probs.length / n;
  if (opts.ids.length !== n || masks.length !== probs.length || !Number.isInteger(plane)) {
    throw new Error(`imageRows: ${n} images of ${plane} pixels need ${n} ids and as many mask values (${probs.length}); got ${opts.ids.length} ids and ${masks.length} mask values`);
  }
  const threshold = opts.threshold ?? 0.5;
  return opts.ids.map((id, i) => {
    const part = <T extends ArrayLike<number>>(a: T): number[] => Array.from({ length: plane }, (_, q) => a[i * plane + q]);
    const p = part(probs);
    const m = part(masks);
    const f = opts.fov ? part(opts.fov) : undefined;
    let [scored, fg, predicted] = [0, 0, 0];
    for (let q = 0; q < plane; q++) {
      if (f && !(f[q] > 0.5)) continue;
      scored++;
      if (m[q] > 0.5) fg++;
      if (p[q] >= threshold) predicted++;
    }
    const scores = scored ? evaluateSync(p, m, { protocol: 'pooled', threshold, mask: f }) : { iou: NaN, dice: NaN, precision: NaN, recall: NaN, specificity: NaN, accuracy: NaN, auc: NaN };
    return { id, ...scores, foreground: scored ? fg / scored : NaN, predicted: scored ? predicted / scored : NaN };
  });
}
