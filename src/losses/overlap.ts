import { mean, reshape, sub, sum } from '../autograd/index.js';
import type { Tensor } from '../tensor/index.js';
import { prepareTarget, reduce, spatialAxes, type Reduction } from './types.js';

/**
 * Soft confusion counts per class, shaped [B, C]: B = 1 when the batch is pooled, B = N per image.
 * TP = Σ p·g, FP = Σ p·(1−g) = Σp − TP, FN = Σ (1−p)·g = Σg − TP, TN = count − Σp − Σg + TP.
 */
export interface OverlapCounts {
  tp: Tensor;
  fp: Tensor;
  fn: Tensor;
  sumP: Tensor;
  sumG: Tensor;
  /** Pixels per count (a plain number: the same for every class). */
  count: number;
  /** The target, shaped like the input. */
  target: Tensor;
}

/** @internal The shared TP/FP/FN helper of the overlap family. */
export function overlapCounts(lossName: string, p: Tensor, target: Tensor, batch = true): OverlapCounts {
  const g = prepareTarget(lossName, p, target);
  const [n, c] = p.shape;
  const axes = batch ? [0, ...spatialAxes(p)] : spatialAxes(p);
  const shape = batch ? [1, c] : [n, c];
  const perRow = (x: Tensor): Tensor => reshape(sum(x, axes), shape);
  const tp = perRow(p.mul(g));
  const sumP = perRow(p);
  const sumG = perRow(g);
  const count = (p.size / (n * c)) * (batch ? n : 1);
  return { tp, fp: sub(sumP, tp), fn: sub(sumG, tp), sumP, sumG, count, target: g };
}

/** TN from the counts (kept out of OverlapCounts: only MCC needs it). */
export function trueNegatives(k: OverlapCounts): Tensor {
  return k.tp.sub(k.sumP).sub(k.sumG).add(k.count);
}

/**
 * @internal Combines a [B, C] per-class loss over classes ('mean' or 'sum'), then over B with `reduction`
 * (B = 1 when pooled, so 'none' gives shape [1]).
 */
export function combineClasses(lossName: string, perClass: Tensor, classes: 'mean' | 'sum', reduction: Reduction = 'mean'): Tensor {
  const perItem = classes === 'mean' ? mean(perClass, 1) : sum(perClass, 1);
  return reduce(lossName, perItem, reduction);
}
