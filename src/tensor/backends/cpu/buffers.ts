import type { DType, TypedArray } from '../../dtype.js';

/**
 * Recycled output arrays for the cpu backend. A fresh large typed array costs a page fault on first
 * touch of every 4 KiB page (about as much as the elementwise pass that fills it), so arrays that the
 * backend frees (`dispose`, called once the last tensor sharing them is gone) are kept, by dtype and
 * exact length, and handed out again. Arrays below MIN_LENGTH are left to the allocator; the pool
 * holds at most MAX_BYTES.
 */
const MIN_LENGTH = 4096;
const MAX_BYTES = 256 << 20;
const free = new Map<number, TypedArray[]>();
let pooledBytes = 0;

const keyOf = (dtype: DType, length: number): number => length * 2 + (dtype === 'float64' ? 1 : 0);

function reuse(dtype: DType, size: number): TypedArray | undefined {
  if (size < MIN_LENGTH) return undefined;
  const x = free.get(keyOf(dtype, size))?.pop();
  if (x) pooledBytes -= x.byteLength;
  return x;
}

/** A zero-filled array of `size` elements (like dtype.ts's allocate), recycled where one is free. */
export function allocate(dtype: DType, size: number): TypedArray {
  const x = reuse(dtype, size);
  if (x) return x.fill(0);
  return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

/** An array of `size` elements with unspecified contents, for kernels that write every element. */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  return reuse(dtype, size) ?? (dtype === 'float64' ? new Float64Array(size) : new Float32Array(size));
}

/** Takes back an array nothing refers to any more. */
export function recycle(x: TypedArray): void {
  if (x.length < MIN_LENGTH || pooledBytes + x.byteLength > MAX_BYTES || x.byteOffset !== 0 || x.length * x.BYTES_PER_ELEMENT !== x.buffer.byteLength) return;
  const key = keyOf(x instanceof Float64Array ? 'float64' : 'float32', x.length);
  let list = free.get(key);
  if (!list) free.set(key, (list = []));
  list.push(x);
  pooledBytes += x.byteLength;
}

/** Drops every recycled array (tests, and callers that want the memory back). */
export function clearRecycled(): void {
  free.clear();
  pooledBytes = 0;
}
