import { less, log1p, where } from '../autograd/index.js';
import { dice } from './region.js';
import { makeLoss, type Loss } from './types.js';
import type { Tensor } from '../tensor/index.js';

/**
 * The Adaptive Logarithmic Loss (ALL) of Kaul et al. as a scalar transform of a base loss value x ≥ 0:
 *
 *   ALL(x) = ω·ln(1 + x/ε)   if x < δ
 *          = x − C           if x ≥ δ,   C = δ − ω·ln(1 + δ/ε)  (continuous at δ)
 *
 * Reconstruction note: the paper's printed equation did not survive in our copy; this is the Wing-loss
 * form (Feng et al. 2018) the paper says ALL is built on, with the switch at δ. It matches every sweep
 * range and the stated behaviour. Defaults ω = 10, ε = 0.5, δ = 0.1.
 */
export interface AdaptiveLogOptions {
  /** ω, the log branch's scale (default 10). */
  omega?: number;
  /** ε, the log branch's curvature (default 0.5). */
  epsilon?: number;
  /** δ, the switch point (default 0.1). */
  delta?: number;
}

/** Resolves and validates ALL's options. */
export function adaptiveLogParams(opts: AdaptiveLogOptions = {}): { omega: number; epsilon: number; delta: number; C: number } {
  const { omega = 10, epsilon = 0.5, delta = 0.1 } = opts;
  if (!(omega > 0)) throw new Error(`adaptiveLog: omega must be > 0, got ${omega}`);
  if (!(epsilon > 0)) throw new Error(`adaptiveLog: epsilon must be > 0, got ${epsilon}`);
  if (!(delta > 0)) throw new Error(`adaptiveLog: delta must be > 0, got ${delta}`);
  return { omega, epsilon, delta, C: delta - omega * Math.log1p(delta / epsilon) };
}

/**
 * ALL(x) for a scalar base-loss value.
 * @example adaptiveLogValue(0.05) // 10·ln(1.1) ≈ 0.953
 */
export function adaptiveLogValue(x: number, opts: AdaptiveLogOptions = {}): number {
  const { omega, epsilon, delta, C } = adaptiveLogParams(opts);
  return x < delta ? omega * Math.log1p(x / epsilon) : x - C;
}

/**
 * dALL/dx: ω/(ε + x) below δ, 1 at and above δ (the right-hand value at x = δ).
 * @example adaptiveLogSlope(0) // ω/ε = 20
 */
export function adaptiveLogSlope(x: number, opts: AdaptiveLogOptions = {}): number {
  const { omega, epsilon, delta } = adaptiveLogParams(opts);
  return x < delta ? omega / (epsilon + x) : 1;
}

/** A loss wrapped by ALL: it also exposes the base loss and the resolved options. */
export interface AdaptiveLogLoss extends Loss {
  /** The wrapped base loss (the trainer logs its value). */
  readonly base: Loss;
  /** ω, ε, δ as used (the trainer reports the share of steps with a base value below δ). */
  readonly options: { readonly omega: number; readonly epsilon: number; readonly delta: number };
  /** ALL and the base value it transformed, from one evaluation of the base (the trainer logs both). */
  withBase(input: Tensor, target: Tensor): { loss: Tensor; base: Tensor };
}

/**
 * The Adaptive Logarithmic Loss (ALL) around any base loss: with x = base(input, target) ≥ 0,
 *
 *   ALL(x) = ω·ln(1 + x/ε) if x < δ,   x − C if x ≥ δ,   C = δ − ω·ln(1 + δ/ε),
 *
 * continuous at δ. dALL/dx = ω/(ε + x) below δ (between 16.7 and 20 with the defaults: small errors are
 * pushed harder) and 1 from δ on, so at x = δ the gradient is the right-hand one (1).
 * Takes what the base takes. A base value that is not a scalar is transformed element by element.
 * The base must be ≥ 0 (below −ε the logarithm is undefined; Combo can reach −0.5·C).
 *
 * Reconstruction note: the printed equation of the paper (Kaul et al.) did not survive in our copy. This is
 * the Wing-loss form (Feng et al. 2018, `w·ln(1+|x|/ε)` below a width, `|x| − C` above) that the paper says
 * ALL is built on, with the switch at δ; it matches every sweep range and the stated behaviour.
 * Defaults ω = 10, ε = 0.5, δ = 0.1 (the paper's best: Jaccard 82.43).
 * @example const loss = adaptiveLog(dice({ smooth: 1 })); loss(probabilities, mask)
 */
export function adaptiveLog(base: Loss, opts: AdaptiveLogOptions = {}): AdaptiveLogLoss {
  if (typeof base !== 'function' || typeof base.lossName !== 'string') throw new Error('adaptiveLog: base must be a Loss (e.g. dice())');
  const { omega, epsilon, delta, C } = adaptiveLogParams(opts);
  const transform = (x: Tensor): Tensor => {
    const below = less(x, delta);
    // the log branch sees 0 where it is not selected, so its backward cannot produce 0·∞
    const logBranch = log1p(where(below, x, 0).div(epsilon)).mul(omega);
    return where(below, logBranch, x.sub(C));
  };
  const loss = makeLoss('all', base.takes, (input, target) => transform(base(input, target)));
  const withBase = (input: Tensor, target: Tensor): { loss: Tensor; base: Tensor } => {
    const x = base(input, target);
    return { loss: transform(x), base: x };
  };
  Object.defineProperty(loss, 'base', { value: base, enumerable: true });
  Object.defineProperty(loss, 'withBase', { value: withBase });
  Object.defineProperty(loss, 'options', { value: Object.freeze({ omega, epsilon, delta }), enumerable: true });
  return loss as AdaptiveLogLoss;
}

/**
 * ALL with its paper's base: `adaptiveLog(dice({ smooth: 1 }), opts)` (Dice on probabilities, batch
 * pooled). `opts.base` swaps in another base loss. See `adaptiveLog` for the formula and the
 * reconstruction note.
 */
export function all(opts: AdaptiveLogOptions & { base?: Loss } = {}): AdaptiveLogLoss {
  const { base = dice({ smooth: 1 }), ...rest } = opts;
  return adaptiveLog(base, rest);
}
