import type { ReduceOp } from '../../tensor/backend.js';
import { normAxes, reducedShape, type Shape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkSame, record, wrap, type GradFn } from '../graph.js';
import { broadcastTo, reshape } from './layout.js';
import { div, equal, mul } from './elementwise.js';

export interface ReduceOptions {
  /** Keep reduced axes as size 1 (default false). */
  keepDims?: boolean;
}

function reduceOp(op: ReduceOp, x: Tensor, axes: number | readonly number[] | undefined, opts: ReduceOptions): Tensor {
  checkSame(op, [x]);
  const ax = normAxes(axes, x.shape, op);
  const kept = reducedShape(x.shape, ax);
  const out = wrap(x.backend, x.backend.reduce(op, x.handle, x.shape, ax, x.dtype), kept, x.dtype);
  record(op, [x], out, { axes: ax });
  return opts.keepDims ? out : reshape(out, x.shape.filter((_, i) => !ax.includes(i)));
}

/** Sum along `axes` (all axes when omitted). */
export const sum = (x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor => reduceOp('sum', x, axes, opts);
/** Maximum along `axes`; the gradient is shared equally among tied maxima. */
export const max = (x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor => reduceOp('max', x, axes, opts);
/** Minimum along `axes`; the gradient is shared equally among tied minima. */
export const min = (x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor => reduceOp('min', x, axes, opts);

/** The gradient of an extremum: g to every element equal to it, divided among ties. */
function extremumGrad(g: Tensor, x: Tensor, out: Tensor, axes: number[]): Tensor {
  const mask = equal(x, out);
  const count = reduceOp('sum', mask, axes, { keepDims: true });
  return div(mul(broadcastTo(g, x.shape), mask), count);
}

const expandBack = (g: Tensor, shape: Shape): Tensor => broadcastTo(g, shape);

export const reduceGrads = {
  sum: (g, n) => [expandBack(g, n.inputs[0].shape)],
  max: (g, n) => [extremumGrad(g, n.inputs[0], n.output, n.attrs.axes as number[])],
  min: (g, n) => [extremumGrad(g, n.inputs[0], n.output, n.attrs.axes as number[])],
} satisfies Record<'sum' | 'max' | 'min', GradFn>;
