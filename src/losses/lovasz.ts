import { abs, concat, permute, relu, reshape, sum } from '../autograd/index.js';
import { formatShape, noGrad, tensor, type Tensor } from '../tensor/index.js';
import { decreasingOrder } from './sort-order.js';
import { makeLoss, prepareTarget, reduce, type Loss, type Reduction } from './types.js';

/**
 * The Lovász extension of the Jaccard loss (Berman et al. 2018): errors sorted in decreasing order and
 * weighted by the increments of 1 − IoU along that order. The sort runs on the host (it reads the
 * errors with dataSync, so it needs a synchronous backend); the gradient flows through the weights.
 */

export interface LovaszOptions {
  /** Pool the whole batch into one sorted list (default true, Berman's per_image=False); false scores each image and averages. */
  batch?: boolean;
  /** Over images when `batch` is false (default 'mean'); 'none' gives one value per image ([1] when pooled). */
  reduction?: Reduction;
}

/** Weights of the sorted errors: w_i = J_i − J_{i−1}, J_i = 1 − |G ∖ first i|/|G ∪ first i| (Berman's lovasz_grad). */
function lovaszWeights(fgSorted: ArrayLike<number>, out: Float64Array, scale: number): void {
  let gts = 0;
  for (let i = 0; i < fgSorted.length; i++) gts += fgSorted[i];
  let cumFg = 0;
  let cumBg = 0;
  let prev = 0;
  for (let i = 0; i < fgSorted.length; i++) {
    cumFg += fgSorted[i];
    cumBg += 1 - fgSorted[i];
    const jac = 1 - (gts - cumFg) / (gts + cumBg);
    out[i] = (jac - prev) * scale;
    prev = jac;
  }
}

/**
 * Σ_j errors[r, π_r(j)]·w_r(j)·scale[r] per row r of `errors` [R, L], π_r sorting row r's errors in
 * decreasing order and w_r the Lovász weights of the binary labels `fg` [R·L] in that order. Summed as
 * Σ_i errors[r, i]·w_r(π_r⁻¹(i)): each weight goes back to its error's place on the host, so an error's
 * gradient is its weight and nothing is gathered (a gather's float indices would address only 2^24
 * elements exactly in float32, fewer than a pooled batch of large images has).
 */
function sortedDot(errors: Tensor, fg: ArrayLike<number>, scale: readonly number[]): Tensor {
  const [rows, len] = errors.shape;
  const values = hostValues(errors);
  const weights = new Float64Array(rows * len);
  const order = new Uint32Array(len);
  const fgSorted = new Float64Array(len);
  const sortedWeights = new Float64Array(len);
  for (let r = 0; r < rows; r++) {
    if (scale[r] === 0) continue;
    const base = r * len;
    decreasingOrder(values, base, len, order);
    for (let j = 0; j < len; j++) fgSorted[j] = fg[base + order[j]];
    lovaszWeights(fgSorted, sortedWeights, scale[r]);
    for (let j = 0; j < len; j++) weights[base + order[j]] = sortedWeights[j];
  }
  return sum(errors.mul(tensor(weights, [rows, len], { dtype: errors.dtype })), 1);
}

/** Targets thresholded at 0.5 (a loop: Float64Array.from with a map function iterates, slow on millions). */
function binarize(g: Tensor): Float64Array {
  const v = hostValues(g);
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] > 0.5 ? 1 : 0;
  return out;
}

/** The values on the host, read synchronously; an asynchronous backend (gpu webgpu) is a clear error. */
function hostValues(t: Tensor): ArrayLike<number> {
  if (!t.backend.readSync) {
    const info = t.backend.info();
    throw new Error(
      `lovasz: the errors are sorted on the host, which needs a backend that reads synchronously; ${info.backend}:${info.mode} is asynchronous ` +
        `(use the cpu backend or a synchronous gpu mode for Lovász losses)`,
    );
  }
  return noGrad(() => t.dataSync());
}

/**
 * Lovász hinge loss (Berman et al. 2018) on logits z [N, 1, H, W] of a binary problem: with signs
 * s = 2g − 1 and hinge errors e = 1 − z·s, `Σ_i relu(e_(i))·w_i` over the errors sorted in decreasing order,
 * w the Lovász weights of the Jaccard loss. Targets are thresholded at 0.5. Defaults: batch pooled.
 */
export function lovaszHinge(opts: LovaszOptions = {}): Loss {
  const { batch = true, reduction = 'mean' } = opts;
  const name = 'lovasz-hinge';
  return makeLoss(name, 'logits', (z, target) => {
    if (z.shape[1] !== 1) throw new Error(`${name}: expected binary logits [N, 1, H, W], got ${formatShape(z.shape)}; use lovaszSoftmax for C > 1`);
    const g = prepareTarget(name, z, target);
    const fg = binarize(g);
    const signs = tensor(fg, z.shape, { dtype: z.dtype }).mul(2).sub(1);
    const rows = batch ? 1 : z.shape[0];
    const errors = reshape(relu(z.mul(signs).neg().add(1)), [rows, -1]);
    return reduce(name, sortedDot(errors, fg, new Array<number>(rows).fill(1)), reduction);
  });
}

export interface LovaszSoftmaxOptions extends LovaszOptions {
  /** Average over the classes present in the target (default 'present', as Berman) or over all classes. */
  classes?: 'present' | 'all';
}

/**
 * Lovász-softmax loss (Berman et al. 2018) on probabilities [N, C, H, W]: per class c, errors
 * e = |fg_c − p_c| sorted in decreasing order, `Σ_i e_(i)·w_i` with the Lovász weights of fg_c; averaged
 * over the classes present in the target (0 when none is). A single sigmoid channel is scored as two
 * classes (1 − p, p). Targets are thresholded at 0.5. Defaults: batch pooled, classes 'present'.
 */
export function lovaszSoftmax(opts: LovaszSoftmaxOptions = {}): Loss {
  const { batch = true, reduction = 'mean', classes = 'present' } = opts;
  const name = 'lovasz-softmax';
  if (classes !== 'present' && classes !== 'all') throw new Error(`${name}: option classes must be 'present' or 'all', got '${String(classes)}'`);
  return makeLoss(name, 'probabilities', (probs, target) => {
    let p = probs;
    let g = prepareTarget(name, probs, target);
    if (p.shape[1] === 1) {
      p = concat([p.neg().add(1), p], 1);
      g = concat([g.neg().add(1), g], 1);
    }
    const [n, c] = p.shape;
    // rows are (class) over the pooled batch, or (image, class) per image
    const toRows = (x: Tensor): Tensor => (batch ? reshape(permute(reshape(x, [n, c, -1]), [1, 0, 2]), [c, -1]) : reshape(x, [n * c, -1]));
    const gRows = toRows(g);
    const fg = binarize(gRows);
    const groups = batch ? 1 : n;
    const len = fg.length / (groups * c);
    const scale = new Array<number>(groups * c).fill(0);
    for (let k = 0; k < groups; k++) {
      const present = [...Array(c).keys()].filter((cl) => classes === 'all' || fg.subarray((k * c + cl) * len, (k * c + cl + 1) * len).some((v) => v === 1));
      for (const cl of present) scale[k * c + cl] = 1 / present.length;
    }
    const errors = abs(toRows(p).sub(tensor(fg, gRows.shape, { dtype: p.dtype })));
    return reduce(name, sum(reshape(sortedDot(errors, fg, scale), [groups, c]), 1), reduction);
  });
}
