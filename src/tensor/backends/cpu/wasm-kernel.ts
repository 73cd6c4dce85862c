/**
 * A GEMM micro-kernel in WebAssembly SIMD (f32x4), emitted byte by byte so no toolchain is needed.
 *
 *   kernel(a, b, c, kc, ldb):  C[MR×NR] = Σ_{p<kc} A[p]ᵀ ⊗ B[p]
 *
 * `a` points at a packed A panel (kc steps of MR floats), `b` at the first of kc rows of NR floats that
 * lie `ldb` bytes apart (a packed panel has ldb = 4·NR; an unpacked row-major B is read in place), `c`
 * at an MR×NR row-major tile; all are byte offsets into the imported memory. The MR×NR/4
 * accumulators live in v128 locals, so the inner loop is loads, splats, multiplies and adds only.
 * Returns null where WebAssembly SIMD is unavailable; callers then use the scalar kernel.
 */

import { nodeProcess } from './node-process.js';

export interface WasmKernel {
  memory: WebAssembly.Memory;
  /** The compiled module, for instantiating the same kernel on the same (shared) memory in a worker. */
  module: WebAssembly.Module;
  /** Whether `memory` is shared (a SharedArrayBuffer), so worker threads can use it too. */
  shared: boolean;
  /** Whether the GEMM loops use relaxed SIMD's fused multiply-add (see `relaxedSimdAllowed`). */
  fma: boolean;
  kernel: (a: number, b: number, c: number, kc: number, ldb: number) => void;
  /**
   * The loop over a whole packed block: for each NR-column panel and MR-row panel, the tile of
   * `kernel` is added into C at `c + ip·ldc + jp·4` (bytes). Panel jp/NR of B starts at `b + (jp/NR)·bstep`
   * (bstep = 4·NR for a row-major block read in place, 4·NR·kc for packed panels); A panel ip/MR at
   * `a + ip·kc·4`. mc, nc and kc are at least 1; C gets whole MR×NR tiles (the caller discards the padding).
   */
  block: (a: number, b: number, c: number, mc: number, nc: number, kc: number, ldb: number, bstep: number, ldc: number) => void;
  /**
   * `block` with B rows found through a table: depth row p of the block starts at byte
   * `i32[table + 4p] + boff`, so shifted views of one image serve as the rows of its im2col matrix
   * (conv.ts) with nothing copied. With `store` 1 the tiles overwrite C instead of adding to it (the
   * first depth block, so C need not be zeroed first). With `tpr` 0 column j of C is byte boff + 4j of
   * every B row. Otherwise C's columns are dense, the grid's padding left out: B's columns come in rows
   * of `tpr` tiles (8·tpr columns) that lie `rp` bytes apart, `ho` rows an image and images `ip` bytes
   * apart, and boff is 4 × C's first column (a whole tile's).
   */
  rows: (a: number, table: number, c: number, mc: number, nc: number, kc: number, store: number, boff: number, ldc: number, tpr: number, rp: number, ho: number, ip: number) => void;
  /**
   * Dot products of rows: C[i, j] += Σ_{q<len} f32[a + i·astride + 4q]·f32[i32[table + 4j] + boff + 4q]
   * for i < mc, j < nc, in DOT_ROWS × DOT_COLS tiles (mc and nc multiples of those, len of 4; C at c + i·ldc + 4j).
   * The filter gradient of a convolution, dY·colᵀ, without transposing col.
   */
  dots: (a: number, astride: number, table: number, boff: number, c: number, mc: number, nc: number, len: number, ldc: number) => void;
  /**
   * Zeroes `bytes` bytes from byte offset `at` (memory.fill): TypedArray.prototype.fill is many times
   * slower on a SharedArrayBuffer, which a shared memory's buffer is.
   */
  zero: (at: number, bytes: number) => void;
  /**
   * Copies `rows` runs of `bytes` bytes from src to dst, stepping srcStride and dstStride bytes between
   * runs (memory.copy each; rows ≥ 1): rows of images to and from padded layouts.
   */
  rowCopy: (src: number, dst: number, rows: number, bytes: number, srcStride: number, dstStride: number) => void;
  /**
   * For `rows` rows of n floats: dst[j] ← src[j]·scale + shift, then max(·, 0) where `relu` is 1, rows
   * stepping srcStride and dstStride bytes (rows ≥ 1; exactly n floats a row, four at a time, then one at
   * a time). A folded batch norm and ReLU on a convolution's output rows as they are packed (a multiply
   * and an add, so the bits match the separate elementwise ops); dst may be src, or lie before it.
   */
  affine: (src: number, dst: number, rows: number, n: number, srcStride: number, dstStride: number, scale: number, shift: number, relu: number) => void;
  /**
   * 2×2 stride-2 max pooling of `rows` output rows: output row r (at dst + 4·wo·r) from input rows 2r
   * and 2r + 1 (at src + 8·w·r, w floats each), 4 outputs at a time (so up to 3 past wo, and inputs up to
   * 7 floats past a row's 2·wo are read). Each window keeps its first maximum in window order, as the JS
   * scan does: f32x4.pmax(m, x) is x only where m < x (NaN and −0 included).
   */
  maxPool2: (src: number, dst: number, rows: number, w: number, wo: number) => void;
  /**
   * Batch-norm statistics of n floats from byte `at` (n a multiple of 4), in float64 as the JS loop
   * sums them: the partial sums of d = x − x0 and d² by lane (element i to partial i mod 4) are read
   * from `acc` (8 float64: Σd by lane, then Σd² by lane), added to and written back.
   */
  bnSums: (at: number, n: number, x0: number, acc: number) => void;
  /** The backward's sums, likewise: Σdy and Σdy·(x − mean) by lane at `acc` (8 float64), n a multiple of 4. */
  bnDotSums: (dy: number, x: number, n: number, mean: number, acc: number) => void;
  /** x ← x·scale + shift for n floats from byte `at` (rounded up to 4), in float64 rounded once: the JS loop's bits. */
  bnApply: (at: number, n: number, scale: number, shift: number) => void;
  /** dy ← a·dy + b·x + k for n floats (rounded up to 4), in float64 rounded once: the JS loop's bits. */
  bnGradApply: (dy: number, x: number, n: number, a: number, b: number, k: number) => void;
  /**
   * One Adam/AdamW step of n floats (rounded up to 4) in place: θ, m, v at their byte offsets become θ′,
   * m′, v′ (g is read), every operation in float64 in the order of loops.ts's `adam`, rounded once per
   * output: the JS loop's bits.
   */
  adamStep: (theta: number, g: number, m: number, v: number, n: number, b1: number, b2: number, epsScaled: number, decay: number, l2: number, c1: number, c2: number, stepScaled: number) => void;
  /**
   * For `rows` rows of n floats (n a multiple of 4, rows ≥ 1): dst[2j] ← a[j] + bias, dst[2j + 1] ←
   * b[j] + bias, a and b stepping srcStride bytes a row and dst dstStride. Two rows of a 2 × 2
   * up-convolution's GEMM result interleaved into one row of its output (float32 adds: the bits of the JS
   * scatter's `v + bias`; a bias of −0 leaves every value as it is, −0 included).
   */
  zip2: (a: number, b: number, dst: number, rows: number, n: number, srcStride: number, dstStride: number, bias: number) => void;
  /**
   * Elementwise float32 loops, 4 lanes at a time, by name (see ELEMENTWISE): out[i] = op(a[i], b[i])
   * for i < n (rounded up to 4; byte offsets), where a binary op's name ends in two digits that say
   * whether a and b are a single value read once (1) or a run (0); unary ops read a only.
   */
  elementwise: Record<string, (a: number, b: number, out: number, n: number) => void>;
}

/** The binary and unary elementwise loops of the kernel module, with their SIMD opcodes. */
const BINARY_SIMD: Record<string, number> = { add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7 };
const UNARY_SIMD = ['relu', 'step', 'neg', 'square', 'sqrt'] as const;
/**
 * Names of the elementwise exports: add_00, add_01, add_10, …, relu, step, neg, square, sqrt, and
 * relugrad (a·step(b): relu's gradient, the bits of the separate step and multiply).
 */
export const ELEMENTWISE: readonly string[] = [
  ...Object.keys(BINARY_SIMD).flatMap((op) => ['00', '01', '10'].map((m) => `${op}_${m}`)),
  ...UNARY_SIMD,
  'relugrad',
];

/**
 * The exports loops.ts's bodies may call, in the order they receive them: the elementwise loops (at
 * their ELEMENTWISE index), then rowCopy at ROW_COPY, affine at AFFINE, maxPool2 at MAX_POOL2, the
 * four batch-norm loops from BN_SUMS on, adamStep at ADAM_STEP and zip2 at ZIP2.
 */
export const LOOP_FUNCTIONS = ['rowCopy', 'affine', 'maxPool2', 'bnSums', 'bnDotSums', 'bnApply', 'bnGradApply', 'adamStep', 'zip2'] as const;
export const LOOP_EXPORTS: readonly string[] = [...ELEMENTWISE, ...LOOP_FUNCTIONS];
export const ROW_COPY = ELEMENTWISE.length;
export const AFFINE = ROW_COPY + 1;
export const MAX_POOL2 = AFFINE + 1;
/** bnSums, bnDotSums, bnApply and bnGradApply follow in this order. */
export const BN_SUMS = MAX_POOL2 + 1;
export const ADAM_STEP = BN_SUMS + 4;
export const ZIP2 = ADAM_STEP + 1;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

// opcodes
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22, I32_CONST = 0x41, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_DIV_U = 0x6e, I32_REM_U = 0x70, I32_SHL = 0x74, I32_SHR_U = 0x76, I32_EQ = 0x46, I32_GT_S = 0x4a, I32_LT_S = 0x48, I32_LOAD = 0x28, F32_LOAD = 0x2a, F32_STORE = 0x38, F32_ADD = 0x92, LOOP = 0x03, IF = 0x04, ELSE = 0x05, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
const V128_LOAD = 0x00, I8X16_SHUFFLE = 0x0d, V128_LOAD32_SPLAT = 0x09, F32X4_SPLAT = 0x13, V128_STORE = 0x0b, V128_CONST = 0x0c, F32X4_EXTRACT_LANE = 0x1f, F32X4_LT = 0x43, V128_AND = 0x4e, F32X4_NEG = 0xe1, F32X4_SQRT = 0xe3, F32X4_PMAX = 0xeb, F32X4_ADD = 0xe4, F32X4_MUL = 0xe6;
const memarg = (align: number, offset: number): number[] => [...uleb(align), ...uleb(offset)];
// float64 lanes: widening, narrowing, and the arithmetic the batch-norm loops need
const F64X2_PROMOTE_LOW = 0x5f, F32X4_DEMOTE_F64X2 = 0x5e, F64X2_SPLAT = 0x14, F64X2_SQRT = 0xef, F64X2_ADD = 0xf0, F64X2_SUB = 0xf1, F64X2_MUL = 0xf2, F64X2_DIV = 0xf3, F64_PROMOTE_F32 = 0xbb;
/** f32x4.relaxed_madd (relaxed SIMD): a·b + c, one fused multiply-add where the hardware has it. */
const F32X4_RELAXED_MADD = 0x105;
/**
 * acc ← acc + x·y on v128 locals: one relaxed_madd with `fma`, else a multiply and an add. The fused form
 * runs about 20 % faster in the GEMM loops (half the instructions) and rounds once instead of twice.
 */
const madd = (fma: boolean, acc: number, x: number, y: number): number[] =>
  fma
    ? [LOCAL_GET, x, LOCAL_GET, y, LOCAL_GET, acc, ...simd(F32X4_RELAXED_MADD), LOCAL_SET, acc]
    : [LOCAL_GET, acc, LOCAL_GET, x, LOCAL_GET, y, ...simd(F32X4_MUL), ...simd(F32X4_ADD), LOCAL_SET, acc];

/** The first bytes of every WebAssembly module: the magic number and version 1. */
const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** The module bytes for an MR × (4·NRV) kernel; `fma` uses relaxed SIMD's fused multiply-add. */
export function kernelModule(mr: number, nrv: number, memoryPages: number, shared: boolean, fma = false): Uint8Array {
  const nr = 4 * nrv;
  const [A, B, C, KC, LDB] = [0, 1, 2, 3, 4];
  const acc = (r: number, j: number): number => 5 + r * nrv + j;
  const bv = (j: number): number => 5 + mr * nrv + j;
  const av = 5 + mr * nrv + nrv;
  const nV128 = mr * nrv + nrv + 1;

  const body: number[] = [LOOP, VOID];
  for (let j = 0; j < nrv; j++) body.push(LOCAL_GET, B, ...simd(V128_LOAD, ...memarg(0, 16 * j)), LOCAL_SET, bv(j));
  for (let r = 0; r < mr; r++) {
    body.push(LOCAL_GET, A, ...simd(V128_LOAD32_SPLAT, ...memarg(0, 4 * r)), LOCAL_SET, av);
    for (let j = 0; j < nrv; j++) {
      body.push(...madd(fma, acc(r, j), av, bv(j)));
    }
  }
  body.push(LOCAL_GET, A, I32_CONST, ...sleb(4 * mr), I32_ADD, LOCAL_SET, A);
  body.push(LOCAL_GET, B, LOCAL_GET, LDB, I32_ADD, LOCAL_SET, B);
  body.push(LOCAL_GET, KC, I32_CONST, 1, I32_SUB, LOCAL_SET, KC, LOCAL_GET, KC, BR_IF, 0, END);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nrv; j++) body.push(LOCAL_GET, C, LOCAL_GET, acc(r, j), ...simd(V128_STORE, ...memarg(0, 4 * (r * nr + 4 * j))));
  }
  body.push(END);
  const func = [...vec([[...uleb(nV128), 0x7b]]), ...body];
  const blockFunc = blockBody(mr, nrv, false, fma);
  const rowsFunc = blockBody(mr, nrv, true, fma);
  const dotsFunc = dotsBody(fma);
  const ewFuncs = ELEMENTWISE.map((name) => elementwiseBody(name));
  // zero(at, bytes): memory.fill(at, 0, bytes)
  const zeroFunc = [0, LOCAL_GET, 0, I32_CONST, 0, LOCAL_GET, 1, 0xfc, ...uleb(11), 0x00, END];
  // rowCopy(src, dst, rows, bytes, srcStride, dstStride): rows × memory.copy(dst, src, bytes), both stepping
  const rowCopyFunc = [0, LOOP, VOID, LOCAL_GET, 1, LOCAL_GET, 0, LOCAL_GET, 3, 0xfc, ...uleb(10), 0x00, 0x00,
    LOCAL_GET, 0, LOCAL_GET, 4, I32_ADD, LOCAL_SET, 0, LOCAL_GET, 1, LOCAL_GET, 5, I32_ADD, LOCAL_SET, 1,
    LOCAL_GET, 2, I32_CONST, 1, I32_SUB, LOCAL_TEE, 2, BR_IF, 0, END, END];
  const affineFunc = affineBody();
  const maxPoolFunc = maxPool2Body();
  const bnFuncs = batchNormBodies();
  const zip2Func = zip2Body();

  const i32s = (n: number): number[][] => Array.from({ length: n }, () => [0x7f]);
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, vec([[0x60, ...vec(i32s(5)), 0x00], [0x60, ...vec(i32s(9)), 0x00], [0x60, ...vec(i32s(4)), 0x00], [0x60, ...vec(i32s(2)), 0x00], [0x60, ...vec(i32s(6)), 0x00], [0x60, ...vec([...i32s(6), [0x7d], [0x7d], [0x7f]]), 0x00],
      // 6 bnSums, 7 bnDotSums, 8 bnApply, 9 bnGradApply
      [0x60, ...vec([[0x7f], [0x7f], [0x7d], [0x7f]]), 0x00], [0x60, ...vec([[0x7f], [0x7f], [0x7f], [0x7d], [0x7f]]), 0x00],
      [0x60, ...vec([[0x7f], [0x7f], [0x7c], [0x7c]]), 0x00], [0x60, ...vec([[0x7f], [0x7f], [0x7f], [0x7c], [0x7c], [0x7c]]), 0x00],
      // 10 adamStep
      [0x60, ...vec([...i32s(5), ...Array.from({ length: 8 }, () => [0x7c])]), 0x00],
      // 11 rows, 12 zip2
      [0x60, ...vec(i32s(13)), 0x00], [0x60, ...vec([...i32s(7), [0x7d]]), 0x00]])),
    // memory limits: flag 1 = min and max, flag 3 = shared with min and max
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, shared ? 0x03 : 0x01, ...uleb(memoryPages), ...uleb(memoryPages)]])),
    ...section(3, vec([[0x00], [0x01], [0x0b], [0x01], ...ewFuncs.map(() => [0x02]), [0x03], [0x04], [0x05], [0x00], [0x06], [0x07], [0x08], [0x09], [0x0a], [0x0c]])),
    ...section(7, vec([...['kernel', 'block', 'rows', 'dots', ...ELEMENTWISE, 'zero', 'rowCopy', 'affine', 'maxPool2', 'bnSums', 'bnDotSums', 'bnApply', 'bnGradApply', 'adamStep', 'zip2'].map((name, i) => [...str(name), 0x00, ...uleb(i)])])),
    ...section(10, vec([func, blockFunc, rowsFunc, dotsFunc, ...ewFuncs, zeroFunc, rowCopyFunc, affineFunc, maxPoolFunc, ...bnFuncs, zip2Func].map((f) => [...uleb(f.length), ...f]))),
  ]);
}

/**
 * The body of `block` (see WasmKernel): the panel loops around the micro-kernel, in WebAssembly; with
 * `viaTable`, the body of `rows`.
 */
function blockBody(mr: number, nrv: number, viaTable: boolean, fma: boolean): number[] {
  const nr = 4 * nrv;
  // parameters (`rows` has four more: the tiling of a dense column order, below)
  const [A, B, C, MC, NC, KC, LDB, BSTEP, LDC, TPR, RP, HO, IP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const nParams = viaTable ? 13 : 9;
  // i32 locals
  const [JN, IN, PA, PB, K, BCOL, CCOL, AROW, CROW, CP, ADDR, TX, OY] = Array.from({ length: 13 }, (_, i) => nParams + i);
  const nI32 = 13;
  // v128 locals
  const v0 = nParams + nI32;
  const acc = (r: number, j: number): number => v0 + r * nrv + j;
  const bv = (j: number): number => v0 + mr * nrv + j;
  const av = v0 + mr * nrv + nrv;
  const nV128 = mr * nrv + nrv + 1;
  const get = (l: number): number[] => [LOCAL_GET, l];
  const set = (l: number): number[] => [LOCAL_SET, l];
  const addTo = (l: number, ...value: number[]): number[] => [...get(l), ...value, I32_ADD, ...set(l)];
  const zero = simd(V128_CONST, ...new Array<number>(16).fill(0));

  const b: number[] = [];
  // block: BCOL is the panel's first B row; rows: the byte offset of the panel's columns in every row
  b.push(...get(viaTable ? BSTEP : B), ...set(BCOL), ...get(C), ...set(CCOL), ...get(NC), ...set(JN));
  if (viaTable) {
    // dense columns (TPR ≠ 0): column panel T = BSTEP/32 is tile TX of row OY of image T/(TPR·HO), whose
    // columns start at byte (T/(TPR·HO))·IP + OY·RP + TX·32 of every B row
    b.push(...get(TPR), IF, VOID);
    b.push(...get(BSTEP), I32_CONST, 5, I32_SHR_U, ...get(TPR), I32_REM_U, ...set(TX));
    b.push(...get(BSTEP), I32_CONST, 5, I32_SHR_U, ...get(TPR), I32_DIV_U, LOCAL_TEE, ADDR, ...get(HO), I32_REM_U, ...set(OY));
    b.push(...get(ADDR), ...get(HO), I32_DIV_U, ...get(IP), I32_MUL, ...get(OY), ...get(RP), I32_MUL, I32_ADD, ...get(TX), I32_CONST, 5, I32_SHL, I32_ADD, ...set(BCOL));
    b.push(END);
  }
  b.push(LOOP, VOID); // over column panels
  b.push(...get(A), ...set(AROW), ...get(CCOL), ...set(CROW), ...get(MC), ...set(IN));
  b.push(LOOP, VOID); // over row panels
  for (let r = 0; r < mr; r++) for (let j = 0; j < nrv; j++) b.push(...zero, ...set(acc(r, j)));
  b.push(...get(AROW), ...set(PA), ...get(viaTable ? B : BCOL), ...set(PB), ...get(KC), ...set(K));
  b.push(LOOP, VOID); // over depth
  if (viaTable) {
    b.push(...get(PB), I32_LOAD, ...memarg(2, 0), ...get(BCOL), I32_ADD, ...set(ADDR));
    for (let j = 0; j < nrv; j++) b.push(...get(ADDR), ...simd(V128_LOAD, ...memarg(0, 16 * j)), ...set(bv(j)));
  } else {
    for (let j = 0; j < nrv; j++) b.push(...get(PB), ...simd(V128_LOAD, ...memarg(0, 16 * j)), ...set(bv(j)));
  }
  for (let r = 0; r < mr; r++) {
    b.push(...get(PA), ...simd(V128_LOAD32_SPLAT, ...memarg(0, 4 * r)), ...set(av));
    for (let j = 0; j < nrv; j++) b.push(...madd(fma, acc(r, j), av, bv(j)));
  }
  b.push(...addTo(PA, I32_CONST, ...sleb(4 * mr)), ...(viaTable ? addTo(PB, I32_CONST, 4) : addTo(PB, ...get(LDB))));
  b.push(...get(K), I32_CONST, 1, I32_SUB, LOCAL_TEE, K, BR_IF, 0, END);
  // C tile += accumulators, row by row (`rows` with store = 1: C tile = accumulators)
  const tileOut = (add: boolean): number[] => {
    const out = [...get(CROW), ...set(CP)];
    for (let r = 0; r < mr; r++) {
      for (let j = 0; j < nrv; j++) {
        if (add) out.push(...get(CP), ...get(CP), ...simd(V128_LOAD, ...memarg(0, 16 * j)), ...get(acc(r, j)), ...simd(F32X4_ADD), ...simd(V128_STORE, ...memarg(0, 16 * j)));
        else out.push(...get(CP), ...get(acc(r, j)), ...simd(V128_STORE, ...memarg(0, 16 * j)));
      }
      if (r < mr - 1) out.push(...addTo(CP, ...get(LDC)));
    }
    return out;
  };
  if (viaTable) b.push(...get(LDB), IF, VOID, ...tileOut(false), ELSE, ...tileOut(true), END);
  else b.push(...tileOut(true));
  b.push(...addTo(AROW, ...get(KC), I32_CONST, ...sleb(4 * mr), I32_MUL));
  b.push(...addTo(CROW, ...get(LDC), I32_CONST, ...sleb(mr), I32_MUL));
  b.push(...get(IN), I32_CONST, ...sleb(mr), I32_SUB, LOCAL_TEE, IN, I32_CONST, 0, I32_GT_S, BR_IF, 0, END);
  b.push(...(viaTable ? addTo(BCOL, I32_CONST, ...sleb(4 * nr)) : addTo(BCOL, ...get(BSTEP))), ...addTo(CCOL, I32_CONST, ...sleb(4 * nr)));
  if (viaTable) {
    // dense columns: past a row's last tile, on to the next row's first (and past an image's last row, the next image's)
    b.push(...get(TPR), IF, VOID, ...get(TX), I32_CONST, 1, I32_ADD, LOCAL_TEE, TX, ...get(TPR), I32_EQ, IF, VOID);
    b.push(I32_CONST, 0, ...set(TX), ...addTo(BCOL, ...get(RP), ...get(TPR), I32_CONST, 5, I32_SHL, I32_SUB));
    b.push(...get(OY), I32_CONST, 1, I32_ADD, LOCAL_TEE, OY, ...get(HO), I32_EQ, IF, VOID);
    b.push(I32_CONST, 0, ...set(OY), ...addTo(BCOL, ...get(IP), ...get(HO), ...get(RP), I32_MUL, I32_SUB));
    b.push(END, END, END);
  }
  b.push(...get(JN), I32_CONST, ...sleb(nr), I32_SUB, LOCAL_TEE, JN, I32_CONST, 0, I32_GT_S, BR_IF, 0, END);
  b.push(END);
  return [...vec([[...uleb(nI32), 0x7f], [...uleb(nV128), 0x7b]]), ...b];
}

/** Rows and columns of a `dots` tile: DOT_ROWS A rows against DOT_COLS B rows, 4 lanes at a time. */
export const DOT_ROWS = 2;
export const DOT_COLS = 4;

/** The body of `dots` (see WasmKernel): DOT_ROWS × DOT_COLS tiles of row dot products, 4 lanes at a time. */
function dotsBody(fma: boolean): number[] {
  const dr = DOT_ROWS;
  const dc = DOT_COLS;
  const [A, AST, T, BOFF, C, MC, NC, LEN, LDC] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  // i32 locals: loop state, then the A row pointers, then the B row pointers
  const [JN, IN, TP, CCOL, AROW, CROW, OFF, END_, CP] = [9, 10, 11, 12, 13, 14, 15, 16, 17];
  const ap = (r: number): number => 18 + r;
  const bp = (c: number): number => 18 + dr + c;
  const nI32 = 9 + dr + dc;
  const v0 = 9 + nI32;
  const acc = (r: number, c: number): number => v0 + r * dc + c;
  const av = (r: number): number => v0 + dr * dc + r;
  const bv = v0 + dr * dc + dr;
  const nV128 = dr * dc + dr + 1;
  const get = (l: number): number[] => [LOCAL_GET, l];
  const set = (l: number): number[] => [LOCAL_SET, l];
  const addTo = (l: number, ...value: number[]): number[] => [...get(l), ...value, I32_ADD, ...set(l)];
  const zero = simd(V128_CONST, ...new Array<number>(16).fill(0));

  const b: number[] = [];
  b.push(...get(T), ...set(TP), ...get(C), ...set(CCOL), ...get(NC), ...set(JN), ...get(LEN), I32_CONST, 4, I32_MUL, ...set(END_));
  b.push(LOOP, VOID); // over column groups
  for (let c = 0; c < dc; c++) b.push(...get(TP), I32_LOAD, ...memarg(2, 4 * c), ...get(BOFF), I32_ADD, ...set(bp(c)));
  b.push(...get(A), ...set(AROW), ...get(CCOL), ...set(CROW), ...get(MC), ...set(IN));
  b.push(LOOP, VOID); // over row groups
  for (let r = 0; r < dr; r++) for (let c = 0; c < dc; c++) b.push(...zero, ...set(acc(r, c)));
  for (let r = 0; r < dr; r++) b.push(...get(AROW), ...(r ? [...get(AST), I32_CONST, ...sleb(r), I32_MUL, I32_ADD] : []), ...set(ap(r)));
  b.push(I32_CONST, 0, ...set(OFF));
  b.push(LOOP, VOID); // over the dot products, 4 lanes at a time
  for (let r = 0; r < dr; r++) b.push(...get(ap(r)), ...get(OFF), I32_ADD, ...simd(V128_LOAD, ...memarg(0, 0)), ...set(av(r)));
  for (let c = 0; c < dc; c++) {
    b.push(...get(bp(c)), ...get(OFF), I32_ADD, ...simd(V128_LOAD, ...memarg(0, 0)), ...set(bv));
    for (let r = 0; r < dr; r++) b.push(...madd(fma, acc(r, c), av(r), bv));
  }
  b.push(...get(OFF), I32_CONST, 16, I32_ADD, LOCAL_TEE, OFF, ...get(END_), I32_LT_S, BR_IF, 0, END);
  // C[r, c] += the four lanes of acc(r, c)
  b.push(...get(CROW), ...set(CP));
  for (let r = 0; r < dr; r++) {
    for (let c = 0; c < dc; c++) {
      b.push(...get(CP), ...get(CP), F32_LOAD, ...memarg(2, 4 * c));
      for (let lane = 0; lane < 4; lane++) b.push(...get(acc(r, c)), ...simd(F32X4_EXTRACT_LANE, lane), F32_ADD);
      b.push(F32_STORE, ...memarg(2, 4 * c));
    }
    if (r < dr - 1) b.push(...addTo(CP, ...get(LDC)));
  }
  b.push(...addTo(AROW, ...get(AST), I32_CONST, ...sleb(dr), I32_MUL), ...addTo(CROW, ...get(LDC), I32_CONST, ...sleb(dr), I32_MUL));
  b.push(...get(IN), I32_CONST, ...sleb(dr), I32_SUB, LOCAL_TEE, IN, I32_CONST, 0, I32_GT_S, BR_IF, 0, END);
  b.push(...addTo(TP, I32_CONST, ...sleb(4 * dc)), ...addTo(CCOL, I32_CONST, ...sleb(4 * dc)));
  b.push(...get(JN), I32_CONST, ...sleb(dc), I32_SUB, LOCAL_TEE, JN, I32_CONST, 0, I32_GT_S, BR_IF, 0, END);
  b.push(END);
  return [...vec([[...uleb(nI32), 0x7f], [...uleb(nV128), 0x7b]]), ...b];
}

/**
 * The body of `affine` (see WasmKernel): the rows twice, with the ReLU and without. Each vector is loaded
 * before the one at its place is stored, so dst may overlap src from before it. The ReLU is pmax(0, x)
 * = 0 < x ? x : 0 in both the vector and the one-at-a-time part (NaN and −0 give +0).
 */
function affineBody(): number[] {
  const [SRC, DST, ROWS, N, SS, DS, S, T, RELU] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [J, VEND, END_, VS, VT, X] = [9, 10, 11, 12, 13, 14];
  const [BLOCK, I32_EQZ, I32_GE_S, I32_SHL, I32_SHR_U, SELECT, F32_CONST, F32_MUL, F32_LT] = [0x02, 0x45, 0x4e, 0x74, 0x76, 0x1b, 0x43, 0x94, 0x5d];
  const get = (l: number): number[] => [LOCAL_GET, l];
  const set = (l: number): number[] => [LOCAL_SET, l];
  const at = (base: number): number[] => [...get(base), ...get(J), I32_ADD];
  const zero = simd(V128_CONST, ...new Array<number>(16).fill(0));
  const f32Zero = [F32_CONST, 0, 0, 0, 0];
  const rows = (relu: boolean): number[] => [
    LOOP, VOID,
    I32_CONST, 0, ...set(J),
    // four at a time while a whole vector remains
    BLOCK, VOID, ...get(VEND), I32_EQZ, BR_IF, 0,
    LOOP, VOID, ...at(DST), ...(relu ? zero : []), ...at(SRC), ...simd(V128_LOAD, ...memarg(0, 0)), ...get(VS), ...simd(F32X4_MUL), ...get(VT), ...simd(F32X4_ADD),
    ...(relu ? simd(F32X4_PMAX) : []), ...simd(V128_STORE, ...memarg(0, 0)),
    ...get(J), I32_CONST, 16, I32_ADD, LOCAL_TEE, J, ...get(VEND), I32_LT_S, BR_IF, 0, END,
    END,
    // then one at a time
    BLOCK, VOID, ...get(J), ...get(END_), I32_GE_S, BR_IF, 0,
    LOOP, VOID, ...at(DST), ...at(SRC), F32_LOAD, ...memarg(2, 0), ...get(S), F32_MUL, ...get(T), F32_ADD,
    ...(relu ? [...set(X), ...get(X), ...f32Zero, ...f32Zero, ...get(X), F32_LT, SELECT] : []), F32_STORE, ...memarg(2, 0),
    ...get(J), I32_CONST, 4, I32_ADD, LOCAL_TEE, J, ...get(END_), I32_LT_S, BR_IF, 0, END,
    END,
    ...get(SRC), ...get(SS), I32_ADD, ...set(SRC), ...get(DST), ...get(DS), I32_ADD, ...set(DST),
    ...get(ROWS), I32_CONST, 1, I32_SUB, LOCAL_TEE, ROWS, I32_CONST, 0, I32_GT_S, BR_IF, 0, END,
  ];
  const b = [...get(N), I32_CONST, 2, I32_SHR_U, I32_CONST, 4, I32_SHL, ...set(VEND), ...get(N), I32_CONST, 2, I32_SHL, ...set(END_)];
  b.push(...get(S), ...simd(F32X4_SPLAT), ...set(VS), ...get(T), ...simd(F32X4_SPLAT), ...set(VT));
  b.push(...get(RELU), IF, VOID, ...rows(true), ELSE, ...rows(false), END, END);
  return [...vec([[3, 0x7f], [2, 0x7b], [1, 0x7d]]), ...b];
}

/** The body of `zip2` (see WasmKernel). */
function zip2Body(): number[] {
  const [A, B, DST, ROWS, N, SS, DS, BIAS] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [J, END_, VBIAS, VA, VB] = [8, 9, 10, 11, 12];
  const get = (l: number): number[] => [LOCAL_GET, l];
  const set = (l: number): number[] => [LOCAL_SET, l];
  const step = (l: number, by: number): number[] => [...get(l), ...get(by), I32_ADD, ...set(l)];
  const biased = (row: number, reg: number): number[] => [...get(row), ...get(J), I32_ADD, ...simd(V128_LOAD, ...memarg(0, 0)), ...get(VBIAS), ...simd(F32X4_ADD), ...set(reg)];
  // lanes `first` and `first` + 1 of VA and VB, alternating
  const zip = (first: number): number[] => [...get(VA), ...get(VB), ...simd(I8X16_SHUFFLE, ...[first, 4 + first, first + 1, 5 + first].flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)))];
  const store = (offset: number, value: number[]): number[] => [...get(DST), ...get(J), I32_CONST, 1, I32_SHL, I32_ADD, ...value, ...simd(V128_STORE, ...memarg(0, offset))];
  const b: number[] = [
    ...get(N), I32_CONST, 2, I32_SHL, ...set(END_), ...get(BIAS), ...simd(F32X4_SPLAT), ...set(VBIAS),
    LOOP, VOID, // over rows
    I32_CONST, 0, ...set(J),
    LOOP, VOID, // over groups of 4 floats of a and b
    ...biased(A, VA), ...biased(B, VB), ...store(0, zip(0)), ...store(16, zip(2)),
    ...get(J), I32_CONST, 16, I32_ADD, LOCAL_TEE, J, ...get(END_), I32_LT_S, BR_IF, 0, END,
    ...step(A, SS), ...step(B, SS), ...step(DST, DS),
    ...get(ROWS), I32_CONST, 1, I32_SUB, LOCAL_TEE, ROWS, I32_CONST, 0, I32_GT_S, BR_IF, 0, END,
    END,
  ];
  return [...vec([[2, 0x7f], [3, 0x7b]]), ...b];
}

/** The body of `maxPool2` (see WasmKernel). */
function maxPool2Body(): number[] {
  const [SRC, DST, ROWS, W, WO] = [0, 1, 2, 3, 4];
  const [J, END_, D] = [5, 6, 7];
  const [A0, A1, B0, B1] = [8, 9, 10, 11];
  const get = (l: number): number[] => [LOCAL_GET, l];
  const set = (l: number): number[] => [LOCAL_SET, l];
  const load = (row: number[], offset: number, reg: number): number[] => [...row, ...get(J), I32_ADD, ...simd(V128_LOAD, ...memarg(0, offset)), ...set(reg)];
  // lanes 0 and 2 (even columns) or 1 and 3 (odd) of two vectors, as one
  const lanes = (first: number): number[] => [0, 2, 4, 6].flatMap((l) => [0, 1, 2, 3].map((b) => 4 * (l + first) + b));
  const pick = (x: number, y: number, first: number): number[] => [...get(x), ...get(y), ...simd(I8X16_SHUFFLE, ...lanes(first))];
  const row1 = [...get(SRC), ...get(W), I32_CONST, 4, I32_MUL, I32_ADD];
  const b: number[] = [
    // END_: input bytes of a row's 4-output groups, ⌈wo/4⌉·32
    ...get(WO), I32_CONST, 3, I32_ADD, I32_CONST, 2, 0x76 /* i32.shr_u */, I32_CONST, 32, I32_MUL, ...set(END_),
    LOOP, VOID, // over output rows
    I32_CONST, 0, ...set(J), ...get(DST), ...set(D),
    LOOP, VOID, // over groups of 4 outputs
    ...load(get(SRC), 0, A0), ...load(get(SRC), 16, A1), ...load(row1, 0, B0), ...load(row1, 16, B1),
    ...get(D),
    // the window in scan order: (0, 0), (0, 1), (1, 0), (1, 1)
    ...pick(A0, A1, 0), ...pick(A0, A1, 1), ...simd(F32X4_PMAX), ...pick(B0, B1, 0), ...simd(F32X4_PMAX), ...pick(B0, B1, 1), ...simd(F32X4_PMAX),
    ...simd(V128_STORE, ...memarg(0, 0)),
    ...get(D), I32_CONST, 16, I32_ADD, ...set(D),
    ...get(J), I32_CONST, 32, I32_ADD, LOCAL_TEE, J, ...get(END_), I32_LT_S, BR_IF, 0, END,
    ...get(SRC), ...get(W), I32_CONST, 8, I32_MUL, I32_ADD, ...set(SRC),
    ...get(DST), ...get(WO), I32_CONST, 4, I32_MUL, I32_ADD, ...set(DST),
    ...get(ROWS), I32_CONST, 1, I32_SUB, LOCAL_TEE, ROWS, I32_CONST, 0, I32_GT_S, BR_IF, 0, END,
    END,
  ];
  return [...vec([[3, 0x7f], [4, 0x7b]]), ...b];
}

/**
 * The bodies of bnSums, bnDotSums, bnApply and bnGradApply (see WasmKernel): float32 lanes widened to
 * float64 two at a time (lanes 0, 1, then 2, 3), every operation in the JS loop's order, so the sums
 * by lane and the rounded results are the bits of loops.ts's batch-norm loops.
 */
function batchNormBodies(): number[][] {
  const get = (l: number): number[] => [LOCAL_GET, l];
  const set = (l: number): number[] => [LOCAL_SET, l];
  const tee = (l: number): number[] => [LOCAL_TEE, l];
  const v128At = (addr: number[], offset: number): number[] => [...addr, ...simd(V128_LOAD, ...memarg(0, offset))];
  const storeAt = (addr: number[], offset: number, value: number[]): number[] => [...addr, ...value, ...simd(V128_STORE, ...memarg(0, offset))];
  // lanes 2 and 3 of a float32 vector moved to 0 and 1
  const high = simd(I8X16_SHUFFLE, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  const lo = (v: number[]): number[] => [...v, ...simd(F64X2_PROMOTE_LOW)];
  const hi = (v: number[]): number[] => [...v, ...v, ...high, ...simd(F64X2_PROMOTE_LOW)];
  // two float64 pairs rounded to float32 and joined into one vector
  const join = simd(I8X16_SHUFFLE, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const f64 = (op: number): number[] => simd(op);
  // loop `body` over 16-byte steps of local `at` until local `end`
  const loop = (at: number, end: number, step: number[], body: number[]): number[] => [LOOP, VOID, ...body, ...step, ...get(at), I32_CONST, 16, I32_ADD, ...tee(at), ...get(end), I32_LT_S, BR_IF, 0, END];

  // bnSums(at, n, x0, acc): locals end, x0 (f64x2), s01, s23, q01, q23, d
  const sums = (() => {
    const [AT, N, X0, ACC, END_, VX0, S01, S23, Q01, Q23, D] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const acc = (reg: number, offset: number): number[] => [...v128At(get(ACC), offset), ...set(reg)];
    const add = (reg: number, value: number[]): number[] => [...get(reg), ...value, ...f64(F64X2_ADD), ...set(reg)];
    const half = (widen: number[], s: number, q: number): number[] => [...widen, ...get(VX0), ...f64(F64X2_SUB), ...set(D), ...add(s, get(D)), ...add(q, [...get(D), ...get(D), ...f64(F64X2_MUL)])];
    const x = v128At(get(AT), 0);
    const b = [
      ...get(N), I32_CONST, 4, I32_MUL, ...get(AT), I32_ADD, ...set(END_),
      ...get(X0), F64_PROMOTE_F32, ...simd(F64X2_SPLAT), ...set(VX0),
      ...acc(S01, 0), ...acc(S23, 16), ...acc(Q01, 32), ...acc(Q23, 48),
      ...loop(AT, END_, [], [...half(lo(x), S01, Q01), ...half(hi(x), S23, Q23)]),
      ...storeAt(get(ACC), 0, get(S01)), ...storeAt(get(ACC), 16, get(S23)), ...storeAt(get(ACC), 32, get(Q01)), ...storeAt(get(ACC), 48, get(Q23)),
      END,
    ];
    return [...vec([[1, 0x7f], [6, 0x7b]]), ...b];
  })();

  // bnDotSums(dy, x, n, mean, acc): locals end, mean (f64x2), g01, g23, h01, h23, e, xv
  const dotSums = (() => {
    const [DY, X, N, MEAN, ACC, END_, VM, G01, G23, H01, H23, E, XV, DYV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
    const acc = (reg: number, offset: number): number[] => [...v128At(get(ACC), offset), ...set(reg)];
    const add = (reg: number, value: number[]): number[] => [...get(reg), ...value, ...f64(F64X2_ADD), ...set(reg)];
    // e = dy, g += e, h += e·(x − mean)
    const half = (widenDy: number[], widenX: number[], g: number, h: number): number[] => [...widenDy, ...set(E), ...add(g, get(E)), ...add(h, [...get(E), ...widenX, ...get(VM), ...f64(F64X2_SUB), ...f64(F64X2_MUL)])];
    const b = [
      ...get(N), I32_CONST, 4, I32_MUL, ...get(DY), I32_ADD, ...set(END_),
      ...get(MEAN), F64_PROMOTE_F32, ...simd(F64X2_SPLAT), ...set(VM),
      ...acc(G01, 0), ...acc(G23, 16), ...acc(H01, 32), ...acc(H23, 48),
      ...loop(DY, END_, [...get(X), I32_CONST, 16, I32_ADD, ...set(X)], [
        ...v128At(get(DY), 0), ...set(DYV), ...v128At(get(X), 0), ...set(XV),
        ...half(lo(get(DYV)), lo(get(XV)), G01, H01), ...half(hi(get(DYV)), hi(get(XV)), G23, H23),
      ]),
      ...storeAt(get(ACC), 0, get(G01)), ...storeAt(get(ACC), 16, get(G23)), ...storeAt(get(ACC), 32, get(H01)), ...storeAt(get(ACC), 48, get(H23)),
      END,
    ];
    return [...vec([[1, 0x7f], [8, 0x7b]]), ...b];
  })();

  // bnApply(at, n, scale, shift): x·scale + shift
  const apply = (() => {
    const [AT, N, SC, SH, END_, VSC, VSH, XV] = [0, 1, 2, 3, 4, 5, 6, 7];
    const one = (widen: number[]): number[] => [...widen, ...get(VSC), ...f64(F64X2_MUL), ...get(VSH), ...f64(F64X2_ADD), ...simd(F32X4_DEMOTE_F64X2)];
    const b = [
      ...get(N), I32_CONST, 3, I32_ADD, I32_CONST, 4, 0x6d /* i32.div_s */, I32_CONST, 16, I32_MUL, ...get(AT), I32_ADD, ...set(END_),
      ...get(SC), ...simd(F64X2_SPLAT), ...set(VSC), ...get(SH), ...simd(F64X2_SPLAT), ...set(VSH),
      ...loop(AT, END_, [], [...v128At(get(AT), 0), ...set(XV), ...storeAt(get(AT), 0, [...one(lo(get(XV))), ...one(hi(get(XV))), ...join])]),
      END,
    ];
    return [...vec([[1, 0x7f], [3, 0x7b]]), ...b];
  })();

  // bnGradApply(dy, x, n, a, b, k): a·dy + b·x + k
  const gradApply = (() => {
    const [DY, X, N, A, B, K, END_, VA, VB, VK, DYV, XV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const one = (widenDy: number[], widenX: number[]): number[] => [...get(VA), ...widenDy, ...f64(F64X2_MUL), ...get(VB), ...widenX, ...f64(F64X2_MUL), ...f64(F64X2_ADD), ...get(VK), ...f64(F64X2_ADD), ...simd(F32X4_DEMOTE_F64X2)];
    const b = [
      ...get(N), I32_CONST, 3, I32_ADD, I32_CONST, 4, 0x6d /* i32.div_s */, I32_CONST, 16, I32_MUL, ...get(DY), I32_ADD, ...set(END_),
      ...get(A), ...simd(F64X2_SPLAT), ...set(VA), ...get(B), ...simd(F64X2_SPLAT), ...set(VB), ...get(K), ...simd(F64X2_SPLAT), ...set(VK),
      ...loop(DY, END_, [...get(X), I32_CONST, 16, I32_ADD, ...set(X)], [
        ...v128At(get(DY), 0), ...set(DYV), ...v128At(get(X), 0), ...set(XV),
        ...storeAt(get(DY), 0, [...one(lo(get(DYV)), lo(get(XV))), ...one(hi(get(DYV)), hi(get(XV))), ...join]),
      ]),
      END,
    ];
    return [...vec([[1, 0x7f], [5, 0x7b]]), ...b];
  })();
  // adamStep(θ, g, m, v, n, b1, b2, eps, decay, l2, c1, c2, step): in place, as loops.ts's adam
  const adam = (() => {
    const [TH, G, M, V, N, B1, B2, EPS, DECAY, L2, C1, C2, STEP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const [END_, VB1, VB2, VEPS, VDECAY, VL2, VC1, VC2, VSTEP, TV, GV, MV, VV, GG, M1, V1] = [13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29];
    const op = (code: number, ...xs: number[][]): number[] => [...xs.flat(), ...simd(code)];
    // the two lanes of one half: g′ = g + l2·p, m′ = b1·m + c1·g′, v′ = b2·v + c2·g′·g′, θ′ = p·decay − m′/(√v′ + eps)·step
    const half = (widen: (v: number[]) => number[], at: number): number[] => [
      ...op(F64X2_ADD, widen(get(GV)), op(F64X2_MUL, get(VL2), widen(get(TV)))), ...set(GG),
      ...op(F64X2_ADD, op(F64X2_MUL, get(VB1), widen(get(MV))), op(F64X2_MUL, get(VC1), get(GG))), ...set(M1 + at),
      ...op(F64X2_ADD, op(F64X2_MUL, get(VB2), widen(get(VV))), op(F64X2_MUL, op(F64X2_MUL, get(VC2), get(GG)), get(GG))), ...set(V1 + at),
    ];
    const theta = (widen: (v: number[]) => number[], at: number): number[] =>
      op(F64X2_SUB, op(F64X2_MUL, widen(get(TV)), get(VDECAY)), op(F64X2_MUL, op(F64X2_DIV, get(M1 + at), op(F64X2_ADD, op(F64X2_SQRT, get(V1 + at)), get(VEPS))), get(VSTEP)));
    const demote = (x: number[]): number[] => [...x, ...simd(F32X4_DEMOTE_F64X2)];
    const b = [
      ...get(N), I32_CONST, 3, I32_ADD, I32_CONST, 4, 0x6d /* i32.div_s */, I32_CONST, 16, I32_MUL, ...get(TH), I32_ADD, ...set(END_),
      ...[[B1, VB1], [B2, VB2], [EPS, VEPS], [DECAY, VDECAY], [L2, VL2], [C1, VC1], [C2, VC2], [STEP, VSTEP]].flatMap(([p, l]) => [...get(p), ...simd(F64X2_SPLAT), ...set(l)]),
      ...loop(TH, END_, [G, M, V].flatMap((p) => [...get(p), I32_CONST, 16, I32_ADD, ...set(p)]), [
        ...v128At(get(TH), 0), ...set(TV), ...v128At(get(G), 0), ...set(GV), ...v128At(get(M), 0), ...set(MV), ...v128At(get(V), 0), ...set(VV),
        // M1, V1 hold the low half's m′, v′; M1 + 1, V1 + 1 the high half's
        ...half(lo, 0), ...half(hi, 1),
        ...storeAt(get(M), 0, [...demote(get(M1)), ...demote(get(M1 + 1)), ...join]),
        ...storeAt(get(V), 0, [...demote(get(V1)), ...demote(get(V1 + 1)), ...join]),
        ...storeAt(get(TH), 0, [...demote(theta(lo, 0)), ...demote(theta(hi, 1)), ...join]),
      ]),
      END,
    ];
    return [...vec([[1, 0x7f], [17, 0x7b]]), ...b];
  })();
  return [sums, dotSums, apply, gradApply, adam];
}

/** The body of one elementwise export (see WasmKernel.elementwise). */
function elementwiseBody(name: string): number[] {
  const [A, B, OUT, N] = [0, 1, 2, 3];
  const [I, END_, VA, VB] = [4, 5, 6, 7];
  const [op, modes] = name.split('_');
  const splatA = modes?.[0] === '1';
  const splatB = modes?.[1] === '1';
  const get = (l: number): number[] => [LOCAL_GET, l];
  const set = (l: number): number[] => [LOCAL_SET, l];
  const zero = simd(V128_CONST, ...new Array<number>(16).fill(0));
  const load = (base: number, splat: boolean, reg: number): number[] => (splat ? get(reg) : [...get(base), ...get(I), I32_ADD, ...simd(V128_LOAD, ...memarg(0, 0))]);
  // 0 < x ? 1 : 0 from [0, x] on the stack: the comparison's all-ones lanes masked to the bits of 1.0
  const stepOf = [...simd(F32X4_LT), ...simd(V128_CONST, ...[0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f]), ...simd(V128_AND)];
  const b: number[] = [...get(N), I32_CONST, 4, I32_MUL, ...set(END_), I32_CONST, 0, ...set(I)];
  if (splatA) b.push(...get(A), ...simd(V128_LOAD32_SPLAT, ...memarg(2, 0)), ...set(VA));
  if (splatB) b.push(...get(B), ...simd(V128_LOAD32_SPLAT, ...memarg(2, 0)), ...set(VB));
  b.push(LOOP, VOID, ...get(OUT), ...get(I), I32_ADD);
  if (op in BINARY_SIMD) b.push(...load(A, splatA, VA), ...load(B, splatB, VB), ...simd(BINARY_SIMD[op]));
  else if (op === 'relu') b.push(...zero, ...load(A, false, VA), ...simd(F32X4_PMAX)); // 0 < x ? x : 0
  else if (op === 'step') b.push(...zero, ...load(A, false, VA), ...stepOf);
  else if (op === 'relugrad') b.push(...load(A, false, VA), ...zero, ...load(B, false, VB), ...stepOf, ...simd(F32X4_MUL));
  else if (op === 'neg') b.push(...load(A, false, VA), ...simd(F32X4_NEG));
  else if (op === 'square') b.push(...load(A, false, VA), ...load(A, false, VA), ...simd(F32X4_MUL));
  else if (op === 'sqrt') b.push(...load(A, false, VA), ...simd(F32X4_SQRT));
  else throw new Error(`wasm-kernel: unknown elementwise op '${name}'`);
  b.push(...simd(V128_STORE, ...memarg(0, 0)));
  b.push(...get(I), I32_CONST, 16, I32_ADD, LOCAL_TEE, I, ...get(END_), I32_LT_S, BR_IF, 0, END, END);
  return [...vec([[2, 0x7f], [2, 0x7b]]), ...b];
}

/** A module of one function, relaxed_madd of its three v128 parameters: valid where relaxed SIMD is on. */
export function relaxedSimdProbe(): Uint8Array {
  const body = [0x00, LOCAL_GET, 0, LOCAL_GET, 1, LOCAL_GET, 2, ...simd(F32X4_RELAXED_MADD), END];
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, vec([[0x60, ...vec([[0x7b], [0x7b], [0x7b]]), ...vec([[0x7b]])]])),
    ...section(3, vec([[0x00]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/**
 * Whether to try relaxed SIMD (its fused multiply-add): yes unless SEGRAD_WASM_FMA=0. Node 20's V8 (11.3)
 * has it behind a flag, which is set here, process-wide, before the kernel compiles. Later Nodes and
 * Chromium ≥ 114 have it on, and Node 22 and 24 (22.23, 24.22 tried) no longer know the flag: setting it
 * there prints "unrecognized flag" on stderr, so it is set only where the probe does not validate. Where
 * relaxed SIMD is missing the kernel compiles without it.
 */
export function relaxedSimdAllowed(): boolean {
  type V8 = typeof import('node:v8');
  if (nodeProcess?.env?.SEGRAD_WASM_FMA === '0') return false;
  if (WebAssembly.validate(relaxedSimdProbe() as Uint8Array<ArrayBuffer>)) return true;
  try {
    (nodeProcess?.getBuiltinModule?.('node:v8') as V8 | undefined)?.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // not Node, or a V8 without the flag: the compile below tells
  }
  return true;
}

/**
 * Compiles the kernel into a fresh memory of `bytes` bytes, shared where SharedArrayBuffer exists
 * (browsers without cross-origin isolation lack it), with fused multiply-adds where relaxed SIMD exists,
 * or returns null without WebAssembly SIMD.
 */
export function createWasmKernel(mr: number, nrv: number, bytes: number): WasmKernel | null {
  if (typeof WebAssembly === 'undefined') return null;
  const pages = Math.ceil(bytes / 65536);
  const fmas = relaxedSimdAllowed() ? [true, false] : [false];
  for (const shared of typeof SharedArrayBuffer === 'undefined' ? [false] : [true, false]) for (const fma of fmas) {
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
      const module = new WebAssembly.Module(kernelModule(mr, nrv, pages, shared, fma) as Uint8Array<ArrayBuffer>);
      const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
      return { memory, module, shared, fma, kernel: instance.exports.kernel as WasmKernel['kernel'], block: instance.exports.block as WasmKernel['block'], rows: instance.exports.rows as WasmKernel['rows'], dots: instance.exports.dots as WasmKernel['dots'], zero: instance.exports.zero as WasmKernel['zero'], rowCopy: instance.exports.rowCopy as WasmKernel['rowCopy'], affine: instance.exports.affine as WasmKernel['affine'], maxPool2: instance.exports.maxPool2 as WasmKernel['maxPool2'], bnSums: instance.exports.bnSums as WasmKernel['bnSums'], bnDotSums: instance.exports.bnDotSums as WasmKernel['bnDotSums'], bnApply: instance.exports.bnApply as WasmKernel['bnApply'], bnGradApply: instance.exports.bnGradApply as WasmKernel['bnGradApply'], adamStep: instance.exports.adamStep as WasmKernel['adamStep'], zip2: instance.exports.zip2 as WasmKernel['zip2'], elementwise: Object.fromEntries(ELEMENTWISE.map((name) => [name, instance.exports[name]])) as WasmKernel['elementwise'] };
    } catch {
      // no SIMD, relaxed SIMD or shared memory: try the next option
    }
  }
  return null;
}
