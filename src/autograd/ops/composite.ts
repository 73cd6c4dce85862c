import { normAxes, normAxis, fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../tensor/engine.js';
import { scalarLike } from '../graph.js';
import { add, div, equal, exp, greater, log, maximum, minimum, mul, square, sub, where } from './elementwise.js';
import { reshape, unsqueeze, broadcastTo, take } from './layout.js';
import { max, sum, type ReduceOptions } from './reduce.js';
import { arange, tensor } from '../../tensor/creation.js';
import { cast } from './elementwise.js';

/** Ops composed from primitives: their gradients follow from the primitives' rules. */

/** Mean along `axes` (all when omitted). */
export function mean(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = normAxes(axes, x.shape, 'mean');
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  return div(sum(x, ax, opts), count);
}

/** Variance along `axes`; `correction` 0 (default, biased) or 1 (unbiased, Bessel). */
export function variance(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions & { correction?: number } = {}): Tensor {
  const ax = normAxes(axes, x.shape, 'variance');
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  const centered = sub(x, mean(x, ax, { keepDims: true }));
  return div(sum(square(centered), ax, opts), Math.max(count - (opts.correction ?? 0), 0));
}

/** Clamps to [low, high] (either bound may be omitted); gradient 1 inside, 0 outside. */
export function clamp(x: Tensor, low?: number, high?: number): Tensor {
  let y = x;
  if (low !== undefined) y = maximum(y, low);
  if (high !== undefined) y = minimum(y, high);
  return y;
}

/** x where x > 0, else slope·x (default slope 0.01); gradient at 0 is the slope. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return where(greater(x, 0), x, mul(x, slope));
}

/** Softmax along `axis` (default last), shifted by the (detached) maximum for stability. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const ax = normAxis(axis, x.rank, 'softmax', x.shape);
  const shift = noGrad(() => max(x, ax, { keepDims: true }));
  const e = exp(sub(x, shift));
  return div(e, sum(e, ax, { keepDims: true }));
}

/** log softmax along `axis` (default last): x − max − ln Σ e^{x−max}. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const ax = normAxis(axis, x.rank, 'logSoftmax', x.shape);
  const shift = noGrad(() => max(x, ax, { keepDims: true }));
  const z = sub(x, shift);
  return sub(z, log(sum(exp(z), ax, { keepDims: true })));
}

/**
 * One-hot encoding of integer class indices along a new axis (default last). Values outside
 * [0, numClasses) give all-zero rows. No gradient.
 * @example oneHot(tensor([0, 2]), 3) // [[1,0,0],[0,0,1]]
 */
export function oneHot(indices: Tensor, numClasses: number, axis = -1): Tensor {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  return noGrad(() => {
    const classes = cast(arange(0, numClasses), indices.dtype);
    const ax = axis < 0 ? indices.rank + 1 + axis : axis;
    if (ax < 0 || ax > indices.rank) throw new Error(`oneHot: axis ${axis} is out of range for indices ${fmt(indices.shape)}`);
    const shape = new Array(indices.rank + 1).fill(1);
    shape[ax] = numClasses;
    return equal(unsqueeze(indices, ax), reshape(classes, shape));
  });
}

/**
 * Reverses the order of the elements along `axes`: on `[N, C, H, W]` images axis 3 mirrors left–right
 * and axis 2 upside down. A gather (`take`), so its gradient is the same flip back.
 * @example flip(tensor([[1, 2], [3, 4]]), 1) // [[2, 1], [4, 3]]
 */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  const flipped = normAxes(axes, x.shape, 'flip').filter((a) => x.shape[a] > 1);
  if (flipped.length === 0) return x;
  // the source of each output element, walked with one counter per axis (last fastest)
  const index = x.dtype === 'float64' ? new Float64Array(x.size) : new Float32Array(x.size);
  const strides = x.shape.map((_, a) => x.shape.slice(a + 1).reduce((p, d) => p * d, 1));
  const at = new Array<number>(x.rank).fill(0);
  for (let i = 0; i < x.size; i++) {
    let source = 0;
    for (let a = 0; a < x.rank; a++) source += (flipped.includes(a) ? x.shape[a] - 1 - at[a] : at[a]) * strides[a];
    index[i] = source;
    for (let a = x.rank - 1; a >= 0 && ++at[a] === x.shape[a]; a--) at[a] = 0;
  }
  // kept for the backward pass (take records it); a tidy scope frees it with the other intermediates
  return take(x, tensor(index, x.shape, { dtype: x.dtype }));
}

/** A tensor like `x` with every element set to `v` (same dtype and backend). */
export function fullLike(x: Tensor, v: number): Tensor {
  const s = scalarLike(v, x);
  const out = broadcastTo(s, x.shape);
  if (out !== s) s.dispose();
  return out;
}

