import type { Pool2dGeometry } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocate, allocateUninitialized } from './buffers.js';
import type { Shape } from '../../shape.js';

/**
 * Pooling kernels (NCHW). A window at (oy, ox) covers rows oy·sh − pt … + kh − 1 and columns
 * ox·sw − pl … + kw − 1; cells outside the input are padding.
 */

/**
 * Flat index (within one channel plane) of the first maximum of a window, scanning row-major; padding
 * never wins. Shared by forward and backward so both agree on ties.
 */
function argmaxWindow(x: TypedArray, off: number, h: number, w: number, y0: number, x0: number, kh: number, kw: number): number {
  let best = -Infinity;
  let at = -1;
  for (let ky = 0; ky < kh; ky++) {
    const iy = y0 + ky;
    if (iy < 0 || iy >= h) continue;
    for (let kx = 0; kx < kw; kx++) {
      const ix = x0 + kx;
      if (ix < 0 || ix >= w) continue;
      const v = x[off + iy * w + ix];
      // `at < 0` takes the first real cell even when it is -Infinity or NaN, so a window always has a winner
      if (v > best || at < 0) {
        best = v;
        at = iy * w + ix;
      }
    }
  }
  return at;
}

/** True for 2×2 windows at stride 2 without padding (U-Net's down-sampling): every window lies inside. */
const isHalving = ({ kernel: [kh, kw], stride: [sh, sw], pad }: Pool2dGeometry): boolean => kh === 2 && kw === 2 && sh === 2 && sw === 2 && pad.every((p) => p === 0);

/**
 * A 2×2 stride-2 max pool without padding, argmaxWindow unrolled (the first cell wins unless a later
 * one is greater): forward out[o] = x[argmax of window o]; with `dy`, the backward
 * out[argmax of window o] = dy[o] (the windows do not overlap, so each cell receives at most one).
 */
function halvingMaxPool(x: TypedArray, dy: TypedArray | null, out: TypedArray, planes: number, h: number, w: number, ho: number, wo: number): void {
  for (let p = 0, o = 0; p < planes; p++) {
    for (let oy = 0; oy < ho; oy++) {
      let i = p * h * w + 2 * oy * w;
      for (let ox = 0; ox < wo; ox++, o++, i += 2) {
        let at = i;
        let m = x[i];
        if (x[i + 1] > m) m = x[(at = i + 1)];
        if (x[i + w] > m) m = x[(at = i + w)];
        if (x[i + w + 1] > m) at = i + w + 1;
        if (dy) out[at] = dy[o];
        else out[o] = x[at];
      }
    }
  }
}

export function maxPool2d(x: TypedArray, xShape: Shape, outShape: Shape, geo: Pool2dGeometry, dtype: DType): TypedArray {
  const [n, c, h, w] = xShape;
  const [, , ho, wo] = outShape;
  const { kernel: [kh, kw], stride: [sh, sw], pad: [pt, , pl] } = geo;
  // every output is written
  const y = allocateUninitialized(dtype, n * c * ho * wo);
  if (isHalving(geo) && 2 * ho <= h && 2 * wo <= w) {
    halvingMaxPool(x, null, y, n * c, h, w, ho, wo);
    return y;
  }
  for (let p = 0; p < n * c; p++) {
    const off = p * h * w;
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) y[(p * ho + oy) * wo + ox] = x[off + argmaxWindow(x, off, h, w, oy * sh - pt, ox * sw - pl, kh, kw)];
    }
  }
  return y;
}

/** dx[first argmax of each window] += dy[window]. */
export function maxPool2dBackward(dy: TypedArray, x: TypedArray, xShape: Shape, outShape: Shape, geo: Pool2dGeometry, dtype: DType): TypedArray {
  const [n, c, h, w] = xShape;
  const [, , ho, wo] = outShape;
  const { kernel: [kh, kw], stride: [sh, sw], pad: [pt, , pl] } = geo;
  const dx = allocate(dtype, n * c * h * w);
  if (isHalving(geo) && 2 * ho <= h && 2 * wo <= w) {
    halvingMaxPool(x, dy, dx, n * c, h, w, ho, wo);
    return dx;
  }
  for (let p = 0; p < n * c; p++) {
    const off = p * h * w;
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) dx[off + argmaxWindow(x, off, h, w, oy * sh - pt, ox * sw - pl, kh, kw)] += dy[(p * ho + oy) * wo + ox];
    }
  }
  return dx;
}

/** y = Σ_window x / (kh·kw): padding cells count as zeros in the divisor (count_include_pad=True). */
export function avgPool2d(x: TypedArray, xShape: Shape, outShape: Shape, geo: Pool2dGeometry, dtype: DType): TypedArray {
  const [n, c, h, w] = xShape;
  const [, , ho, wo] = outShape;
  const { kernel: [kh, kw], stride: [sh, sw], pad: [pt, , pl] } = geo;
  const inv = 1 / (kh * kw);
  const y = allocate(dtype, n * c * ho * wo);
  for (let p = 0; p < n * c; p++) {
    const off = p * h * w;
    for (let oy = 0; oy < ho; oy++) {
      const y0 = oy * sh - pt;
      for (let ox = 0; ox < wo; ox++) {
        const x0 = ox * sw - pl;
        let s = 0;
        for (let iy = Math.max(0, y0); iy < Math.min(h, y0 + kh); iy++) {
          for (let ix = Math.max(0, x0); ix < Math.min(w, x0 + kw); ix++) s += x[off + iy * w + ix];
        }
        y[(p * ho + oy) * wo + ox] = s * inv;
      }
    }
  }
  return y;
}

/** dx[cell] += dy[window] / (kh·kw) for every window covering the cell. */
export function avgPool2dBackward(dy: TypedArray, xShape: Shape, outShape: Shape, geo: Pool2dGeometry, dtype: DType): TypedArray {
  const [n, c, h, w] = xShape;
  const [, , ho, wo] = outShape;
  const { kernel: [kh, kw], stride: [sh, sw], pad: [pt, , pl] } = geo;
  const inv = 1 / (kh * kw);
  const dx = allocate(dtype, n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    const off = p * h * w;
    for (let oy = 0; oy < ho; oy++) {
      const y0 = oy * sh - pt;
      for (let ox = 0; ox < wo; ox++) {
        const x0 = ox * sw - pl;
        const g = dy[(p * ho + oy) * wo + ox] * inv;
        for (let iy = Math.max(0, y0); iy < Math.min(h, y0 + kh); iy++) {
          for (let ix = Math.max(0, x0); ix < Math.min(w, x0 + kw); ix++) dx[off + iy * w + ix] += g;
        }
      }
    }
  }
  return dx;
}
