/**
 * One row of scores per image, to find the images a model fails on: each image's own metrics (its
 * pixels pooled) and boundary distances, with the share of foreground in its mask and in the prediction.
 */
import { countRange, resolveThreshold } from './confusion.js';
import { metricsFromCounts, type EvaluationResult } from './evaluate.js';
import { aucRange } from './roc.js';
import { surfaceDistances } from './surface.js';

export interface ImageRow extends EvaluationResult {
  id: string;
  /** Share of the image's scored pixels that are foreground in the mask, and predicted foreground. */
  foreground: number;
  predicted: number;
  /** Boundary distances in pixels (`surfaceDistances`); NaN where the prediction or the mask is empty. */
  hd95: number;
  assd: number;
}

/**
 * Scores each image of foreground probabilities `[N, 1, H, W]` against its mask (inside `fov` when
 * given), in order; `ids` name them. An image with no scored pixel gets NaN scores.
 * @example imageRows(probs, masks, { shape: [2, 1, 64, 64], ids: ['a', 'b'] }).sort((x, y) => x.iou - y.iou)[0].id // the worst image
 */
export function imageRows(probs: ArrayLike<number>, masks: ArrayLike<number>, opts: { shape: readonly number[]; ids: readonly string[]; threshold?: number; fov?: ArrayLike<number> }): ImageRow[] {
  const [n, , height, width] = opts.shape;
  const plane = probs.length / n;
  if (opts.shape.length !== 4 || opts.shape[1] !== 1 || height * width !== plane) throw new Error(`imageRows: shape [${opts.shape.join(', ')}] must be [N, 1, H, W] and hold the ${probs.length} predictions`);
  if (opts.ids.length !== n || masks.length !== probs.length || (opts.fov && opts.fov.length !== probs.length) || !Number.isInteger(plane)) {
    throw new Error(`imageRows: ${n} images of ${plane} pixels need ${n} ids and as many mask (and fov) values as predictions (${probs.length}); got ${opts.ids.length} ids, ${masks.length} mask values${opts.fov ? ` and ${opts.fov.length} fov values` : ''}`);
  }
  const threshold = resolveThreshold('imageRows', opts.threshold);
  return opts.ids.map((id, i) => {
    // the per-image protocol's own counts: the shares are tp + fn and tp + fp of the scored pixels
    const [start, end] = [i * plane, (i + 1) * plane];
    const c = countRange(probs, masks, opts.fov, threshold, start, end);
    const scored = c.tp + c.fp + c.fn + c.tn;
    if (!scored) return { id, iou: NaN, dice: NaN, precision: NaN, recall: NaN, specificity: NaN, accuracy: NaN, auc: NaN, foreground: NaN, predicted: NaN, hd95: NaN, assd: NaN };
    const { hd95, assd } = surfaceDistances(probs, masks, { height, width, threshold, fov: opts.fov, offset: start });
    return { id, ...metricsFromCounts(c), auc: aucRange(probs, masks, opts.fov, start, end), foreground: (c.tp + c.fn) / scored, predicted: (c.tp + c.fp) / scored, hd95, assd };
  });
}
