import { clamp, div, log, mean, sum } from '../autograd/index.js';
import { overlapCounts } from './overlap.js';
import { checkOption, makeLoss, type Loss } from './types.js';

export interface ComboOptions {
  /** α: the share of the weighted cross-entropy; 1 − α goes to Dice (default 0.5). */
  alpha?: number;
  /** β: the weight of the positive (g = 1) cross-entropy term; 1 − β weights the negatives (default 0.5). */
  beta?: number;
  /** Dice smoothing s (default 1). */
  smooth?: number;
  /** Pool the batch for the Dice term (default true); false averages per-image Dice coefficients. */
  batch?: boolean;
}

/**
 * Combo loss (Taghanaki et al. 2019), on probabilities, as the paper writes it:
 * `α·(−mean[β·g·ln p + (1−β)·(1−g)·ln(1−p)]) − (1−α)·Σ_c (2·TP_c + s)/(Σp_c + Σg_c + s)`,
 * with p clipped to [1e-7, 1 − 1e-7] in the cross-entropy. The Dice coefficient is summed over classes,
 * so the minimum is −(1−α)·C (−0.5 for binary with the defaults): the loss can be negative.
 * Defaults α = 0.5, β = 0.5, s = 1, batch pooled. Returns a scalar.
 */
export function combo(opts: ComboOptions = {}): Loss {
  const { alpha = 0.5, beta = 0.5, smooth = 1, batch = true } = opts;
  checkOption('combo', 'alpha', alpha, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  checkOption('combo', 'beta', beta, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  checkOption('combo', 'smooth', smooth, (v) => v >= 0, 'a number ≥ 0');
  return makeLoss('combo', 'probabilities', (p, target) => {
    const k = overlapCounts('combo', p, target, batch);
    const g = k.target;
    const pc = clamp(p, 1e-7, 1 - 1e-7);
    const ce = mean(g.mul(beta).mul(log(pc)).add(g.neg().add(1).mul(1 - beta).mul(log(pc.neg().add(1))))).neg();
    const diceCoef = div(k.tp.mul(2).add(smooth), k.sumP.add(k.sumG).add(smooth));
    return ce.mul(alpha).sub(mean(sum(diceCoef, 1)).mul(1 - alpha));
  });
}
