import type { BinaryOp, UnaryOp } from '../../backend.js';
import { stagingArea } from './gemm.js';
import { chunksFor, parallelLoop } from './parallel.js';
import { ELEMENTWISE } from './wasm-kernel.js';

/**
 * float32 elementwise ops through the WebAssembly SIMD loops of wasm-kernel.ts (loops.ts's
 * `elementwise` body): runs of the inputs are copied (memcpy) into the staging area, computed 4 lanes
 * at a time, and copied out, in chunks the two threads share (parallel.ts). Bit-identical to the JS
 * loops of elementwise.ts: float32 +, −, ×, ÷ and √ computed in float64 and rounded once give the
 * float32 result, and relu/step/neg/square are exact. Used for runs of at least MIN_RUN elements
 * (below it the subarray objects of each run cost more than the JS loop); relu and step gain most
 * (their JS branches mispredict on random signs).
 */
const MIN_RUN = 1024;
/** Floats per staged array of one chunk; chunk k stages at slot k (three arrays each). */
const SLOT = 16384;
const SIMD_BINARY = new Set<BinaryOp>(['add', 'sub', 'mul', 'div']);
const SIMD_UNARY = new Set<UnaryOp>(['relu', 'step', 'neg', 'square', 'sqrt']);


/** out = op(x) for float32 x; false where the SIMD loops are unavailable or the op has none. */
export function simdUnary(op: UnaryOp, x: Float32Array, out: Float32Array): boolean {
  if (!SIMD_UNARY.has(op) || x.length < MIN_RUN) return false;
  const stage = stagingArea();
  if (!stage) return false;
  const n = x.length;
  parallelLoop('elementwise', [x, x, out, stage], [ELEMENTWISE.indexOf(op), n, n, 1, 0, 2, 0, stage.byteOffset, SLOT], chunksFor(n), n);
  return true;
}

/** out = dy·step(x) for float32 runs of equal length (relu's gradient); false where the SIMD loops are unavailable. */
export function simdReluGrad(dy: Float32Array, x: Float32Array, out: Float32Array): boolean {
  const n = x.length;
  const stage = n >= MIN_RUN ? stagingArea() : null;
  if (!stage) return false;
  parallelLoop('elementwise', [dy, x, out, stage], [ELEMENTWISE.indexOf('relugrad'), n, n, 1, 0, 0, 0, stage.byteOffset, SLOT], chunksFor(n), n);
  return true;
}

/**
 * out = a op b over a broadcast plan (elementwise.ts) whose innermost axis each input walks with
 * stride 1 or 0; false where that does not hold, the runs are short, or the SIMD loops are unavailable.
 */
export function simdBinary(op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array, shape: readonly number[], strides: readonly (readonly number[])[]): boolean {
  const rank = shape.length;
  const inner = shape[rank - 1];
  const [sa, sb] = [strides[0], strides[1]];
  const ia = sa[rank - 1];
  const ib = sb[rank - 1];
  if (!SIMD_BINARY.has(op) || inner < MIN_RUN || ia > 1 || ib > 1 || ia + ib === 0) return false;
  const stage = stagingArea();
  if (!stage) return false;
  const fn = ELEMENTWISE.indexOf(`${op}_${ia === 0 ? 1 : 0}${ib === 0 ? 1 : 0}`);
  const n = out.length;
  const outer = shape.slice(0, -1);
  parallelLoop('elementwise', [a, b, out, stage], [fn, n, inner, rank, 1 - ia, 1 - ib, 0, stage.byteOffset, SLOT, ...outer, ...sa.slice(0, -1), ...sb.slice(0, -1)], chunksFor(n), n);
  return true;
}
