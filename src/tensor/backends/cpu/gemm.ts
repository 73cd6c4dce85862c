import { createGemmHelper, type GemmHelper } from './gemm-threads.js';
import { createWasmKernel } from './wasm-kernel.js';

/**
 * Float32 GEMM, C += A·B, blocked as in GotoBLAS (Goto & van de Geijn, "Anatomy of high-performance
 * matrix multiplication", 2008): B is packed in KC×NC blocks of NR-wide panels, A in MC×KC blocks of
 * MR-tall panels, and an MR×NR micro-kernel (WebAssembly SIMD, wasm-kernel.ts) multiplies one pair of
 * panels into a tile that is added into C. Operands are addressed by strides, so transposed operands
 * cost nothing extra: A(i, p) = a[aOff + i·ars + p·acs], B(p, j) = b[bOff + p·brs + j·bcs].
 * In Node, large blocks are split by column panels between this thread and one worker (gemm-threads.ts).
 */

const MR = 4;
/** Columns of a micro-kernel tile, and the width of a packed B panel. */
export const NR = 8;
const KC = 256;
const MC = 128;
const NC = 2048;

// Memory layout (bytes): main tile at 0, worker tile at 512, control words at 768, then packed A,
// the B block, and the result region the two threads write a block into.
const TILE_BYTES = 1024;
const WORKER_TILE = 512;
const CTL_BYTE = 768;
const A_BYTES = MC * KC * 4;
// room for KC rows of NC columns plus a row pad (see rowStride)
const B_BYTES = KC * (NC + 16) * 4;
const LDR = NC + NR;
const R_BYTES = MC * LDR * 4;
const R_BASE = TILE_BYTES + A_BYTES + B_BYTES;
const wasm = createWasmKernel(MR, NR / 4, R_BASE + R_BYTES);
// Without WebAssembly SIMD the same packed layout runs through the scalar kernel below.
const buffer = wasm ? wasm.memory.buffer : new ArrayBuffer(R_BASE + R_BYTES);
const memory = new Float32Array(buffer);
// Blocks below this many multiply-adds are not worth waking the worker for.
const PARALLEL_MIN = 1 << 20;
// The worker starts with the first block large enough to share, so processes that never multiply
// large matrices never start a thread.
let helper: GemmHelper | null | undefined = wasm?.shared ? undefined : null;
let threadsOn = true;
function getHelper(): GemmHelper | null {
  if (helper === undefined) helper = wasm ? createGemmHelper(wasm, CTL_BYTE / 4, WORKER_TILE, 0) : null;
  return helper;
}

/** Threads the GEMM uses for large blocks: 2 where a worker can run (Node, shared wasm memory), else 1. */
export function gemmThreads(): number {
  return threadsOn && getHelper() ? 2 : 1;
}

/** GEMM chunks computed so far by the worker and by the main thread (zeros without a worker). */
export function gemmThreadChunks(): { worker: number; main: number } {
  return helper ? helper.chunks() : { worker: 0, main: 0 };
}

/** Turns the worker thread off or on (where it exists; on also ends a back-off); tests and benchmarks use it. */
export function useGemmThreads(on: boolean): void {
  threadsOn = on;
  if (on) helper?.reset();
}
const tile = new Float32Array(buffer, 0, MR * NR);
const packedA = new Float32Array(buffer, TILE_BYTES, MC * KC);
const packedB = new Float32Array(buffer, TILE_BYTES + A_BYTES, B_BYTES / 4);

function scalarKernel(aAt: number, bAt: number, kc: number, ldb: number): void {
  tile.fill(0);
  let a = aAt >> 2;
  let b = bAt >> 2;
  const A = memory;
  for (let p = 0; p < kc; p++, a += MR, b += ldb >> 2) {
    for (let r = 0; r < MR; r++) {
      const av = A[a + r];
      for (let j = 0; j < NR; j++) tile[r * NR + j] += av * A[b + j];
    }
  }
}
const jsKernel = (a: number, b: number, _c: number, kc: number, ldb: number): void => scalarKernel(a, b, kc, ldb);
let kernel = wasm ? wasm.kernel : jsKernel;

/** Which micro-kernel runs now: 'wasm-simd', or 'js' where WebAssembly SIMD is missing. */
export function gemmKernel(): 'wasm-simd' | 'js' {
  return kernel === jsKernel ? 'js' : 'wasm-simd';
}

/** Selects the scalar JS micro-kernel (false) or WebAssembly SIMD where available (true); tests use it. */
export function useSimdKernel(on: boolean): void {
  kernel = on && wasm ? wasm.kernel : jsKernel;
}

function packA(a: Float32Array, aOff: number, ars: number, acs: number, i0: number, mc: number, m: number, p0: number, kc: number): void {
  let o = 0;
  for (let ip = 0; ip < mc; ip += MR) {
    for (let r = 0; r < MR; r++) {
      const i = i0 + ip + r;
      let src = aOff + i * ars + p0 * acs;
      if (i >= m) {
        for (let p = 0; p < kc; p++) packedA[o + p * MR + r] = 0;
        continue;
      }
      for (let p = 0; p < kc; p++, src += acs) packedA[o + p * MR + r] = a[src];
    }
    o += kc * MR;
  }
}

function packB(b: Float32Array, bOff: number, brs: number, bcs: number, p0: number, kc: number, j0: number, nc: number, n: number): void {
  let o = 0;
  for (let jp = 0; jp < nc; jp += NR) {
    const jn = Math.min(NR, n - j0 - jp);
    if (jn === NR && bcs === 1) {
      // the common case: NR contiguous elements per row of B
      let src = bOff + p0 * brs + j0 + jp;
      for (let p = 0; p < kc; p++, src += brs, o += NR) {
        packedB[o] = b[src];
        packedB[o + 1] = b[src + 1];
        packedB[o + 2] = b[src + 2];
        packedB[o + 3] = b[src + 3];
        packedB[o + 4] = b[src + 4];
        packedB[o + 5] = b[src + 5];
        packedB[o + 6] = b[src + 6];
        packedB[o + 7] = b[src + 7];
      }
      continue;
    }
    for (let j = 0; j < NR; j++) {
      let src = bOff + p0 * brs + (j0 + jp + j) * bcs;
      if (j >= jn) {
        for (let p = 0; p < kc; p++) packedB[o + p * NR + j] = 0;
        continue;
      }
      for (let p = 0; p < kc; p++, src += brs) packedB[o + p * NR + j] = b[src];
    }
    o += kc * NR;
  }
}

/**
 * Writes the B block for depth p0…p0+kc, columns j0…j0+nc into `dst`, either row-major, B(p, j) at
 * (p−p0)·ldb + (j−j0) with ldb = rowStride(nc), returning ldb (the micro-kernel reads it in place), or
 * as packed panels, B(p, j) at ⌊(j−j0)/NR⌋·kc·NR + (p−p0)·NR + (j−j0) mod NR, returning PANELS.
 * Columns from nc up to the next multiple of NR are read but their results are discarded.
 */
export type PackB = (p0: number, kc: number, j0: number, nc: number, dst: Float32Array) => number;
/** What a PackB returns when it wrote packed NR-wide panels. */
export const PANELS = 0;

/**
 * Row stride of an in-place B block: nc rounded up to NR, plus NR so that rows are not a power of two
 * apart (rows 2^k bytes apart share cache sets and evict each other).
 */
export const rowStride = (nc: number): number => Math.ceil(nc / NR) * NR + NR;

/**
 * C[cOff + i·ldc + j] += Σ_p A(i, p)·B(p, j) for i < m, j < n, p < k (float32). `customB` replaces
 * reading B from memory (conv.ts writes im2col blocks with it).
 */
export function gemmF32(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, ars: number, acs: number,
  b: Float32Array, bOff: number, brs: number, bcs: number,
  c: Float32Array, cOff: number, ldc: number,
  customB?: PackB,
): void {
  const aBase = TILE_BYTES;
  const bBase = TILE_BYTES + A_BYTES;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      let ldb = NR;
      let inPlace = true;
      if (customB) {
        ldb = customB(p0, kc, j0, nc, packedB);
        if (ldb === PANELS) {
          ldb = NR;
          inPlace = false;
        }
      } else if (bcs === 1) {
        // row-major B: copy rows (memcpy) and let the kernel read them in place, cheaper than panels
        ldb = rowStride(nc);
        for (let p = 0; p < kc; p++) packedB.set(b.subarray(bOff + (p0 + p) * brs + j0, bOff + (p0 + p) * brs + j0 + nc), p * ldb);
      } else {
        packB(b, bOff, brs, bcs, p0, kc, j0, nc, n);
        inPlace = false;
      }
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        packA(a, aOff, ars, acs, i0, mc, m, p0, kc);
        const parallel = threadsOn && kernel !== jsKernel && mc * nc * kc >= PARALLEL_MIN ? getHelper() : null;
        if (parallel?.wanted()) {
          parallel.run({ mc, nc, kc, ldbBytes: ldb * 4, inPlace, aByte: aBase, bByte: bBase, regionFloat: R_BASE / 4, ldr: LDR });
          for (let i = 0; i < mc; i++) {
            const co = cOff + (i0 + i) * ldc + j0;
            const ro = R_BASE / 4 + i * LDR;
            for (let j = 0; j < nc; j++) c[co + j] += memory[ro + j];
          }
          continue;
        }
        for (let jp = 0; jp < nc; jp += NR) {
          const jn = Math.min(NR, nc - jp);
          const bAt = bBase + (inPlace ? jp : jp * kc) * 4;
          for (let ip = 0; ip < mc; ip += MR) {
            const im = Math.min(MR, mc - ip);
            kernel(aBase + ip * kc * 4, bAt, 0, kc, ldb * 4);
            let co = cOff + (i0 + ip) * ldc + j0 + jp;
            if (im === MR && jn === NR) {
              for (let r = 0, t = 0; r < MR; r++, co += ldc, t += NR) {
                c[co] += tile[t];
                c[co + 1] += tile[t + 1];
                c[co + 2] += tile[t + 2];
                c[co + 3] += tile[t + 3];
                c[co + 4] += tile[t + 4];
                c[co + 5] += tile[t + 5];
                c[co + 6] += tile[t + 6];
                c[co + 7] += tile[t + 7];
              }
            } else {
              for (let r = 0; r < im; r++, co += ldc) for (let j = 0; j < jn; j++) c[co + j] += tile[r * NR + j];
            }
          }
        }
      }
    }
  }
}
