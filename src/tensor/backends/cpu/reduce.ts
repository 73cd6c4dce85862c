import type { ReduceOp } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocateUninitialized } from './buffers.js';
import { reducedShape, sizeOf, stridesOf, type Shape } from '../../shape.js';

/** Merges adjacent axes of a (sizes, strides) walk that are contiguous with each other. */
function merge(sizes: number[], strides: number[]): { sizes: number[]; strides: number[] } {
  const s: number[] = [];
  const st: number[] = [];
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && st[last] === strides[i] * sizes[i]) {
      s[last] *= sizes[i];
      st[last] = strides[i];
    } else {
      s.push(sizes[i]);
      st.push(strides[i]);
    }
  }
  return s.length ? { sizes: s, strides: st } : { sizes: [1], strides: [0] };
}

/**
 * Reduces `x` along `axes`. Kept and reduced axes are each merged where contiguous, so the innermost
 * reduced run is usually a contiguous loop (e.g. H·W for batch-norm statistics over N, H, W).
 */
export function reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], dtype: DType): TypedArray {
  const outShape = reducedShape(shape, axes);
  const out = allocateUninitialized(dtype, sizeOf(outShape));
  const strides = stridesOf(shape);
  const kept = merge(shape.map((d, i) => (axes.includes(i) ? 1 : d)), strides);
  const red = merge(shape.map((d, i) => (axes.includes(i) ? d : 1)), strides);
  const rRank = red.sizes.length;
  const inner = red.sizes[rRank - 1];
  const innerStride = red.strides[rRank - 1];
  const outerCount = sizeOf(red.sizes.slice(0, -1));
  const kIdx = new Array<number>(kept.sizes.length).fill(0);
  const rIdx = new Array<number>(Math.max(rRank - 1, 0)).fill(0);
  let base = 0;
  for (let o = 0; o < out.length; o++) {
    let acc = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
    rIdx.fill(0);
    let off = base;
    for (let r = 0; r < outerCount; r++) {
      if (op === 'sum') {
        if (dtype === 'float32' && innerStride === 1 && inner >= 16) acc += sumRun(x, off, inner);
        else for (let j = 0, p = off; j < inner; j++, p += innerStride) acc += x[p];
      } else if (op === 'max') {
        for (let j = 0, p = off; j < inner; j++, p += innerStride) {
          const v = x[p];
          if (v > acc || v !== v) acc = v;
        }
      } else {
        for (let j = 0, p = off; j < inner; j++, p += innerStride) {
          const v = x[p];
          if (v < acc || v !== v) acc = v;
        }
      }
      for (let d = rRank - 2; d >= 0; d--) {
        rIdx[d]++;
        off += red.strides[d];
        if (rIdx[d] < red.sizes[d]) break;
        off -= red.strides[d] * red.sizes[d];
        rIdx[d] = 0;
      }
    }
    out[o] = acc;
    for (let d = kept.sizes.length - 1; d >= 0; d--) {
      kIdx[d]++;
      base += kept.strides[d];
      if (kIdx[d] < kept.sizes[d]) break;
      base -= kept.strides[d] * kept.sizes[d];
      kIdx[d] = 0;
    }
  }
  return out;
}

/**
 * Σ x[off … off+len) with four independent accumulators (float32 sums only; the float64 reference keeps
 * the plain loop): one accumulator waits on the latency of each add, four keep the adder busy.
 */
function sumRun(x: TypedArray, off: number, len: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const end4 = off + (len & ~3);
  let p = off;
  for (; p < end4; p += 4) {
    a0 += x[p];
    a1 += x[p + 1];
    a2 += x[p + 2];
    a3 += x[p + 3];
  }
  for (; p < off + len; p++) a0 += x[p];
  return a0 + a1 + (a2 + a3);
}
