import type { DType, TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';
import { allocateUninitialized, recycle } from './buffers.js';
import { reluGrad } from './elementwise.js';
import { stagingArea } from './gemm.js';
import { LOOP_CHUNKS, parallelLoop } from './parallel.js';
import { BN_SUMS, ELEMENTWISE } from './wasm-kernel.js';

/**
 * Fused batch-norm training kernels over x [N, C, H, W] (statistics per channel over N·H·W), the
 * optional fast path of the `batchNormTrain` op. The arithmetic is in loops.ts (float64 accumulators,
 * sums shifted by the channel's first value so large means do not cancel; two passes each way), split
 * by channels between the threads, in float32 through WebAssembly with the JS loops' bits. Per-channel
 * values travel in one small shared float64 array.
 */

/** Floats of the staging area each of `count` chunks gets (a multiple of 4). */
const slotOf = (stage: Float32Array, count: number): number => Math.floor(stage.length / count / 4) * 4;
/**
 * The staging area of the WebAssembly loops (same bits as the JS loops), for float32 planes of at least
 * SIMD_PLANE values: below that the copy and call per plane cost more than they save (8×256×8²: 0.28 ms
 * forward in JS, 0.36 in WebAssembly; 8×16×128²: 3.28 against 1.88, backward 5.11 against 2.99).
 */
const SIMD_PLANE = 256;
const simdStage = (dtype: DType, hw: number): Float32Array | null => (dtype === 'float32' && hw >= SIMD_PLANE ? stagingArea() : null);

// One scratch for every call (the backend runs one kernel at a time), so no shared buffer is made per call.
let scratch: Float64Array<ArrayBufferLike> = new Float64Array(0);
function channelScratch(c: number, slots: number): Float64Array<ArrayBufferLike> {
  if (scratch.length < slots * c) {
    const bytes = Math.max(slots * c, 4096) * 8;
    scratch = new Float64Array(typeof SharedArrayBuffer === 'undefined' ? new ArrayBuffer(bytes) : new SharedArrayBuffer(bytes));
  }
  return scratch;
}

/** Returns y = γ·(x − μ)/√(σ² + eps) + β with the batch mean μ and biased variance σ² (each [C]); with `relu`, max(y, 0). */
export function batchNormForward(x: TypedArray, shape: Shape, gamma: TypedArray | null, beta: TypedArray | null, eps: number, dtype: DType, relu = false): { y: TypedArray; mean: TypedArray; variance: TypedArray } {
  const [n, c, h, w] = shape;
  const y = allocateUninitialized(dtype, x.length);
  // [mean | variance | γ | β]
  const s = channelScratch(c, 4);
  for (let ch = 0; ch < c; ch++) {
    s[2 * c + ch] = gamma ? gamma[ch] : 1;
    s[3 * c + ch] = beta ? beta[ch] : 0;
  }
  const count = Math.min(c, LOOP_CHUNKS);
  const stage = simdStage(dtype, h * w);
  if (stage) parallelLoop('batchNormSimd', [x, x, y, s, stage], [n, c, h * w, eps, stage.byteOffset, slotOf(stage, count), BN_SUMS, 0, relu ? ELEMENTWISE.indexOf('relu') : -1], count, x.length);
  else parallelLoop('batchNormForward', [x, y, s], [n, c, h * w, eps, relu ? 1 : 0], count, x.length);
  const mean = allocateUninitialized(dtype, c);
  const variance = allocateUninitialized(dtype, c);
  mean.set(s.subarray(0, c));
  variance.set(s.subarray(c, 2 * c));
  return { y, mean, variance };
}

/**
 * Gradients of batchNormForward given dy: with x̂ = (x − μ)·r, r = 1/√(σ² + eps) and means over N·H·W,
 * dx = γ·r·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy. With `reluOut` (the output of a
 * forward with relu), dy·step(reluOut) takes dy's place, as reluGrad would have made it.
 */
export function batchNormBackward(dy: TypedArray, x: TypedArray, shape: Shape, mean: TypedArray, variance: TypedArray, gamma: TypedArray | null, eps: number, dtype: DType, reluOut?: TypedArray | null): { dx: TypedArray; dgamma: TypedArray; dbeta: TypedArray } {
  if (reluOut) {
    const masked = reluGrad(dy, reluOut, dtype);
    const r = batchNormBackward(masked, x, shape, mean, variance, gamma, eps, dtype);
    recycle(masked);
    return r;
  }
  const [n, c, h, w] = shape;
  const dx = allocateUninitialized(dtype, x.length);
  // [mean | variance | γ | dγ | dβ]
  const s = channelScratch(c, 5);
  for (let ch = 0; ch < c; ch++) {
    s[ch] = mean[ch];
    s[c + ch] = variance[ch];
    s[2 * c + ch] = gamma ? gamma[ch] : 1;
  }
  const count = Math.min(c, LOOP_CHUNKS);
  const stage = simdStage(dtype, h * w);
  if (stage) parallelLoop('batchNormSimd', [dy, x, dx, s, stage], [n, c, h * w, eps, stage.byteOffset, slotOf(stage, count), BN_SUMS, 1], count, x.length);
  else parallelLoop('batchNormBackward', [dy, x, dx, s], [n, c, h * w, eps], count, x.length);
  const dgamma = allocateUninitialized(dtype, c);
  const dbeta = allocateUninitialized(dtype, c);
  dgamma.set(s.subarray(3 * c, 4 * c));
  dbeta.set(s.subarray(4 * c, 5 * c));
  return { dx, dgamma, dbeta };
}
