import type { Conv2dGeometry } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocate, allocateUninitialized, recycle } from './buffers.js';
import { LOOP_CHUNKS, parallelLoop } from './parallel.js';
import { AFFINE, ROW_COPY, ZIP2 } from './wasm-kernel.js';
import type { Shape } from '../../shape.js';
import { conv2dBackwardFilterReference, conv2dBackwardInputReference, conv2dReference } from './conv-reference.js';
import { dotsF32, dotsFit, dotsRead, DOTS_SPARE_ROWS, gemmF32, gemmRowsF32, MAX_TABLE_ROWS, NR, PANELS, rowStride, stagingArea, zeroFloats, type PackB } from './gemm.js';

/**
 * Convolution kernels. float64 runs the direct loops of conv-reference.ts; float32 lowers each image
 * to GEMMs over the im2col matrix (Chellapilla et al., "High performance convolutional neural networks
 * for document processing", 2006), per group g:
 *
 *   forward         Y_g[Cout/G, P]   = W_g[Cout/G, K] · col_g[K, P]          (K = Cin/G·kh·kw, P = Ho·Wo)
 *   filter grad     dW_g[Cout/G, K] += dY_g · col_gᵀ   summed over the batch
 *   input grad      stride 1: a forward conv of dY with the flipped, transposed filter;
 *                   otherwise dcol_g = W_gᵀ · dY_g, then col2im scatters dcol onto dx
 *
 * col is never stored whole: the GEMM asks for one KC×NC block at a time and colRowInto writes it
 * straight from x into the block the micro-kernel reads.
 */

/** Where the im2col matrix of one image comes from: col[(ci·kh + ky)·kw + kx, oy·Wo + ox] = x[…]. */
interface ColSource {
  x: Float32Array;
  /** Offset of channel 0 of this image and group. */
  xOff: number;
  h: number; w: number; kh: number; kw: number; ho: number; wo: number;
  g: Conv2dGeometry;
}

/** Writes col[row, q0 + t] to dst[dstOff + t·step] for t < len. */
function colRowInto(s: ColSource, row: number, q0: number, len: number, dst: Float32Array, dstOff: number, step: number): void {
  const { x, h, w, kh, kw, wo } = s;
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw] } = s.g;
  const kx = row % kw;
  const ky = ((row - kx) / kw) % kh;
  const ci = (row - kx - ky * kw) / (kw * kh);
  const plane = s.xOff + ci * h * w;
  const colShift = kx * dw - pl;
  // output columns whose source column lies inside the image
  const lo = Math.min(wo, Math.max(0, Math.ceil(-colShift / sw)));
  const hi = Math.max(lo, Math.min(wo, Math.floor((w - 1 - colShift) / sw) + 1));
  if (sh === 1 && sw === 1 && wo === w) {
    contiguousColRow(x, plane + (ky * dh - pt) * w + colShift, pt - ky * dh, h, wo, lo, hi, q0, len, dst, dstOff, step);
    return;
  }
  let t = 0;
  let o = dstOff;
  let oy = Math.floor(q0 / wo);
  let ox = q0 - oy * wo;
  while (t < len) {
    const n = Math.min(len - t, wo - ox);
    const iy = oy * sh - pt + ky * dh;
    if (iy < 0 || iy >= h) {
      for (let u = 0; u < n; u++, o += step) dst[o] = 0;
    } else {
      // three runs along the output row: left padding, inside, right padding
      const a = Math.min(Math.max(lo, ox), ox + n);
      const b = Math.max(a, Math.min(hi, ox + n));
      for (let c = ox; c < a; c++, o += step) dst[o] = 0;
      let src = plane + iy * w + colShift + a * sw;
      if (step === 1 && sw === 1 && b - a >= 64) {
        dst.set(x.subarray(src, src + b - a), o);
        o += b - a;
      } else {
        for (let c = a; c < b; c++, o += step, src += sw) dst[o] = x[src];
      }
      for (let c = b; c < ox + n; c++, o += step) dst[o] = 0;
    }
    t += n;
    oy++;
    ox = 0;
  }
}

/**
 * colRowInto for stride 1 with an output as wide as the input (every 'same' convolution, e.g. 3×3 with
 * padding 1): then col[row, q] = x[base + q] wherever it is inside the image, so a block row is one
 * contiguous copy, zeros for the output rows whose source row is outside (oy < oyLo or oy ≥ oyLo + h),
 * and zeros in the few columns outside [lo, hi) of each output row.
 */
function contiguousColRow(x: Float32Array, base: number, oyLo: number, h: number, wo: number, lo: number, hi: number, q0: number, len: number, dst: Float32Array, dstOff: number, step: number): void {
  const qEnd = q0 + len;
  // also keep the source inside x: a cell just outside it is padding (a column zeroed below), and
  // reading outside a typed array is slow in V8 (and a negative subarray start counts from the end)
  const qa = Math.min(qEnd, Math.max(q0, oyLo * wo, -base));
  const qb = Math.max(qa, Math.min(qEnd, (oyLo + h) * wo, x.length - base));
  if (step === 1) {
    zeroFloats(dst, dstOff, dstOff + qa - q0);
    if (qb > qa) dst.set(x.subarray(base + qa, base + qb), dstOff + qa - q0);
    zeroFloats(dst, dstOff + qb - q0, dstOff + len);
  } else {
    let o = dstOff;
    for (let q = q0; q < qa; q++, o += step) dst[o] = 0;
    for (let q = qa, src = base + qa; q < qb; q++, o += step, src++) dst[o] = x[src];
    for (let q = qb; q < qEnd; q++, o += step) dst[o] = 0;
  }
  if (lo === 0 && hi === wo) return;
  // the columns of each copied output row whose source column lies outside the image
  const oy0 = Math.floor(qa / wo);
  for (let rowStart = oy0 * wo; rowStart < qb; rowStart += wo) {
    for (let ox = 0; ox < lo; ox++) {
      const q = rowStart + ox;
      if (q >= qa && q < qb) dst[dstOff + (q - q0) * step] = 0;
    }
    for (let ox = hi; ox < wo; ox++) {
      const q = rowStart + ox;
      if (q >= qa && q < qb) dst[dstOff + (q - q0) * step] = 0;
    }
  }
}

/** im2col as GEMM operand B read in place (depth = col rows, columns = pixels). */
const colAsB = (s: ColSource): PackB => (p0, kc, j0, nc, dst) => {
  const ldb = rowStride(nc);
  for (let p = 0; p < kc; p++) colRowInto(s, p0 + p, j0, nc, dst, p * ldb, 1);
  return ldb;
};

/**
 * colᵀ as GEMM operand B in NR-wide panels (depth = pixels, columns = col rows): each col row is
 * written down one column of a kc×NR panel, whose rows are adjacent, rather than down a whole block.
 */
const colTAsB = (s: ColSource): PackB => (p0, kc, j0, nc, dst) => {
  const width = Math.ceil(nc / NR) * NR;
  for (let j = 0; j < width; j++) {
    const at = Math.floor(j / NR) * kc * NR + (j % NR);
    if (j < nc) colRowInto(s, j0 + j, p0, kc, dst, at, NR);
    else for (let p = 0; p < kc; p++) dst[at + p * NR] = 0;
  }
  return PANELS;
};

/** True when col equals x itself: 1×1 kernel, stride 1, no padding, same spatial size. */
const isPointwise = (kh: number, kw: number, g: Conv2dGeometry, h: number, w: number, ho: number, wo: number): boolean =>
  kh === 1 && kw === 1 && g.stride[0] === 1 && g.stride[1] === 1 && g.pad.every((p) => p === 0) && ho === h && wo === w;

/**
 * The direct layout of a stride-1 convolution without groups: a run of `nb` images is copied once into
 * the GEMM's staging area, channel by channel, as rows of pitch Wp = W + max(pl, pr) stacked with image
 * pitch Hp = H + max(pt, pb) rows after pt leading zero rows, each image row at column pl. Neighbouring
 * rows and images share their zero padding: a tap that reads left of column 0 reads the zeros that end
 * the row above, one below row H − 1 reads the zero rows that end the image. Output pixel (oy, ox) of
 * image b of the run is taken at grid position q = (b·Hp + oy)·Wp + ox, and row (ci, ky, kx) of the
 * im2col matrix of the whole run is the staged data read from ci·chan + ky·dh·Wp + kx·dw on:
 * col[row, q] = S[rowStart[row] + q]. So no im2col is written: the GEMM reads its rows in place
 * (gemmRowsF32, dotsF32), and small images share one GEMM. Grid positions with ox ≥ Wo or oy ≥ Ho
 * are computed and dropped.
 */
interface DirectLayout {
  /** The staging area from the layout's first float on (its byteOffset is that float's place in memory). */
  stage: Float32Array;
  /** Images per run. */
  nb: number;
  hp: number; wp: number;
  /** Channel pitch (pt + nb·Hp + 1)·Wp: nb images of Hp·Wp, one zero row of slack. */
  chan: number;
  /** Grid positions covering every output pixel of a run of `count` images: (count − 1)·Hp·Wp + (Ho − 1)·Wp + Wo. */
  gridOf: (count: number) => number;
  /** Where each im2col row starts, in floats from the staging area's start (the layout's base included). */
  rowStart: Int32Array;
  /** First float after the staged images and their tail (where dotsF32's A rows go), from the layout's start. */
  end: number;
}

/**
 * The direct layout's pitches for x and the layout itself for a run length at a base (floats into the
 * staging area); null where it does not apply.
 */
interface DirectGeometry {
  hp: number; wp: number;
  gridOf: (count: number) => number;
  /** Floats a layout of `nb` images a run takes. */
  endOf: (nb: number) => number;
  at: (nb: number, base: number) => DirectLayout;
}

function directGeometry(xShape: Shape, wShape: Shape, outShape: Shape, g: Conv2dGeometry): DirectGeometry | null {
  const [, cin, h, w] = xShape;
  const [, cpg, kh, kw] = wShape;
  const [, , ho, wo] = outShape;
  const { stride: [sh, sw], pad: [pt, pb, pl, pr], dilation: [dh, dw], groups } = g;
  if (sh !== 1 || sw !== 1 || groups !== 1 || cpg !== cin || Math.min(pt, pb, pl, pr) < 0) return null;
  const stage = stagingArea();
  const K = cin * kh * kw;
  if (!stage || K > MAX_TABLE_ROWS) return null;
  if (h + pt + pb - (kh - 1) * dh !== ho || w + pl + pr - (kw - 1) * dw !== wo) return null;
  const hp = h + Math.max(pt, pb);
  const wp = w + Math.max(pl, pr);
  // an output row or column past the pitch would overlap the next image or row
  if (ho > hp || wo > wp) return null;
  const plane = hp * wp;
  const chanOf = (nb: number): number => (pt + nb * hp + 1) * wp;
  const endOf = (nb: number): number => Math.ceil((cin * chanOf(nb) + wp + 16) / 4) * 4;
  const gridOf = (count: number): number => (count - 1) * plane + (ho - 1) * wp + wo;
  const at = (nb: number, base: number): DirectLayout => {
    const chan = chanOf(nb);
    const rowStart = new Int32Array(K);
    for (let ci = 0, r = 0; ci < cin; ci++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++, r++) rowStart[r] = base + ci * chan + ky * dh * wp + kx * dw;
    return { stage: stage.subarray(base), nb, hp, wp, chan, gridOf, rowStart, end: endOf(nb) };
  };
  return { hp, wp, gridOf, endOf, at };
}

/** The layout for x, or null where it does not apply or fit; `extra` floats per run are reserved after it. */
function directLayout(xShape: Shape, wShape: Shape, outShape: Shape, g: Conv2dGeometry, extra: (nb: number, grid: number) => number): DirectLayout | null {
  const G = directGeometry(xShape, wShape, outShape, g);
  if (!G) return null;
  const nb = runLength(xShape[0], (nb) => G.endOf(nb) + extra(nb, G.gridOf(nb)));
  return nb === 0 ? null : G.at(nb, 0);
}

/** The most images a run (n, halved until `floats` of a run fit the staging area), or 0. */
function runLength(n: number, floats: (nb: number) => number): number {
  const size = stagingArea()?.length ?? 0;
  let nb = n;
  while (nb > 0 && floats(nb) > size) nb = Math.floor(nb / 2);
  return nb;
}

/** Copies images b0 … b0+count of x into the staging area with zero padding (see DirectLayout). */
function stageImages(L: DirectLayout, x: Float32Array, b0: number, count: number, c: number, h: number, w: number, g: Conv2dGeometry): void {
  const [pt, , pl] = g.pad;
  parallelLoop('stageImages', [L.stage, x], [c, count, h, w, L.chan, L.wp, L.hp, pt, pl, b0, L.nb, L.end, L.stage.byteOffset, ROW_COPY], Math.min(c, LOOP_CHUNKS), L.end);
}

/** y ← max?(y·scale[c] + shift[c], 0) per output channel c, applied as a convolution's output is written. */
export interface ConvEpilogue {
  scale: ArrayLike<number>;
  shift: ArrayLike<number>;
  relu: boolean;
}

/** An epilogue as the copy-out loops take it: the affine export, relu 0/1, the scales, the shifts. */
const epilogueNums = (epi: ConvEpilogue): number[] => [AFFINE, epi.relu ? 1 : 0, ...Array.from(epi.scale), ...Array.from(epi.shift)];

/**
 * Weights read in place of a flipped copy: filter row i, column p at w[i·ars + cols[p]] (see
 * conv2dBackwardInput).
 */
interface FlippedWeights {
  ars: number;
  cols: Int32Array;
}

/**
 * forwardF32 through the direct layout, with `epi` applied in the copy-out, and `w` read through
 * `flipped` where given (wShape is then the flipped filter's); null where the layout does not apply or fit.
 */
function forwardDirect(x: Float32Array, xShape: Shape, w: Float32Array, wShape: Shape, outShape: Shape, g: Conv2dGeometry, epi?: ConvEpilogue, flipped?: FlippedWeights): Float32Array | null {
  const L = directLayout(xShape, wShape, outShape, g, () => 0);
  if (!L) return null;
  const [n, cin, h, wd] = xShape;
  const [cout, , kh, kw] = wShape;
  const [, , ho, wo] = outShape;
  const K = cin * kh * kw;
  const y = allocateUninitialized('float32', n * cout * ho * wo) as Float32Array;
  const epiNums = epi ? epilogueNums(epi) : [-1, 0];
  for (let b0 = 0; b0 < n; b0 += L.nb) {
    const count = Math.min(L.nb, n - b0);
    stageImages(L, x, b0, count, cin, h, wd, g);
    gemmIntoOutput(L, count, b0, w, K, flipped, y, outShape, epiNums);
  }
  return y;
}

/**
 * Y = W·col over the grid of a staged run of `count` images from image b0 (W [Cout, K], read through
 * `flipped` where given), its rows copied out into y [N, Cout, Ho, Wo] with the epilogue `epiNums`.
 */
function gemmIntoOutput(L: DirectLayout, count: number, b0: number, w: Float32Array, K: number, flipped: FlippedWeights | undefined, y: Float32Array, outShape: Shape, epiNums: number[]): void {
  const [, cout, ho, wo] = outShape;
  const tiling = denseTiling(L, ho, wo);
  gemmRowsF32(cout, tiling ? count * ho * wo : L.gridOf(count), K, w, 0, flipped?.ars ?? K, 1, L.rowStart, (r0, rows, j0, nc, src, srcOff, ldr) => {
    if (tiling) parallelLoop('emitDense', [src, y], [srcOff, ldr, r0, rows, j0, nc, ho * wo, cout, b0, ...epiNums], Math.min(rows, LOOP_CHUNKS), rows * nc);
    else parallelLoop('emitGrid', [src, y], [srcOff, ldr, r0, rows, j0, nc, L.wp, L.hp, ho, wo, cout, b0, ROW_COPY, ...epiNums], Math.min(rows, LOOP_CHUNKS), rows * nc);
  }, flipped?.cols, tiling);
}

/**
 * Whether a run's GEMM computes the output pixels alone, not the whole grid: the grid's padding columns
 * and rows are up to a fifth of it on small images (81 positions for 64 pixels at 8², 289 for 256 at
 * 16²). The same bits either way; tests turn it off to compare.
 */
let denseColumns = true;

/** Turns the dense columns of the direct layout's GEMMs off or on (tests). */
export function useDenseColumns(on: boolean): void {
  denseColumns = on;
}

/** gemmRowsF32's tiling for the output pixels of layout L (Ho × Wo an image), where Wo is whole tiles; else undefined (the grid). */
function denseTiling(L: DirectLayout, ho: number, wo: number): [number, number, number, number] | undefined {
  return denseColumns && wo % NR === 0 ? [wo / NR, L.wp, ho, L.hp * L.wp] : undefined;
}

/** One conv2dAffine of a pair: its weights, output shape, geometry and epilogue. */
export interface ConvAffineStage {
  w: TypedArray;
  wShape: Shape;
  outShape: Shape;
  g: Conv2dGeometry;
  epi: ConvEpilogue;
}

/**
 * Two direct-layout convolutions in a row whose pitches agree (3 × 3, padding 1, then the same again:
 * U-Net's double conv), run by run: the first's output goes from the GEMM's result straight into a
 * second staging area in the second's layout, its epilogue applied and its padding zeroed, where the
 * second's GEMM reads it. So the intermediate is never written out as [N, C, H, W] nor staged again. The
 * bits of forwardDirect twice; null where the layouts differ or do not fit.
 */
function forwardPair(x: Float32Array, xShape: Shape, a: ConvAffineStage, b: ConvAffineStage): Float32Array | null {
  // conv2dAffine runs a 1×1 conv on the pointwise GEMM, whose depth blocks (so roundings) are not these
  const pointwise = (inShape: Shape, c: ConvAffineStage): boolean => isPointwise(c.wShape[2], c.wShape[3], c.g, inShape[2], inShape[3], c.outShape[2], c.outShape[3]);
  if (pointwise(xShape, a) || pointwise(a.outShape, b)) return null;
  const Ga = directGeometry(xShape, a.wShape, a.outShape, a.g);
  const Gb = directGeometry(a.outShape, b.wShape, b.outShape, b.g);
  if (!Ga || !Gb || Ga.wp !== Gb.wp || Ga.hp !== Gb.hp) return null;
  const [n, cin, h, wd] = xShape;
  const nb = runLength(n, (nb) => Ga.endOf(nb) + Gb.endOf(nb));
  if (nb === 0) return null;
  const La = Ga.at(nb, 0);
  const Lb = Gb.at(nb, La.end);
  const [, cmid, ho, wo] = a.outShape;
  const [cout, , khb, kwb] = b.wShape;
  const [, , hob, wob] = b.outShape;
  const Ka = cin * a.wShape[2] * a.wShape[3];
  const Kb = cmid * khb * kwb;
  const { wp, hp } = La;
  // the first's output pixel (oy, ox) at grid position q is the second's staged (pt + oy, pl + ox)
  const lead = b.g.pad[0] * wp + b.g.pad[2];
  const [epiA, epiB] = [epilogueNums(a.epi), epilogueNums(b.epi)];
  const y = allocateUninitialized('float32', n * cout * hob * wob) as Float32Array;
  const stageB = Lb.stage.byteOffset / 4;
  for (let b0 = 0; b0 < n; b0 += nb) {
    const count = Math.min(nb, n - b0);
    stageImages(La, x, b0, count, cin, h, wd, a.g);
    const grid = La.gridOf(count);
    const tiling = denseTiling(La, ho, wo);
    gemmRowsF32(cmid, tiling ? count * ho * wo : grid, Ka, a.w as Float32Array, 0, Ka, 1, La.rowStart, (r0, rows, j0, nc, src, srcOff, ldr) => {
      parallelLoop(tiling ? 'emitDenseStaged' : 'emitStaged', [src], [srcOff, ldr, r0, rows, j0, nc, grid, wp, hp, ho, wo, stageB, Lb.chan, lead, ...epiA], Math.min(rows, LOOP_CHUNKS), rows * nc);
    }, undefined, tiling);
    gemmIntoOutput(Lb, count, b0, b.w as Float32Array, Kb, undefined, y, b.outShape, epiB);
  }
  return y;
}

/**
 * conv2dAffine(conv2dAffine(x, a), b): through forwardPair where it applies, else the two calls. The
 * same bits either way.
 */
export function conv2dAffinePair(x: TypedArray, xShape: Shape, a: ConvAffineStage, b: ConvAffineStage, dtype: DType): TypedArray {
  if (dtype === 'float32') {
    const fused = forwardPair(x as Float32Array, xShape, a, b);
    if (fused) return fused;
  }
  const mid = conv2dAffine(x, xShape, a.w, a.wShape, a.outShape, a.g, a.epi, dtype);
  try {
    return conv2dAffine(mid, a.outShape, b.w, b.wShape, b.outShape, b.g, b.epi, dtype);
  } finally {
    recycle(mid);
  }
}

/** The filter gradient through the direct layout: dW[co, row] = Σ_runs Σ_q dYgrid[co, q]·col[row, q]. */
function filterGradDirect(x: Float32Array, xShape: Shape, dy: Float32Array, dyShape: Shape, wShape: Shape, g: Conv2dGeometry): Float32Array | null {
  const [n, cin, h, wd] = xShape;
  const [cout, , kh, kw] = wShape;
  const [, , ho, wo] = dyShape;
  const K = cin * kh * kw;
  if (!dotsFit(cout, K)) return null;
  // dY rows on the grid (zeros elsewhere), plus the zero rows dotsF32's last row group reads
  const strideOf = (grid: number): number => Math.ceil(grid / 4) * 4 + 4;
  const L = directLayout(xShape, wShape, dyShape, g, (_, grid) => (cout + DOTS_SPARE_ROWS) * strideOf(grid));
  if (!L) return null;
  const { stage, wp } = L;
  const aStride = strideOf(L.gridOf(L.nb));
  const aEnd = L.end + (cout + DOTS_SPARE_ROWS) * aStride;
  for (let b0 = 0; b0 < n; b0 += L.nb) {
    const count = Math.min(L.nb, n - b0);
    stageImages(L, x, b0, count, cin, h, wd, g);
    // dY rows on the grid, and the spare zero rows after them
    parallelLoop('stageGrid', [stage, dy], [L.end, aStride, wp, L.hp, ho, wo, cout, b0, count, stage.byteOffset, ROW_COPY], Math.min(cout, LOOP_CHUNKS), cout * aStride);
    zeroFloats(stage, L.end + cout * aStride, aEnd);
    dotsF32(cout, K, L.gridOf(count), L.end, aStride, L.rowStart, b0 === 0);
  }
  const dw = allocateUninitialized('float32', cout * K) as Float32Array;
  dotsRead(cout, K, dw, 0);
  return dw;
}

function forwardF32(x: Float32Array, xShape: Shape, w: Float32Array, wShape: Shape, outShape: Shape, g: Conv2dGeometry): Float32Array {
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = outShape;
  const P = ho * wo;
  const K = cpg * kh * kw;
  const opg = cout / g.groups;
  const pointwise = isPointwise(kh, kw, g, h, wd, ho, wo);
  if (!pointwise) {
    const direct = forwardDirect(x, xShape, w, wShape, outShape, g);
    if (direct) return direct;
  }
  const y = allocateUninitialized('float32', n * cout * P) as Float32Array;
  for (let b = 0; b < n; b++) {
    for (let grp = 0; grp < g.groups; grp++) {
      const xOff = (b * cin + grp * cpg) * h * wd;
      const src: ColSource = { x, xOff, h, w: wd, kh, kw, ho, wo, g };
      gemmF32(opg, P, K, w, grp * opg * K, K, 1, x, xOff, P, 1, y, (b * cout + grp * opg) * P, P, pointwise ? undefined : colAsB(src), true);
    }
  }
  return y;
}

/**
 * Convolutions whose stride equals the kernel, without padding, dilation or groups (the 2×2 stride-2
 * transposed convolution of U-Net and its gradients): the patches do not overlap, so the im2col matrix
 * of the whole batch is a rearrangement of x (space-to-depth), X'[(ci, ky, kx), (b, oy, ox)] =
 * x[b, ci, oy·kh + ky, ox·kw + kx], staged once; then forward Y = W·X', input gradient
 * dX' = Wᵀ·dY scattered back (each cell of x once), filter gradient dW = dY·X'ᵀ (dots), each one GEMM
 * over all the images. dY is staged channel-major, [co, (b, oy, ox)].
 */
interface PatchLayout {
  stage: Float32Array;
  /** Output pixels of the whole batch, N·Ho·Wo, and the staged row pitch (a multiple of 4, plus 4). */
  np: number; pitch: number;
}

function patchLayout(xShape: Shape, wShape: Shape, outShape: Shape, g: Conv2dGeometry, rows: number): PatchLayout | null {
  const [n, cin] = xShape;
  const [, cpg, kh, kw] = wShape;
  const [, , ho, wo] = outShape;
  const { stride: [sh, sw], pad, dilation: [dh, dw], groups } = g;
  if (sh !== kh || sw !== kw || dh !== 1 || dw !== 1 || groups !== 1 || cpg !== cin || pad.some((p) => p !== 0) || (kh === 1 && kw === 1)) return null;
  const stage = stagingArea();
  if (!stage || cin * kh * kw > MAX_TABLE_ROWS) return null;
  const np = n * ho * wo;
  const pitch = Math.ceil(np / 4) * 4 + 4;
  // spare zero rows for dotsF32's last row group
  if ((rows + DOTS_SPARE_ROWS) * pitch + 16 > stage.length) return null;
  return { stage, np, pitch };
}

/** Stages X' (space-to-depth of x) at float `at`: row (ci, ky, kx) at at + row·pitch (loops.ts). */
function stagePatches(L: PatchLayout, at: number, x: Float32Array, xShape: Shape, kh: number, kw: number, ho: number, wo: number): void {
  const [n, c, h, w] = xShape;
  parallelLoop('stagePatches', [L.stage, x], [at, L.pitch, n, c, h, w, kh, kw, ho, wo], Math.min(c, LOOP_CHUNKS), x.length);
}

/** Stages dY channel-major at float `at`: row co at at + co·pitch, (b, oy, ox) along it. */
function stageChannels(L: PatchLayout, at: number, dy: Float32Array, dyShape: Shape): void {
  const [n, c, ho, wo] = dyShape;
  const P = ho * wo;
  for (let co = 0; co < c; co++) for (let b = 0; b < n; b++) L.stage.set(dy.subarray((b * c + co) * P, (b * c + co + 1) * P), at + co * L.pitch + b * P);
}

const rowsAt = (count: number, pitch: number, at = 0): Int32Array => Int32Array.from({ length: count }, (_, r) => at + r * pitch);

function forwardPatches(x: Float32Array, xShape: Shape, w: Float32Array, wShape: Shape, outShape: Shape, g: Conv2dGeometry): Float32Array | null {
  const [cout, cin, kh, kw] = wShape;
  const K = cin * kh * kw;
  const L = patchLayout(xShape, wShape, outShape, g, K);
  if (!L) return null;
  const [, , ho, wo] = outShape;
  const P = ho * wo;
  zeroFloats(L.stage, 0, (K + 1) * L.pitch);
  stagePatches(L, 0, x, xShape, kh, kw, ho, wo);
  const y = allocateUninitialized('float32', outShape[0] * cout * P) as Float32Array;
  gemmRowsF32(cout, L.np, K, w, 0, K, 1, rowsAt(K, L.pitch), (r0, rows, j0, nc, src, srcOff, ldr) => {
    for (let co = r0; co < r0 + rows; co++) {
      const at = srcOff + (co - r0) * ldr - j0;
      for (let q = j0; q < j0 + nc; ) {
        const b = Math.floor(q / P);
        const end = Math.min(j0 + nc, (b + 1) * P);
        y.set(src.subarray(at + q, at + end), (b * cout + co) * P + q - b * P);
        q = end;
      }
    }
  });
  return y;
}

let zipScatter = true;

/** Turns the zip2 scatter of 2 × 2 patches off or on (tests: the per-element scatter gives the same bits). */
export function useZipScatter(on: boolean): void {
  zipScatter = on;
}

/** The input gradient through the patch layout, plus bias[ci] on every cell where `bias` is given (null then unless the patches cover dx). */
function inputGradPatches(dy: Float32Array, dyShape: Shape, w: Float32Array, wShape: Shape, xShape: Shape, g: Conv2dGeometry, bias?: ArrayLike<number>): Float32Array | null {
  const [cout, cin, kh, kw] = wShape;
  const K = cin * kh * kw;
  const [n, , ho, wo] = dyShape;
  const [, , h, wd] = xShape;
  // the patches cover every cell of dx unless h or w leave a remainder
  const covered = h === ho * kh && wd === wo * kw;
  if (bias && !covered) return null;
  const L = patchLayout(xShape, wShape, dyShape, g, cout);
  if (!L) return null;
  zeroFloats(L.stage, 0, (cout + 1) * L.pitch);
  stageChannels(L, 0, dy, dyShape);
  const biasNums = bias ? [1, ...Array.from(bias)] : [0];
  const dx = (covered ? allocateUninitialized : allocate)('float32', n * cin * h * wd) as Float32Array;
  // where scatterPatches may build whole dx rows with zip2: past dY's rows and the zero row after them
  const free = L.stage.length - (cout + 1) * L.pitch;
  const pairs = zipScatter && kh === 2 && kw === 2 && wo % 4 === 0 && wd === 2 * wo;
  // dX'[(ci, ky, kx), q] = Σ_co W[co, (ci, ky, kx)]·dY[co, q]: A = Wᵀ read through strides
  gemmRowsF32(K, L.np, cout, w, 0, 1, K, rowsAt(cout, L.pitch), (r0, rows, j0, nc, src, srcOff, ldr) => {
    const whole = pairs && r0 % 4 === 0 && rows % 4 === 0;
    const count = Math.min(whole ? rows / 4 : Math.ceil(rows / kw), LOOP_CHUNKS);
    const slot = Math.floor(free / count / 4) * 4;
    const zip = whole && slot >= 4 * wo ? [L.stage.byteOffset + (cout + 1) * L.pitch * 4, slot, ZIP2] : [-1, 0, 0];
    parallelLoop('scatterPatches', [src, dx], [srcOff, ldr, r0, rows, j0, nc, ho, wo, kh, kw, cin, h, wd, ...zip, ...biasNums], count, rows * nc);
  });
  return dx;
}

function filterGradPatches(x: Float32Array, xShape: Shape, dy: Float32Array, dyShape: Shape, wShape: Shape, g: Conv2dGeometry): Float32Array | null {
  const [cout, cin, kh, kw] = wShape;
  const K = cin * kh * kw;
  if (!dotsFit(cout, K)) return null;
  const L = patchLayout(xShape, wShape, dyShape, g, K + cout + 1);
  if (!L) return null;
  const [, , ho, wo] = dyShape;
  const at = (K + 1) * L.pitch;
  zeroFloats(L.stage, 0, (K + cout + 1 + DOTS_SPARE_ROWS) * L.pitch);
  stagePatches(L, 0, x, xShape, kh, kw, ho, wo);
  stageChannels(L, at, dy, dyShape);
  dotsF32(cout, K, L.np, at, L.pitch, rowsAt(K, L.pitch), true);
  const dw = allocateUninitialized('float32', cout * K) as Float32Array;
  dotsRead(cout, K, dw, 0);
  return dw;
}

/**
 * conv2d with `epi` applied per output channel (a folded batch norm or bias, and a ReLU): inside the
 * copy-out of the direct layout where it applies, else as one loop over the output. The same bits as
 * conv2d followed by the separate multiply, add and relu.
 */
export function conv2dAffine(x: TypedArray, xShape: Shape, w: TypedArray, wShape: Shape, outShape: Shape, g: Conv2dGeometry, epi: ConvEpilogue, dtype: DType): TypedArray {
  if (dtype === 'float32' && !isPointwise(wShape[2], wShape[3], g, xShape[2], xShape[3], outShape[2], outShape[3])) {
    const direct = forwardDirect(x as Float32Array, xShape, w as Float32Array, wShape, outShape, g, epi);
    if (direct) return direct;
  }
  return applyEpilogue(conv2d(x, xShape, w, wShape, outShape, g, dtype), outShape, epi, dtype);
}

/** y ← relu?(y·scale[c] + shift[c]) per channel c of y [N, C, H, W], rounded as the separate ops round. */
function applyEpilogue(y: TypedArray, shape: Shape, epi: ConvEpilogue, dtype: DType): TypedArray {
  const [n, c, ho, wo] = shape;
  const P = ho * wo;
  const round = dtype === 'float32' ? Math.fround : (v: number) => v;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const [s, t] = [epi.scale[ch], epi.shift[ch]];
      for (let i = (b * c + ch) * P, end = i + P; i < end; i++) {
        const v = round(round(y[i] * s) + t);
        y[i] = epi.relu && !(v > 0) ? 0 : v;
      }
    }
  }
  return y;
}

/**
 * A transposed convolution of x with w (conv2dBackwardInput, x in the place of dy) plus bias[c] per
 * output channel: added in the scatter of the patch path where it applies, else in one loop after. The
 * same bits as the two apart.
 */
export function convTranspose2dBias(x: TypedArray, xShape: Shape, w: TypedArray, wShape: Shape, outShape: Shape, g: Conv2dGeometry, bias: TypedArray, dtype: DType): TypedArray {
  const fused = dtype === 'float32' ? inputGradPatches(x as Float32Array, xShape, w as Float32Array, wShape, outShape, g, bias) : null;
  if (fused) return fused;
  // y·1 is y exactly, so the epilogue with scale 1 is the bias add alone
  const ones = new Array<number>(bias.length).fill(1);
  return applyEpilogue(conv2dBackwardInput(x, xShape, w, wShape, outShape, g, dtype), outShape, { scale: ones, shift: bias, relu: false }, dtype);
}

export function conv2d(x: TypedArray, xShape: Shape, w: TypedArray, wShape: Shape, outShape: Shape, g: Conv2dGeometry, dtype: DType): TypedArray {
  if (dtype !== 'float32') return conv2dReference(x, xShape, w, wShape, outShape, g, dtype);
  const patches = forwardPatches(x as Float32Array, xShape, w as Float32Array, wShape, outShape, g);
  if (patches) return patches;
  return forwardF32(x as Float32Array, xShape, w as Float32Array, wShape, outShape, g);
}

// Scratch for dcol of one image (strided input gradient). Reused across calls and never returned.
let scratch = new Float32Array(0);
function colScratch(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch;
}

/** The adjoint of im2col: dx[ci, iy, ix] += col[row, pixel] for every pixel that read (iy, ix). */
function col2im(col: Float32Array, c: number, h: number, w: number, kh: number, kw: number, ho: number, wo: number, g: Conv2dGeometry, dx: Float32Array, xOff: number): void {
  const { stride: [sh, sw], pad: [pt, , pl], dilation: [dh, dw] } = g;
  let row = 0;
  for (let ci = 0; ci < c; ci++) {
    const plane = xOff + ci * h * w;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, row++) {
        const shift = kx * dw - pl;
        const lo = Math.min(wo, Math.max(0, Math.ceil(-shift / sw)));
        const hi = Math.max(lo, Math.min(wo, Math.floor((w - 1 - shift) / sw) + 1));
        let o = row * ho * wo;
        for (let oy = 0; oy < ho; oy++, o += wo) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          const dst = plane + iy * w + shift;
          for (let ox = lo; ox < hi; ox++) dx[dst + ox * sw] += col[o + ox];
        }
      }
    }
  }
}

export function conv2dBackwardInput(dy: TypedArray, dyShape: Shape, w: TypedArray, wShape: Shape, xShape: Shape, g: Conv2dGeometry, dtype: DType): TypedArray {
  if (dtype !== 'float32') return conv2dBackwardInputReference(dy, dyShape, w, wShape, xShape, g, dtype);
  const patches = inputGradPatches(dy as Float32Array, dyShape, w as Float32Array, wShape, xShape, g);
  if (patches) return patches;
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = dyShape;
  const { stride: [sh, sw], pad: [pt, pb, pl, pr], dilation: [dh, dw], groups } = g;
  const opg = cout / groups;
  if (sh === 1 && sw === 1) {
    // dx[ci, iy, ix] = Σ dy[co, iy + pt − ky·dh, …]·w[co, ci, ky, kx]: with ky' = kh−1−ky this is a
    // forward conv of dy with w' [Cin, Cout/G, kh, kw] = w flipped in space and swapped in channels,
    // w'[ci, co, k'] = w[co, ci, kk−1−k']: read so in place by the direct layout (no groups), else copied
    const pad: Conv2dGeometry['pad'] = [(kh - 1) * dh - pt, (kh - 1) * dh - pb, (kw - 1) * dw - pl, (kw - 1) * dw - pr];
    const flippedShape: Shape = [cin, opg, kh, kw];
    const geo: Conv2dGeometry = { stride: [1, 1], pad, dilation: [dh, dw], groups };
    const kk = kh * kw;
    if (groups === 1 && !isPointwise(kh, kw, geo, ho, wo, h, wd)) {
      const cols = Int32Array.from({ length: cout * kk }, (_, p) => Math.floor(p / kk) * cin * kk + kk - 1 - (p % kk));
      const direct = forwardDirect(dy as Float32Array, dyShape, w as Float32Array, flippedShape, xShape, geo, undefined, { ars: kk, cols });
      if (direct) return direct;
    }
    // (a recycled scratch: a fresh array of a large layer's weights costs more in page faults than the flip)
    const flipped = allocateUninitialized('float32', w.length) as Float32Array;
    for (let grp = 0; grp < groups; grp++) {
      for (let co = 0; co < opg; co++) {
        for (let ci = 0; ci < cpg; ci++) {
          const s = ((grp * opg + co) * cpg + ci) * kk;
          const d = ((grp * cpg + ci) * opg + co) * kk + kk - 1;
          for (let k = 0; k < kk; k++) flipped[d - k] = w[s + k];
        }
      }
    }
    const dx = forwardF32(dy as Float32Array, dyShape, flipped, flippedShape, xShape, geo);
    recycle(flipped);
    return dx;
  }
  const P = ho * wo;
  const K = cpg * kh * kw;
  const dx = allocate('float32', n * cin * h * wd) as Float32Array;
  const dcol = colScratch(groups * K * P);
  for (let b = 0; b < n; b++) {
    dcol.fill(0, 0, groups * K * P);
    for (let grp = 0; grp < groups; grp++) {
      gemmF32(K, P, opg, w as Float32Array, grp * opg * K, 1, K, dy as Float32Array, (b * cout + grp * opg) * P, P, 1, dcol, grp * K * P, P);
    }
    col2im(dcol, cin, h, wd, kh, kw, ho, wo, g, dx, b * cin * h * wd);
  }
  return dx;
}

export function conv2dBackwardFilter(x: TypedArray, xShape: Shape, dy: TypedArray, dyShape: Shape, wShape: Shape, g: Conv2dGeometry, dtype: DType): TypedArray {
  if (dtype !== 'float32') return conv2dBackwardFilterReference(x, xShape, dy, dyShape, wShape, g, dtype);
  const patches = filterGradPatches(x as Float32Array, xShape, dy as Float32Array, dyShape, wShape, g);
  if (patches) return patches;
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = wShape;
  const [, , ho, wo] = dyShape;
  const P = ho * wo;
  const K = cpg * kh * kw;
  const opg = cout / g.groups;
  // pointwise too: dots reads x's rows in place, where the GEMM would read xᵀ through strides
  const direct = filterGradDirect(x as Float32Array, xShape, dy as Float32Array, dyShape, wShape, g);
  if (direct) return direct;
  const pointwise = isPointwise(kh, kw, g, h, wd, ho, wo);
  const dw = allocate('float32', cout * K) as Float32Array;
  for (let b = 0; b < n; b++) {
    for (let grp = 0; grp < g.groups; grp++) {
      const xOff = (b * cin + grp * cpg) * h * wd;
      const src: ColSource = { x: x as Float32Array, xOff, h, w: wd, kh, kw, ho, wo, g };
      // pointwise: colᵀ(p, j) = x[j·P + p], read through strides
      gemmF32(opg, K, P, dy as Float32Array, (b * cout + grp * opg) * P, P, 1, x as Float32Array, xOff, 1, P, dw, grp * opg * K, K, pointwise ? undefined : colTAsB(src));
    }
  }
  return dw;
}
