import type { Backend } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import { DataRef, bytesFor, track, untrack } from './engine.js';
import { fmt, sizeOf, type Shape } from './shape.js';

/** The record an op leaves on its output so `backward()` can walk the graph (filled in by src/autograd). */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
}

let nextId = 0;

/**
 * An immutable, contiguous, row-major array of `float32` or `float64` values owned by one backend.
 * Ops return new tensors; the only mutation is `assign()`, used by optimisers and running statistics.
 * Methods such as `a.add(b)` are installed by src/autograd.
 */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  requiresGrad: boolean;
  /** The gradient accumulated by `backward()`, or null. */
  grad: Tensor | null = null;
  /** @internal */ _node: GradNode | null = null;
  /** @internal */ _ref: DataRef;
  private disposed = false;

  /** @internal Use `tensor()`, `zeros()`… to create tensors. */
  constructor(ref: DataRef, shape: Shape, readonly dtype: DType, requiresGrad = false) {
    this._ref = ref;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.requiresGrad = requiresGrad;
    track(this);
  }

  /** @internal Wraps a fresh backend handle. */
  static fromHandle(backend: Backend, handle: unknown, shape: Shape, dtype: DType, requiresGrad = false): Tensor {
    return new Tensor(new DataRef(backend, handle, bytesFor(dtype, sizeOf(shape))), shape, dtype, requiresGrad);
  }

  /** @internal A tensor sharing this one's storage under another shape (same size). */
  view(shape: Shape): Tensor {
    this.assertLive('reshape');
    this._ref.refs++;
    return new Tensor(this._ref, shape, this.dtype);
  }

  get rank(): number {
    return this.shape.length;
  }

  get backend(): Backend {
    return this._ref.backend;
  }

  /** @internal */
  get handle(): unknown {
    this.assertLive('read');
    return this._ref.handle;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Reads the values (a copy), on every backend. */
  async data(): Promise<TypedArray> {
    this.assertLive('data');
    return this.backend.read(this._ref.handle, this.size, this.dtype);
  }

  /** Reads the values synchronously; throws on asynchronous backends (gpu.js webgpu). */
  dataSync(): TypedArray {
    this.assertLive('dataSync');
    const b = this.backend;
    if (!b.readSync) {
      const info = b.info();
      throw new Error(`dataSync: the ${info.backend} backend in mode '${info.mode}' is asynchronous; use 'await t.data()'`);
    }
    return b.readSync(this._ref.handle, this.size, this.dtype);
  }

  /** The values as nested arrays (synchronous; see `dataSync`). */
  toArray(): NestedArray {
    return nest(this.dataSync(), this.shape);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: expected a tensor with one element, got shape ${fmt(this.shape)}`);
    return this.dataSync()[0];
  }

  /** Frees the storage (shared views keep it alive until they are disposed too). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this._ref.release();
    untrack();
  }

  /**
   * @internal Replaces this tensor's values in place with `value`'s (same shape and dtype), taking over its
   * storage. Only optimisers and running statistics call this; it never touches a recorded graph.
   */
  assign(value: Tensor): void {
    this.assertLive('assign');
    if (value.size !== this.size || value.dtype !== this.dtype) {
      throw new Error(`assign: expected ${this.dtype} ${fmt(this.shape)}, got ${value.dtype} ${fmt(value.shape)}`);
    }
    if (value.backend !== this.backend) throw new Error('assign: the value lives on another backend');
    value._ref.refs++;
    this._ref.release();
    this._ref = value._ref;
  }

  /** A readable summary with the values (up to 6 per axis). */
  toString(): string {
    if (this.disposed) return `Tensor(disposed, shape=${fmt(this.shape)}, dtype=${this.dtype})`;
    const head = `Tensor(shape=${fmt(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
    if (!this.backend.readSync) return head;
    return `${head}\n${formatValues(this.dataSync(), this.shape)}`;
  }

  private assertLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: tensor ${fmt(this.shape)} was disposed`);
  }
}

export type NestedArray = number | NestedArray[];

function nest(data: ArrayLike<number>, shape: readonly number[], offset = 0, axis = 0): NestedArray {
  if (shape.length === 0) return data[0];
  const n = shape[axis];
  if (axis === shape.length - 1) return Array.from({ length: n }, (_, i) => data[offset + i]);
  const inner = sizeOf(shape.slice(axis + 1));
  return Array.from({ length: n }, (_, i) => nest(data, shape, offset + i * inner, axis + 1));
}

function formatValues(data: ArrayLike<number>, shape: readonly number[]): string {
  const num = (v: number): string => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));
  const rec = (offset: number, axis: number, indent: string): string => {
    if (shape.length === 0) return num(data[0]);
    const n = shape[axis];
    const inner = sizeOf(shape.slice(axis + 1));
    const idx = n > 6 ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : [...Array(n).keys()];
    if (axis === shape.length - 1) return `[${idx.map((i) => (i < 0 ? '…' : num(data[offset + i]))).join(', ')}]`;
    const parts = idx.map((i) => (i < 0 ? `${indent} …` : rec(offset + i * inner, axis + 1, indent + ' ')));
    return `[${parts.join(`,\n${indent} `)}]`;
  };
  return rec(0, 0, '');
}
