import { adamCoefficients, type AdamScalars } from '../../backend.js';
import { stagingArea } from './gemm.js';
import { chunksFor, parallelLoop } from './parallel.js';
import { ADAM_STEP } from './wasm-kernel.js';

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
  const arrays = [theta, grad, m, v, thetaOut, mOut, vOut];
  const count = chunksFor(theta.length);
  // the loop itself is loops.ts's `adam`, split between the threads for large parameters, through
  // WebAssembly (the same bits) from SIMD_MIN values: the U-Net's largest weight (589,824 values) 3.2–3.7
  // → 2.6 ms, its whole opt.step() 10.6–11.0 → 8.8–9.1 ms (memory-bound: 28 bytes a value in and out)
  const stage = theta.length >= SIMD_MIN && simdOn ? stagingArea() : null;
  if (stage) parallelLoop('adamSimd', [...arrays, stage], [...nums, stage.byteOffset, Math.floor(stage.length / count / 4) * 4, ADAM_STEP], count, theta.length);
  else parallelLoop('adam', arrays, nums, count, theta.length);
}

/** Parameters below this many values take the JS loop: the staging copies and the call cost more there. */
const SIMD_MIN = 1024;
let simdOn = true;

/** Turns the WebAssembly Adam loop off or on (tests compare it with the JS loop). */
export function useAdamSimd(on: boolean): void {
  simdOn = on;
}
