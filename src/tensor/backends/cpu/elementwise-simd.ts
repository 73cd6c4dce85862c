import type { BinaryOp, UnaryOp } from '../../backend.js';
import { simdElementwise } from './gemm.js';

/**
 * float32 elementwise ops through the WebAssembly SIMD loops of wasm-kernel.ts: runs of the inputs are
 * copied (memcpy) into the staging area, computed 4 lanes at a time, and copied out. Bit-identical to
 * the JS loops of elementwise.ts: float32 +, −, ×, ÷ and √ computed in float64 and rounded once give
 * the float32 result, and relu/step/neg/square are exact. Used for runs of at least MIN_RUN elements
 * (below it the subarray objects of each run cost more than the JS loop); relu and step gain most
 * (their JS branches mispredict on random signs).
 */
const MIN_RUN = 1024;
const CHUNK = 16384;
const SIMD_BINARY = new Set<BinaryOp>(['add', 'sub', 'mul', 'div']);
const SIMD_UNARY = new Set<UnaryOp>(['relu', 'step', 'neg', 'square', 'sqrt']);

/** out = op(x) for float32 x; false where the SIMD loops are unavailable or the op has none. */
export function simdUnary(op: UnaryOp, x: Float32Array, out: Float32Array): boolean {
  if (!SIMD_UNARY.has(op) || x.length < MIN_RUN) return false;
  const simd = simdElementwise();
  if (!simd) return false;
  const { fns, stage, at } = simd;
  const f = fns[op];
  for (let o = 0; o < x.length; o += CHUNK) {
    const len = Math.min(CHUNK, x.length - o);
    stage.set(x.subarray(o, o + len), 0);
    f(at, at, at, len);
    out.set(stage.subarray(0, len), o);
  }
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
  const simd = simdElementwise();
  if (!simd) return false;
  const { fns, stage, at } = simd;
  const f = fns[`${op}_${ia === 0 ? 1 : 0}${ib === 0 ? 1 : 0}`];
  const idx = new Array<number>(rank).fill(0);
  let oa = 0;
  let ob = 0;
  for (let o = 0; o < out.length; o += inner) {
    for (let j = 0; j < inner; j += CHUNK) {
      const len = Math.min(CHUNK, inner - j);
      if (ia) stage.set(a.subarray(oa + j, oa + j + len), 0);
      else stage[0] = a[oa];
      if (ib) stage.set(b.subarray(ob + j, ob + j + len), CHUNK);
      else stage[CHUNK] = b[ob];
      f(at, at + CHUNK * 4, at + 2 * CHUNK * 4, len);
      out.set(stage.subarray(2 * CHUNK, 2 * CHUNK + len), o + j);
    }
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < shape[d]) break;
      oa -= sa[d] * shape[d];
      ob -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
  return true;
}
