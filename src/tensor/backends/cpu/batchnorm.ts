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
    let s = 0;
    let s2 = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = base, end = base + hw; i < end; i++) {
        const d = x[i] - k;
        s += d;
        s2 += d * d;
      }
    }
    const m = s / count;
    const v = Math.max(0, s2 / count - m * m);
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
    let sg = 0;
    let sgx = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = base, end = base + hw; i < end; i++) {
        const g = dy[i];
        sg += g;
        sgx += g * (x[i] - mu);
      }
    }
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
