import type { Backend } from './backend.js';
import { assertDType, toTyped, type DType, type TypedArray } from './dtype.js';
import { getBackend } from './engine.js';
import { Rng } from './random.js';
import { checkShape, fmt, sizeOf, type Shape } from './shape.js';
import { Tensor } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

type Nested = number | boolean | readonly Nested[];

function backendFor(dtype: DType, op: string): Backend {
  assertDType(dtype);
  const b = getBackend();
  if (!b.supports(dtype)) {
    const info = b.info();
    throw new Error(`${op}: the ${info.backend} backend (mode ${info.mode}) does not support ${dtype}; use float32 or setBackend('cpu')`);
  }
  return b;
}

/** @internal Wraps a host array as a tensor on the active backend. */
export function fromTyped(data: TypedArray, shape: Shape, opts: TensorOptions = {}): Tensor {
  const dtype = opts.dtype ?? (data instanceof Float64Array ? 'float64' : 'float32');
  const b = backendFor(dtype, 'tensor');
  return Tensor.fromHandle(b, b.upload(data.length === sizeOf(shape) && (dtype === 'float64') === data instanceof Float64Array ? data : toTyped(data, dtype), dtype), shape, dtype, opts.requiresGrad ?? false);
}

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0];
  }
  return shape;
}

function flatten(data: Nested, shape: number[], out: number[], axis = 0): void {
  if (axis === shape.length) {
    if (Array.isArray(data)) throw new Error(`tensor: ragged nested array: expected shape ${fmt(shape)}`);
    out.push(Number(data));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[axis]) throw new Error(`tensor: ragged nested array: expected shape ${fmt(shape)}`);
  for (const x of data as readonly Nested[]) flatten(x, shape, out, axis + 1);
}

/**
 * Creates a tensor from a number, nested arrays or a flat array/typed array with a shape.
 * The dtype defaults to float32 (float64 for a Float64Array).
 * @example const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
 */
export function tensor(data: Nested | ArrayLike<number>, shape?: Shape, opts: TensorOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof data === 'number' || typeof data === 'boolean') {
    flat = [Number(data)];
    inferred = [];
  } else if (ArrayBuffer.isView(data)) {
    flat = data as ArrayLike<number>;
    inferred = [(data as ArrayLike<number>).length];
  } else {
    inferred = inferShape(data as Nested);
    const out: number[] = [];
    flatten(data as Nested, inferred, out);
    flat = out;
  }
  const s = shape ?? inferred;
  checkShape(s);
  if (sizeOf(s) !== flat.length) throw new Error(`tensor: ${flat.length} values do not fill shape ${fmt(s)} (${sizeOf(s)} elements)`);
  const dtype = opts.dtype ?? (flat instanceof Float64Array ? 'float64' : 'float32');
  return fromTyped(toTyped(flat, dtype), s, { ...opts, dtype });
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  checkShape(shape, 'full');
  const dtype = opts.dtype ?? 'float32';
  const b = backendFor(dtype, 'full');
  return Tensor.fromHandle(b, b.fill(sizeOf(shape), value, dtype), shape, dtype, opts.requiresGrad ?? false);
}

export const zeros = (shape: Shape, opts: TensorOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: TensorOptions = {}): Tensor => full(shape, 1, opts);
export const zerosLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 0, { dtype: t.dtype, ...opts });
export const onesLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 1, { dtype: t.dtype, ...opts });

/** Values start, start+step, … below stop (like numpy.arange). */
export function arange(start: number, stop?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = start + i * step;
  return tensor(v, [n], { dtype: 'float32', ...opts });
}

/** `num` evenly spaced values from start to stop inclusive. */
export function linspace(start: number, stop: number, num: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(num) || num < 0) throw new Error(`linspace: num must be a non-negative integer, got ${num}`);
  const v = new Float64Array(num);
  for (let i = 0; i < num; i++) v[i] = num === 1 ? start : start + ((stop - start) * i) / (num - 1);
  return tensor(v, [num], { dtype: 'float32', ...opts });
}

/** The n×m identity. */
export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  const v = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) v[i * m + i] = 1;
  return tensor(v, [n, m], { dtype: 'float32', ...opts });
}

export interface RandomOptions extends TensorOptions {
  seed: number;
}

function random(shape: Shape, opts: RandomOptions, op: string, draw: (r: Rng) => number): Tensor {
  checkShape(shape, op);
  if (opts?.seed === undefined) throw new Error(`${op}: a seed is required ({ seed: 42 }); segrad never draws unseeded numbers`);
  const r = new Rng(opts.seed);
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = draw(r);
  return tensor(v, shape, { dtype: 'float32', ...opts });
}

/** Standard normal values × std + mean, from a seed. */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number }): Tensor {
  // `?? {}` so a call without options reaches the clear missing-seed error in `random`
  const { mean = 0, std = 1 } = opts ?? {};
  return random(shape, opts, 'randn', (r) => mean + std * r.normal());
}

/** Uniform values in [low, high), from a seed. */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number }): Tensor {
  const { low = 0, high = 1 } = opts ?? {};
  return random(shape, opts, 'rand', (r) => low + (high - low) * r.uniform());
}

/** Uniform integers in [low, high), from a seed. */
export function randint(shape: Shape, low: number, high: number, opts: RandomOptions): Tensor {
  if (!(high > low)) throw new Error(`randint: high (${high}) must exceed low (${low})`);
  return random(shape, opts, 'randint', (r) => r.int(low, high));
}
