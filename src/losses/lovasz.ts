import { abs, concat, greater, max, maximum, permute, relu, reshape, sum } from '../autograd/index.js';
import { formatShape, noGrad, Tensor, tensor } from '../tensor/index.js';
import { decreasingOrder } from './sort-order.js';
import { makeLoss, prepareTarget, reduce, type Loss, type Reduction } from './types.js';

/**
 * The Lovász extension of the Jaccard loss (Berman et al. 2018): errors sorted in decreasing order and
 * weighted by the increments of 1 − IoU along that order. Where the backend reads synchronously the sort
 * runs on the host; elsewhere (gpu webgpu) on the device (`Backend.lovaszWeights`). The gradient flows
 * through the weights.
 */

export interface LovaszOptions {
  /** Pool the whole batch into one sorted list (default true, Berman's per_image=False); false scores each image and averages. */
  batch?: boolean;
  /** Over images when `batch` is false (default 'mean'); 'none' gives one value per image ([1] when pooled). */
  reduction?: Reduction;
}

/**
 * On the host: the Lovász weights of labels[base … base + len) (0 or 1) in the order that sorts
 * values[base … base + len) decreasingly (ties by index), times `scale`, each written at out[base + i],
 * its value's place. In that order w_j = J_j − J_{j−1}, J_j = 1 − |G ∖ first j|/|G ∪ first j| (Berman's
 * lovasz_grad). The compat layer's smp Lovász uses it too.
 */
export function placeLovaszWeights(values: ArrayLike<number>, labels: ArrayLike<number>, base: number, len: number, scale: number, out: Float64Array): void {
  const order = new Uint32Array(len);
  decreasingOrder(values, base, len, order);
  let gts = 0;
  for (let j = 0; j < len; j++) gts += labels[base + order[j]];
  let cumFg = 0;
  let cumBg = 0;
  let prev = 0;
  for (let j = 0; j < len; j++) {
    const fg = labels[base + order[j]];
    cumFg += fg;
    cumBg += 1 - fg;
    const jac = 1 - (gts - cumFg) / (gts + cumBg);
    out[base + order[j]] = (jac - prev) * scale;
    prev = jac;
  }
}

/**
 * Σ_j errors[r, π_r(j)]·w_r(j)·scale[r] per row r of `errors` [R, L], π_r sorting row r's errors in
 * decreasing order and w_r the Lovász weights of the labels `fg` [R, L] (0 or 1) in that order; `scale`
 * [R], or 1 when null. Summed as Σ_i errors[r, i]·w_r(π_r⁻¹(i)): each weight goes back to its error's
 * place, so an error's gradient is its weight and nothing is gathered (a gather's float indices would
 * address only 2^24 elements exactly in float32, fewer than a pooled batch of large images has).
 */
function sortedDot(errors: Tensor, fg: Tensor, scale: Tensor | null): Tensor {
  return sum(errors.mul(noGrad(() => placedWeights(errors, fg, scale))), 1);
}

/** sortedDot's weights times scale, each at its error's place: sorted on the host, or on the device by `Backend.lovaszWeights`. */
function placedWeights(errors: Tensor, fg: Tensor, scale: Tensor | null): Tensor {
  const [rows, len] = errors.shape;
  const b = errors.backend;
  if (b.readSync) {
    const values = errors.dataSync();
    const labels = fg.dataSync();
    const scales = scale ? scale.dataSync() : new Float64Array(rows).fill(1);
    const weights = new Float64Array(rows * len);
    for (let r = 0; r < rows; r++) if (scales[r] !== 0) placeLovaszWeights(values, labels, r * len, len, scales[r], weights);
    return tensor(weights, [rows, len], { dtype: errors.dtype });
  }
  if (!b.lovaszWeights) {
    const info = b.info();
    throw new Error(`lovasz: ${info.backend}:${info.mode} reads asynchronously and has no device sort (Backend.lovaszWeights), so the errors cannot be sorted; use the cpu backend`);
  }
  const w = Tensor.fromHandle(b, b.lovaszWeights(errors.handle, fg.handle, rows, len, errors.dtype), [rows, len], errors.dtype);
  return scale ? w.mul(reshape(scale, [rows, 1])) : w;
}

/** 0/1 labels: the target thresholded at 0.5. */
const foreground = (g: Tensor): Tensor => noGrad(() => greater(g, 0.5));

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
    const fg = foreground(prepareTarget(name, z, target));
    const signs = fg.mul(2).sub(1);
    const rows = batch ? 1 : z.shape[0];
    const errors = reshape(relu(z.mul(signs).neg().add(1)), [rows, -1]);
    return reduce(name, sortedDot(errors, reshape(fg, [rows, -1]), null), reduction);
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
    const fg = foreground(toRows(g));
    const groups = batch ? 1 : n;
    // each class's weight: 1 over the classes scored in its group, 0 for a class absent from the target ('present')
    const scale = noGrad(() => {
      if (classes === 'all') return tensor(new Float64Array(groups * c).fill(1 / c), [groups * c], { dtype: p.dtype });
      const scored = reshape(max(fg, 1), [groups, c]);
      return reshape(scored.div(maximum(sum(scored, 1, { keepDims: true }), 1)), [groups * c]);
    });
    const errors = abs(toRows(p).sub(fg));
    return reduce(name, sum(reshape(sortedDot(errors, fg, scale), [groups, c]), 1), reduction);
  });
}
