import { clamp, concat, div, exp, logSoftmax, mul, pow, sigmoid, softplus, sum } from '../autograd/index.js';
import { tensor, zerosLike, type Tensor } from '../tensor/index.js';
import { checkOption, makeLoss, prepareTarget, reduce, type Loss, type Reduction } from './types.js';

/** Distribution-based (per-pixel) losses. All take logits. */

/** A [1, C, 1, …] tensor of per-class values, for broadcasting over [N, C, H, W]. */
function perClass(lossName: string, option: string, values: readonly number[], like: Tensor): Tensor {
  const c = like.shape[1];
  if (values.length !== c) throw new Error(`${lossName}: option ${option} has ${values.length} values for an input with ${c} channels ${JSON.stringify(like.shape)}; expected ${c}`);
  return tensor(values, [1, c, ...like.shape.slice(2).map(() => 1)], { dtype: like.dtype });
}

/** Logits of a single sigmoid channel as the two-class softmax logits [0, z] (softmax([0, z])₁ = σ(z)). */
const twoClass = (z: Tensor, g: Tensor): [Tensor, Tensor] => [concat([zerosLike(z), z], 1), concat([g.neg().add(1), g], 1)];

export interface BceOptions {
  /** Per-element weight (a number or a tensor broadcastable to the input; default 1). */
  weight?: number | Tensor;
  /** Weight of the positive term, as PyTorch's pos_weight (default 1). */
  posWeight?: number;
  /** Over all elements (default 'mean'); 'none' returns the per-element loss shaped like the input. */
  reduction?: Reduction;
}

/**
 * Binary cross-entropy on logits z: `−mean[g·ln σ(z) + (1−g)·ln(1−σ(z))]`, in the stable form
 * `(1−g)·z + (1 + (posWeight−1)·g)·softplus(−z)` (= max(z,0) − z·g + ln(1+e^{−|z|}) when posWeight = 1).
 * Every channel is an independent sigmoid (multi-label); class-index targets are one-hot encoded.
 * Defaults: no weight, posWeight 1, reduction 'mean'.
 */
export function bce(opts: BceOptions = {}): Loss {
  const { weight, posWeight = 1, reduction = 'mean' } = opts;
  checkOption('bce', 'posWeight', posWeight, (v) => v >= 0, 'a number ≥ 0');
  return makeLoss('bce', 'logits', (z, target) => {
    const g = prepareTarget('bce', z, target);
    const logWeight = posWeight === 1 ? 1 : g.mul(posWeight - 1).add(1);
    let per = g.neg().add(1).mul(z).add(mul(softplus(z.neg()), logWeight));
    if (weight !== undefined) per = per.mul(weight);
    return reduce('bce', per, reduction);
  });
}

export interface CrossEntropyOptions {
  /** Per-class weights w_c (length C; 2 for a single sigmoid channel: background, foreground). */
  classWeights?: readonly number[];
  /** Over pixels (default 'mean'); 'none' returns the per-pixel loss [N, 1, H, W]. */
  reduction?: Reduction;
}

/**
 * Softmax cross-entropy on logits [N, C, H, W]: per pixel `−Σ_c w_c·g_c·ln softmax(z)_c`. 'mean' divides
 * by the number of pixels, or with classWeights by Σ w_c·g_c (PyTorch's weighted mean). A single channel
 * is the two-class softmax of [0, z], i.e. binary cross-entropy. Defaults: no class weights, 'mean'.
 */
export function crossEntropy(opts: CrossEntropyOptions = {}): Loss {
  const { classWeights, reduction = 'mean' } = opts;
  return makeLoss('ce', 'logits', (logits, target) => {
    let [z, g] = [logits, prepareTarget('ce', logits, target)];
    if (z.shape[1] === 1) [z, g] = twoClass(z, g);
    const wg = classWeights ? g.mul(perClass('ce', 'classWeights', classWeights, z)) : g;
    const per = sum(wg.mul(logSoftmax(z, 1)), 1, { keepDims: true }).neg();
    if (reduction === 'mean' && classWeights) return div(sum(per), clamp(sum(wg), 1e-12));
    return reduce('ce', per, reduction);
  });
}

export interface FocalOptions {
  /** Focusing parameter γ ≥ 0 (default 2); γ = 0 is (α-weighted) cross-entropy. */
  gamma?: number;
  /** Class balance α (default 0.25): binary α on the foreground, 1 − α on the background (negative: off); multi-class a number or one per class. */
  alpha?: number | readonly number[];
  /** Over pixels (default 'mean'); 'none' returns the per-pixel loss. */
  reduction?: Reduction;
}

/** (1 − p_t)^γ, floored so that γ < 1 keeps a finite gradient where p_t = 1. */
const modulate = (miss: Tensor, gamma: number): Tensor | number => (gamma === 0 ? 1 : pow(clamp(miss, 1e-12), gamma));

/**
 * Focal loss (Lin et al. 2017) on logits. Binary (one channel), as torchvision's sigmoid_focal_loss:
 * `α_t·(1 − p_t)^γ·BCE(z, g)` with p_t = p·g + (1−p)(1−g), α_t = α·g + (1−α)(1−g) (= −α_t (1−p_t)^γ ln p_t
 * for hard labels). Multi-class: per pixel `−Σ_c α_c·g_c·(1 − p_c)^γ·ln p_c`, p = softmax(z).
 * Defaults γ = 2, α = 0.25, mean over pixels.
 */
export function focal(opts: FocalOptions = {}): Loss {
  const { gamma = 2, alpha = 0.25, reduction = 'mean' } = opts;
  checkOption('focal', 'gamma', gamma, (v) => v >= 0, 'a number ≥ 0');
  for (const a of typeof alpha === 'number' ? [alpha] : alpha) checkOption('focal', 'alpha', a, (v) => v <= 1, 'at most 1 (negative: off)');
  return makeLoss('focal', 'logits', (z, target) => {
    const g = prepareTarget('focal', z, target);
    if (z.shape[1] === 1) {
      if (typeof alpha !== 'number') throw new Error(`focal: a single-channel input ${JSON.stringify(z.shape)} takes a number alpha, got ${alpha.length} values`);
      const p = sigmoid(z);
      const miss = p.add(g).sub(p.mul(g).mul(2)); // 1 − p_t
      const ce = g.neg().add(1).mul(z).add(softplus(z.neg()));
      let per = ce.mul(modulate(miss, gamma));
      if (alpha >= 0) per = per.mul(g.mul(2 * alpha - 1).add(1 - alpha));
      return reduce('focal', per, reduction);
    }
    const logP = logSoftmax(z, 1);
    const a = typeof alpha === 'number' ? alpha : perClass('focal', 'alpha', alpha, z);
    const perChannel = g.mul(a).mul(modulate(exp(logP).neg().add(1), gamma)).mul(logP);
    return reduce('focal', sum(perChannel, 1, { keepDims: true }).neg(), reduction);
  });
}

export interface GeneralizedCrossEntropyOptions {
  /** q ∈ (0, 1] (default 0.7): q → 0 is cross-entropy, q = 1 the mean absolute error. */
  q?: number;
  /** Over pixels (default 'mean'); 'none' returns the per-pixel loss [N, 1, H, W]. */
  reduction?: Reduction;
}

/**
 * Generalized cross-entropy (Zhang & Sabuncu 2018) on logits: per pixel `Σ_c g_c·(1 − p_c^q)/q` with
 * p = softmax(z) (one channel: the two classes σ(z), 1 − σ(z)); for one-hot targets `(1 − p_t^q)/q`.
 * p^q is computed as exp(q·ln p) for stability. Defaults q = 0.7, mean over pixels.
 */
export function generalizedCrossEntropy(opts: GeneralizedCrossEntropyOptions = {}): Loss {
  const { q = 0.7, reduction = 'mean' } = opts;
  checkOption('gce', 'q', q, (v) => v > 0 && v <= 1, 'in (0, 1]');
  return makeLoss('gce', 'logits', (logits, target) => {
    let [z, g] = [logits, prepareTarget('gce', logits, target)];
    if (z.shape[1] === 1) [z, g] = twoClass(z, g);
    const pq = exp(logSoftmax(z, 1).mul(q));
    return reduce('gce', sum(g.mul(pq.neg().add(1)), 1, { keepDims: true }).div(q), reduction);
  });
}
