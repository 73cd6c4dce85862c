import { cast, oneHot, squeeze, sum, mean, unsqueeze } from '../autograd/index.js';
import { formatShape, type Tensor } from '../tensor/index.js';

/** What a loss expects as its first argument: raw network outputs, or sigmoid/softmax outputs. */
export type LossInput = 'logits' | 'probabilities';

/** How per-item losses are combined: averaged, summed, or returned as they are. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * A segmentation loss: `loss(input, target)` with `input` shaped [N, C, H, W] (any number of spatial
 * axes after C works). C = 1 is binary (sigmoid); C > 1 is multi-class (softmax over axis 1).
 * Targets are one-hot or soft labels shaped like `input`, or integer class indices [N, 1, H, W] or
 * [N, H, W] (converted with oneHot). The result is a scalar unless `reduction: 'none'`.
 */
export interface Loss {
  (input: Tensor, target: Tensor): Tensor;
  /** The loss's name as the CLI knows it, e.g. 'dice'. */
  readonly lossName: string;
  /** What `input` must be. */
  readonly takes: LossInput;
}

/** Options shared by the overlap losses. */
export interface OverlapOptions {
  /** Pool the whole batch into one TP/FP/FN per class (default true, as the paper's code); false scores each image and averages. */
  batch?: boolean;
  /** Smoothing s added to numerator and denominator (default 1). */
  smooth?: number;
  /** Over images when `batch` is false (default 'mean'); 'none' gives one value per image ([1] when batch is true). */
  reduction?: Reduction;
}

/** @internal Wraps a function as a `Loss` with read-only name and input kind. */
export function makeLoss(lossName: string, takes: LossInput, fn: (input: Tensor, target: Tensor) => Tensor): Loss {
  const loss = (input: Tensor, target: Tensor): Tensor => fn(input, target);
  Object.defineProperty(loss, 'lossName', { value: lossName, enumerable: true });
  Object.defineProperty(loss, 'takes', { value: takes, enumerable: true });
  return loss as Loss;
}

/** @internal Checks that `input` is [N, C, ...spatial]. */
export function checkInput(lossName: string, input: Tensor): void {
  if (input.rank < 2 || input.size === 0) {
    throw new Error(`${lossName}: expected a non-empty input [N, C, H, W], got ${formatShape(input.shape)}`);
  }
}

/**
 * @internal The target as a tensor shaped and typed like `input` (one-hot for class indices).
 * Accepts: the input's shape (one-hot or soft labels, or the mask when C = 1), [N, 1, ...] or [N, ...]
 * class indices when C > 1, and [N, ...] masks when C = 1.
 */
export function prepareTarget(lossName: string, input: Tensor, target: Tensor): Tensor {
  checkInput(lossName, input);
  const [n, c, ...spatial] = input.shape;
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  const t = cast(target, input.dtype);
  if (same(t.shape, input.shape)) return t;
  const asIndices = (idx: Tensor): Tensor => cast(oneHot(idx, c, 1), input.dtype);
  if (same(t.shape, [n, ...spatial])) return c === 1 ? unsqueeze(t, 1) : asIndices(t);
  if (c > 1 && same(t.shape, [n, 1, ...spatial])) return asIndices(squeeze(t, 1));
  const ex = c === 1 ? `${formatShape(input.shape)} or ${formatShape([n, ...spatial])}` : `${formatShape(input.shape)} (one-hot or soft labels) or class indices ${formatShape([n, 1, ...spatial])} / ${formatShape([n, ...spatial])}`;
  throw new Error(`${lossName}: target ${formatShape(target.shape)} does not match input ${formatShape(input.shape)}; expected ${ex}`);
}

/** @internal The axes after N and C. */
export function spatialAxes(x: Tensor): number[] {
  return x.shape.map((_, i) => i).slice(2);
}

/** @internal Reduces a per-item loss tensor. */
export function reduce(lossName: string, x: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (reduction === 'mean') return mean(x);
  if (reduction === 'sum') return sum(x);
  if (reduction === 'none') return x;
  throw new Error(`${lossName}: unknown reduction '${String(reduction)}' (mean | sum | none)`);
}

/** @internal Throws unless `v` is a finite number satisfying `ok`. */
export function checkOption(lossName: string, name: string, v: number, ok: (v: number) => boolean, expected: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${lossName}: option ${name} must be ${expected}, got ${String(v)}`);
}
