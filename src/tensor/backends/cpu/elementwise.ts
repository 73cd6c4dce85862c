import type { BinaryOp, UnaryOp } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocateUninitialized as allocate } from './buffers.js';
import { simdBinary, simdReluGrad, simdUnary } from './elementwise-simd.js';
import { broadcastStrides, sizeOf, type Shape } from '../../shape.js';

/**
 * The elementwise primitives as expressions: the reference every other backend is tested against,
 * compiled into one tight loop per op and layout: a loop that calls
 * `unaryFns[op]` per element is megamorphic and several times slower, and the elementwise ops are most
 * of a U-Net step outside the convolutions (batch-norm broadcasts, activations, their gradients).
 */
const unaryExpr: Record<UnaryOp, string> = {
  neg: '-x',
  exp: 'Math.exp(x)',
  log: 'Math.log(x)',
  log1p: 'Math.log1p(x)',
  sqrt: 'Math.sqrt(x)',
  abs: 'Math.abs(x)',
  sign: '(x > 0 ? 1 : x < 0 ? -1 : 0)',
  step: '(x > 0 ? 1 : 0)',
  sigmoid: '(x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))',
  tanh: 'Math.tanh(x)',
  relu: '(x > 0 ? x : 0)',
  softplus: '(Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))))',
  logSigmoid: '(Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))))',
  square: 'x * x',
  reciprocal: '1 / x',
};

const binaryExpr: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'Math.pow(a, b)',
  maximum: '(a >= b || a !== a ? a : b)',
  minimum: '(a <= b || a !== a ? a : b)',
  eq: '(a === b ? 1 : 0)',
  ne: '(a !== b ? 1 : 0)',
  lt: '(a < b ? 1 : 0)',
  le: '(a <= b ? 1 : 0)',
  gt: '(a > b ? 1 : 0)',
  ge: '(a >= b ? 1 : 0)',
};

/** The scalar functions of the expressions above (for tests and other backends' references). */
export const unaryFns = Object.fromEntries(Object.entries(unaryExpr).map(([op, e]) => [op, new Function('x', `return ${e};`)])) as Record<UnaryOp, (x: number) => number>;
export const binaryFns = Object.fromEntries(Object.entries(binaryExpr).map(([op, e]) => [op, new Function('a', 'b', `return ${e};`)])) as Record<BinaryOp, (a: number, b: number) => number>;

type UnaryKernel = (x: TypedArray, out: TypedArray) => void;
type StridedKernel = (out: TypedArray, inputs: TypedArray[], plan: Plan) => void;

const unaryKernels = new Map<UnaryOp, UnaryKernel>();
function unaryKernel(op: UnaryOp): UnaryKernel {
  let k = unaryKernels.get(op);
  if (!k) {
    k = new Function('src', 'out', `for (let i = 0; i < out.length; i++) { const x = src[i]; out[i] = ${unaryExpr[op]}; }`) as UnaryKernel;
    unaryKernels.set(op, k);
  }
  return k;
}

/**
 * A broadcast iteration plan: the output shape with adjacent axes merged wherever every input walks them
 * contiguously (or not at all), so most broadcasts collapse to 1–3 axes; `strides[k][d]` is input k's
 * stride along merged axis d (0 where it is broadcast).
 */
interface Plan {
  shape: number[];
  strides: number[][];
}

function makePlan(inputs: readonly Shape[], outShape: Shape): Plan {
  const rank = outShape.length;
  const all = inputs.map((s) => broadcastStrides(s, outShape));
  const shape: number[] = [];
  const strides: number[][] = inputs.map(() => []);
  for (let d = 0; d < rank; d++) {
    const n = outShape[d];
    if (n === 1) continue;
    const last = shape.length - 1;
    const mergeable = last >= 0 && all.every((st, k) => strides[k][last] === st[d] * n);
    if (mergeable) {
      shape[last] *= n;
      all.forEach((st, k) => (strides[k][last] = st[d]));
    } else {
      shape.push(n);
      all.forEach((st, k) => strides[k].push(st[d]));
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { shape, strides };
}

/**
 * Compiles a loop over a plan: the innermost merged axis is a plain strided loop; the outer axes advance
 * input offsets incrementally. `expr` reads the inputs as `v0, v1, …`.
 */
function stridedKernel(arity: number, expr: string): StridedKernel {
  const vs = Array.from({ length: arity }, (_, k) => k);
  const body = `
    const shape = plan.shape, rank = shape.length, inner = shape[rank - 1];
    ${vs.map((k) => `const x${k} = inputs[${k}], st${k} = plan.strides[${k}], s${k} = st${k}[rank - 1];`).join('\n')}
    const idx = new Array(rank).fill(0);
    ${vs.map((k) => `let o${k} = 0;`).join(' ')}
    for (let o = 0; o < out.length; o += inner) {
      ${vs.map((k) => `let p${k} = o${k};`).join(' ')}
      for (let j = 0; j < inner; j++) {
        ${vs.map((k) => `const v${k} = x${k}[p${k}]; p${k} += s${k};`).join(' ')}
        out[o + j] = ${expr};
      }
      for (let d = rank - 2; d >= 0; d--) {
        idx[d]++;
        ${vs.map((k) => `o${k} += st${k}[d];`).join(' ')}
        if (idx[d] < shape[d]) break;
        ${vs.map((k) => `o${k} -= st${k}[d] * shape[d];`).join(' ')}
        idx[d] = 0;
      }
    }`;
  return new Function('out', 'inputs', 'plan', body) as StridedKernel;
}

const stridedKernels = new Map<string, StridedKernel>();
function cachedStrided(key: string, arity: number, expr: string): StridedKernel {
  let k = stridedKernels.get(key);
  if (!k) {
    k = stridedKernel(arity, expr);
    stridedKernels.set(key, k);
  }
  return k;
}

export function unary(op: UnaryOp, x: TypedArray, dtype: DType): TypedArray {
  const out = allocate(dtype, x.length);
  if (dtype === 'float32' && simdUnary(op, x as Float32Array, out as Float32Array)) return out;
  unaryKernel(op)(x, out);
  return out;
}

export function binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  const plan = makePlan([aShape, bShape], outShape);
  if (dtype === 'float32' && simdBinary(op, a as Float32Array, b as Float32Array, out as Float32Array, plan.shape, plan.strides)) return out;
  const expr = binaryExpr[op].replace(/\ba\b/g, 'v0').replace(/\bb\b/g, 'v1');
  cachedStrided(`binary:${op}`, 2, expr)(out, [a, b], plan);
  return out;
}

export function where(c: TypedArray, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  cachedStrided('where', 3, 'v0 !== 0 ? v1 : v2')(out, [c, a, b], makePlan([cShape, aShape, bShape], outShape));
  return out;
}

export function broadcastTo(x: TypedArray, shape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  if (out.length === 0) return out;
  const plan = makePlan([shape], outShape);
  if (!copyRuns(x, out, plan)) cachedStrided('copy', 1, 'v0')(out, [x], plan);
  return out;
}

/**
 * broadcastTo by whole runs where the innermost axis is long: a native fill where x is constant along
 * it (e.g. a per-channel value over H·W), a native copy where x is contiguous along it. False otherwise.
 */
function copyRuns(x: TypedArray, out: TypedArray, plan: Plan): boolean {
  const { shape } = plan;
  const rank = shape.length;
  const inner = shape[rank - 1];
  const st = plan.strides[0];
  const s = st[rank - 1];
  if (inner < 64 || s > 1) return false;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o += inner) {
    if (s === 0) out.fill(x[src], o, o + inner);
    else out.set(x.subarray(src, src + inner), o);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      src += st[d];
      if (idx[d] < shape[d]) break;
      src -= st[d] * shape[d];
      idx[d] = 0;
    }
  }
  return true;
}

/** dy·step(x), relu's gradient in one pass: the same bits as binary('mul', dy, unary('step', x)). */
export function reluGrad(dy: TypedArray, x: TypedArray, dtype: DType): TypedArray {
  const out = allocate(dtype, x.length);
  if (dtype === 'float32' && simdReluGrad(dy as Float32Array, x as Float32Array, out as Float32Array)) return out;
  for (let i = 0; i < out.length; i++) out[i] = dy[i] * (x[i] > 0 ? 1 : 0);
  return out;
}
