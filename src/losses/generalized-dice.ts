import { concat, div, greater, reciprocal, square, sum, where } from '../autograd/index.js';
import { noGrad, onesLike } from '../tensor/index.js';
import { combineClasses, overlapCounts } from './overlap.js';
import { checkOption, makeLoss, prepareTarget, type Loss, type OverlapOptions } from './types.js';

export interface GeneralizedDiceOptions extends OverlapOptions {
  /** Class weights w_l from the label volume Σg_l: 'square' 1/(Σg)² (default), 'simple' 1/Σg, 'uniform' 1. */
  weight?: 'square' | 'simple' | 'uniform';
}

/**
 * Generalized Dice loss (Sudre et al. 2017), on probabilities [N, C, H, W]:
 * `1 − (2·Σ_l w_l·TP_l + s)/(Σ_l w_l·(Σp_l + Σg_l) + s)`, classes combined inside the sums, w_l = 1/(Σg_l)²
 * by default; with 'square' and 'simple', classes absent from the target get weight 0. A single sigmoid channel is scored as two
 * classes (p and 1 − p). Defaults: weight 'square', s = 1e-5 (not 1: the weighted sums are of order
 * 1/Σg, and s = 1 would swamp them), batch pooled.
 */
export function generalizedDice(opts: GeneralizedDiceOptions = {}): Loss {
  const { batch = true, smooth = 1e-5, reduction = 'mean', weight = 'square' } = opts;
  const name = 'generalized-dice';
  checkOption(name, 'smooth', smooth, (v) => v >= 0, 'a number ≥ 0');
  if (!['square', 'simple', 'uniform'].includes(weight)) throw new Error(`${name}: option weight must be 'square', 'simple' or 'uniform', got '${String(weight)}'`);
  return makeLoss(name, 'probabilities', (p, target) => {
    let probs = p;
    let g = prepareTarget(name, p, target);
    if (p.shape[1] === 1) {
      probs = concat([p.neg().add(1), p], 1);
      g = concat([g.neg().add(1), g], 1);
    }
    const k = overlapCounts(name, probs, g, batch);
    const w = noGrad(() => {
      const present = greater(k.sumG, 0);
      if (weight === 'uniform') return onesLike(k.sumG);
      const volume = where(present, k.sumG, 1);
      return where(present, reciprocal(weight === 'square' ? square(volume) : volume), 0);
    });
    const numerator = sum(w.mul(k.tp), 1, { keepDims: true }).mul(2).add(smooth);
    const denominator = sum(w.mul(k.sumP.add(k.sumG)), 1, { keepDims: true }).add(smooth);
    return combineClasses(name, div(numerator, denominator).neg().add(1), 'sum', reduction);
  });
}
