import { abs, add, clamp, div, exp, log, logSigmoid, logSoftmax, mean, mul, neg, pow, relu, softmax, sqrt, stack, sub, sum, take, where } from '../../autograd/index.js';
import { formatShape, type Tensor } from '../../tensor/index.js';
import { placeLovaszWeights } from '../lovasz.js';
import {
  asInputDtype,
  bceWithLogits,
  checkBool,
  checkChoice,
  checkNumber,
  checkTargetDtype,
  classIndices,
  CompatAssertionError,
  CompatIndexError,
  CompatTypeError,
  CompatValueError,
  constLike,
  hostArray,
  oneHotAxis1,
  parseKwargs,
  parseWeight,
  selectWhere,
  valuesOf,
  viewAs,
  type CompatLoss,
  type TargetDtype,
} from './common.js';

/**
 * segmentation_models_pytorch-compatible losses (`smp.losses`, 0.5 line): the same keyword names,
 * defaults and numbers, quirks included. The semantics are in spec/compat.md §2.
 */

export type SmpMode = 'binary' | 'multiclass' | 'multilabel';
const MODES = ['binary', 'multiclass', 'multilabel'] as const;

// ---------------------------------------------------------------------------------------------
// Functional scores

export interface SoftScoreKwargs {
  smooth?: number;
  eps?: number;
  /** Axes to sum over; null (default) sums everything. */
  dims?: readonly number[] | null;
}

export interface SoftTverskyScoreKwargs extends SoftScoreKwargs {
  alpha?: number;
  beta?: number;
}

function tverskyScore(fn: string, output: Tensor, target: Tensor, alpha: number, beta: number, o: Required<SoftScoreKwargs>): Tensor {
  if (!sameShape(output.shape, target.shape)) throw new CompatAssertionError(`${fn}: output ${formatShape(output.shape)} and target ${formatShape(target.shape)} must have the same size`);
  const t = asInputDtype(target, output);
  const dims = o.dims === null ? undefined : [...o.dims];
  const outputSum = sum(output, dims);
  const targetSum = sum(t, dims);
  // The L1-difference form: exact for soft targets, equal to Σp·t for binary ones.
  const tp = div(sub(add(outputSum, targetSum), sum(abs(sub(output, t)), dims)), 2);
  const fp = sub(outputSum, tp);
  const fn_ = sub(targetSum, tp);
  const den = clamp(add(add(add(tp, mul(fp, alpha)), mul(fn_, beta)), o.smooth), o.eps);
  return div(add(tp, o.smooth), den);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const SCORE_DEFAULTS: Required<SoftScoreKwargs> = { smooth: 0.0, eps: 1e-7, dims: null };

/**
 * `smp.losses._functional.soft_tversky_score`: `(tp + smooth) / clamp_min(tp + α·fp + β·fn + smooth, eps)`
 * over `dims`, with `tp = (Σp + Σt − Σ|p − t|)/2`. A score, not a loss.
 */
function soft_tversky_score(output: Tensor, target: Tensor, kwargs?: SoftTverskyScoreKwargs): Tensor {
  const fn = 'smp.functional.soft_tversky_score';
  const o = parseKwargs(fn, kwargs, { ...SCORE_DEFAULTS, alpha: 0.5, beta: 0.5 });
  checkNumber(fn, 'alpha', o.alpha);
  checkNumber(fn, 'beta', o.beta);
  return tverskyScore(fn, output, target, o.alpha, o.beta, o);
}

/** `smp.losses._functional.soft_dice_score`: the Tversky score with α = β = 0.5, i.e. `(2tp + 2s)/(Σp + Σt + 2s)`. */
function soft_dice_score(output: Tensor, target: Tensor, kwargs?: SoftScoreKwargs): Tensor {
  const fn = 'smp.functional.soft_dice_score';
  return tverskyScore(fn, output, target, 0.5, 0.5, parseKwargs(fn, kwargs, SCORE_DEFAULTS));
}

/** `smp.losses._functional.soft_jaccard_score`: the Tversky score with α = β = 1, i.e. `(tp + s)/(Σp + Σt − tp + s)`. */
function soft_jaccard_score(output: Tensor, target: Tensor, kwargs?: SoftScoreKwargs): Tensor {
  const fn = 'smp.functional.soft_jaccard_score';
  return tverskyScore(fn, output, target, 1, 1, parseKwargs(fn, kwargs, SCORE_DEFAULTS));
}

export type FocalReduction = 'mean' | 'sum' | 'batchwise_mean' | 'none';

export interface FocalFunctionalKwargs {
  gamma?: number;
  alpha?: number | null;
  reduction?: FocalReduction;
  normalized?: boolean;
  reduced_threshold?: number | null;
  eps?: number;
}

function focalReduce(loss: Tensor, reduction: string): Tensor {
  if (reduction === 'mean') return mean(loss);
  if (reduction === 'sum') return sum(loss);
  if (reduction === 'batchwise_mean') return sum(loss, 0);
  return loss; // smp returns the elementwise loss for 'none' and for any name it does not know
}

/** (1 − pt)^γ, or the reduced focal term ((1 − pt)/thr)^γ with 1 where pt < thr. */
function focalTerm(pt: Tensor, gamma: number, thr: number | null): Tensor {
  const oneMinus = sub(1, pt);
  if (thr === null) return gamma === 0 ? add(mul(pt, 0), 1) : pow(oneMinus, gamma);
  const term = gamma === 0 ? add(mul(pt, 0), 1) : pow(div(oneMinus, thr), gamma);
  return where(constLike(pt, valuesOf(pt).map((v) => (v < thr ? 1 : 0)), pt.shape), 1, term);
}

function focalWithLogits(x: Tensor, target: Tensor, o: Required<FocalFunctionalKwargs>): Tensor {
  const t = asInputDtype(target, x);
  const logpt = bceWithLogits(x, t);
  const term = focalTerm(exp(neg(logpt)), o.gamma, o.reduced_threshold);
  let loss = mul(term, logpt);
  if (o.alpha !== null) loss = mul(loss, add(mul(t, o.alpha), mul(sub(1, t), 1 - o.alpha)));
  if (o.normalized) loss = div(loss, clamp(sum(term), o.eps));
  return focalReduce(loss, o.reduction);
}

const FOCAL_FN_DEFAULTS: Required<FocalFunctionalKwargs> = { gamma: 2.0, alpha: 0.25, reduction: 'mean', normalized: false, reduced_threshold: null, eps: 1e-6 };

function checkFocalFn(fn: string, o: Required<FocalFunctionalKwargs>): void {
  checkNumber(fn, 'gamma', o.gamma);
  checkNumber(fn, 'alpha', o.alpha, true);
  checkNumber(fn, 'reduced_threshold', o.reduced_threshold, true);
  checkNumber(fn, 'eps', o.eps);
  checkBool(fn, 'normalized', o.normalized);
}

/**
 * `smp.losses._functional.focal_loss_with_logits` (Lin et al., 2017): `α_t·(1 − pt)^γ·BCE(x, t)` with
 * `pt = exp(−BCE)`; the functional default is `alpha: 0.25` (the FocalLoss class defaults to none).
 * `reduction`: 'mean' | 'sum' | 'batchwise_mean' (sum over dim 0) | 'none'.
 */
function focal_loss_with_logits(output: Tensor, target: Tensor, kwargs?: FocalFunctionalKwargs): Tensor {
  const fn = 'smp.functional.focal_loss_with_logits';
  const o = parseKwargs(fn, kwargs, FOCAL_FN_DEFAULTS);
  checkFocalFn(fn, o);
  return focalWithLogits(output, target, o);
}

/**
 * `smp.losses._functional.softmax_focal_loss_with_logits`: `(1 − pt)^γ·nll` with `pt` the softmax
 * probability of the true class; `output` (N, C, …) logits, `target` (N, …) class indices.
 */
function softmax_focal_loss_with_logits(output: Tensor, target: Tensor, kwargs?: Omit<FocalFunctionalKwargs, 'alpha'>): Tensor {
  const fn = 'smp.functional.softmax_focal_loss_with_logits';
  const { alpha: _unused, ...defaults } = FOCAL_FN_DEFAULTS;
  const o = { ...parseKwargs(fn, kwargs, defaults), alpha: null };
  checkFocalFn(fn, o);
  const c = output.shape[1];
  const labels = classIndices(fn, target, c);
  const onehot = oneHotAxis1(output, labels, target.shape[0], target.shape.slice(1), c);
  const nll = neg(sum(mul(logSoftmax(output, 1), onehot), 1));
  const term = focalTerm(exp(neg(nll)), o.gamma, o.reduced_threshold);
  let loss = mul(term, nll);
  if (o.normalized) loss = div(loss, clamp(sum(term), o.eps));
  return focalReduce(loss, o.reduction);
}

/** smp's functional helpers (`segmentation_models_pytorch.losses._functional`), keyword options as in Python. */
export const functional = { soft_dice_score, soft_jaccard_score, soft_tversky_score, focal_loss_with_logits, softmax_focal_loss_with_logits };

// ---------------------------------------------------------------------------------------------
// Dice / Jaccard / Tversky

export interface SmpOverlapKwargs {
  mode: SmpMode;
  classes?: readonly number[] | null;
  log_loss?: boolean;
  from_logits?: boolean;
  smooth?: number;
  ignore_index?: number | null;
  eps?: number;
  class_weights?: readonly number[] | null;
  /** segrad only: how PyTorch would type the target; multiclass one-hot needs 'int64' as `F.one_hot` does. */
  targetDtype?: TargetDtype;
}

export interface SmpTverskyKwargs extends SmpOverlapKwargs {
  alpha?: number;
  beta?: number;
  gamma?: number;
}

const OVERLAP_DEFAULTS = {
  mode: undefined as unknown as SmpMode,
  classes: null as readonly number[] | null,
  log_loss: false,
  from_logits: true,
  smooth: 0.0,
  ignore_index: null as number | null,
  eps: 1e-7,
  class_weights: null as readonly number[] | null,
  targetDtype: 'int64' as TargetDtype,
};

function requireMode(cls: string, kwargs: unknown): void {
  if (kwargs === undefined || kwargs === null || typeof kwargs !== 'object' || !('mode' in kwargs) || (kwargs as { mode?: unknown }).mode === undefined) {
    throw new CompatTypeError(`${cls}.__init__() missing 1 required positional argument: 'mode'`);
  }
}

function overlapLoss(cls: string, kwargs: SmpTverskyKwargs, fixed: { alpha: number; beta: number } | null): CompatLoss {
  requireMode(cls, kwargs);
  const o = parseKwargs(cls, kwargs, fixed ? OVERLAP_DEFAULTS : { ...OVERLAP_DEFAULTS, alpha: 0.5, beta: 0.5, gamma: 1.0 });
  const { alpha, beta } = fixed ?? (o as Required<SmpTverskyKwargs>);
  const gamma = fixed ? 1 : (o as Required<SmpTverskyKwargs>).gamma;
  if (!fixed) for (const k of ['alpha', 'beta', 'gamma'] as const) checkNumber(cls, k, (o as Required<SmpTverskyKwargs>)[k]);
  checkChoice(cls, 'mode', o.mode, MODES, CompatAssertionError);
  checkBool(cls, 'log_loss', o.log_loss);
  checkBool(cls, 'from_logits', o.from_logits);
  checkNumber(cls, 'smooth', o.smooth);
  checkNumber(cls, 'eps', o.eps);
  checkNumber(cls, 'ignore_index', o.ignore_index, true);
  checkTargetDtype(cls, o.targetDtype);
  if (o.classes !== null && o.mode === 'binary') throw new CompatAssertionError(`${cls}: masking classes is not supported with mode=binary`);
  if (o.class_weights !== null && o.mode === 'binary') throw new CompatValueError(`${cls}: class_weights is not supported with mode=binary`);
  const weights = o.class_weights === null ? null : parseWeight(cls, 'class_weights', o.class_weights)!.values;
  return (yPred, yTrue) => {
    if (yPred.rank < 2) throw new CompatValueError(`${cls}: y_pred must be (B, C, ...), got shape ${formatShape(yPred.shape)}`);
    if (yTrue.shape[0] !== yPred.shape[0]) throw new CompatAssertionError(`${cls}: batch sizes differ: y_pred ${formatShape(yPred.shape)}, y_true ${formatShape(yTrue.shape)}`);
    let p = yPred;
    if (o.from_logits) p = o.mode === 'multiclass' ? exp(logSoftmax(p, 1)) : exp(logSigmoid(p));
    const bs = yTrue.shape[0];
    const c = yPred.shape[1];
    let t: Tensor;
    if (o.mode === 'multiclass') {
      if (o.targetDtype !== 'int64') throw new CompatTypeError(`${cls}: multiclass y_true holds class indices and must be int64 (F.one_hot), got targetDtype 'float32'`);
      p = viewAs(cls, p, [bs, c, -1], 'y_pred');
      const raw = valuesOf(yTrue);
      const n = raw.length / bs;
      if (o.ignore_index !== null) {
        const keep = raw.map((v) => v !== o.ignore_index);
        const keepT = constLike(p, keep.map(Number), [bs, 1, n]);
        p = mul(p, keepT);
        // one_hot(y·mask)·mask: ignored pixels become class 0, then are zeroed.
        const labels = classIndices(cls, constLike(p, raw.map((v, i) => (keep[i] ? v : 0)), [raw.length]), c);
        t = mul(oneHotAxis1(p, labels, bs, [n], c), keepT);
      } else {
        t = oneHotAxis1(p, classIndices(cls, yTrue, c), bs, [n], c);
      }
    } else {
      const ch = o.mode === 'binary' ? 1 : c;
      p = viewAs(cls, p, [bs, ch, -1], 'y_pred');
      t = viewAs(cls, asInputDtype(yTrue, yPred), [bs, ch, -1], 'y_true');
      if (o.ignore_index !== null) {
        const keep = constLike(p, valuesOf(t).map((v) => (v !== o.ignore_index ? 1 : 0)), t.shape);
        p = mul(p, keep);
        t = mul(t, keep);
      }
    }
    if (!sameShape(p.shape, t.shape)) throw new CompatAssertionError(`${cls}: y_pred ${formatShape(yPred.shape)} and y_true ${formatShape(yTrue.shape)} do not flatten to the same layout (${formatShape(p.shape)} vs ${formatShape(t.shape)})`);
    const score = tverskyScore(cls, p, t, alpha, beta, { smooth: o.smooth, eps: o.eps, dims: [0, 2] });
    let loss = o.log_loss ? neg(log(clamp(score, o.eps))) : sub(1, score);
    // A class with no positive pixel anywhere in the batch contributes 0.
    const present = valuesOf(sum(t, [0, 2])).map((v) => (v > 0 ? 1 : 0));
    loss = mul(loss, constLike(loss, present, [present.length]));
    let w = weights;
    if (o.classes !== null) {
      const idx = o.classes.map((k) => {
        const j = k < 0 ? k + c : k;
        if (!(Number.isInteger(j) && j >= 0 && j < c)) throw new CompatIndexError(`${cls}: classes entry ${k} is out of range for ${c} classes (y_pred ${formatShape(yPred.shape)})`);
        return j;
      });
      loss = take(loss, constLike(loss, idx, [idx.length]));
      if (w) w = idx.map((j) => w![j]);
    }
    let out: Tensor;
    if (w) {
      if (w.length !== loss.size) throw new CompatValueError(`${cls}: class_weights has ${w.length} entries but there are ${loss.size} classes (y_pred ${formatShape(yPred.shape)})`);
      out = div(sum(mul(loss, constLike(loss, w, [w.length]))), w.reduce((a, b) => a + b, 0));
    } else {
      out = mean(loss);
    }
    return gamma === 1 ? out : pow(out, gamma);
  };
}

/**
 * `smp.losses.DiceLoss`: `1 − (2tp + 2·smooth)/clamp_min(Σp + Σt + 2·smooth, ·)` per class, the sums
 * pooling batch and pixels (dims (0, 2)), then the mean over classes (or the `class_weights` average).
 * `mode` is required: 'binary' | 'multiclass' (index targets, softmax) | 'multilabel' (sigmoid).
 *
 * Quirks kept: a class absent from the whole batch's target contributes 0 (an all-background binary
 * target gives loss 0 whatever the prediction); ignored pixels are zeroed, not removed; shapes only
 * need to agree after flattening; no `reduction` (always a scalar).
 */
export function DiceLoss(kwargs: SmpOverlapKwargs): CompatLoss {
  return overlapLoss('smp.DiceLoss', kwargs, { alpha: 0.5, beta: 0.5 });
}

/** `smp.losses.JaccardLoss`: as smp DiceLoss with the Jaccard score `(tp + s)/(Σp + Σt − tp + s)`; same quirks. */
export function JaccardLoss(kwargs: SmpOverlapKwargs): CompatLoss {
  return overlapLoss('smp.JaccardLoss', kwargs, { alpha: 1, beta: 1 });
}

/**
 * `smp.losses.TverskyLoss` (Salehi et al., 2017): as smp DiceLoss with the Tversky score
 * `(tp + s)/clamp_min(tp + α·fp + β·fn + s, eps)` (α on FP, β on FN), the class mean raised to `gamma`
 * (focal Tversky). Same quirks as smp DiceLoss.
 */
export function TverskyLoss(kwargs: SmpTverskyKwargs): CompatLoss {
  return overlapLoss('smp.TverskyLoss', kwargs, null);
}

// ---------------------------------------------------------------------------------------------
// Focal

export interface SmpFocalKwargs {
  mode: SmpMode;
  alpha?: number | null;
  gamma?: number;
  ignore_index?: number | null;
  from_logits?: boolean;
  eps?: number;
  reduction?: FocalReduction;
  normalized?: boolean;
  reduced_threshold?: number | null;
  class_weights?: readonly number[] | null;
  targetDtype?: TargetDtype;
}

/**
 * `smp.losses.FocalLoss`: binary sigmoid focal loss; in 'multiclass' and 'multilabel' modes one binary
 * sigmoid focal loss per class (`x[:, c]` against `y == c` or `y[:, c]`), averaged over classes (or
 * the `class_weights` average). `alpha` defaults to none here (0.25 in the functional form).
 *
 * Quirks kept: multiclass uses per-class sigmoids, not a softmax; `from_logits: false` maps
 * probabilities to logits with `log(p/(1−p))` (binary, multilabel) but `log p` (multiclass, not an
 * inverse); `ignore_index` entries are removed; multilabel with `ignore_index` raises IndexError.
 */
export function FocalLoss(kwargs: SmpFocalKwargs): CompatLoss {
  const cls = 'smp.FocalLoss';
  requireMode(cls, kwargs);
  const o = parseKwargs(cls, kwargs, {
    mode: undefined as unknown as SmpMode,
    alpha: null as number | null,
    gamma: 2.0,
    ignore_index: null as number | null,
    from_logits: true,
    eps: 1e-7,
    reduction: 'mean' as FocalReduction,
    normalized: false,
    reduced_threshold: null as number | null,
    class_weights: null as readonly number[] | null,
    targetDtype: 'int64' as TargetDtype,
  });
  checkChoice(cls, 'mode', o.mode, MODES, CompatAssertionError);
  checkBool(cls, 'from_logits', o.from_logits);
  checkNumber(cls, 'ignore_index', o.ignore_index, true);
  checkTargetDtype(cls, o.targetDtype);
  const fo: Required<FocalFunctionalKwargs> = { gamma: o.gamma, alpha: o.alpha, reduction: o.reduction, normalized: o.normalized, reduced_threshold: o.reduced_threshold, eps: 1e-6 };
  checkFocalFn(cls, fo);
  checkNumber(cls, 'eps', o.eps);
  if (o.class_weights !== null && o.mode === 'binary') throw new CompatValueError(`${cls}: class_weights is not supported with mode=binary`);
  const weights = o.class_weights === null ? null : parseWeight(cls, 'class_weights', o.class_weights)!.values;
  return (yPred, yTrue) => {
    let x = yPred;
    if (!o.from_logits) {
      const p = clamp(x, o.eps, 1 - o.eps);
      x = o.mode === 'multiclass' ? log(p) : log(div(p, sub(1, p)));
    }
    const raw = valuesOf(yTrue);
    if (o.mode === 'binary') {
      let xf = x.reshape([-1]);
      let tf = asInputDtype(yTrue, yPred).reshape([-1]);
      if (xf.size !== tf.size) throw new CompatValueError(`${cls}: y_pred ${formatShape(yPred.shape)} and y_true ${formatShape(yTrue.shape)} have different sizes`);
      if (o.ignore_index !== null) {
        const keep = raw.map((v) => v !== o.ignore_index);
        xf = selectWhere(xf, keep);
        tf = selectWhere(tf, keep);
      }
      return focalWithLogits(xf, tf, fo);
    }
    if (yPred.rank < 2) throw new CompatValueError(`${cls}: y_pred must be (B, C, ...) in ${o.mode} mode, got shape ${formatShape(yPred.shape)}`);
    const c = yPred.shape[1];
    if (o.mode === 'multilabel' && o.ignore_index !== null) {
      // smp indexes y_pred[:, c] with a mask shaped like the whole y_true, which fails.
      throw new CompatIndexError(`${cls}: multilabel mode with ignore_index fails in smp (the mask ${formatShape(yTrue.shape)} does not match y_pred[:, c] ${formatShape([yPred.shape[0], ...yPred.shape.slice(2)])})`);
    }
    const expected = [yPred.shape[0], ...yPred.shape.slice(2)];
    const perClassShape = o.mode === 'multiclass' ? yTrue.shape : [yTrue.shape[0], ...yTrue.shape.slice(2)];
    if (!sameShape(perClassShape, expected) || (o.mode === 'multilabel' && yTrue.shape[1] !== c)) {
      throw new CompatValueError(`${cls}: y_true ${formatShape(yTrue.shape)} does not match y_pred ${formatShape(yPred.shape)} in ${o.mode} mode`);
    }
    const keep = o.ignore_index !== null ? raw.map((v) => v !== o.ignore_index) : null;
    const losses: Tensor[] = [];
    for (let k = 0; k < c; k++) {
      let xc = x.slice([0, k], [-1, 1]).reshape(expected);
      let tc = o.mode === 'multiclass' ? constLike(x, raw.map((v) => (v === k ? 1 : 0)), expected) : asInputDtype(yTrue, yPred).slice([0, k], [-1, 1]).reshape(expected);
      if (keep) {
        xc = selectWhere(xc.reshape([-1]), keep);
        tc = selectWhere(tc.reshape([-1]), keep);
      }
      losses.push(focalWithLogits(xc, tc, fo));
    }
    const stacked = stack(losses, 0);
    if (weights) {
      if (weights.length !== c) throw new CompatValueError(`${cls}: class_weights has ${weights.length} entries but y_pred ${formatShape(yPred.shape)} has ${c} classes`);
      const wv = constLike(stacked, weights, [c, ...new Array<number>(stacked.rank - 1).fill(1)]);
      return div(sum(mul(stacked, wv), 0), weights.reduce((a, b) => a + b, 0));
    }
    return mean(stacked, 0);
  };
}

// ---------------------------------------------------------------------------------------------
// Lovász

export interface SmpLovaszKwargs {
  mode: SmpMode;
  per_image?: boolean;
  ignore_index?: number | null;
  /** Accepted and ignored, as in smp. */
  from_logits?: boolean;
  targetDtype?: TargetDtype;
}

/**
 * `errors` sorted descending dotted with the Lovász gradient, summed in the errors' own order: each
 * gradient entry goes back to its error's place (placeLovaszWeights), so nothing is gathered (float32
 * indices would address only 2^24 elements exactly).
 */
function lovaszDot(errors: Tensor, labels: readonly number[], hinge: boolean): Tensor {
  const grad = new Float64Array(errors.size);
  placeLovaszWeights(hostArray(errors), labels, 0, errors.size, 1, grad);
  return sum(mul(hinge ? relu(errors) : errors, constLike(errors, grad, errors.shape)));
}

function lovaszHingeFlat(logits: Tensor, labels: readonly number[]): Tensor {
  if (labels.length === 0) return mul(sum(logits), 0);
  const signs = constLike(logits, labels.map((l) => 2 * l - 1), [labels.length]);
  return lovaszDot(sub(1, mul(logits, signs)), labels, true);
}

function lovaszSoftmaxFlat(probas: Tensor, labels: readonly number[]): Tensor {
  if (probas.size === 0) return mul(sum(probas), 0);
  const c = probas.shape[1];
  const losses: Tensor[] = [];
  for (let k = 0; k < c; k++) {
    const fg = labels.map((l) => (l === k ? 1 : 0));
    if (!fg.some((v) => v > 0)) continue; // classes='present'
    const pred = probas.slice([0, k], [-1, 1]).reshape([-1]);
    losses.push(lovaszDot(abs(sub(constLike(probas, fg, [fg.length]), pred)), fg, false));
  }
  // smp's mean() of an empty list is 0.
  if (losses.length === 0) return mul(sum(probas), 0);
  return mean(stack(losses, 0));
}

/** Flattens scores and labels and drops ignored entries, as `_flatten_binary_scores`/`_flatten_probas`. */
function dropIgnored(x: Tensor, labels: number[], ignore: number | null): [Tensor, number[]] {
  if (ignore === null) return [x, labels];
  const keep = labels.map((v) => v !== ignore);
  const kept = labels.filter((_, i) => keep[i]);
  if (x.rank === 1) return [selectWhere(x, keep), kept];
  const c = x.shape[1];
  const idx: number[] = [];
  keep.forEach((k, i) => {
    if (k) for (let j = 0; j < c; j++) idx.push(i * c + j);
  });
  return [take(x, constLike(x, idx, [kept.length, c])), kept];
}

/**
 * `smp.losses.LovaszLoss` (Berman et al., 2018): Lovász hinge on the logits ('binary', 'multilabel': all
 * channels flattened together) or Lovász-softmax over the classes present ('multiclass'), over the
 * whole batch or averaged per image (`per_image`). Ignored pixels are removed.
 *
 * Quirk kept: `from_logits` is accepted and never used — the hinge always takes logits, the softmax
 * variant always applies a softmax.
 */
export function LovaszLoss(kwargs: SmpLovaszKwargs): CompatLoss {
  const cls = 'smp.LovaszLoss';
  requireMode(cls, kwargs);
  const o = parseKwargs(cls, kwargs, { mode: undefined as unknown as SmpMode, per_image: false, ignore_index: null as number | null, from_logits: true, targetDtype: 'int64' as TargetDtype });
  checkChoice(cls, 'mode', o.mode, MODES, CompatAssertionError);
  checkBool(cls, 'per_image', o.per_image);
  checkBool(cls, 'from_logits', o.from_logits);
  checkNumber(cls, 'ignore_index', o.ignore_index, true);
  checkTargetDtype(cls, o.targetDtype);
  return (yPred, yTrue) => {
    const raw = valuesOf(yTrue);
    const images = o.per_image ? yPred.shape[0] : 1;
    if (o.mode !== 'multiclass') {
      if (yPred.size !== yTrue.size) throw new CompatValueError(`${cls}: y_pred ${formatShape(yPred.shape)} and y_true ${formatShape(yTrue.shape)} have different sizes`);
      const per = yPred.size / images;
      const x = yPred.reshape([images, per]);
      const losses = Array.from({ length: images }, (_, b) => {
        const [xs, ls] = dropIgnored(x.slice([b, 0], [1, -1]).reshape([-1]), raw.slice(b * per, (b + 1) * per), o.ignore_index);
        return lovaszHingeFlat(xs, ls);
      });
      return images === 1 ? losses[0] : mean(stack(losses, 0));
    }
    if (yPred.rank < 2) throw new CompatValueError(`${cls}: y_pred must be (B, C, ...) in multiclass mode, got shape ${formatShape(yPred.shape)}`);
    const probs = softmax(yPred, 1);
    const c = yPred.shape[1];
    const b = yPred.shape[0];
    const n = yPred.size / (b * c);
    if (raw.length !== b * n) throw new CompatValueError(`${cls}: y_true ${formatShape(yTrue.shape)} does not match y_pred ${formatShape(yPred.shape)} in multiclass mode`);
    // [B, C, *] → [B·*, C], channels last, as torch.movedim(probas, 1, -1).
    const flat = probs.reshape([b, c, n]).permute([0, 2, 1]);
    const losses = Array.from({ length: images }, (_, i) => {
      const rows = o.per_image ? 1 : b;
      const part = flat.slice([i, 0, 0], [rows, -1, -1]).reshape([rows * n, c]);
      const [ps, ls] = dropIgnored(part, raw.slice(i * n, i * n + rows * n), o.ignore_index);
      return lovaszSoftmaxFlat(ps, ls);
    });
    return images === 1 ? losses[0] : mean(stack(losses, 0));
  };
}

// ---------------------------------------------------------------------------------------------
// MCC, SoftBCE, SoftCE

/**
 * `smp.losses.MCCLoss` (binary only, no activation: pass probabilities): `1 − MCC`, with tp, tn, fp, fn
 * summed over the whole batch, each plus `eps`. Range [0, 2].
 */
export function MCCLoss(kwargs?: { eps?: number }): CompatLoss {
  const cls = 'smp.MCCLoss';
  const o = parseKwargs(cls, kwargs, { eps: 1e-5 });
  checkNumber(cls, 'eps', o.eps);
  return (yPred, yTrue) => {
    const bs = yTrue.shape[0];
    const p = viewAs(cls, yPred, [bs, 1, -1], 'y_pred');
    const t = viewAs(cls, asInputDtype(yTrue, yPred), [bs, 1, -1], 'y_true');
    if (!sameShape(p.shape, t.shape)) throw new CompatValueError(`${cls}: y_pred ${formatShape(yPred.shape)} and y_true ${formatShape(yTrue.shape)} differ in size`);
    const tp = add(sum(mul(p, t)), o.eps);
    const tn = add(sum(mul(sub(1, p), sub(1, t))), o.eps);
    const fp = add(sum(mul(p, sub(1, t))), o.eps);
    const fn = add(sum(mul(sub(1, p), t)), o.eps);
    const numerator = sub(mul(tp, tn), mul(fp, fn));
    const denominator = sqrt(mul(mul(mul(add(tp, fp), add(tp, fn)), add(tn, fp)), add(tn, fn)));
    return sub(1, div(numerator, denominator));
  };
}

export interface SoftBCEWithLogitsKwargs {
  weight?: readonly number[] | number | Tensor | null;
  ignore_index?: number | null;
  reduction?: 'mean' | 'sum' | 'none';
  smooth_factor?: number | null;
  pos_weight?: readonly number[] | number | Tensor | null;
  /** segrad only: an 'int64' target without `smooth_factor` is refused, as PyTorch's BCE refuses it. */
  targetDtype?: TargetDtype;
}

const weightTensor = (ref: Tensor, spec: ReturnType<typeof parseWeight>): Tensor | null => (spec ? constLike(ref, spec.values, spec.scalar ? [] : [spec.values.length]) : null);

/**
 * `smp.losses.SoftBCEWithLogitsLoss`: BCE with logits against the smoothed target
 * `(1 − y)·smooth_factor + y·(1 − smooth_factor)`, with `weight` and `pos_weight` as in PyTorch.
 *
 * Quirk kept: entries with `y == ignore_index` are multiplied by 0 but still counted in the mean.
 */
export function SoftBCEWithLogitsLoss(kwargs?: SoftBCEWithLogitsKwargs): CompatLoss {
  const cls = 'smp.SoftBCEWithLogitsLoss';
  const o = parseKwargs(cls, kwargs, { weight: null as SoftBCEWithLogitsKwargs['weight'], ignore_index: -100 as number | null, reduction: 'mean' as 'mean' | 'sum' | 'none', smooth_factor: null as number | null, pos_weight: null as SoftBCEWithLogitsKwargs['pos_weight'], targetDtype: 'float32' as TargetDtype });
  checkNumber(cls, 'ignore_index', o.ignore_index, true);
  checkNumber(cls, 'smooth_factor', o.smooth_factor, true);
  checkTargetDtype(cls, o.targetDtype);
  const weight = parseWeight(cls, 'weight', o.weight);
  const posWeight = parseWeight(cls, 'pos_weight', o.pos_weight);
  return (yPred, yTrue) => {
    if (o.smooth_factor === null && o.targetDtype === 'int64') {
      throw new CompatTypeError(`${cls}: binary_cross_entropy_with_logits needs a floating-point target; got an int64 target ${formatShape(yTrue.shape)} and no smooth_factor`);
    }
    if (!sameShape(yPred.shape, yTrue.shape)) throw new CompatValueError(`${cls}: target size ${formatShape(yTrue.shape)} must be the same as input size ${formatShape(yPred.shape)}`);
    const y = asInputDtype(yTrue, yPred);
    const soft = o.smooth_factor === null ? y : add(mul(sub(1, y), o.smooth_factor), mul(y, 1 - o.smooth_factor));
    let loss = bceWithLogits(yPred, soft, weightTensor(yPred, weight), weightTensor(yPred, posWeight));
    if (o.ignore_index !== null) loss = mul(loss, constLike(loss, valuesOf(yTrue).map((v) => (v !== o.ignore_index ? 1 : 0)), yTrue.shape));
    return o.reduction === 'mean' ? mean(loss) : o.reduction === 'sum' ? sum(loss) : loss;
  };
}

export interface SoftCrossEntropyKwargs {
  reduction?: 'mean' | 'sum' | 'none';
  smooth_factor?: number | null;
  ignore_index?: number | null;
  dim?: number;
  targetDtype?: TargetDtype;
}

/**
 * `smp.losses.SoftCrossEntropyLoss`: label-smoothed cross-entropy
 * `(1 − ε)·nll + ε/C·(−Σ_c log p_c)` over axis `dim`, `ε = smooth_factor`, targets class indices.
 *
 * Quirks kept: ignored rows give 0 but are counted in both means; without `smooth_factor` (the
 * default) the call raises TypeError, as smp's `None / C` does — pass 0 for plain cross-entropy;
 * 'none' keeps the class axis as size 1 when `ignore_index` is set.
 */
export function SoftCrossEntropyLoss(kwargs?: SoftCrossEntropyKwargs): CompatLoss {
  const cls = 'smp.SoftCrossEntropyLoss';
  const o = parseKwargs(cls, kwargs, { reduction: 'mean' as 'mean' | 'sum' | 'none', smooth_factor: null as number | null, ignore_index: -100 as number | null, dim: 1, targetDtype: 'int64' as TargetDtype });
  checkNumber(cls, 'smooth_factor', o.smooth_factor, true);
  checkNumber(cls, 'ignore_index', o.ignore_index, true);
  checkNumber(cls, 'dim', o.dim);
  checkTargetDtype(cls, o.targetDtype);
  return (yPred, yTrue) => {
    const dim = o.dim < 0 ? o.dim + yPred.rank : o.dim;
    if (!(dim >= 0 && dim < yPred.rank)) throw new CompatIndexError(`${cls}: dim ${o.dim} is out of range for y_pred ${formatShape(yPred.shape)}`);
    if (o.targetDtype !== 'int64') throw new CompatTypeError(`${cls}: gather() needs an int64 index; y_true ${formatShape(yTrue.shape)} was declared 'float32'`);
    const lp = logSoftmax(yPred, dim);
    const c = yPred.shape[dim];
    const t = yTrue.rank === yPred.rank - 1 ? yTrue.reshape([...yTrue.shape.slice(0, dim), 1, ...yTrue.shape.slice(dim)]) : yTrue;
    const expected = yPred.shape.map((d, i) => (i === dim ? 1 : d));
    if (!sameShape(t.shape, expected)) throw new CompatValueError(`${cls}: y_true ${formatShape(yTrue.shape)} does not match y_pred ${formatShape(yPred.shape)} along dim ${dim}`);
    const raw = valuesOf(t);
    const ignored = raw.map((v) => o.ignore_index !== null && v === o.ignore_index);
    const labels = classIndices(cls, constLike(lp, raw.map((v, i) => (ignored[i] ? 0 : v)), [raw.length]), c);
    // Gather along `dim` as flat indices into the log-probabilities.
    const inner = yPred.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    const idx = labels.map((k, i) => Math.floor(i / inner) * c * inner + k * inner + (i % inner));
    let nll = neg(take(lp, constLike(lp, idx, expected)));
    let smooth = neg(sum(lp, dim, { keepDims: true }));
    if (o.ignore_index !== null) {
      const keep = constLike(lp, ignored.map((v) => (v ? 0 : 1)), expected);
      nll = where(keep, nll, 0);
      smooth = where(keep, smooth, 0);
    } else {
      nll = nll.squeeze(dim);
      smooth = smooth.squeeze(dim);
    }
    if (o.reduction === 'sum') [nll, smooth] = [sum(nll), sum(smooth)];
    if (o.reduction === 'mean') [nll, smooth] = [mean(nll), mean(smooth)];
    if (o.smooth_factor === null) throw new CompatTypeError(`${cls}: unsupported operand type(s) for /: 'NoneType' and 'int' (smooth_factor=None); pass smooth_factor: 0 for plain cross-entropy`);
    return add(mul(nll, 1 - o.smooth_factor), mul(smooth, o.smooth_factor / c));
  };
}
