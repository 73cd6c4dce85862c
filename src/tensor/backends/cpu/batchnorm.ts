import type { DType, TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';
import { allocateUninitialized } from './buffers.js';

/**
 * Fused batch-norm training kernels over x [N, C, H, W] (statistics per channel over N·H·W), the
 * optional fast path of the `batchNormTrain` op. Accumulators are float64; the variance uses sums
 * shifted by the channel's first value, so large means do not cancel. Two passes each way.
 */

/** Returns y = γ·(x − μ)/√(σ² + eps) + β with the batch mean μ and biased variance σ² (each [C]). */
export function batchNormForward(x: TypedArray, shape: Shape, gamma: TypedArray | null, beta: TypedArray | null, eps: number, dtype: DType): { y: TypedArray; mean: TypedArray; variance: TypedArray } {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const count = n * hw;
  const mean = allocateUninitialized(dtype, c);
  const variance = allocateUninitialized(dtype, c);
  const y = allocateUninitialized(dtype, x.length);
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const k = x[ch * hw];
    // four partial sums each: one running sum is a chain of dependent adds, 4 cycles an element
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      const end = base + hw;
      let i = base;
      for (; i + 3 < end; i += 4) {
        const d0 = x[i] - k, d1 = x[i + 1] - k, d2 = x[i + 2] - k, d3 = x[i + 3] - k;
        s0 += d0; s1 += d1; s2 += d2; s3 += d3;
        q0 += d0 * d0; q1 += d1 * d1; q2 += d2 * d2; q3 += d3 * d3;
      }
      for (; i < end; i++) {
        const d = x[i] - k;
        s0 += d;
        q0 += d * d;
      }
    }
    const s = s0 + s1 + (s2 + s3);
    const sq = q0 + q1 + (q2 + q3);
    const m = s / count;
    const v = Math.max(0, sq / count - m * m);
    mean[ch] = k + m;
    variance[ch] = v;
    const sc = (gamma ? gamma[ch] : 1) / Math.sqrt(v + eps);
    scale[ch] = sc;
    shift[ch] = (beta ? beta[ch] : 0) - (k + m) * sc;
  }
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * hw;
      const sc = scale[ch];
      const sh = shift[ch];
      for (let i = base, end = base + hw; i < end; i++) y[i] = x[i] * sc + sh;
    }
  }
  return { y, mean, variance };
}

/**
 * Gradients of batchNormForward given dy: with x̂ = (x − μ)·r, r = 1/√(σ² + eps) and means over N·H·W,
 * dx = γ·r·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy.
 */
export function batchNormBackward(dy: TypedArray, x: TypedArray, shape: Shape, mean: TypedArray, variance: TypedArray, gamma: TypedArray | null, eps: number, dtype: DType): { dx: TypedArray; dgamma: TypedArray; dbeta: TypedArray } {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const count = n * hw;
  const dgamma = allocateUninitialized(dtype, c);
  const dbeta = allocateUninitialized(dtype, c);
  const dx = allocateUninitialized(dtype, x.length);
  const a = new Float64Array(c);
  const bcoef = new Float64Array(c);
  const k0 = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const mu = mean[ch];
    const r = 1 / Math.sqrt(variance[ch] + eps);
    // four partial sums each, as in batchNormForward
    let g0 = 0, g1 = 0, g2 = 0, g3 = 0, h0 = 0, h1 = 0, h2 = 0, h3 = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      const end = base + hw;
      let i = base;
      for (; i + 3 < end; i += 4) {
        const e0 = dy[i], e1 = dy[i + 1], e2 = dy[i + 2], e3 = dy[i + 3];
        g0 += e0; g1 += e1; g2 += e2; g3 += e3;
        h0 += e0 * (x[i] - mu); h1 += e1 * (x[i + 1] - mu); h2 += e2 * (x[i + 2] - mu); h3 += e3 * (x[i + 3] - mu);
      }
      for (; i < end; i++) {
        g0 += dy[i];
        h0 += dy[i] * (x[i] - mu);
      }
    }
    const sg = g0 + g1 + (g2 + g3);
    const sgx = h0 + h1 + (h2 + h3);
    dbeta[ch] = sg;
    dgamma[ch] = sgx * r;
    // dx = a·dy + bcoef·(x − μ) + k0, with a = γr, bcoef = −γr³·mean(dy·(x − μ)), k0 = −γr·mean(dy)
    const gr = (gamma ? gamma[ch] : 1) * r;
    a[ch] = gr;
    bcoef[ch] = (-gr * r * r * sgx) / count;
    k0[ch] = (-gr * sg) / count - bcoef[ch] * mu;
  }
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * hw;
      const ac = a[ch];
      const bc = bcoef[ch];
      const kc = k0[ch];
      for (let i = base, end = base + hw; i < end; i++) dx[i] = ac * dy[i] + bc * x[i] + kc;
    }
  }
  return { dx, dgamma, dbeta };
}
