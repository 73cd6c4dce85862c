import type { BinaryOp, UnaryOp } from '../../backend.js';
import { allocate, type DType, type TypedArray } from '../../dtype.js';
import { broadcastStrides, sameShape, sizeOf, type Shape } from '../../shape.js';

/** Scalar definitions of the unary primitives: the reference every other backend is tested against. */
export const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  step: (x) => (x > 0 ? 1 : 0),
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: Math.tanh,
  relu: (x) => (x > 0 ? x : 0),
  // softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}), stable for large |x|
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  logSigmoid: (x) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
};

export const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

export function unary(op: UnaryOp, x: TypedArray, dtype: DType): TypedArray {
  const f = unaryFns[op];
  const out = allocate(dtype, x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}

/** Calls `visit(outIndex, offsets…)` over every output element with broadcast offsets into each input. */
function forEachBroadcast(inputs: Shape[], outShape: Shape, visit: (o: number, offs: number[]) => void): void {
  const rank = outShape.length;
  const strides = inputs.map((s) => broadcastStrides(s, outShape));
  const size = sizeOf(outShape);
  const idx = new Array<number>(rank).fill(0);
  const offs = new Array<number>(inputs.length).fill(0);
  for (let o = 0; o < size; o++) {
    visit(o, offs);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * outShape[d];
      idx[d] = 0;
    }
  }
}

export function binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const f = binaryFns[op];
  const out = allocate(dtype, sizeOf(outShape));
  if (sameShape(aShape, outShape) && sameShape(bShape, outShape)) {
    for (let i = 0; i < out.length; i++) out[i] = f(a[i], b[i]);
  } else if (b.length === 1 && sameShape(aShape, outShape)) {
    const s = b[0];
    for (let i = 0; i < out.length; i++) out[i] = f(a[i], s);
  } else if (a.length === 1 && sameShape(bShape, outShape)) {
    const s = a[0];
    for (let i = 0; i < out.length; i++) out[i] = f(s, b[i]);
  } else {
    forEachBroadcast([aShape, bShape], outShape, (o, offs) => {
      out[o] = f(a[offs[0]], b[offs[1]]);
    });
  }
  return out;
}

export function where(c: TypedArray, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  forEachBroadcast([cShape, aShape, bShape], outShape, (o, offs) => {
    out[o] = c[offs[0]] !== 0 ? a[offs[1]] : b[offs[2]];
  });
  return out;
}

export function broadcastTo(x: TypedArray, shape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  forEachBroadcast([shape], outShape, (o, offs) => {
    out[o] = x[offs[0]];
  });
  return out;
}
