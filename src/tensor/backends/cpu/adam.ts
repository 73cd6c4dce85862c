import { adamCoefficients, type AdamScalars } from '../../backend.js';
import { chunksFor, parallelLoop } from './parallel.js';

/**
 * One Adam/AdamW update of a float32 parameter in a single loop (`Backend.adamUpdate` on the cpu
 * backend; src/nn/optim/adam.ts keeps the composed form for other dtypes and documents the formula).
 * Reads θ, g, m, v and writes θ', m', v' into the given fresh arrays; computes in float64 and rounds
 * once per output, so it agrees with the composed float32 ops to rounding.
 */
export function adamUpdateF32(
  theta: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
  thetaOut: Float32Array, mOut: Float32Array, vOut: Float32Array, s: AdamScalars,
): void {
  const c = adamCoefficients(s);
  const nums = [c.b1, c.b2, c.epsScaled, c.decay, c.l2, c.c1, c.c2, c.stepScaled];
  // the loop itself is loops.ts's `adam`, split between the threads for large parameters
  parallelLoop('adam', [theta, grad, m, v, thetaOut, mOut, vOut], nums, chunksFor(theta.length), theta.length);
}
