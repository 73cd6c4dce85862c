import type { DType, TypedArray } from '../../dtype.js';
import { allocate, allocateUninitialized } from './buffers.js';
import { sizeOf, stridesOf, type Shape } from '../../shape.js';

export function permute(x: TypedArray, shape: Shape, perm: readonly number[], dtype: DType): TypedArray {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = stridesOf(shape);
  const srcStride = perm.map((p) => inStrides[p]);
  const out = allocateUninitialized(dtype, x.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = x[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += srcStride[d];
      if (idx[d] < outShape[d]) break;
      src -= srcStride[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Copies the box [begin, begin+size) of x (shape) into a contiguous array. */
export function slice(x: TypedArray, shape: Shape, begin: readonly number[], size: readonly number[], dtype: DType): TypedArray {
  const out = allocateUninitialized(dtype, sizeOf(size));
  const strides = stridesOf(shape);
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0];
    return out;
  }
  // trailing axes the box covers whole merge into the copied runs: a channel slice of [N, C, H, W] is
  // N copies of c·H·W elements, not N·c·H copies of W
  let j = rank - 1;
  while (j > 0 && begin[j] === 0 && size[j] === shape[j]) j--;
  const inner = size[j] * strides[j];
  const idx = new Array<number>(j).fill(0);
  const rows = sizeOf(size.slice(0, j));
  for (let r = 0; r < rows; r++) {
    let src = begin[j] * strides[j];
    for (let d = 0; d < j; d++) src += (begin[d] + idx[d]) * strides[d];
    out.set(x.subarray(src, src + inner), r * inner);
    for (let d = j - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export function concat(xs: readonly TypedArray[], shapes: readonly Shape[], axis: number, dtype: DType): TypedArray {
  const outer = sizeOf(shapes[0].slice(0, axis));
  const chunk = shapes.map((s) => sizeOf(s.slice(axis)));
  const total = chunk.reduce((a, b) => a + b, 0);
  const out = allocateUninitialized(dtype, outer * total);
  for (let o = 0; o < outer; o++) {
    let dst = o * total;
    for (let i = 0; i < xs.length; i++) {
      out.set(xs[i].subarray(o * chunk[i], (o + 1) * chunk[i]), dst);
      dst += chunk[i];
    }
  }
  return out;
}

export function pad(x: TypedArray, shape: Shape, before: readonly number[], after: readonly number[], value: number, dtype: DType): TypedArray {
  const outShape = shape.map((d, i) => d + before[i] + after[i]);
  const out = allocate(dtype, sizeOf(outShape));
  // Object.is so that a -0 fill is honoured (allocate gives +0)
  if (!Object.is(value, 0)) out.fill(value);
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0];
    return out;
  }
  const outStrides = stridesOf(outShape);
  const inner = shape[rank - 1];
  const rows = sizeOf(shape.slice(0, -1));
  const idx = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let dst = before[rank - 1];
    for (let d = 0; d < rank - 1; d++) dst += (idx[d] + before[d]) * outStrides[d];
    out.set(x.subarray(r * inner, (r + 1) * inner), dst);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export function take(x: TypedArray, indices: TypedArray, count: number, dtype: DType): TypedArray {
  const out = allocate(dtype, count);
  for (let i = 0; i < count; i++) out[i] = x[indices[i]];
  return out;
}

export function scatterAdd(indices: TypedArray, values: TypedArray, count: number, size: number, dtype: DType): TypedArray {
  const out = allocate(dtype, size);
  for (let i = 0; i < count; i++) out[indices[i]] += values[i];
  return out;
}
