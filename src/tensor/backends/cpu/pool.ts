import type { Pool2dGeometry } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocate, allocateUninitialized } from './buffers.js';
import { stagingArea } from './gemm.js';
import { LOOP_CHUNKS, parallelLoop } from './parallel.js';
import { MAX_POOL2 } from './wasm-kernel.js';
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

/**
 * True for 2×2 windows at stride 2 without padding (U-Net's down-sampling) whose windows all lie inside
 * the h×w input: loops.ts's halvingMaxPool then runs the window scan unrolled.
 */
const isHalving = ({ kernel: [kh, kw], stride: [sh, sw], pad }: Pool2dGeometry, h: number, w: number, ho: number, wo: number): boolean =>
  kh === 2 && kw === 2 && sh === 2 && sw === 2 && pad.every((p) => p === 0) && 2 * ho <= h && 2 * wo <= w;

export function maxPool2d(x: TypedArray, xShape: Shape, outShape: Shape, geo: Pool2dGeometry, dtype: DType): TypedArray {
  const [n, c, h, w] = xShape;
  const [, , ho, wo] = outShape;
  const { kernel: [kh, kw], stride: [sh, sw], pad: [pt, , pl] } = geo;
  // every output is written
  const y = allocateUninitialized(dtype, n * c * ho * wo);
  if (isHalving(geo, h, w, ho, wo)) {
    // float32 four windows at a time in WebAssembly, through a slot of the staging area per chunk
    const stage = dtype === 'float32' ? stagingArea() : null;
    const count = Math.min(n * c, LOOP_CHUNKS);
    const slot = stage ? Math.floor(stage.length / LOOP_CHUNKS / 4) * 4 : 0;
    if (stage && 2 * w + wo + 16 <= slot) parallelLoop('halvingMaxPoolSimd', [x, y, stage], [n * c, h, w, ho, wo, 0, stage.byteOffset, slot, MAX_POOL2], count, x.length);
    else parallelLoop('halvingMaxPool', [x, x, y], [n * c, h, w, ho, wo, 0], count, x.length);
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
  if (isHalving(geo, h, w, ho, wo)) {
    parallelLoop('halvingMaxPool', [x, dy, dx], [n * c, h, w, ho, wo, 1], Math.min(n * c, LOOP_CHUNKS), x.length);
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
