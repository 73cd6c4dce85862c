import { resize, unsqueeze } from '../autograd/index.js';
import { formatShape, type Tensor } from '../tensor/index.js';
import type { Loss } from './types.js';

export interface DeepSupervisionOptions {
  /** One weight per output (default 1/K each for K outputs, so the scale matches a single loss). */
  weights?: readonly number[];
}

/**
 * Deep supervision: `Σ_k w_k·loss(outputs[k], target resized to outputs[k]'s H×W)`. The target
 * ([N, C, H, W] or class indices [N, 1, H, W] / [N, H, W]) is resized with 'nearest', which keeps labels
 * exact. Each output is what `loss` takes (logits or probabilities).
 * @example deepSupervision(dice(), { weights: [1, 0.5, 0.25] })([full, half, quarter], mask)
 */
export function deepSupervision(loss: Loss, opts: DeepSupervisionOptions = {}): (outputs: Tensor[], target: Tensor) => Tensor {
  return (outputs, target) => {
    if (outputs.length === 0) throw new Error(`deepSupervision(${loss.lossName}): expected at least one output`);
    const weights = opts.weights ?? outputs.map(() => 1 / outputs.length);
    if (weights.length !== outputs.length) throw new Error(`deepSupervision(${loss.lossName}): ${weights.length} weights for ${outputs.length} outputs`);
    const t4 = target.rank === 3 ? unsqueeze(target, 1) : target;
    if (t4.rank !== 4) throw new Error(`deepSupervision(${loss.lossName}): expected a target [N, C, H, W] or [N, H, W], got ${formatShape(target.shape)}`);
    let total: Tensor | undefined;
    for (const [k, out] of outputs.entries()) {
      if (out.rank !== 4) throw new Error(`deepSupervision(${loss.lossName}): output ${k} must be [N, C, H, W], got ${formatShape(out.shape)}`);
      const [h, w] = [out.shape[2], out.shape[3]];
      const t = t4.shape[2] === h && t4.shape[3] === w ? t4 : resize(t4, [h, w], 'nearest');
      const term = loss(out, t).mul(weights[k]);
      total = total ? total.add(term) : term;
    }
    return total as Tensor;
  };
}
