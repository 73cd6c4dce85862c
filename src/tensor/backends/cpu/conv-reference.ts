import type { Conv2dGeometry } from '../../backend.js';
import { allocate, type DType, type TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';

/**
 * Direct-loop convolution kernels, written straight from the definitions. They run in both dtypes and
 * are the reference the fast float32 path (conv.ts) is tested against; float64 gradient checks use them.
 *
 *   y[n, co, oy, ox] = Σ_{ci, ky, kx} x[n, g·Cpg + ci, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw] · w[co, ci, ky, kx]
 *
 * where g = ⌊co / (Cout/groups)⌋ and Cpg = Cin/groups; positions outside x read as 0. The three kernels
 * visit the same taps (output position, input position, weight) and differ only in what they accumulate.
 */

/** Calls `tap(yi, xi, wi)` for every (output, input, weight) index triple of the convolution that reads inside x. */
function forEachTap(xShape: Shape, wShape: Shape, yShape: Shape, geo: Conv2dGeometry, tap: (yi: number, xi: number, wi: number) => void): void {
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = yShape;
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw], groups } = geo;
  const opg = cout / groups;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const c0 = Math.floor(co / opg) * cpg;
      const yOff = (b * cout + co) * ho * wo;
      for (let ci = 0; ci < cpg; ci++) {
        const xOff = (b * cin + c0 + ci) * h * wd;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wi = ((co * cpg + ci) * kh + ky) * kw + kx;
            for (let oy = 0; oy < ho; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < wo; ox++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix >= 0 && ix < wd) tap(yOff + oy * wo + ox, xOff + iy * wd + ix, wi);
              }
            }
          }
        }
      }
    }
  }
}

export function conv2dReference(x: TypedArray, xShape: Shape, w: TypedArray, wShape: Shape, outShape: Shape, geo: Conv2dGeometry, dtype: DType): TypedArray {
  const y = allocate(dtype, outShape[0] * outShape[1] * outShape[2] * outShape[3]);
  forEachTap(xShape, wShape, outShape, geo, (yi, xi, wi) => (y[yi] += w[wi] * x[xi]));
  return y;
}

/** ∂L/∂x of conv2d: scatters dy·w back to every input position it read; positions never read get 0. */
export function conv2dBackwardInputReference(dy: TypedArray, dyShape: Shape, w: TypedArray, wShape: Shape, xShape: Shape, geo: Conv2dGeometry, dtype: DType): TypedArray {
  const dx = allocate(dtype, xShape[0] * xShape[1] * xShape[2] * xShape[3]);
  forEachTap(xShape, wShape, dyShape, geo, (yi, xi, wi) => (dx[xi] += w[wi] * dy[yi]));
  return dx;
}

/** ∂L/∂w of conv2d: dw[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, g·Cpg + ci, iy, ix]. */
export function conv2dBackwardFilterReference(x: TypedArray, xShape: Shape, dy: TypedArray, dyShape: Shape, wShape: Shape, geo: Conv2dGeometry, dtype: DType): TypedArray {
  const dw = allocate(dtype, wShape[0] * wShape[1] * wShape[2] * wShape[3]);
  forEachTap(xShape, wShape, dyShape, geo, (yi, xi, wi) => (dw[wi] += dy[yi] * x[xi]));
  return dw;
}
