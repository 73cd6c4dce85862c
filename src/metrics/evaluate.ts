import { Tensor } from '../tensor/index.js';
import { accuracy, checkLengths, countRange, dice, iou, precision, recall, resolveThreshold, specificity, type ConfusionCounts } from './confusion.js';
import { aucRange } from './roc.js';

/** Predictions, targets or masks: a tensor, or plain values (a typed array or number[]). */
export type MetricInput = Tensor | ArrayLike<number>;

/** The scores `evaluate` reports. */
export interface EvaluationResult {
  /** TP/(TP+FP+FN): the real Jaccard index, not accuracy. */
  iou: number;
  /** 2TP/(2TP+FP+FN) = F1. */
  dice: number;
  /** TP/(TP+FP). */
  precision: number;
  /** TP/(TP+FN), sensitivity. */
  recall: number;
  /** TN/(TN+FP). */
  specificity: number;
  /** (TP+TN)/all. */
  accuracy: number;
  /** Area under the ROC curve of the continuous probabilities (never of thresholded ones); NaN if undefined. */
  auc: number;
}

export type Protocol = 'per-image' | 'pooled';

export interface EvaluateOptions {
  /** Predictions `>= threshold` are positive for the thresholded metrics (default 0.5). AUC ignores it. */
  threshold?: number;
  /**
   * `per-image` (default): each metric per image, then the mean over images (the ISIC convention).
   * `pooled`: one confusion matrix and one ROC over every scored pixel of every image (the DRIVE convention).
   */
  protocol?: Protocol;
  /** Only pixels where `mask > 0.5` are scored (DRIVE's field of view); same size as the predictions. */
  mask?: MetricInput;
  /**
   * The shape `[N, 1, H, W]` (or `[N, H, W]`) of plain-array inputs, to split them into images. Tensors
   * carry their own shape. A plain array without a shape is one image.
   */
  shape?: readonly number[];
}

interface Resolved {
  pred: ArrayLike<number>;
  target: ArrayLike<number>;
  mask?: ArrayLike<number>;
  shape: readonly number[];
}

const KEYS = ['iou', 'dice', 'precision', 'recall', 'specificity', 'accuracy', 'auc'] as const;

/** The six thresholded metrics of one confusion matrix. */
export function metricsFromCounts(c: ConfusionCounts): Omit<EvaluationResult, 'auc'> {
  return { iou: iou(c), dice: dice(c), precision: precision(c), recall: recall(c), specificity: specificity(c), accuracy: accuracy(c) };
}

function resolve(fn: string, pred: MetricInput, target: MetricInput, opts: EvaluateOptions, read: (t: Tensor) => ArrayLike<number>): Resolved {
  if (pred instanceof Tensor && target instanceof Tensor && pred.shape.join() !== target.shape.join()) {
    throw new Error(`${fn}: predictions [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in shape`);
  }
  const shape = pred instanceof Tensor ? pred.shape : target instanceof Tensor ? target.shape : opts.shape ?? [1, pred.length];
  const values = (x: MetricInput): ArrayLike<number> => (x instanceof Tensor ? read(x) : x);
  const r: Resolved = { pred: values(pred), target: values(target), mask: opts.mask === undefined ? undefined : values(opts.mask), shape };
  checkLengths(fn, r.pred, r.target, r.mask);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== r.pred.length) throw new Error(`${fn}: shape [${shape.join(', ')}] holds ${size} values but the predictions have ${r.pred.length}`);
  if (shape.length === 4 && shape[1] !== 1) {
    throw new Error(`${fn}: expected one channel [N, 1, H, W], got [${shape.join(', ')}]; score each class's channel separately`);
  }
  return r;
}

/**
 * Pooled protocol: one confusion matrix and one ROC over every scored pixel, the masked-out ones
 * excluded (DRIVE: inside the field of view only).
 */
export function pooledSync(pred: MetricInput, target: MetricInput, opts: Omit<EvaluateOptions, 'protocol'> = {}): EvaluationResult {
  return pooledResolved('pooled', resolve('pooled', pred, target, opts, (t) => t.dataSync()), opts.threshold);
}

function pooledResolved(fn: string, r: Resolved, threshold?: number): EvaluationResult {
  const c = countRange(r.pred, r.target, r.mask, resolveThreshold(fn, threshold), 0, r.pred.length);
  if (c.tp + c.fp + c.fn + c.tn === 0) throw new Error(`${fn}: no pixel is scored (the mask is empty)`);
  return { ...metricsFromCounts(c), auc: aucRange(r.pred, r.target, r.mask, 0, r.pred.length) };
}

/**
 * Per-image protocol: every metric for each image of `[N, 1, H, W]`, in image order. Images with no
 * scored pixel (an empty mask) are left out. An image whose target holds one class only has auc NaN.
 */
export function perImageResultsSync(pred: MetricInput, target: MetricInput, opts: Omit<EvaluateOptions, 'protocol'> = {}): EvaluationResult[] {
  return perImageResolved('perImage', resolve('perImage', pred, target, opts, (t) => t.dataSync()), opts.threshold);
}

function perImageResolved(fn: string, r: Resolved, threshold?: number): EvaluationResult[] {
  const t = resolveThreshold(fn, threshold);
  const n = r.shape[0] ?? 1;
  const per = n === 0 ? 0 : r.pred.length / n;
  const out: EvaluationResult[] = [];
  for (let i = 0; i < n; i++) {
    const c = countRange(r.pred, r.target, r.mask, t, i * per, (i + 1) * per);
    if (c.tp + c.fp + c.fn + c.tn === 0) continue;
    out.push({ ...metricsFromCounts(c), auc: aucRange(r.pred, r.target, r.mask, i * per, (i + 1) * per) });
  }
  return out;
}

/**
 * The mean of per-image results. AUC is averaged over the images where it is defined (both classes
 * present); NaN if there is none.
 */
function meanResults(fn: string, results: EvaluationResult[]): EvaluationResult {
  if (results.length === 0) throw new Error(`${fn}: no pixel is scored (no image, or the mask is empty)`);
  const out = {} as EvaluationResult;
  for (const k of KEYS) {
    const vals = results.map((r) => r[k]).filter((v) => !Number.isNaN(v));
    out[k] = vals.length === 0 ? NaN : vals.reduce((a, b) => a + b, 0) / vals.length;
  }
  return out;
}

/** Per-image protocol, averaged: each metric per image, then the mean over images (the ISIC convention). */
export function perImageSync(pred: MetricInput, target: MetricInput, opts: Omit<EvaluateOptions, 'protocol'> = {}): EvaluationResult {
  return meanResults('perImage', perImageResultsSync(pred, target, opts));
}

/**
 * Scores binary segmentations: IoU, Dice, precision, recall, specificity, accuracy (at `threshold`) and
 * AUC-ROC (from the continuous probabilities), under the chosen protocol. Synchronous: tensors are read
 * with `dataSync()` (use `evaluate` on asynchronous backends).
 *
 * Empty cases: a 0/0 ratio is 1 when the prediction makes no error, else 0 (see `iou`, `precision`).
 * @example evaluateSync([0.9, 0.2, 0.7, 0.1], [1, 1, 0, 0], { protocol: 'pooled' }).iou // 1/3
 */
export function evaluateSync(pred: MetricInput, target: MetricInput, opts: EvaluateOptions = {}): EvaluationResult {
  const r = resolve('evaluate', pred, target, opts, (t) => t.dataSync());
  return dispatch(r, opts);
}

/**
 * `evaluateSync` for any backend: tensors are read with `await t.data()`.
 * @param pred probabilities `[N, 1, H, W]` (sigmoid outputs, not logits)
 * @param target labels of the same shape (`> 0.5` is foreground)
 */
export async function evaluate(pred: MetricInput, target: MetricInput, opts: EvaluateOptions = {}): Promise<EvaluationResult> {
  const read = async (x: MetricInput | undefined): Promise<ArrayLike<number> | undefined> => (x instanceof Tensor ? x.data() : x);
  const [p, g, m] = await Promise.all([read(pred), read(target), read(opts.mask)]);
  const shape = pred instanceof Tensor ? pred.shape : target instanceof Tensor ? target.shape : opts.shape;
  if (pred instanceof Tensor && target instanceof Tensor && pred.shape.join() !== target.shape.join()) {
    throw new Error(`evaluate: predictions [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in shape`);
  }
  return dispatch(resolve('evaluate', p!, g!, { ...opts, mask: m, shape }, () => { throw new Error('unreachable'); }), opts);
}

function dispatch(r: Resolved, opts: EvaluateOptions): EvaluationResult {
  const protocol = opts.protocol ?? 'per-image';
  if (protocol === 'pooled') return pooledResolved('evaluate', r, opts.threshold);
  if (protocol === 'per-image') return meanResults('evaluate', perImageResolved('evaluate', r, opts.threshold));
  throw new Error(`evaluate: protocol must be 'per-image' or 'pooled', got '${String(protocol)}'`);
}

/** Async `pooledSync` (tensors read with `await t.data()`). */
export async function pooled(pred: MetricInput, target: MetricInput, opts: Omit<EvaluateOptions, 'protocol'> = {}): Promise<EvaluationResult> {
  return evaluate(pred, target, { ...opts, protocol: 'pooled' });
}

/** Async `perImageSync` (tensors read with `await t.data()`). */
export async function perImage(pred: MetricInput, target: MetricInput, opts: Omit<EvaluateOptions, 'protocol'> = {}): Promise<EvaluationResult> {
  return evaluate(pred, target, { ...opts, protocol: 'per-image' });
}
