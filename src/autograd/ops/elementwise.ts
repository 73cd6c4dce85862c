import type { BinaryOp, UnaryOp } from '../../tensor/backend.js';
import type { DType } from '../../tensor/dtype.js';
import { isGradEnabled } from '../../tensor/engine.js';
import { broadcastShapes, sameShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkSame, record, sumTo, toTensors, wrap, type GradFn, type TensorLike } from '../graph.js';

/** Elementwise ops: each forward with its backward rule (the chain rule in one line) beside it. */

function unaryOp(op: UnaryOp & GradUnary, x: Tensor): Tensor {
  checkSame(op, [x]);
  const out = wrap(x.backend, x.backend.unary(op, x.handle, x.size, x.dtype), x.shape, x.dtype);
  return record(op, [x], out);
}

function unaryNoGrad(op: UnaryOp, x: Tensor): Tensor {
  checkSame(op, [x]);
  return wrap(x.backend, x.backend.unary(op, x.handle, x.size, x.dtype), x.shape, x.dtype);
}

type GradUnary = 'neg' | 'exp' | 'log' | 'log1p' | 'sqrt' | 'abs' | 'sigmoid' | 'tanh' | 'relu' | 'softplus' | 'logSigmoid' | 'square' | 'reciprocal';
type GradBinary = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';

/** −x */
export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
/** eˣ */
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => unaryOp('log', x);
/** ln(1 + x), accurate for small x. */
export const log1p = (x: Tensor): Tensor => unaryOp('log1p', x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
/** |x|; its gradient at 0 is taken as 0 (the subgradient sign(0)). */
export const abs = (x: Tensor): Tensor => unaryOp('abs', x);
/** σ(x) = 1/(1+e⁻ˣ), computed stably for large |x|. */
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
/** max(x, 0); its gradient at 0 is 0. */
export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
/** ln(1 + eˣ), stable for large |x|. */
export const softplus = (x: Tensor): Tensor => unaryOp('softplus', x);
/** ln σ(x), stable for large |x|. */
export const logSigmoid = (x: Tensor): Tensor => unaryOp('logSigmoid', x);
/** x² */
export const square = (x: Tensor): Tensor => unaryOp('square', x);
/** 1/x */
export const reciprocal = (x: Tensor): Tensor => unaryOp('reciprocal', x);
/** −1, 0 or 1 elementwise; no gradient flows. */
export const sign = (x: Tensor): Tensor => unaryNoGrad('sign', x);
/** 1 where x > 0 else 0; no gradient flows. */
export const step = (x: Tensor): Tensor => unaryNoGrad('step', x);

/**
 * dy·step(x), relu's gradient: one pass where no gradient of it is needed and the backend has the
 * fused kernel (cpu), with the same bits as mul(dy, step(x)), which it composes otherwise.
 */
function reluGrad(dy: Tensor, x: Tensor): Tensor {
  const { dtype, backend } = checkSame('relu', [dy, x]);
  if (backend.reluGrad && !(isGradEnabled() && dy.requiresGrad)) return wrap(backend, backend.reluGrad(dy.handle, x.handle, x.size, dtype), x.shape, dtype);
  return mul(dy, step(x));
}

/**
 * α·a + β·b for same-shape a and b, as `add(mul(a, α), mul(b, β))` and with its bits, except where no
 * gradient is needed and the backend has one kernel for it (gpu: a running average in one kernel call,
 * not three).
 * @example noGrad(() => axpby(runningMean, 0.9, batchMean, 0.1));
 */
export function axpby(a: Tensor, alpha: number, b: Tensor, beta: number): Tensor {
  const { dtype, backend } = checkSame('axpby', [a, b]);
  if (backend.axpby && sameShape(a.shape, b.shape) && !(isGradEnabled() && (a.requiresGrad || b.requiresGrad))) {
    return wrap(backend, backend.axpby(a.handle, alpha, b.handle, beta, a.size, dtype), a.shape, dtype);
  }
  return add(mul(a, alpha), mul(b, beta));
}

function binaryOp(op: BinaryOp, a: TensorLike, b: TensorLike, differentiable: boolean): Tensor {
  const [ta, tb] = toTensors(op, [a, b]);
  const { dtype, backend } = checkSame(op, [ta, tb]);
  const shape = broadcastShapes(ta.shape, tb.shape, op);
  const out = wrap(backend, backend.binary(op, ta.handle, ta.shape, tb.handle, tb.shape, shape, dtype), shape, dtype);
  return differentiable ? record(op as GradBinary, [ta, tb], out) : out;
}

/** a + b with broadcasting. */
export const add = (a: TensorLike, b: TensorLike): Tensor => binaryOp('add', a, b, true);
/** a − b with broadcasting. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binaryOp('sub', a, b, true);
/** a · b with broadcasting. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binaryOp('mul', a, b, true);
/** a / b with broadcasting. */
export const div = (a: TensorLike, b: TensorLike): Tensor => binaryOp('div', a, b, true);
/** aᵇ with broadcasting (the gradient w.r.t. b needs a > 0). */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binaryOp('pow', a, b, true);
/** Elementwise maximum; at ties the gradient goes to `a`. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binaryOp('maximum', a, b, true);
/** Elementwise minimum; at ties the gradient goes to `a`. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binaryOp('minimum', a, b, true);
/** 1 where a == b else 0 (no gradient). */
export const equal = (a: TensorLike, b: TensorLike): Tensor => binaryOp('eq', a, b, false);
/** 1 where a != b else 0 (no gradient). */
export const notEqual = (a: TensorLike, b: TensorLike): Tensor => binaryOp('ne', a, b, false);
/** 1 where a < b else 0 (no gradient). */
export const less = (a: TensorLike, b: TensorLike): Tensor => binaryOp('lt', a, b, false);
/** 1 where a <= b else 0 (no gradient). */
export const lessEqual = (a: TensorLike, b: TensorLike): Tensor => binaryOp('le', a, b, false);
/** 1 where a > b else 0 (no gradient). */
export const greater = (a: TensorLike, b: TensorLike): Tensor => binaryOp('gt', a, b, false);
/** 1 where a >= b else 0 (no gradient). */
export const greaterEqual = (a: TensorLike, b: TensorLike): Tensor => binaryOp('ge', a, b, false);

/** cond ? a : b elementwise with broadcasting (cond is nonzero = true); no gradient flows to cond. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = toTensors('where', [a, b]);
  const { dtype, backend } = checkSame('where', [cond, ta, tb]);
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape, 'where'), tb.shape, 'where');
  const out = wrap(backend, backend.where(cond.handle, cond.shape, ta.handle, ta.shape, tb.handle, tb.shape, shape, dtype), shape, dtype);
  return record('where', [ta, tb], out, { cond });
}

/** Converts to another dtype; the gradient is cast back. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  checkSame('cast', [x]);
  if (!x.backend.supports(dtype)) throw new Error(`cast: the ${x.backend.name} backend does not support ${dtype}`);
  const out = wrap(x.backend, x.backend.cast(x.handle, x.size, x.dtype, dtype), x.shape, dtype);
  return record('cast', [x], out, { from: x.dtype });
}

function negSumTo(g: Tensor, shape: readonly number[]): Tensor {
  const s = sumTo(g, shape);
  const out = neg(s);
  if (s !== g) s.dispose();
  return out;
}

export const elementwiseGrads = {
  neg: (g) => [neg(g)],
  exp: (g, n) => [mul(g, n.output)], // d eˣ = eˣ
  log: (g, n) => [div(g, n.inputs[0])], // d ln x = 1/x
  log1p: (g, n) => [div(g, add(n.inputs[0], 1))],
  sqrt: (g, n) => [div(g, mul(n.output, 2))], // d √x = 1/(2√x)
  abs: (g, n) => [mul(g, sign(n.inputs[0]))],
  sigmoid: (g, n) => [mul(g, mul(n.output, sub(1, n.output)))], // σ' = σ(1−σ)
  tanh: (g, n) => [mul(g, sub(1, square(n.output)))], // tanh' = 1 − tanh²
  relu: (g, n) => [reluGrad(g, n.inputs[0])],
  softplus: (g, n) => [mul(g, sigmoid(n.inputs[0]))], // softplus' = σ
  logSigmoid: (g, n) => [mul(g, sigmoid(neg(n.inputs[0])))], // (ln σ)' = 1 − σ = σ(−x)
  square: (g, n) => [mul(g, mul(n.inputs[0], 2))],
  reciprocal: (g, n) => [neg(mul(g, square(n.output)))], // (1/x)' = −1/x²
  add: (g, n) => [sumTo(g, n.inputs[0].shape), sumTo(g, n.inputs[1].shape)],
  // −Σg rather than Σ(−g): the same values (negation is exact), one full-size pass fewer when b was broadcast
  sub: (g, n) => [sumTo(g, n.inputs[0].shape), negSumTo(g, n.inputs[1].shape)],
  mul: (g, n) => [sumTo(mul(g, n.inputs[1]), n.inputs[0].shape), sumTo(mul(g, n.inputs[0]), n.inputs[1].shape)],
  div: (g, n) => {
    const [a, b] = n.inputs;
    return [sumTo(div(g, b), a.shape), sumTo(neg(div(mul(g, n.output), b)), b.shape)]; // d(a/b)/db = −(a/b)/b
  },
  pow: (g, n) => {
    const [a, b] = n.inputs;
    // d aᵇ/da = b·aᵇ⁻¹ ; d aᵇ/db = aᵇ·ln a (only where a > 0, else 0)
    const da = mul(g, mul(b, pow(a, sub(b, 1))));
    if (!b.requiresGrad) return [sumTo(da, a.shape), null];
    const positive = greater(a, 0);
    const logA = where(positive, log(where(positive, a, 1)), 0);
    return [sumTo(da, a.shape), sumTo(mul(g, mul(n.output, logA)), b.shape)];
  },
  maximum: (g, n) => {
    const mask = greaterEqual(n.inputs[0], n.inputs[1]);
    return [sumTo(mul(g, mask), n.inputs[0].shape), sumTo(mul(g, sub(1, mask)), n.inputs[1].shape)];
  },
  minimum: (g, n) => {
    const mask = lessEqual(n.inputs[0], n.inputs[1]);
    return [sumTo(mul(g, mask), n.inputs[0].shape), sumTo(mul(g, sub(1, mask)), n.inputs[1].shape)];
  },
  where: (g, n) => {
    const cond = n.attrs.cond as Tensor;
    return [sumTo(where(cond, g, 0), n.inputs[0].shape), sumTo(where(cond, 0, g), n.inputs[1].shape)];
  },
  cast: (g, n) => [cast(g, n.attrs.from as DType)],
} satisfies Record<GradUnary | GradBinary | 'where' | 'cast', GradFn>;
