import type { Conv2dGeometry } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';
import { conv2dBackwardFilterReference, conv2dBackwardInputReference, conv2dReference } from './conv-reference.js';
import { gemmF32 } from './gemm.js';

/**
 * Convolution kernels. float64 runs the direct loops of conv-reference.ts; float32 lowers each image
 * to GEMMs over an im2col matrix (Chellapilla et al., "High performance convolutional neural networks
 * for document processing", 2006), per group g:
 *
 *   forward         Y_g[Cout/G, P]  = W_g[Cout/G, K] · col_g[K, P]          (K = Cin/G·kh·kw, P = Ho·Wo)
 *   input grad      dcol_g[K, P]    = W_gᵀ · dY_g,  then col2im scatters dcol back onto dx
 *   filter grad     dW_g[Cout/G, K] += dY_g · col_gᵀ   summed over the batch
 */

// Scratch for the im2col matrix of one image. It is reused across calls and never returned.
let scratch = new Float32Array(0);
function colScratch(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch;
}

/** True when col would equal x itself: 1×1 kernel, stride 1, no padding. */
const isPointwise = (kh: number, kw: number, g: Conv2dGeometry): boolean =>
  kh === 1 && kw === 1 && g.stride[0] === 1 && g.stride[1] === 1 && g.pad.every((p) => p === 0);

/** col[(ci·kh + ky)·kw + kx, oy·Wo + ox] = x[ci, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw] (0 outside). */
function im2col(x: Float32Array, xOff: number, c: number, h: number, w: number, kh: number, kw: number, ho: number, wo: number, g: Conv2dGeometry, col: Float32Array): void {
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw] } = g;
  let row = 0;
  for (let ci = 0; ci < c; ci++) {
    const plane = xOff + ci * h * w;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, row++) {
        const shift = kx * dw - pl;
        // the output columns whose source column lies inside the image
        const lo = Math.min(wo, Math.max(0, Math.ceil(-shift / sw)));
        const hi = Math.max(lo, Math.min(wo, Math.floor((w - 1 - shift) / sw) + 1));
        let o = row * ho * wo;
        for (let oy = 0; oy < ho; oy++, o += wo) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) {
            col.fill(0, o, o + wo);
            continue;
          }
          const src = plane + iy * w + shift;
          if (lo > 0) col.fill(0, o, o + lo);
          if (sw === 1) col.set(x.subarray(src + lo, src + hi), o + lo);
          else for (let ox = lo; ox < hi; ox++) col[o + ox] = x[src + ox * sw];
          if (hi < wo) col.fill(0, o + hi, o + wo);
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[ci, iy, ix] += col[row, pixel] for every pixel that read (iy, ix). */
function col2im(col: Float32Array, c: number, h: number, w: number, kh: number, kw: number, ho: number, wo: number, g: Conv2dGeometry, dx: Float32Array, xOff: number): void {
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw] } = g;
  let row = 0;
  for (let ci = 0; ci < c; ci++) {
    const plane = xOff + ci * h * w;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, row++) {
        const shift = kx * dw - pl;
        const lo = Math.min(wo, Math.max(0, Math.ceil(-shift / sw)));
        const hi = Math.max(lo, Math.min(wo, Math.floor((w - 1 - shift) / sw) + 1));
        let o = row * ho * wo;
        for (let oy = 0; oy < ho; oy++, o += wo) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          const dst = plane + iy * w + shift;
          for (let ox = lo; ox < hi; ox++) dx[dst + ox * sw] += col[o + ox];
        }
      }
    }
  }
}

export function conv2d(x: TypedArray, xShape: Shape, w: TypedArray, wShape: Shape, outShape: Shape, g: Conv2dGeometry, dtype: DType): TypedArray {
  if (dtype !== 'float32') return conv2dReference(x, xShape, w, wShape, outShape, g, dtype);
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = outShape;
  const P = ho * wo;
  const K = cpg * kh * kw;
  const opg = cout / g.groups;
  const pointwise = isPointwise(kh, kw, g);
  const col = pointwise ? (x as Float32Array) : colScratch(cin * kh * kw * P);
  const y = new Float32Array(n * cout * P);
  for (let b = 0; b < n; b++) {
    const xOff = b * cin * h * wd;
    if (!pointwise) im2col(x as Float32Array, xOff, cin, h, wd, kh, kw, ho, wo, g, col);
    const colOff = pointwise ? xOff : 0;
    for (let grp = 0; grp < g.groups; grp++) {
      gemmF32(opg, P, K, w as Float32Array, grp * opg * K, K, 1, col, colOff + grp * K * P, P, 1, y, (b * cout + grp * opg) * P, P);
    }
  }
  return y;
}

export function conv2dBackwardInput(dy: TypedArray, dyShape: Shape, w: TypedArray, wShape: Shape, xShape: Shape, g: Conv2dGeometry, dtype: DType): TypedArray {
  if (dtype !== 'float32') return conv2dBackwardInputReference(dy, dyShape, w, wShape, xShape, g, dtype);
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = dyShape;
  const P = ho * wo;
  const K = cpg * kh * kw;
  const opg = cout / g.groups;
  const dx = new Float32Array(n * cin * h * wd);
  // a pointwise conv's col is x itself only when the spatial sizes agree (convTranspose may pass others)
  const pointwise = isPointwise(kh, kw, g) && ho === h && wo === wd;
  const dcol = pointwise ? dx : colScratch(cin * kh * kw * P);
  for (let b = 0; b < n; b++) {
    const xOff = b * cin * h * wd;
    if (!pointwise) dcol.fill(0, 0, cin * K * P / cpg);
    const colOff = pointwise ? xOff : 0;
    for (let grp = 0; grp < g.groups; grp++) {
      gemmF32(K, P, opg, w as Float32Array, grp * opg * K, 1, K, dy as Float32Array, (b * cout + grp * opg) * P, P, 1, dcol, colOff + grp * K * P, P);
    }
    if (!pointwise) col2im(dcol, cin, h, wd, kh, kw, ho, wo, g, dx, xOff);
  }
  return dx;
}

export function conv2dBackwardFilter(x: TypedArray, xShape: Shape, dy: TypedArray, dyShape: Shape, wShape: Shape, g: Conv2dGeometry, dtype: DType): TypedArray {
  if (dtype !== 'float32') return conv2dBackwardFilterReference(x, xShape, dy, dyShape, wShape, g, dtype);
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = dyShape;
  const P = ho * wo;
  const K = cpg * kh * kw;
  const opg = cout / g.groups;
  const pointwise = isPointwise(kh, kw, g) && ho === h && wo === wd;
  const col = pointwise ? (x as Float32Array) : colScratch(cin * kh * kw * P);
  const dw = new Float32Array(cout * K);
  for (let b = 0; b < n; b++) {
    const xOff = b * cin * h * wd;
    if (!pointwise) im2col(x as Float32Array, xOff, cin, h, wd, kh, kw, ho, wo, g, col);
    const colOff = pointwise ? xOff : 0;
    for (let grp = 0; grp < g.groups; grp++) {
      gemmF32(opg, K, P, dy as Float32Array, (b * cout + grp * opg) * P, P, 1, col, colOff + grp * K * P, 1, P, dw, grp * opg * K, K);
    }
  }
  return dw;
}
