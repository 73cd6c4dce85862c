import { clamp, div, pow, sqrt } from '../autograd/index.js';
import type { Tensor } from '../tensor/index.js';
import { combineClasses, overlapCounts, trueNegatives } from './overlap.js';
import { checkOption, makeLoss, type Loss, type OverlapOptions } from './types.js';

/** Region (overlap) losses over soft TP/FP/FN. All take probabilities: sigmoid (C = 1) or softmax (C > 1) outputs. */

function checkSmooth(lossName: string, smooth: number): void {
  checkOption(lossName, 'smooth', smooth, (v) => v >= 0, 'a number ≥ 0');
}

/**
 * Soft Dice loss (Milletari et al. 2016, V-Net), on probabilities [N, C, H, W]:
 * `1 − (2·TP + s)/(Σp + Σg + s)` per class, averaged over classes (binary: the foreground only).
 * Defaults: s = 1, batch pooled, reduction 'mean'.
 * @example dice()(sigmoid(logits), mask)
 */
export function dice(opts: OverlapOptions = {}): Loss {
  const { batch = true, smooth = 1, reduction = 'mean' } = opts;
  checkSmooth('dice', smooth);
  return makeLoss('dice', 'probabilities', (p, target) => {
    const k = overlapCounts('dice', p, target, batch);
    const score = div(k.tp.mul(2).add(smooth), k.sumP.add(k.sumG).add(smooth));
    return combineClasses('dice', score.neg().add(1), 'mean', reduction);
  });
}

/**
 * Soft Jaccard (IoU) loss (Rahman & Wang 2016), on probabilities: `1 − (TP + s)/(Σp + Σg − TP + s)` per
 * class, averaged over classes. Defaults: s = 1, batch pooled, reduction 'mean'.
 */
export function jaccard(opts: OverlapOptions = {}): Loss {
  const { batch = true, smooth = 1, reduction = 'mean' } = opts;
  checkSmooth('jaccard', smooth);
  return makeLoss('jaccard', 'probabilities', (p, target) => {
    const k = overlapCounts('jaccard', p, target, batch);
    const score = div(k.tp.add(smooth), k.sumP.add(k.sumG).sub(k.tp).add(smooth));
    return combineClasses('jaccard', score.neg().add(1), 'mean', reduction);
  });
}

export interface TverskyOptions extends OverlapOptions {
  /** Weight of the false negatives (default 0.7; β in Salehi et al.'s notation). */
  alphaFN?: number;
  /** Weight of the false positives (default 0.3; α in Salehi et al.'s notation). */
  betaFP?: number;
}

function tverskyIndex(lossName: string, p: Tensor, target: Tensor, opts: TverskyOptions): Tensor {
  const { batch = true, smooth = 1, alphaFN = 0.7, betaFP = 0.3 } = opts;
  const k = overlapCounts(lossName, p, target, batch);
  return div(k.tp.add(smooth), k.tp.add(k.fn.mul(alphaFN)).add(k.fp.mul(betaFP)).add(smooth));
}

function checkTversky(lossName: string, opts: TverskyOptions): void {
  checkSmooth(lossName, opts.smooth ?? 1);
  checkOption(lossName, 'alphaFN', opts.alphaFN ?? 0.7, (v) => v >= 0, 'a number ≥ 0');
  checkOption(lossName, 'betaFP', opts.betaFP ?? 0.3, (v) => v >= 0, 'a number ≥ 0');
}

/**
 * Tversky loss (Salehi et al. 2017), on probabilities: `1 − (TP + s)/(TP + alphaFN·FN + betaFP·FP + s)` per
 * class, averaged over classes. Defaults: alphaFN = 0.7 (FN weight), betaFP = 0.3 (FP weight), s = 1,
 * batch pooled. Salehi's paper writes α for FP and β for FN (best α = 0.3, β = 0.7): the same loss.
 */
export function tversky(opts: TverskyOptions = {}): Loss {
  checkTversky('tversky', opts);
  return makeLoss('tversky', 'probabilities', (p, target) => combineClasses('tversky', tverskyIndex('tversky', p, target, opts).neg().add(1), 'mean', opts.reduction));
}

export interface FocalTverskyOptions extends TverskyOptions {
  /** γ: the loss is (1 − TI)^{1/γ} (default 4/3, exponent 0.75). */
  gamma?: number;
}

/**
 * Focal Tversky loss (Abraham & Khan 2019), on probabilities: `Σ_c (1 − TI_c)^{1/γ}` with TI the Tversky
 * index (see `tversky`), summed over classes. Defaults: alphaFN = 0.7, betaFP = 0.3, γ = 4/3, s = 1.
 * At a perfect prediction (TI = 1) the slope of x^{0.75} is infinite; the gradient there is taken as 0.
 */
export function focalTversky(opts: FocalTverskyOptions = {}): Loss {
  const { gamma = 4 / 3 } = opts;
  checkTversky('focalTversky', opts);
  checkOption('focalTversky', 'gamma', gamma, (v) => v > 0, 'a number > 0');
  return makeLoss('focal-tversky', 'probabilities', (p, target) => {
    // 1 − TI ≥ 0; the floor keeps the gradient of x^{1/γ} finite at TI = 1 (the minimum)
    const miss = clamp(tverskyIndex('focal-tversky', p, target, opts).neg().add(1), 1e-12);
    return combineClasses('focal-tversky', pow(miss, 1 / gamma), 'sum', opts.reduction);
  });
}

/**
 * Matthews correlation coefficient loss (Abhishek & Hamarneh 2021), on probabilities:
 * `1 − (TP·TN − FP·FN)/√((TP+FP+s)(TP+FN+s)(TN+FP+s)(TN+FN+s))` per class (one-vs-rest), averaged over
 * classes (binary: the foreground). Smoothing each factor keeps empty masks finite. Range [0, 2].
 * Defaults: s = 1, batch pooled.
 */
export function mcc(opts: OverlapOptions = {}): Loss {
  const { batch = true, smooth = 1, reduction = 'mean' } = opts;
  checkSmooth('mcc', smooth);
  return makeLoss('mcc', 'probabilities', (p, target) => {
    const k = overlapCounts('mcc', p, target, batch);
    const tn = trueNegatives(k);
    const numerator = k.tp.mul(tn).sub(k.fp.mul(k.fn));
    const denominator = sqrt(k.tp.add(k.fp).add(smooth).mul(k.tp.add(k.fn).add(smooth)).mul(tn.add(k.fp).add(smooth)).mul(tn.add(k.fn).add(smooth)));
    return combineClasses('mcc', div(numerator, denominator).neg().add(1), 'mean', reduction);
  });
}
