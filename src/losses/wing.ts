import { abs, less, log1p, where } from '../autograd/index.js';
import { checkOption, makeLoss, prepareTarget, reduce, type Loss, type Reduction } from './types.js';

export interface WingOptions {
  /** Width w of the logarithmic zone (default 10). */
  width?: number;
  /** Curvature ε of the logarithmic zone (default 2). */
  epsilon?: number;
  /** Over elements (default 'mean'); 'none' returns the per-element loss shaped like the input. */
  reduction?: Reduction;
}

/**
 * Wing loss (Feng et al. 2018), on probabilities, with x = p − g per element:
 * `w·ln(1 + |x|/ε)` if |x| < w, else `|x| − C`, C = w − w·ln(1 + w/ε) (continuous at |x| = w), mean.
 * Defaults w = 10, ε = 2 (for probabilities |x| ≤ 1, so the default stays in the logarithmic zone).
 * ALL (`adaptiveLog`) applies the same shape to a whole loss value instead of each element.
 */
export function wing(opts: WingOptions = {}): Loss {
  const { width = 10, epsilon = 2, reduction = 'mean' } = opts;
  checkOption('wing', 'width', width, (v) => v > 0, 'a number > 0');
  checkOption('wing', 'epsilon', epsilon, (v) => v > 0, 'a number > 0');
  const C = width - width * Math.log1p(width / epsilon);
  return makeLoss('wing', 'probabilities', (p, target) => {
    const x = abs(p.sub(prepareTarget('wing', p, target)));
    const inside = less(x, width);
    // the log branch sees 0 where it is not selected, so its backward cannot produce 0·∞
    const logBranch = log1p(where(inside, x, 0).div(epsilon)).mul(width);
    return reduce('wing', where(inside, logBranch, x.sub(C)), reduction);
  });
}
