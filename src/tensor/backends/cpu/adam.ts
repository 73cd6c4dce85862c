import { chunksFor, parallelLoop } from './parallel.js';

/**
 * One Adam/AdamW update of a float32 parameter in a single loop (the fused fast path of
 * src/nn/optim/adam.ts, which keeps the composed form for other backends and dtypes and documents the
 * formula). Reads θ, g, m, v and writes θ', m', v' into the given fresh arrays; computes in float64
 * and rounds once per output, so it agrees with the composed float32 ops to rounding.
 */
export interface AdamScalars {
  b1: number; b2: number; lr: number; eps: number;
  /** 1 − β1ᵗ and 1 − β2ᵗ. */
  bc1: number; bc2: number;
  /** Weight decay λ, added to the gradient (Adam) or applied to θ (AdamW, `decoupled`). */
  wd: number; decoupled: boolean;
}

export function adamUpdateF32(
  theta: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
  thetaOut: Float32Array, mOut: Float32Array, vOut: Float32Array, s: AdamScalars,
): void {
  const decay = s.decoupled ? 1 - s.lr * s.wd : 1;
  const l2 = s.decoupled ? 0 : s.wd;
  const nums = [s.b1, s.b2, s.eps, decay, l2, 1 - s.b1, 1 - s.b2, Math.sqrt(s.bc2), s.lr / s.bc1];
  // the loop itself is loops.ts's `adam`, split between the threads for large parameters
  parallelLoop('adam', [theta, grad, m, v, thetaOut, mOut, vOut], nums, chunksFor(theta.length), theta.length);
}
