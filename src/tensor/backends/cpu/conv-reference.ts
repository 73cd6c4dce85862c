import type { Conv2dGeometry } from '../../backend.js';
import { allocate, type DType, type TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';

/**
 * Direct-loop convolution kernels, written straight from the definitions. They run in both dtypes and
 * are the reference the fast float32 path (conv.ts) is tested against; float64 gradient checks use them.
 *
 *   y[n, co, oy, ox] = Σ_{ci, ky, kx} x[n, g·Cpg + ci, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw] · w[co, ci, ky, kx]
 *
 * where g = ⌊co / (Cout/groups)⌋ and Cpg = Cin/groups; positions outside x read as 0.
 */

export function conv2dReference(x: TypedArray, xShape: Shape, w: TypedArray, wShape: Shape, outShape: Shape, geo: Conv2dGeometry, dtype: DType): TypedArray {
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = outShape;
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw], groups } = geo;
  const opg = cout / groups;
  const y = allocate(dtype, n * cout * ho * wo);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const c0 = Math.floor(co / opg) * cpg;
      const yOff = (b * cout + co) * ho * wo;
      for (let ci = 0; ci < cpg; ci++) {
        const xOff = (b * cin + c0 + ci) * h * wd;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[((co * cpg + ci) * kh + ky) * kw + kx];
            for (let oy = 0; oy < ho; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const xRow = xOff + iy * wd;
              const yRow = yOff + oy * wo;
              for (let ox = 0; ox < wo; ox++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix >= 0 && ix < wd) y[yRow + ox] += wv * x[xRow + ix];
              }
            }
          }
        }
      }
    }
  }
  return y;
}

/** ∂L/∂x of conv2d: scatters dy·w back to every input position it read; positions never read get 0. */
export function conv2dBackwardInputReference(dy: TypedArray, dyShape: Shape, w: TypedArray, wShape: Shape, xShape: Shape, geo: Conv2dGeometry, dtype: DType): TypedArray {
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = dyShape;
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw], groups } = geo;
  const opg = cout / groups;
  const dx = allocate(dtype, n * cin * h * wd);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const c0 = Math.floor(co / opg) * cpg;
      const yOff = (b * cout + co) * ho * wo;
      for (let ci = 0; ci < cpg; ci++) {
        const xOff = (b * cin + c0 + ci) * h * wd;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[((co * cpg + ci) * kh + ky) * kw + kx];
            for (let oy = 0; oy < ho; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const xRow = xOff + iy * wd;
              const yRow = yOff + oy * wo;
              for (let ox = 0; ox < wo; ox++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix >= 0 && ix < wd) dx[xRow + ix] += wv * dy[yRow + ox];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/** ∂L/∂w of conv2d: dw[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, g·Cpg + ci, iy, ix]. */
export function conv2dBackwardFilterReference(x: TypedArray, xShape: Shape, dy: TypedArray, dyShape: Shape, wShape: Shape, geo: Conv2dGeometry, dtype: DType): TypedArray {
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = dyShape;
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw], groups } = geo;
  const opg = cout / groups;
  const dw_ = allocate(dtype, cout * cpg * kh * kw);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const c0 = Math.floor(co / opg) * cpg;
      const yOff = (b * cout + co) * ho * wo;
      for (let ci = 0; ci < cpg; ci++) {
        const xOff = (b * cin + c0 + ci) * h * wd;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            let acc = 0;
            for (let oy = 0; oy < ho; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const xRow = xOff + iy * wd;
              const yRow = yOff + oy * wo;
              for (let ox = 0; ox < wo; ox++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix >= 0 && ix < wd) acc += dy[yRow + ox] * x[xRow + ix];
              }
            }
            dw_[((co * cpg + ci) * kh + ky) * kw + kx] += acc;
          }
        }
      }
    }
  }
  return dw_;
}
