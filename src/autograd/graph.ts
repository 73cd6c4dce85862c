import { isGradEnabled } from '../tensor/engine.js';
import { fromTyped } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { broadcastAxes, fmt, sameShape, type Shape } from '../tensor/shape.js';
import { Tensor, type GradNode } from '../tensor/tensor.js';
import type { Backend } from '../tensor/backend.js';
import type { OpName } from './op-names.js';

/** A tensor or a plain number (broadcast as a scalar of the other operand's dtype). */
export type TensorLike = Tensor | number;

/** What an op leaves on its output: its inputs, the output itself, and whatever its backward needs. */
export interface Node<A = Record<string, unknown>> extends GradNode {
  readonly op: OpName;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
}

/** A backward rule: the gradient of each input given the output's gradient `g` (null = none). */
export type GradFn = (g: Tensor, node: Node<any>) => (Tensor | null)[];

/**
 * Attaches a node to `output` when gradients are enabled and some input requires them.
 * Every differentiable op calls this right after computing its forward value.
 */
export function record<A extends Record<string, unknown>>(op: OpName, inputs: readonly Tensor[], output: Tensor, attrs: A = {} as A): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output._node = { op, inputs, output, attrs } as Node<A>;
  }
  return output;
}

/** Checks that all tensors share dtype and backend; names the op and both dtypes otherwise. */
export function checkSame(op: string, ts: readonly Tensor[]): { dtype: DType; backend: Backend } {
  const first = ts[0];
  for (const t of ts) {
    if (t.isDisposed) throw new Error(`${op}: an input tensor ${fmt(t.shape)} was disposed`);
    if (t.dtype !== first.dtype) throw new Error(`${op}: dtype mismatch: ${first.dtype} ${fmt(first.shape)} vs ${t.dtype} ${fmt(t.shape)}; cast one with .cast()`);
    if (t.backend !== first.backend) throw new Error(`${op}: tensors live on different backends (${first.backend.name} and ${t.backend.name})`);
  }
  return { dtype: first.dtype, backend: first.backend };
}

/** Turns numbers into scalar tensors matching the first tensor among `xs`. */
export function toTensors(op: string, xs: readonly TensorLike[]): Tensor[] {
  const ref = xs.find((x): x is Tensor => x instanceof Tensor);
  if (!ref) throw new Error(`${op}: at least one argument must be a tensor`);
  return xs.map((x) => (x instanceof Tensor ? x : scalarLike(x, ref)));
}

/** A scalar tensor of `ref`'s dtype on `ref`'s backend. */
export function scalarLike(v: number, ref: Tensor): Tensor {
  const b = ref.backend;
  return Tensor.fromHandle(b, b.fill(1, v, ref.dtype), [], ref.dtype);
}

/** Wraps a backend result. */
export function wrap(backend: Backend, handle: unknown, shape: Shape, dtype: DType): Tensor {
  return Tensor.fromHandle(backend, handle, shape, dtype);
}

/**
 * Sums `g` down to `shape` over the axes that broadcasting expanded: the gradient of broadcasting.
 * Returns `g` itself when nothing was broadcast.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const axes = broadcastAxes(shape, g.shape);
  const b = g.backend;
  const summed = wrap(b, b.reduce('sum', g.handle, g.shape, axes, g.dtype), g.shape.map((d, i) => (axes.includes(i) ? 1 : d)), g.dtype);
  const out = summed.view(shape);
  summed.dispose();
  return out;
}

export { fromTyped };
