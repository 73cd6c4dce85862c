import type { DType, TypedArray } from '../../dtype.js';
import { nodeProcess } from './node-process.js';

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

// Arrays of at least SHARED_MIN elements are made on SharedArrayBuffers once the GEMM's worker runs
// (gemm.ts turns this on), so parallel.ts can split loops over them between the two threads. V8 does
// not count SharedArrayBuffers as memory pressure, so a dropped one waits for a garbage collection
// that nothing prompts: shared arrays are therefore never dropped from the pool, and at most
// SHARED_CAP bytes of them exist (1.5 GiB, or an eighth of the machine's memory where that is less; a
// finalizer gives back the bytes of those that were collected); past it, arrays are plain again and
// their loops run on one thread.
const SHARED_MIN = 1 << 14;
const totalMemory = (nodeProcess?.getBuiltinModule?.('node:os') as { totalmem?: () => number } | undefined)?.totalmem?.() ?? Infinity;
const SHARED_CAP = Math.min(1536 << 20, totalMemory / 8);
let shared = false;
let sharedBytes = 0;
const finalizer = typeof FinalizationRegistry === 'undefined' ? null : new FinalizationRegistry<number>((bytes) => (sharedBytes -= bytes));

/** Makes later large arrays shared (where SharedArrayBuffer exists) or not. */
export function shareLargeArrays(on: boolean): void {
  shared = on && typeof SharedArrayBuffer !== 'undefined' && finalizer !== null;
}

/** Whether x is a typed array on a SharedArrayBuffer (one the worker thread can be handed). */
export const isShared = (x: ArrayLike<number>): boolean => typeof SharedArrayBuffer !== 'undefined' && ArrayBuffer.isView(x) && x.buffer instanceof SharedArrayBuffer;

function fresh(dtype: DType, size: number): TypedArray {
  const bytes = size * (dtype === 'float64' ? 8 : 4);
  let store: ArrayBuffer | SharedArrayBuffer;
  if (shared && size >= SHARED_MIN && sharedBytes + bytes <= SHARED_CAP) {
    store = new SharedArrayBuffer(bytes);
    sharedBytes += bytes;
    finalizer!.register(store, bytes);
  } else {
    store = new ArrayBuffer(bytes);
  }
  return dtype === 'float64' ? new Float64Array(store) : new Float32Array(store);
}

function reuse(dtype: DType, size: number): TypedArray | undefined {
  if (size < MIN_LENGTH) return undefined;
  const x = free.get(keyOf(dtype, size))?.pop();
  if (x && !isShared(x)) pooledBytes -= x.byteLength;
  return x;
}

/** A zero-filled array of `size` elements (like dtype.ts's allocate), recycled where one is free. */
export function allocate(dtype: DType, size: number): TypedArray {
  const x = reuse(dtype, size);
  if (x) return x.fill(0);
  return fresh(dtype, size);
}

/** An array of `size` elements with unspecified contents, for kernels that write every element. */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  return reuse(dtype, size) ?? fresh(dtype, size);
}

/** Takes back an array nothing refers to any more. */
export function recycle(x: TypedArray): void {
  if (x.length < MIN_LENGTH || x.byteOffset !== 0 || x.length * x.BYTES_PER_ELEMENT !== x.buffer.byteLength) return;
  const sharedArray = isShared(x);
  if (!sharedArray && pooledBytes + x.byteLength > MAX_BYTES) return;
  const key = keyOf(x instanceof Float64Array ? 'float64' : 'float32', x.length);
  let list = free.get(key);
  if (!list) free.set(key, (list = []));
  list.push(x);
  if (!sharedArray) pooledBytes += x.byteLength;
}

/** Drops every recycled array (tests, and callers that want the memory back). */
export function clearRecycled(): void {
  free.clear();
  pooledBytes = 0;
}
