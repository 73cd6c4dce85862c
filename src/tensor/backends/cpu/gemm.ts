import { shareLargeArrays } from './buffers.js';
import { createGemmHelper, loopExports, NO_TILING, type GemmHelper } from './gemm-threads.js';
import { LOOP_BODIES, type LoopKernels } from './loops.js';
import { createWasmKernel, DOT_COLS, DOT_ROWS, type WasmKernel } from './wasm-kernel.js';

/**
 * Float32 GEMM, C += A·B, blocked as in GotoBLAS (Goto & van de Geijn, "Anatomy of high-performance
 * matrix multiplication", 2008): B is packed in KC×NC blocks of NR-wide panels, A in MC×KC blocks of
 * MR-tall panels, and an MR×NR micro-kernel (WebAssembly SIMD, wasm-kernel.ts) multiplies one pair of
 * panels into a tile. The loops over the panels of a block run in WebAssembly too (`block`), adding
 * tiles into a result region in the same memory that holds up to R_ROWS rows of C for the current
 * column block, so C itself is touched once per column block, not once per tile and depth block.
 * Operands are addressed by strides, so transposed operands cost nothing extra:
 * A(i, p) = a[aOff + i·ars + p·acs], B(p, j) = b[bOff + p·brs + j·bcs].
 * In Node, large blocks are split by column panels between this thread and one worker (gemm-threads.ts).
 */

const MR = 4;
/** Columns of a micro-kernel tile, and the width of a packed B panel. */
export const NR = 8;
const KC = 256;
const MC = 128;
const NC = 2048;
/**
 * Depth of the blocks k is cut into: at most KC, and all about equal (k = 288 as 144 + 144, not
 * 256 + 32: a thin last block pays the tile loads and stores of a full one for little work).
 */
const depthStep = (k: number): number => Math.ceil(k / Math.ceil(k / KC));
/**
 * gemmRowsF32 takes a product of at most 16 rows (a 16-channel convolution) in one depth block up to
 * 2·KC: its packed A stays small, and one pass over the result region instead of two saves more than
 * the longer B panels cost (3×3 conv 32 → 16 channels at 128², 8 images, 2 threads: 22–25 → 18–21 ms).
 */
const FEW_ROWS = 16;
/** Rows of C the result region holds; taller products run in row chunks of this size. */
const R_ROWS = 1024;

// Memory layout (bytes): the scalar kernel's tile at 0, control words at 768, then packed A,
// the B block, and the result region the two threads add a column block of C into.
const TILE_BYTES = 1024;
const CTL_BYTE = 768;
const A_BYTES = MC * KC * 4;
// room for KC rows of NC columns plus a row pad (see rowStride)
const B_BYTES = KC * (NC + 16) * 4;
const LDR = NC + NR;
const R_BYTES = R_ROWS * LDR * 4;
const R_BASE = TILE_BYTES + A_BYTES + B_BYTES;
// then the row table of `rows` and `dots` (byte offsets of B rows), and the staging area where
// conv.ts lays out images for them (with a zeroed tail the kernels may read past the last row into)
const T_ENTRIES = 16384;
const T_BASE = R_BASE + R_BYTES;
const S_FLOATS = 4 << 20;
const S_TAIL = 64;
const S_BASE = T_BASE + T_ENTRIES * 4;
const wasm = createWasmKernel(MR, NR / 4, S_BASE + (S_FLOATS + S_TAIL) * 4);
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
  if (helper === undefined) {
    helper = wasm ? createGemmHelper(wasm, CTL_BYTE / 4, LOOP_BODIES) : null;
    // from now on large outputs live in shared memory, so the worker can take part in loops over them
    if (helper) shareLargeArrays(true);
  }
  return helper;
}

/** This thread's WebAssembly functions for loops.ts (LOOP_EXPORTS order), for parallel.ts (empty without them). */
export const loopKernels: LoopKernels = wasm ? loopExports(wasm) : [];

/** The worker for parallel.ts's loops, or null (none, or threads turned off). */
export function loopHelper(): GemmHelper | null {
  return threadsOn ? getHelper() : null;
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
/**
 * arr.fill(0, from, to), through the kernel's `zero` where arr lies in its memory: fill on a
 * SharedArrayBuffer, as a shared memory's buffer is, runs many times slower in V8.
 */
export function zeroFloats(arr: Float32Array, from: number, to: number): void {
  if (to <= from) return;
  if (wasm && arr.buffer === buffer) wasm.zero(arr.byteOffset + from * 4, (to - from) * 4);
  else arr.fill(0, from, to);
}

const tile = new Float32Array(buffer, 0, MR * NR);
const packedA = new Float32Array(buffer, TILE_BYTES, MC * KC);
const packedB = new Float32Array(buffer, TILE_BYTES + A_BYTES, B_BYTES / 4);

function scalarKernel(aAt: number, bAt: number, kc: number, ldb: number): void {
  zeroFloats(tile, 0, tile.length);
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
/** The scalar counterpart of the WebAssembly `block` (same arguments, byte offsets into `memory`). */
function jsBlock(a: number, b: number, c: number, mc: number, nc: number, kc: number, ldb: number, bstep: number, ldc: number): void {
  for (let jp = 0; jp < nc; jp += NR) {
    for (let ip = 0; ip < mc; ip += MR) {
      scalarKernel(a + ip * kc * 4, b + (jp / NR) * bstep, kc, ldb);
      let co = (c + ip * ldc + jp * 4) >> 2;
      for (let r = 0; r < MR; r++, co += ldc >> 2) for (let j = 0; j < NR; j++) memory[co + j] += tile[r * NR + j];
    }
  }
}
let block = wasm ? wasm.block : jsBlock;

/**
 * Which micro-kernel runs now: 'wasm-simd+fma' (relaxed SIMD's fused multiply-add), 'wasm-simd', or 'js'
 * where WebAssembly SIMD is missing.
 */
export function gemmKernel(): 'wasm-simd+fma' | 'wasm-simd' | 'js' {
  if (block === jsBlock) return 'js';
  return wasm?.fma ? 'wasm-simd+fma' : 'wasm-simd';
}

/** Selects the scalar JS micro-kernel (false) or WebAssembly SIMD where available (true); tests use it. */
export function useSimdKernel(on: boolean): void {
  block = on && wasm ? wasm.block : jsBlock;
}

/**
 * Packs rows i0 … i0+mc, depth p0 … p0+kc of A into MR-row panels, A(i, p) = a[aOff + i·ars + cols[p]]:
 * cols[p] = p·acs for a strided A (columnOffsets), or any table (conv.ts reads a convolution's weights
 * flipped and transposed for its input gradient so, with nothing copied).
 */
function packA(a: Float32Array, aOff: number, ars: number, cols: Int32Array, i0: number, mc: number, m: number, p0: number, kc: number): void {
  for (let ip = 0, o = 0; ip < mc; ip += MR, o += kc * MR) {
    const i = i0 + ip;
    if (i + MR <= m) {
      // a whole panel (MR = 4): its rows read side by side and written in order, 2–3× the row-by-row loop
      const s0 = aOff + i * ars;
      const [s1, s2, s3] = [s0 + ars, s0 + 2 * ars, s0 + 3 * ars];
      for (let p = p0, t = o; p < p0 + kc; p++, t += MR) {
        const c = cols[p];
        packedA[t] = a[s0 + c];
        packedA[t + 1] = a[s1 + c];
        packedA[t + 2] = a[s2 + c];
        packedA[t + 3] = a[s3 + c];
      }
      continue;
    }
    for (let r = 0; r < MR; r++) {
      const src = aOff + (i + r) * ars;
      for (let p = 0; p < kc; p++) packedA[o + p * MR + r] = i + r < m ? a[src + cols[p0 + p]] : 0;
    }
  }
}

/** cols[p] = p·acs for p < k: the column offsets of a strided A, for packA (the last table is kept: calls repeat). */
let strided = { acs: 0, cols: new Int32Array(0) };
function columnOffsets(k: number, acs: number): Int32Array {
  if (strided.acs !== acs || strided.cols.length < k) {
    const cols = new Int32Array(Math.max(k, strided.acs === acs ? 2 * strided.cols.length : 0));
    for (let p = 0; p < cols.length; p++) cols[p] = p * acs;
    strided = { acs, cols };
  }
  return strided.cols;
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
 * C[cOff + i·ldc + j] += Σ_p A(i, p)·B(p, j) for i < m, j < n, p < k (float32); with `overwrite`,
 * C = A·B instead (for a fresh output). `customB` replaces reading B from memory (conv.ts writes im2col
 * blocks with it).
 */
export function gemmF32(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, ars: number, acs: number,
  b: Float32Array, bOff: number, brs: number, bcs: number,
  c: Float32Array, cOff: number, ldc: number,
  customB?: PackB,
  overwrite = false,
): void {
  const aBase = TILE_BYTES;
  const bBase = TILE_BYTES + A_BYTES;
  const rFloat = R_BASE / 4;
  const kStep = depthStep(k);
  const cols = columnOffsets(k, acs);
  for (let r0 = 0; r0 < m; r0 += R_ROWS) {
    const rows = Math.min(R_ROWS, m - r0);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const nc = Math.min(NC, n - j0);
      zeroFloats(memory, rFloat, rFloat + Math.ceil(rows / MR) * MR * LDR);
      for (let p0 = 0; p0 < k; p0 += kStep) {
        const kc = Math.min(kStep, k - p0);
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
        for (let i0 = 0; i0 < rows; i0 += MC) {
          const mc = Math.min(MC, rows - i0);
          packA(a, aOff, ars, cols, r0 + i0, mc, m, p0, kc);
          const region = R_BASE + i0 * LDR * 4;
          const parallel = threadsOn && block !== jsBlock && mc * nc * kc >= PARALLEL_MIN ? getHelper() : null;
          if (parallel?.wanted()) {
            parallel.run({ mc, nc, kc, ldbBytes: ldb * 4, inPlace, aByte: aBase, bByte: bBase, regionByte: region, ldr: LDR });
          } else {
            block(aBase, bBase, region, mc, nc, kc, ldb * 4, inPlace ? NR * 4 : NR * kc * 4, LDR * 4);
          }
        }
      }
      for (let i = 0; i < rows; i++) {
        const co = cOff + (r0 + i) * ldc + j0;
        const ro = rFloat + i * LDR;
        if (overwrite) c.set(memory.subarray(ro, ro + nc), co);
        else for (let j = 0; j < nc; j++) c[co + j] += memory[ro + j];
      }
    }
  }
}

/**
 * The staging area for gemmRowsF32, dotsF32 and the elementwise loops (floats; its byteOffset is its
 * place in the kernel's memory), or null where the WebAssembly kernels are not in use (no SIMD, or the
 * scalar kernel selected): callers then take the im2col path or the JS loops.
 */
export function stagingArea(): Float32Array | null {
  return wasm && block !== jsBlock ? new Float32Array(buffer, S_BASE, S_FLOATS) : null;
}

/** The most rows the row table of gemmRowsF32 and dotsF32 takes. */
export const MAX_TABLE_ROWS = T_ENTRIES;

/**
 * C = A·B where row p of B is the staging area from float `rowStart[p]` on: B(p, j) = S[rowStart[p] + j]
 * (conv.ts: the rows of an im2col matrix as shifted views of one padded image). A is read by strides as
 * in gemmF32, or with column p at offset aCols[p] in place of p·acs. C is handed over one block at a
 * time: `emit(r0, rows, j0, nc, src, srcOff, ldr)` receives C[r0 + i, j0 + t] at src[srcOff + i·ldr + t]
 * for i < rows, t < nc. Needs stagingArea() and k ≤ MAX_TABLE_ROWS; B rows are read up to 8 floats past
 * column n. With `tiling` [tpr, rp, ho, ip], C's columns are dense: B's columns are read in rows of
 * 8·tpr that lie rp floats apart, ho rows an image, images ip floats apart (a convolution's grid
 * without its padding: C then holds each image's output pixels in order), and n is a multiple of 8·tpr.
 */
export function gemmRowsF32(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, ars: number, acs: number,
  rowStart: ArrayLike<number>,
  emit: (r0: number, rows: number, j0: number, nc: number, src: Float32Array, srcOff: number, ldr: number) => void,
  aCols?: Int32Array,
  tiling?: readonly [number, number, number, number],
): void {
  const w = wasm!;
  const aBase = TILE_BYTES;
  const rFloat = R_BASE / 4;
  const table = new Int32Array(buffer, T_BASE, k);
  for (let p = 0; p < k; p++) table[p] = S_BASE + rowStart[p] * 4;
  // B is read in place, so a column block is bounded only by the result region: few rows of C (a
  // convolution's Cout) take wide blocks, fewer of them, so both threads get long jobs between waits
  const mPad = Math.ceil(Math.min(m, R_ROWS) / MR) * MR;
  const ncMax = Math.min(Math.ceil(n / NR) * NR, Math.max(NC, Math.floor((R_ROWS * LDR) / mPad / NR) * NR - NR));
  const ldr = ncMax + NR;
  const kStep = m <= FEW_ROWS && k <= 2 * KC ? k : depthStep(k);
  const cols = aCols ?? columnOffsets(k, acs);
  const [tpr, rp, ho, ip] = tiling ?? NO_TILING;
  const tiles = [tpr, rp * 4, ho, ip * 4] as const;
  for (let r0 = 0; r0 < m; r0 += R_ROWS) {
    const rows = Math.min(R_ROWS, m - r0);
    for (let j0 = 0; j0 < n; j0 += ncMax) {
      const nc = Math.min(ncMax, n - j0);
      // the first depth block stores its tiles, later ones add: the region needs no zeroing
      for (let p0 = 0; p0 < k; p0 += kStep) {
        const kc = Math.min(kStep, k - p0);
        for (let i0 = 0; i0 < rows; i0 += MC) {
          const mc = Math.min(MC, rows - i0);
          packA(a, aOff, ars, cols, r0 + i0, mc, m, p0, kc);
          const region = R_BASE + i0 * ldr * 4;
          const parallel = threadsOn && mc * nc * kc >= PARALLEL_MIN ? getHelper() : null;
          if (parallel?.wanted()) {
            parallel.run({ kind: 1, mc, nc, kc, ldbBytes: j0 * 4, inPlace: p0 === 0, aByte: aBase, bByte: T_BASE + p0 * 4, regionByte: region, ldr, tiling: tiles });
          } else {
            w.rows(aBase, T_BASE + p0 * 4, region, mc, nc, kc, p0 === 0 ? 1 : 0, j0 * 4, ldr * 4, ...tiles);
          }
        }
      }
      emit(r0, rows, j0, nc, memory, rFloat, ldr);
    }
  }
}

/** Columns of A and B rows dotsF32 multiplies per call (a multiple of 4 that keeps a tile's B rows in L1). */
const DOTS_CHUNK = 1024;

/**
 * C[i, j] (+)= Σ_{q<len} S[aStart + i·aStride + q] · S[rowStart[j] + q] for i < m, j < n, in the staging
 * area S: the filter gradient of a convolution, dY·colᵀ, with col's rows as shifted views of one padded
 * image. C accumulates in the result region across calls (`zero` starts it afresh); `read` copies
 * it out. Needs stagingArea(), n ≤ MAX_TABLE_ROWS, and dotsFit(m, n). The rows of A (DOTS_SPARE_ROWS
 * past m too) and of B are read up to ⌈len/4⌉·4 floats, so the caller zero-pads A rows.
 */
export function dotsF32(m: number, n: number, len: number, aStart: number, aStride: number, rowStart: ArrayLike<number>, zero: boolean): void {
  const w = wasm!;
  const mp = Math.ceil(m / DOT_ROWS) * DOT_ROWS;
  const np = Math.ceil(n / DOT_COLS) * DOT_COLS;
  const lp = Math.ceil(len / 4) * 4;
  if (zero) zeroFloats(memory, R_BASE / 4, R_BASE / 4 + mp * np);
  const table = new Int32Array(buffer, T_BASE, np);
  for (let j = 0; j < np; j++) table[j] = S_BASE + rowStart[j < n ? j : 0] * 4;
  // one job over the whole length: the threads split the columns, each walking the length in steps
  const aByte = S_BASE + aStart * 4;
  const parallel = threadsOn && mp * np * lp >= PARALLEL_MIN ? getHelper() : null;
  if (parallel?.wanted()) {
    parallel.run({ kind: 2, mc: mp, nc: np, kc: lp, ldbBytes: DOTS_CHUNK, inPlace: true, aByte, aStride: aStride * 4, bByte: T_BASE, regionByte: R_BASE, ldr: np });
  } else {
    for (let q0 = 0; q0 < lp; q0 += DOTS_CHUNK) w.dots(aByte + q0 * 4, aStride * 4, T_BASE, q0 * 4, R_BASE, mp, np, Math.min(DOTS_CHUNK, lp - q0), np * 4);
  }
}

/** Whether dotsF32 can take an m×n result (its tiles padded) in the result region. */
export const dotsFit = (m: number, n: number): boolean => Math.ceil(m / DOT_ROWS) * DOT_ROWS * Math.ceil(n / DOT_COLS) * DOT_COLS <= R_ROWS * LDR;

/** Zero A rows dotsF32 reads past the last one (the last tile's rows beyond m). */
export const DOTS_SPARE_ROWS = DOT_ROWS - 1;

/** Copies the m×n result of dotsF32 into out[outOff + i·n + j]. */
export function dotsRead(m: number, n: number, out: Float32Array, outOff: number): void {
  const np = Math.ceil(n / DOT_COLS) * DOT_COLS;
  for (let i = 0; i < m; i++) out.set(memory.subarray(R_BASE / 4 + i * np, R_BASE / 4 + i * np + n), outOff + i * n);
}
