import { abs, add, div, exp, logSigmoid, logSoftmax, mean, mul, neg, pow, sigmoid, slice, softmax, square, sub, sum, take, tanh } from '../../autograd/index.js';
import { formatShape, type Tensor } from '../../tensor/index.js';
import {
  asInputDtype,
  axesFrom,
  bceWithLogits,
  checkBool,
  checkChoice,
  checkNumber,
  checkTargetDtype,
  classIndices,
  CompatAssertionError,
  CompatTypeError,
  CompatValueError,
  constLike,
  oneHotAxis1,
  parseKwargs,
  parseWeight,
  valuesOf,
  type CompatLoss,
  type TargetDtype,
  type WeightSpec,
} from './common.js';

/**
 * MONAI-compatible losses (`monai.losses`, 1.5 line): the same keyword names, defaults and numbers,
 * quirks included. The semantics, step by step, are in spec/compat.md §1.
 */

/** The activations `other_act` may name; MONAI takes a callable, segrad takes its name. */
export type OtherAct = 'tanh' | 'sigmoid' | 'log_softmax';
export type MonaiReduction = 'mean' | 'sum' | 'none';
/** A class weight: a scalar (repeated per class), a list, or a 0-/1-D tensor. */
export type MonaiWeight = number | readonly number[] | Tensor | null;

/** Options of the shared front end (activation, one-hot, background removal). */
interface FrontKwargs {
  include_background?: boolean;
  to_onehot_y?: boolean;
  sigmoid?: boolean;
  softmax?: boolean;
  /** 'tanh' | 'sigmoid' | 'log_softmax' (over the channel axis); applied after sigmoid/softmax. */
  other_act?: OtherAct | null;
  /** segrad only: how PyTorch would type the target (MONAI casts it, so this never changes a value). */
  targetDtype?: TargetDtype;
}

export interface DiceLossKwargs extends FrontKwargs {
  squared_pred?: boolean;
  jaccard?: boolean;
  reduction?: MonaiReduction;
  smooth_nr?: number;
  smooth_dr?: number;
  batch?: boolean;
  weight?: MonaiWeight;
  soft_label?: boolean;
}

export interface GeneralizedDiceLossKwargs extends FrontKwargs {
  w_type?: 'square' | 'simple' | 'uniform';
  reduction?: MonaiReduction;
  smooth_nr?: number;
  smooth_dr?: number;
  batch?: boolean;
  soft_label?: boolean;
}

export interface TverskyLossKwargs extends FrontKwargs {
  alpha?: number;
  beta?: number;
  reduction?: MonaiReduction;
  smooth_nr?: number;
  smooth_dr?: number;
  batch?: boolean;
  soft_label?: boolean;
}

export interface FocalLossKwargs {
  include_background?: boolean;
  to_onehot_y?: boolean;
  gamma?: number;
  alpha?: number | null;
  weight?: MonaiWeight;
  reduction?: MonaiReduction;
  use_softmax?: boolean;
  targetDtype?: TargetDtype;
}

export interface DiceCELossKwargs extends Omit<DiceLossKwargs, 'weight' | 'soft_label' | 'reduction'> {
  reduction?: 'mean' | 'sum';
  /** Per-class weight of the CE term (also `pos_weight` of the BCE path, and the Dice weight). */
  weight?: readonly number[] | Tensor | null;
  lambda_dice?: number;
  lambda_ce?: number;
  label_smoothing?: number;
}

export interface DiceFocalLossKwargs extends Omit<DiceLossKwargs, 'soft_label'> {
  gamma?: number;
  alpha?: number | null;
  lambda_dice?: number;
  lambda_focal?: number;
}

export interface GeneralizedDiceFocalLossKwargs extends Omit<GeneralizedDiceLossKwargs, 'soft_label'> {
  gamma?: number;
  weight?: MonaiWeight;
  lambda_gdl?: number;
  lambda_focal?: number;
}

export interface DeepSupervisionLossKwargs {
  weight_mode?: 'same' | 'exp' | 'two';
  weights?: readonly number[] | null;
}

const REDUCTIONS = ['mean', 'sum', 'none'] as const;
const FRONT_DEFAULTS = { include_background: true, to_onehot_y: false, sigmoid: false, softmax: false, other_act: null as OtherAct | null, targetDtype: 'float32' as TargetDtype };
const SMOOTH_DEFAULTS = { smooth_nr: 1e-5, smooth_dr: 1e-5, batch: false };

type Front = Required<Omit<FrontKwargs, 'other_act'>> & { other_act: OtherAct | null };

function checkFront(cls: string, o: Front): void {
  for (const k of ['include_background', 'to_onehot_y', 'sigmoid', 'softmax'] as const) checkBool(cls, k, o[k]);
  if (o.other_act !== null) checkChoice(cls, 'other_act', o.other_act, ['tanh', 'sigmoid', 'log_softmax'] as const, CompatTypeError);
  checkTargetDtype(cls, o.targetDtype);
  if (Number(o.sigmoid) + Number(o.softmax) + Number(o.other_act !== null) > 1) {
    throw new CompatValueError(`${cls}: incompatible values: more than 1 of [sigmoid=${o.sigmoid}, softmax=${o.softmax}, other_act=${o.other_act}] is set`);
  }
}

function checkSmooth(cls: string, o: { smooth_nr: number; smooth_dr: number; batch: boolean }): void {
  checkNumber(cls, 'smooth_nr', o.smooth_nr);
  checkNumber(cls, 'smooth_dr', o.smooth_dr);
  checkBool(cls, 'batch', o.batch);
}

function checkInput(cls: string, input: Tensor, target: Tensor): void {
  if (input.rank < 2) throw new CompatValueError(`${cls}: input must be (B, N, *spatial), got shape ${formatShape(input.shape)}`);
  if (target.rank < 2) throw new CompatValueError(`${cls}: target must be (B, 1|N, *spatial), got shape ${formatShape(target.shape)}`);
}

/** MONAI `one_hot(labels, num_classes, dim=1)`: labels (B, 1, *) cast with `.long()`. */
function monaiOneHot(cls: string, target: Tensor, input: Tensor, n: number): Tensor {
  if (target.shape[1] !== 1) throw new CompatAssertionError(`${cls}: to_onehot_y needs a target with one channel, got shape ${formatShape(target.shape)} (input ${formatShape(input.shape)})`);
  return oneHotAxis1(input, classIndices(cls, target, n), target.shape[0], target.shape.slice(2), n);
}

/** Drops channel 0 of both tensors; MONAI warns and keeps it when only one channel exists. */
function dropBackground(cls: string, p: Tensor, g: Tensor): [Tensor, Tensor] {
  if (p.shape[1] === 1) return [p, g];
  if (g.shape[1] < 2) {
    // MONAI slices the target too, leaving it with no channel, and then fails the shape check.
    const gShape = g.shape.map((d, i) => (i === 1 ? 0 : d));
    throw new CompatAssertionError(`${cls}: ground truth has different shape (${formatShape(gShape)}) from input (${formatShape([p.shape[0], p.shape[1] - 1, ...p.shape.slice(2)])}); with include_background=false an index target needs to_onehot_y`);
  }
  return [slice(p, [0, 1]), slice(g, [0, 1])];
}

/** Steps 1–6 of spec §1.1: activation, one-hot, background removal, shape check. */
function front(cls: string, o: Front, input: Tensor, target: Tensor): [Tensor, Tensor] {
  checkInput(cls, input, target);
  const n = input.shape[1];
  let p = input;
  if (o.sigmoid) p = sigmoid(p);
  if (o.softmax && n > 1) p = softmax(p, 1);
  if (o.other_act === 'tanh') p = tanh(p);
  else if (o.other_act === 'sigmoid') p = sigmoid(p);
  else if (o.other_act === 'log_softmax') p = logSoftmax(p, 1);
  let g = asInputDtype(target, input);
  if (o.to_onehot_y && n > 1) g = monaiOneHot(cls, target, input, n);
  if (!o.include_background) [p, g] = dropBackground(cls, p, g);
  if (!sameShape(p.shape, g.shape)) throw new CompatAssertionError(`${cls}: ground truth has different shape (${formatShape(g.shape)}) from input (${formatShape(p.shape)})`);
  return [p, g];
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** torch.sum over an empty dim list reduces every axis; keep that for (B, C) inputs. */
const sumAxes = (x: Tensor, axes: number[], keepDims = false): Tensor => sum(x, axes.length ? axes : undefined, { keepDims });

/** `monai.losses.utils.compute_tp_fp_fn` (spec §1.2). */
function tpFpFn(p: Tensor, g: Tensor, axes: number[], ord: 1 | 2, softLabel: boolean, decoupled: boolean): [Tensor, Tensor, Tensor] {
  if (ord === 1 && !softLabel) {
    const tp = sumAxes(mul(p, g), axes);
    if (decoupled) return [tp, sub(sumAxes(p, axes), tp), sub(sumAxes(g, axes), tp)];
    return [tp, sumAxes(mul(p, sub(1, g)), axes), sumAxes(mul(sub(1, p), g), axes)];
  }
  // ‖·‖ₖᵏ: the L1 norm takes absolute values, which is what makes tanh/log_softmax outputs differ here.
  const norm = (x: Tensor): Tensor => sumAxes(ord === 1 ? abs(x) : square(x), axes);
  const P = norm(p);
  const G = norm(g);
  const tp = div(sub(add(P, G), norm(sub(p, g))), 2);
  return [tp, sub(P, tp), sub(G, tp)];
}

function reduceAxes(rank: number, batch: boolean): number[] {
  return batch ? [0, ...axesFrom(rank, 2)] : axesFrom(rank, 2);
}

/** `none` keeps (B, C) and appends one singleton per spatial axis, as MONAI's `f.view(...)`. */
function reduceWithView(f: Tensor, reduction: MonaiReduction, spatialRank: number): Tensor {
  if (reduction === 'mean') return mean(f);
  if (reduction === 'sum') return sum(f);
  return f.reshape([...f.shape.slice(0, 2), ...new Array<number>(spatialRank).fill(1)]);
}

function reducePlain(f: Tensor, reduction: MonaiReduction): Tensor {
  return reduction === 'mean' ? mean(f) : reduction === 'sum' ? sum(f) : f;
}

/** Per-class weight vector for `c` classes: a scalar is repeated, a list must have length c, none negative. */
function classWeight(cls: string, w: WeightSpec, c: number, input: Tensor): number[] {
  const values = w.scalar ? new Array<number>(c).fill(w.values[0]) : w.values;
  if (values.length !== c) {
    throw new CompatValueError(`${cls}: the number of weight entries (${values.length}) must equal the number of classes after background removal (${c}); input shape ${formatShape(input.shape)}`);
  }
  if (values.some((v) => v < 0)) throw new CompatValueError(`${cls}: weight values must be no less than 0, got [${values.join(', ')}]`);
  return values;
}

type DiceOpts = Required<Omit<DiceLossKwargs, 'other_act' | 'weight'>> & { other_act: OtherAct | null; weight: MonaiWeight };
const DICE_DEFAULTS: DiceOpts = { ...FRONT_DEFAULTS, squared_pred: false, jaccard: false, reduction: 'mean', ...SMOOTH_DEFAULTS, weight: null, soft_label: false };

function parseDice(cls: string, kwargs: object | undefined): { o: DiceOpts; weight: WeightSpec | null } {
  const o = parseKwargs(cls, kwargs, DICE_DEFAULTS);
  checkFront(cls, o);
  checkSmooth(cls, o);
  for (const k of ['squared_pred', 'jaccard', 'soft_label'] as const) checkBool(cls, k, o[k]);
  checkChoice(cls, 'reduction', o.reduction, REDUCTIONS);
  return { o, weight: parseWeight(cls, 'weight', o.weight) };
}

function diceForward(cls: string, o: DiceOpts, weight: WeightSpec | null, input: Tensor, target: Tensor): Tensor {
  const [p, g] = front(cls, o, input, target);
  const [tp, fp0, fn0] = tpFpFn(p, g, reduceAxes(p.rank, o.batch), o.squared_pred ? 2 : 1, o.soft_label, true);
  const half = o.jaccard ? 1 : 0.5;
  const [fp, fn] = [mul(fp0, half), mul(fn0, half)];
  const numerator = add(mul(tp, 2), o.smooth_nr);
  const denominator = add(mul(add(add(tp, fp), fn), 2), o.smooth_dr);
  let f = sub(1, div(numerator, denominator));
  // MONAI skips the weight entirely when a single channel remains.
  if (weight && g.shape[1] !== 1) f = mul(f, constLike(f, classWeight(cls, weight, g.shape[1], input), [g.shape[1]]));
  return reduceWithView(f, o.reduction, input.rank - 2);
}

/**
 * `monai.losses.DiceLoss`: `1 − (2·tp + smooth_nr) / (2·(tp + fp/2 + fn/2) + smooth_dr)` per (sample, class)
 * (per class with `batch: true`), then reduced. Milletari et al., V-Net (2016).
 *
 * Quirks kept: `other_act` output is not clamped (tanh/log_softmax give negative "probabilities" and
 * losses below 0); `jaccard` doubles the union but not `smooth_nr`; `weight` counts classes after
 * background removal and is ignored when one channel remains; `reduction: 'none'` returns
 * (B, C, 1, …) — or (C, 1, …) with `batch`; softmax/one-hot/background removal are skipped for N = 1.
 * @example compat.monai.DiceLoss({ include_background: false, to_onehot_y: true, softmax: true })(logits, labels)
 */
export function DiceLoss(kwargs?: DiceLossKwargs): CompatLoss {
  const cls = 'monai.DiceLoss';
  const { o, weight } = parseDice(cls, kwargs);
  return (input, target) => diceForward(cls, o, weight, input, target);
}

/**
 * `monai.losses.MaskedDiceLoss`: DiceLoss on `(input·mask, target·mask)`, the mask passed as the third
 * argument, shaped (B|1, 1, *spatial). Quirk kept: the mask multiplies the raw logits, so with
 * `sigmoid: true` masked voxels count as σ(0) = 0.5 rather than being removed. Without a mask it is
 * plain DiceLoss (MONAI warns).
 */
export function MaskedDiceLoss(kwargs?: DiceLossKwargs): CompatLoss {
  const cls = 'monai.MaskedDiceLoss';
  const { o, weight } = parseDice(cls, kwargs);
  return (input, target, mask) => {
    if (mask === undefined) return diceForward(cls, o, weight, input, target);
    if (input.shape[0] !== mask.shape[0] && mask.shape[0] !== 1) {
      throw new CompatValueError(`${cls}: batch size of mask (${formatShape(mask.shape)}) must be one or equal to input (${formatShape(input.shape)})`);
    }
    if (target.rank > 1) {
      if (mask.shape[1] !== 1) throw new CompatValueError(`${cls}: mask (${formatShape(mask.shape)}) must have only one channel`);
      if (!sameShape(input.shape.slice(2), mask.shape.slice(2))) {
        throw new CompatValueError(`${cls}: spatial size of input (${formatShape(input.shape)}) and mask (${formatShape(mask.shape)}) must match`);
      }
    }
    const m = asInputDtype(mask, input);
    return diceForward(cls, o, weight, mul(input, m), mul(asInputDtype(target, input), m));
  };
}

type GdlOpts = Required<Omit<GeneralizedDiceLossKwargs, 'other_act'>> & { other_act: OtherAct | null };
const GDL_DEFAULTS: GdlOpts = { ...FRONT_DEFAULTS, w_type: 'square', reduction: 'mean', ...SMOOTH_DEFAULTS, soft_label: false };

function parseGdl(cls: string, kwargs: object | undefined): GdlOpts {
  const o = parseKwargs(cls, kwargs, GDL_DEFAULTS);
  checkFront(cls, o);
  checkSmooth(cls, o);
  checkBool(cls, 'soft_label', o.soft_label);
  checkChoice(cls, 'w_type', o.w_type, ['square', 'simple', 'uniform'] as const);
  checkChoice(cls, 'reduction', o.reduction, REDUCTIONS);
  return o;
}

function gdlForward(cls: string, o: GdlOpts, input: Tensor, target: Tensor): Tensor {
  const [p, g] = front(cls, o, input, target);
  const axes = reduceAxes(p.rank, o.batch);
  const [tp, fp, fn] = tpFpFn(p, g, axes, 1, o.soft_label, true);
  const denominator = mul(add(add(tp, mul(fp, 0.5)), mul(fn, 0.5)), 2);
  // Weights come from the target alone (no gradient); computed in the input's precision so that an
  // overflow to inf in float32 is treated as an empty class, as MONAI does.
  const ground = sumAxes(g, axes);
  const round = input.dtype === 'float32' ? Math.fround : (v: number) => v;
  const raw = valuesOf(ground).map((s) => (o.w_type === 'uniform' ? 1 : o.w_type === 'simple' ? round(1 / s) : round(1 / round(s * s))));
  const rows = o.batch ? 1 : ground.shape[0];
  const perRow = raw.length / rows;
  const w = raw.slice();
  for (let r = 0; r < rows; r++) {
    const row = raw.slice(r * perRow, (r + 1) * perRow).map((v) => (Number.isFinite(v) ? v : 0));
    const maxW = Math.max(...row);
    for (let c = 0; c < perRow; c++) w[r * perRow + c] = Number.isFinite(raw[r * perRow + c]) ? raw[r * perRow + c] : maxW;
  }
  const wt = constLike(tp, w, ground.shape);
  const finalAxis = o.batch ? 0 : 1;
  const numer = add(mul(sum(mul(tp, wt), finalAxis, { keepDims: true }), 2), o.smooth_nr);
  const denom = add(sum(mul(denominator, wt), finalAxis, { keepDims: true }), o.smooth_dr);
  return reduceWithView(sub(1, div(numer, denom)), o.reduction, input.rank - 2);
}

/**
 * `monai.losses.GeneralizedDiceLoss` (Sudre et al., 2017): `1 − (2·Σ_c w_c·tp_c + nr) / (Σ_c w_c·(Σp_c + Σg_c) + dr)`
 * per sample, `w_c = 1/(Σg_c)²` ('square'), `1/Σg_c` ('simple') or 1 ('uniform').
 *
 * Quirks kept: an infinite weight (class absent from the sample's target) becomes the sample's largest
 * finite weight (the batch's with `batch: true`), so an all-empty target gives `1 − nr/dr`;
 * `reduction: 'none'` returns (B, 1, 1, …), or (1, 1, …) with `batch`.
 */
export function GeneralizedDiceLoss(kwargs?: GeneralizedDiceLossKwargs): CompatLoss {
  const cls = 'monai.GeneralizedDiceLoss';
  const o = parseGdl(cls, kwargs);
  return (input, target) => gdlForward(cls, o, input, target);
}

/**
 * `monai.losses.TverskyLoss` (Salehi et al., 2017): `1 − (tp + nr) / (tp + α·fp + β·fn + dr)` per
 * (sample, class), with `fp = Σp(1−g)`, `fn = Σ(1−p)g` (α weighs false positives, β false negatives).
 *
 * Quirks kept: tp is not doubled, so α = β = 0.5 is Dice with the smoothing doubled; `reduction: 'none'`
 * returns (B, C) — or (C,) with `batch` — without the spatial singletons DiceLoss adds.
 */
export function TverskyLoss(kwargs?: TverskyLossKwargs): CompatLoss {
  const cls = 'monai.TverskyLoss';
  type Opts = Required<Omit<TverskyLossKwargs, 'other_act'>> & { other_act: OtherAct | null };
  const defaults: Opts = { ...FRONT_DEFAULTS, alpha: 0.5, beta: 0.5, reduction: 'mean', ...SMOOTH_DEFAULTS, soft_label: false };
  const o = parseKwargs(cls, kwargs, defaults);
  checkFront(cls, o);
  checkSmooth(cls, o);
  checkNumber(cls, 'alpha', o.alpha);
  checkNumber(cls, 'beta', o.beta);
  checkBool(cls, 'soft_label', o.soft_label);
  checkChoice(cls, 'reduction', o.reduction, REDUCTIONS);
  return (input, target) => {
    const [p, g] = front(cls, o, input, target);
    const [tp, fp, fn] = tpFpFn(p, g, reduceAxes(p.rank, o.batch), 1, o.soft_label, false);
    const denominator = add(add(add(tp, mul(fp, o.alpha)), mul(fn, o.beta)), o.smooth_dr);
    return reducePlain(sub(1, div(add(tp, o.smooth_nr), denominator)), o.reduction);
  };
}

type FocalOpts = Required<Omit<FocalLossKwargs, 'alpha' | 'weight'>> & { alpha: number | null; weight: MonaiWeight };
const FOCAL_DEFAULTS: FocalOpts = { include_background: true, to_onehot_y: false, gamma: 2.0, alpha: null, weight: null, reduction: 'mean', use_softmax: false, targetDtype: 'float32' };

function parseFocal(cls: string, kwargs: object | undefined): { o: FocalOpts; weight: WeightSpec | null } {
  const o = parseKwargs(cls, kwargs, FOCAL_DEFAULTS);
  checkBool(cls, 'include_background', o.include_background);
  checkBool(cls, 'to_onehot_y', o.to_onehot_y);
  checkBool(cls, 'use_softmax', o.use_softmax);
  checkNumber(cls, 'gamma', o.gamma);
  checkNumber(cls, 'alpha', o.alpha, true);
  checkChoice(cls, 'reduction', o.reduction, REDUCTIONS);
  checkTargetDtype(cls, o.targetDtype);
  return { o, weight: parseWeight(cls, 'weight', o.weight) };
}

/** (1 − q)^γ without the pow when γ = 0, where pow's gradient at q = 1 would be 0·∞. */
const focalFactor = (oneMinusQ: Tensor, gamma: number): Tensor | null => (gamma === 0 ? null : pow(oneMinusQ, gamma));

function focalForward(cls: string, o: FocalOpts, weight: WeightSpec | null, input: Tensor, target: Tensor): Tensor {
  checkInput(cls, input, target);
  const n = input.shape[1];
  let x = input;
  let g = asInputDtype(target, input);
  if (o.to_onehot_y && n > 1) g = monaiOneHot(cls, target, input, n);
  if (!o.include_background) [x, g] = dropBackground(cls, x, g);
  if (!sameShape(x.shape, g.shape)) throw new CompatValueError(`${cls}: ground truth has different shape (${formatShape(g.shape)}) from input (${formatShape(x.shape)})`);
  const c = g.shape[1];
  const channelView = [c, ...new Array<number>(x.rank - 2).fill(1)];
  let loss: Tensor;
  if (o.use_softmax) {
    // log_softmax over the channels that remain, so background removal re-normalises.
    const ls = logSoftmax(x, 1);
    const factor = focalFactor(sub(1, exp(ls)), o.gamma);
    loss = neg(mul(factor ? mul(factor, ls) : ls, g));
    // MONAI drops alpha (with a warning) when the background channel is gone.
    if (o.alpha !== null && o.include_background) {
      loss = mul(loss, constLike(loss, [1 - o.alpha, ...new Array<number>(c - 1).fill(o.alpha)], channelView));
    }
  } else {
    const bce = sub(sub(x, mul(x, g)), logSigmoid(x));
    const invProbs = logSigmoid(neg(mul(x, sub(mul(g, 2), 1))));
    loss = o.gamma === 0 ? bce : mul(exp(mul(invProbs, o.gamma)), bce);
    if (o.alpha !== null) loss = mul(loss, add(mul(g, o.alpha), mul(sub(1, g), 1 - o.alpha)));
  }
  if (weight && c !== 1) loss = mul(loss, constLike(loss, classWeight(cls, weight, c, input), channelView));
  if (o.reduction === 'sum') return sum(mean(loss, x.rank > 2 ? axesFrom(x.rank, 2) : undefined));
  return reducePlain(loss, o.reduction);
}

/**
 * `monai.losses.FocalLoss` (Lin et al., 2017) on logits: sigmoid form `(1 − p_t)^γ·BCE` (default) or,
 * with `use_softmax`, `−(1 − softmax)^γ·log_softmax·g`; `alpha` balances classes, `weight` scales channels.
 *
 * Quirks kept: `reduction: 'sum'` is a spatial mean per (b, c) followed by a sum; with `use_softmax`
 * and `include_background: false` the softmax runs over the remaining channels and `alpha` is dropped;
 * `weight` is ignored for one remaining channel. float64 inputs stay float64 (MONAI casts to float32).
 */
export function FocalLoss(kwargs?: FocalLossKwargs): CompatLoss {
  const cls = 'monai.FocalLoss';
  const { o, weight } = parseFocal(cls, kwargs);
  return (input, target) => focalForward(cls, o, weight, input, target);
}

/** Cross-entropy of MONAI's DiceCELoss (PyTorch `CrossEntropyLoss` / `BCEWithLogitsLoss`), spec §1.7. */
function diceCeCrossEntropy(cls: string, input: Tensor, target: Tensor, weight: number[] | null, reduction: 'mean' | 'sum', eps: number): Tensor {
  const n = input.shape[1];
  const red = (t: Tensor): Tensor => (reduction === 'mean' ? mean(t) : sum(t));
  if (n === 1) {
    // Single channel: BCE with pos_weight = weight, and no label smoothing on this path.
    const pw = weight ? constLike(input, weight, [weight.length]) : null;
    return red(bceWithLogits(input, asInputDtype(target, input), null, pw));
  }
  if (weight && weight.length !== n) throw new CompatValueError(`${cls}: weight has ${weight.length} entries but the input has ${n} channels (${formatShape(input.shape)}); the CE term uses all channels`);
  const ls = logSoftmax(input, 1);
  const wView = weight ? constLike(input, weight, [n, ...new Array<number>(input.rank - 2).fill(1)]) : null;
  const weighted = wView ? mul(ls, wView) : ls;
  if (target.shape[1] === 1) {
    const labels = classIndices(cls, target, n);
    const onehot = oneHotAxis1(input, labels, target.shape[0], target.shape.slice(2), n);
    const nll = neg(sum(mul(weighted, onehot), 1)); // w_y · (−log p_y)
    let elem = nll;
    if (eps > 0) elem = add(mul(nll, 1 - eps), mul(neg(sum(weighted, 1)), eps / n));
    if (reduction === 'sum') return sum(elem);
    const wSum = weight ? labels.reduce((s, k) => s + weight[k], 0) : labels.length;
    return div(sum(elem), wSum);
  }
  let t = asInputDtype(target, input);
  if (eps > 0) t = add(mul(t, 1 - eps), eps / n);
  return red(neg(sum(mul(weighted, t), 1)));
}

/**
 * `monai.losses.DiceCELoss`: `lambda_dice·DiceLoss + lambda_ce·CE`. The CE term always takes the raw
 * logits over all N channels: BCE with `pos_weight = weight` when N = 1; index cross-entropy
 * (weighted mean `Σ w_y·nll / Σ w_y`, `label_smoothing`) when the target has one channel; probability
 * cross-entropy (mean over B·spatial) when it has N.
 *
 * Quirks kept: `include_background` and the activations apply to the Dice term only; the Dice term
 * gets `weight[1:]` without background; `reduction: 'none'` is refused at construction (ValueError).
 */
export function DiceCELoss(kwargs?: DiceCELossKwargs): CompatLoss {
  const cls = 'monai.DiceCELoss';
  const defaults = { ...DICE_DEFAULTS, reduction: 'mean' as 'mean' | 'sum', weight: null as readonly number[] | Tensor | null, lambda_dice: 1.0, lambda_ce: 1.0, label_smoothing: 0.0 };
  delete (defaults as { soft_label?: boolean }).soft_label;
  const o = parseKwargs(cls, kwargs, defaults);
  checkChoice(cls, 'reduction', o.reduction, ['mean', 'sum'] as const);
  checkNumber(cls, 'lambda_dice', o.lambda_dice);
  checkNumber(cls, 'lambda_ce', o.lambda_ce);
  checkNumber(cls, 'label_smoothing', o.label_smoothing);
  if (o.lambda_dice < 0) throw new CompatValueError(`${cls}: lambda_dice should be no less than 0.0, got ${o.lambda_dice}`);
  if (o.lambda_ce < 0) throw new CompatValueError(`${cls}: lambda_ce should be no less than 0.0, got ${o.lambda_ce}`);
  const w = parseWeight(cls, 'weight', o.weight);
  if (w?.scalar) throw new CompatTypeError(`${cls}: weight must be a 1-D sequence or tensor (one entry per channel), got the scalar ${w.values[0]}`);
  const diceWeight = w && !o.include_background ? w.values.slice(1) : w?.values ?? null;
  const { lambda_dice, lambda_ce, label_smoothing, ...diceKwargs } = o;
  const dice = parseDice(cls, { ...diceKwargs, weight: diceWeight });
  return (input, target) => {
    if (input.rank !== target.rank) {
      throw new CompatValueError(`${cls}: the number of dimensions for input and target should be the same, got shape ${formatShape(input.shape)} and ${formatShape(target.shape)}`);
    }
    checkInput(cls, input, target);
    if (target.shape[1] !== 1 && target.shape[1] !== input.shape[1]) {
      throw new CompatValueError(`${cls}: number of channels for target is neither 1 (without one-hot encoding) nor the same as input, got shape ${formatShape(input.shape)} and ${formatShape(target.shape)}`);
    }
    const diceLoss = diceForward(cls, dice.o, dice.weight, input, target);
    const ce = diceCeCrossEntropy(cls, input, target, w?.values ?? null, o.reduction, label_smoothing);
    return add(mul(diceLoss, lambda_dice), mul(ce, lambda_ce));
  };
}

/**
 * `monai.losses.DiceFocalLoss`: `lambda_dice·DiceLoss + lambda_focal·FocalLoss`, the target one-hot
 * encoded once. The focal term is always the sigmoid form on the raw logits (no `use_softmax`) and
 * shares `include_background`, `weight`, `gamma`, `alpha` and `reduction`; with `reduction: 'none'`
 * the Dice (B, C, 1, …) broadcasts against the focal (B, C, *spatial).
 */
export function DiceFocalLoss(kwargs?: DiceFocalLossKwargs): CompatLoss {
  const cls = 'monai.DiceFocalLoss';
  const defaults = { ...DICE_DEFAULTS, gamma: 2.0, alpha: null as number | null, lambda_dice: 1.0, lambda_focal: 1.0 };
  delete (defaults as { soft_label?: boolean }).soft_label;
  const o = parseKwargs(cls, kwargs, defaults);
  checkNumber(cls, 'lambda_dice', o.lambda_dice);
  checkNumber(cls, 'lambda_focal', o.lambda_focal);
  if (o.lambda_dice < 0) throw new CompatValueError(`${cls}: lambda_dice should be no less than 0.0, got ${o.lambda_dice}`);
  if (o.lambda_focal < 0) throw new CompatValueError(`${cls}: lambda_focal should be no less than 0.0, got ${o.lambda_focal}`);
  const { gamma, alpha, lambda_dice, lambda_focal, ...diceKwargs } = o;
  const dice = parseDice(cls, { ...diceKwargs, to_onehot_y: false });
  const focal = parseFocal(cls, { include_background: o.include_background, gamma, weight: o.weight, alpha, reduction: o.reduction });
  return (input, target) => {
    if (input.rank !== target.rank) {
      throw new CompatValueError(`${cls}: the number of dimensions for input and target should be the same, got shape ${formatShape(input.shape)} and ${formatShape(target.shape)}`);
    }
    checkInput(cls, input, target);
    const g = o.to_onehot_y && input.shape[1] > 1 ? monaiOneHot(cls, target, input, input.shape[1]) : target;
    const d = diceForward(cls, dice.o, dice.weight, input, g);
    const f = focalForward(cls, focal.o, focal.weight, input, g);
    return add(mul(d, lambda_dice), mul(f, lambda_focal));
  };
}

/**
 * `monai.losses.GeneralizedDiceFocalLoss`: `lambda_gdl·GeneralizedDiceLoss + lambda_focal·FocalLoss`
 * (sigmoid focal on the raw logits). `weight` goes to the focal term only.
 */
export function GeneralizedDiceFocalLoss(kwargs?: GeneralizedDiceFocalLossKwargs): CompatLoss {
  const cls = 'monai.GeneralizedDiceFocalLoss';
  const defaults = { ...GDL_DEFAULTS, gamma: 2.0, weight: null as MonaiWeight, lambda_gdl: 1.0, lambda_focal: 1.0 };
  delete (defaults as { soft_label?: boolean }).soft_label;
  const o = parseKwargs(cls, kwargs, defaults);
  checkNumber(cls, 'lambda_gdl', o.lambda_gdl);
  checkNumber(cls, 'lambda_focal', o.lambda_focal);
  if (o.lambda_gdl < 0) throw new CompatValueError(`${cls}: lambda_gdl should be no less than 0.0, got ${o.lambda_gdl}`);
  if (o.lambda_focal < 0) throw new CompatValueError(`${cls}: lambda_focal should be no less than 0.0, got ${o.lambda_focal}`);
  const { gamma, weight, lambda_gdl, lambda_focal, ...gdlKwargs } = o;
  const gdl = parseGdl(cls, gdlKwargs);
  const focal = parseFocal(cls, { include_background: o.include_background, to_onehot_y: o.to_onehot_y, gamma, weight, reduction: o.reduction });
  return (input, target) => add(mul(gdlForward(cls, gdl, input, target), lambda_gdl), mul(focalForward(cls, focal.o, focal.weight, input, target), lambda_focal));
}

/** A loss over one prediction or a list of them (deep supervision heads, finest first). */
export type DeepSupervisionCompatLoss = (input: Tensor | readonly Tensor[], target: Tensor, extra?: Tensor) => Tensor;

/** PyTorch `F.interpolate(mode='nearest-exact')` of a (B, C, *spatial) target to `size`; no gradient. */
function nearestExact(target: Tensor, size: readonly number[]): Tensor {
  const src = target.shape.slice(2);
  const outShape = [target.shape[0], target.shape[1], ...size];
  const outStrides = outShape.map((_, i) => outShape.slice(i + 1).reduce((a, b) => a * b, 1));
  const inStrides = target.shape.map((_, i) => target.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const total = outShape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(total);
  for (let o = 0; o < total; o++) {
    let rem = o;
    let flat = 0;
    for (let a = 0; a < outShape.length; a++) {
      let k = Math.floor(rem / outStrides[a]);
      rem -= k * outStrides[a];
      if (a >= 2) k = Math.min(Math.floor((k + 0.5) * (src[a - 2] / size[a - 2])), src[a - 2] - 1);
      flat += k * inStrides[a];
    }
    idx[o] = flat;
  }
  return take(target, constLike(target, idx, outShape));
}

/**
 * `monai.losses.DeepSupervisionLoss(loss, { weight_mode, weights })`: a single tensor gives `loss(input, target)`;
 * a list gives `Σ_l w_l·loss(input[l], target)` with the target resized to each head ('nearest-exact').
 * Weights: `weights` when it has enough entries, else 'same' (1), 'exp' (max(0.5^l, 0.0625)) or
 * 'two' (1, then 0.5).
 */
export function DeepSupervisionLoss(loss: CompatLoss, kwargs?: DeepSupervisionLossKwargs): DeepSupervisionCompatLoss {
  const cls = 'monai.DeepSupervisionLoss';
  if (typeof loss !== 'function') throw new CompatTypeError(`${cls}: loss must be a compatible loss function, got ${typeof loss}`);
  const o = parseKwargs(cls, kwargs, { weight_mode: 'exp' as 'same' | 'exp' | 'two', weights: null as readonly number[] | null });
  checkChoice(cls, 'weight_mode', o.weight_mode, ['same', 'exp', 'two'] as const);
  const weightsFor = (levels: number): number[] => {
    if (o.weights && o.weights.length >= levels) return o.weights.slice(0, levels);
    return Array.from({ length: levels }, (_, l) => (o.weight_mode === 'same' ? 1 : o.weight_mode === 'exp' ? Math.max(0.5 ** l, 0.0625) : l === 0 ? 1 : 0.5));
  };
  return (input, target, extra) => {
    if (!Array.isArray(input)) return loss(input as Tensor, target, extra);
    const heads = input as readonly Tensor[];
    if (heads.length === 0) throw new CompatValueError(`${cls}: input list is empty`);
    const w = weightsFor(heads.length);
    const levelLoss = (l: number): Tensor => {
      const x = heads[l];
      const t = sameShape(x.shape.slice(2), target.shape.slice(2)) ? target : nearestExact(target, x.shape.slice(2));
      return mul(loss(x, t, extra), w[l]);
    };
    let total = levelLoss(0);
    for (let l = 1; l < heads.length; l++) total = add(total, levelLoss(l));
    return total;
  };
}
