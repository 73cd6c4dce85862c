import type { ResizeMode } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocate } from './buffers.js';
import type { Shape } from '../../shape.js';

/**
 * Resizing along one axis is a sparse linear map: each output index reads at most two source indices.
 * `taps` lists them as (i0, i1, λ) with out = (1 − λ)·in[i0] + λ·in[i1]; the 2-D resize is the
 * separable product, and its backward scatters with the same weights.
 */
interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  lambda: Float64Array;
}

function taps(inSize: number, outSize: number, mode: ResizeMode): Taps {
  const t: Taps = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), lambda: new Float64Array(outSize) };
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      // PyTorch's 'nearest': floor(dst · in/out), computed exactly in integers
      const i = Math.min(Math.floor((o * inSize) / outSize), inSize - 1);
      t.i0[o] = i;
      t.i1[o] = i;
    } else {
      // half-pixel centres (align_corners=False); PyTorch clamps negative source coordinates to 0
      const src = Math.max(0, (o + 0.5) * scale - 0.5);
      const i = Math.min(Math.floor(src), inSize - 1);
      t.i0[o] = i;
      t.i1[o] = Math.min(i + 1, inSize - 1);
      t.lambda[o] = src - i;
    }
  }
  return t;
}

export function resize(x: TypedArray, xShape: Shape, outH: number, outW: number, mode: ResizeMode, dtype: DType): TypedArray {
  const [n, c, h, w] = xShape;
  const ty = taps(h, outH, mode);
  const tx = taps(w, outW, mode);
  const y = allocate(dtype, n * c * outH * outW);
  for (let p = 0; p < n * c; p++) {
    const off = p * h * w;
    for (let oy = 0; oy < outH; oy++) {
      const r0 = off + ty.i0[oy] * w;
      const r1 = off + ty.i1[oy] * w;
      const ly = ty.lambda[oy];
      const yRow = (p * outH + oy) * outW;
      for (let ox = 0; ox < outW; ox++) {
        const a = tx.i0[ox];
        const b = tx.i1[ox];
        const lx = tx.lambda[ox];
        const top = (1 - lx) * x[r0 + a] + lx * x[r0 + b];
        const bottom = (1 - lx) * x[r1 + a] + lx * x[r1 + b];
        y[yRow + ox] = (1 - ly) * top + ly * bottom;
      }
    }
  }
  return y;
}

/** The adjoint of `resize`: each dy is scattered to its source taps with the forward weights. */
export function resizeBackward(dy: TypedArray, xShape: Shape, outH: number, outW: number, mode: ResizeMode, dtype: DType): TypedArray {
  const [n, c, h, w] = xShape;
  const ty = taps(h, outH, mode);
  const tx = taps(w, outW, mode);
  const dx = allocate(dtype, n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    const off = p * h * w;
    for (let oy = 0; oy < outH; oy++) {
      const r0 = off + ty.i0[oy] * w;
      const r1 = off + ty.i1[oy] * w;
      const ly = ty.lambda[oy];
      const yRow = (p * outH + oy) * outW;
      for (let ox = 0; ox < outW; ox++) {
        const g = dy[yRow + ox];
        const a = tx.i0[ox];
        const b = tx.i1[ox];
        const lx = tx.lambda[ox];
        dx[r0 + a] += (1 - ly) * (1 - lx) * g;
        dx[r0 + b] += (1 - ly) * lx * g;
        dx[r1 + a] += ly * (1 - lx) * g;
        dx[r1 + b] += ly * lx * g;
      }
    }
  }
  return dx;
}
