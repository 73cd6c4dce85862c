/**
 * Loop bodies the cpu backend splits between the main thread and the GEMM's worker (parallel.ts): the
 * data movement around the convolution GEMMs, batch norm, the elementwise SIMD ops, 2×2 max pooling and
 * Adam. Each body computes chunk `k` of `count` over `arrays` (views of SharedArrayBuffers, or anything
 * when it runs on this thread alone) and `nums`. They must stay self-contained (no imports, no module
 * constants or helpers outside the body), because the worker compiles their source text; a whole loop
 * gives the same bits however its chunks are split. Zeros are written by loops, not TypedArray fill:
 * fill on the shared WebAssembly memory is slow.
 */

/**
 * This thread's instance of the WebAssembly functions loops may call, in wasm-kernel.ts's LOOP_EXPORTS
 * order: the elementwise loops (a, b, out, n), then rowCopy (src, dst, rows, bytes, srcStride,
 * dstStride) and affine (at, n, scale, shift, relu). Both threads have the same code on the same memory.
 */
export type LoopKernels = readonly ((...args: number[]) => void)[];

/** Chunk k of count of a loop over shared arrays and numbers (see above), with this thread's kernels. */
export type LoopBody = (arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels) => void;

/**
 * Stages images into the direct layout of conv.ts (see DirectLayout), channels split between chunks:
 * arrays [stage, x], nums [c, images, h, w, chan, wp, hp, pt, pl, b0, slots, end, stageByte, rowCopy].
 * Writes every float of [0, end): image rows at column pl, zeros around them, zero rows between
 * images and for the slots past `images`, and zeros from c·chan to `end` (the last chunk). Each
 * image plane is one contiguous copy, spread to its row pitch in place by the kernel's rowCopy (last
 * row first, so no row is overwritten before it moves): one copy a plane rather than one a row.
 */
function stageImagesLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const stage = arrays[0] as Float32Array;
  const x = arrays[1] as Float32Array;
  const [c, images, h, w, chan, wp, hp, pt, pl, b0, slots, end, stageByte, rowCopy] = nums;
  const ci0 = Math.floor((k * c) / count);
  const ci1 = Math.floor(((k + 1) * c) / count);
  for (let ci = ci0; ci < ci1; ci++) {
    const base = ci * chan;
    for (let t = base; t < base + pt * wp; t++) stage[t] = 0;
    for (let b = 0; b < slots; b++) {
      const top = base + (pt + b * hp) * wp;
      if (b >= images) {
        for (let t = top; t < top + hp * wp; t++) stage[t] = 0;
        continue;
      }
      const d0 = top + pl;
      const src = ((b0 + b) * c + ci) * h * w;
      // V8 copies between shared buffers a word (8 bytes) at a time only where source and destination
      // are word-aligned alike, else a byte at a time, about 4× slower: a plane that would land a float
      // off goes one float early, into this image's left padding (zeroed below), and every row moves
      const at = pl > 0 && (stageByte + 4 * (d0 - src) - x.byteOffset) % 8 !== 0 ? d0 - 1 : d0;
      stage.set(x.subarray(src, src + h * w), at);
      // every row to its place, last first (a row already there copies onto itself)
      if (wp !== w || at !== d0) ew[rowCopy](stageByte + (at + (h - 1) * w) * 4, stageByte + (d0 + (h - 1) * wp) * 4, h, w * 4, -w * 4, -wp * 4);
      for (let t = top; t < d0; t++) stage[t] = 0;
      for (let r = 0; r < h; r++) for (let t = d0 + r * wp + w; t < d0 + (r + 1) * wp; t++) stage[t] = 0;
      for (let t = d0 + h * wp; t < top + hp * wp; t++) stage[t] = 0;
    }
    for (let t = base + (pt + slots * hp) * wp; t < base + chan; t++) stage[t] = 0;
  }
  if (k === count - 1) for (let t = c * chan; t < end; t++) stage[t] = 0;
}

/**
 * Copies rows of a GEMM result laid out on the direct layout's grid into the output [N, Cout, Ho, Wo],
 * rows split between chunks: arrays [memory, y], nums [rFloat, ldr, r0, rows, j0, nc, wp, hp, ho, wo,
 * cout, b0, rowCopy, affine, relu, scale[0…cout), shift[0…cout)]. Row i of the block (channel r0 + i)
 * holds grid positions j0 … j0+nc at rFloat + i·ldr (memory is the whole WebAssembly memory); grid
 * position q = (b·hp + oy)·wp + ox, and those with ox ≥ Wo or oy ≥ Ho are dropped. Where `affine` (the
 * export's index) is not −1, each value copied out becomes value·scale[co] + shift[co], then max(·, 0)
 * with relu 1. The image rows wholly inside the block are packed to pitch Wo in place (by rowCopy, or by
 * the affine as it transforms them; first row first) and copied out at once; rows cut by the block's
 * ends, one by one.
 */
function emitGridLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const mem = arrays[0] as Float32Array;
  const y = arrays[1] as Float32Array;
  const [rFloat, ldr, r0, rows, j0, nc, wp, hp, ho, wo, cout, b0, rowCopy, affine, relu] = nums;
  const i0 = Math.floor((k * rows) / count);
  const i1 = Math.floor(((k + 1) * rows) / count);
  // the affine on `rows` rows of n floats from float `from`, written from float `to` (strides in floats)
  const transform = (from: number, to: number, rows: number, n: number, fromStride: number, toStride: number, co: number): void =>
    ew[affine](from * 4 + mem.byteOffset, to * 4 + mem.byteOffset, rows, n, fromStride * 4, toStride * 4, nums[15 + co], nums[15 + cout + co], relu);
  const copyRow = (src: number, row: number, b: number, oy: number, co: number): void => {
    const qs = Math.max(j0, row * wp);
    const qe = Math.min(j0 + nc, row * wp + wo);
    if (qe <= qs) return;
    const d = (((b0 + b) * cout + co) * ho + oy) * wo + qs - row * wp;
    if (affine >= 0) transform(src + qs, src + qs, 1, qe - qs, 0, 0, co);
    y.set(mem.subarray(src + qs, src + qe), d);
  };
  for (let i = i0; i < i1; i++) {
    const co = r0 + i;
    const src = rFloat + i * ldr - j0;
    const bFirst = Math.floor(Math.floor(j0 / wp) / hp);
    const bLast = Math.floor(Math.floor((j0 + nc - 1) / wp) / hp);
    for (let b = bFirst; b <= bLast; b++) {
      // rows of image b whose whole span [row·wp, row·wp + wo) lies in [j0, j0 + nc)
      let oyA = Math.max(0, Math.ceil(j0 / wp) - b * hp);
      let oyB = Math.min(ho, Math.floor((j0 + nc - wo) / wp) - b * hp + 1);
      if (oyB < oyA) oyB = oyA;
      for (let oy = 0; oy < Math.min(oyA, ho); oy++) copyRow(src, b * hp + oy, b, oy, co);
      for (let oy = Math.max(oyB, 0); oy < ho; oy++) copyRow(src, b * hp + oy, b, oy, co);
      if (oyB <= oyA) continue;
      const at = src + (b * hp + oyA) * wp;
      const d = (((b0 + b) * cout + co) * ho + oyA) * wo;
      // word-aligned with y (see stageImages): else packed one float early, over a position already
      // copied out or dropped, where that still lies in this channel's row of the block
      const to = (mem.byteOffset + 4 * (at - d) - y.byteOffset) % 8 !== 0 && at > rFloat + i * ldr ? at - 1 : at;
      // rows packed to pitch Wo, first first (and the affine applied on the way, to each row once)
      if (affine >= 0) transform(at, to, oyB - oyA, wo, wp, wo, co);
      else if (wp !== wo || to !== at) ew[rowCopy](at * 4 + mem.byteOffset, to * 4 + mem.byteOffset, oyB - oyA, wo * 4, wp * 4, wo * 4);
      y.set(mem.subarray(to, to + (oyB - oyA) * wo), d);
    }
  }
}

/**
 * Writes rows of a GEMM result on the direct layout's grid into a second staging area, in the layout
 * of a convolution that reads that result next with the same pitches (conv.ts, forwardPair), rows split
 * between chunks: arrays [memory], nums [rFloat, ldr, r0, rows, j0, nc, grid, wp, hp, ho, wo, dst,
 * chan, lead, affine, relu, scale[0…C), shift[0…C)] (C the result's rows). Grid position q of channel co goes to float
 * dst + co·chan + lead + q of memory as value·scale[co] + shift[co] (then max(·, 0) with relu 1); the
 * positions that are padding there (ox ≥ Wo or oy ≥ Ho) get 0, and so do [0, lead) of the channel with
 * the block at j0 = 0 and [lead + grid, chan) with the block that ends the grid.
 */
function emitStagedLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const mem = arrays[0] as Float32Array;
  const [rFloat, ldr, r0, rows, j0, nc, grid, wp, hp, ho, wo, dst, chan, lead, affine, relu] = nums;
  const cout = (nums.length - 16) / 2;
  const i0 = Math.floor((k * rows) / count);
  const i1 = Math.floor(((k + 1) * rows) / count);
  for (let i = i0; i < i1; i++) {
    const co = r0 + i;
    const at = dst + co * chan + lead;
    ew[affine]((rFloat + i * ldr) * 4 + mem.byteOffset, (at + j0) * 4 + mem.byteOffset, 1, nc, 0, 0, nums[16 + co], nums[16 + cout + co], relu);
    for (let row = Math.floor(j0 / wp), last = Math.floor((j0 + nc - 1) / wp); row <= last; row++) {
      const from = Math.max(j0, row * wp + (row % hp < ho ? wo : 0));
      const to = Math.min(j0 + nc, (row + 1) * wp);
      for (let q = from; q < to; q++) mem[at + q] = 0;
    }
    if (j0 === 0) for (let t = at - lead; t < at; t++) mem[t] = 0;
    if (j0 + nc === grid) for (let t = at + grid; t < at - lead + chan; t++) mem[t] = 0;
  }
}

/**
 * emitGridLoop for a GEMM result whose columns are dense (gemmRowsF32's tiling: each image's output
 * pixels in order, no padding), so a row's run of an image is one contiguous piece of the output:
 * arrays [memory, y], nums [rFloat, ldr, r0, rows, j0, nc, plane, cout, b0, affine, relu, scale[0…cout),
 * shift[0…cout)], plane = Ho·Wo. Row i (channel r0 + i) holds dense positions j0 … j0+nc at
 * rFloat + i·ldr; position d of the run is pixel d − b·plane of image b0 + b. The affine, where not −1,
 * is applied in place first. Every offset is even on both sides (plane, j0, ldr and the result region's
 * start are, y starts a buffer), so V8 copies them a word at a time (see stageImages).
 */
function emitDenseLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const mem = arrays[0] as Float32Array;
  const y = arrays[1] as Float32Array;
  const [rFloat, ldr, r0, rows, j0, nc, plane, cout, b0, affine, relu] = nums;
  const i1 = Math.floor(((k + 1) * rows) / count);
  for (let i = Math.floor((k * rows) / count); i < i1; i++) {
    const co = r0 + i;
    for (let b = Math.floor(j0 / plane); b * plane < j0 + nc; b++) {
      const d0 = Math.max(j0, b * plane);
      const d1 = Math.min(j0 + nc, (b + 1) * plane);
      const src = rFloat + i * ldr + d0 - j0;
      if (affine >= 0) ew[affine](src * 4 + mem.byteOffset, src * 4 + mem.byteOffset, 1, d1 - d0, 0, 0, nums[11 + co], nums[11 + cout + co], relu);
      y.set(mem.subarray(src, src + d1 - d0), ((b0 + b) * cout + co) * plane + d0 - b * plane);
    }
  }
}

/**
 * emitStagedLoop for a dense GEMM result (see emitDenseLoop): arrays [memory], nums [rFloat, ldr, r0,
 * rows, j0, nc, grid, wp, hp, ho, wo, dst, chan, lead, affine, relu, scale[0…C), shift[0…C)], C the
 * result's rows. Dense position d = (b·Ho + oy)·Wo + ox goes to float dst + co·chan + lead + q of memory,
 * q = (b·hp + oy)·wp + ox its grid position, as value·scale[co] + shift[co] (then max(·, 0) with relu 1),
 * the image rows inside the block by one affine call an image. The block with j0 = 0 zeroes every place
 * of the channel no position goes to: [0, lead), each row's ox ≥ Wo, the rows oy ≥ Ho, [lead + grid, chan).
 */
function emitDenseStagedLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const mem = arrays[0] as Float32Array;
  const [rFloat, ldr, r0, rows, j0, nc, grid, wp, hp, ho, wo, dst, chan, lead, affine, relu] = nums;
  const cout = (nums.length - 16) / 2;
  const i1 = Math.floor(((k + 1) * rows) / count);
  for (let i = Math.floor((k * rows) / count); i < i1; i++) {
    const co = r0 + i;
    const at = dst + co * chan + lead;
    const [scale, shift] = [nums[16 + co], nums[16 + cout + co]];
    const src = rFloat + i * ldr - j0;
    // rows rA … rB − 1 of the run (r = b·Ho + oy) from dense position d0 of row rA's, n floats a row
    const put = (rA: number, rB: number, d0: number, n: number): void => {
      const b = Math.floor(rA / ho);
      const q = (b * hp + rA - b * ho) * wp + d0 - rA * wo;
      ew[affine]((src + d0) * 4 + mem.byteOffset, (at + q) * 4 + mem.byteOffset, rB - rA, n, wo * 4, wp * 4, scale, shift, relu);
    };
    const end = j0 + nc;
    let r = Math.floor(j0 / wo);
    // a row the block starts inside
    if (j0 > r * wo) put(r, r + 1, j0, Math.min(end, (r + 1) * wo) - j0), r++;
    // whole rows, an image's at a time
    while ((r + 1) * wo <= end) {
      const rB = Math.min(Math.floor(end / wo), (Math.floor(r / ho) + 1) * ho);
      put(r, rB, r * wo, wo);
      r = rB;
    }
    // a row the block ends inside
    if (r * wo < end) put(r, r + 1, r * wo, end - r * wo);
    if (j0 !== 0) continue;
    for (let t = at - lead; t < at; t++) mem[t] = 0;
    for (let b = 0; b * hp * wp < grid; b++) {
      for (let oy = 0; oy < hp; oy++) {
        const row = at + (b * hp + oy) * wp;
        for (let t = oy < ho ? row + wo : row; t < row + wp && t < at + grid; t++) mem[t] = 0;
      }
    }
    for (let t = at + grid; t < at - lead + chan; t++) mem[t] = 0;
  }
}

/**
 * Stages dY [N, Cout, Ho, Wo] onto the direct layout's grid for the filter gradient, channels split
 * between chunks: arrays [stage, dy], nums [aBase, aStride, wp, hp, ho, wo, cout, b0, images,
 * stageByte, rowCopy]. Row co at aBase + co·aStride gets dY[b0 + b, co, oy, ox] at grid position
 * (b·hp + oy)·wp + ox and zeros in every other position up to aStride; each plane is one copy, spread
 * to pitch wp in place by rowCopy as in stageImages.
 */
function stageGridLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const stage = arrays[0] as Float32Array;
  const dy = arrays[1] as Float32Array;
  const [aBase, aStride, wp, hp, ho, wo, cout, b0, images, stageByte, rowCopy] = nums;
  const c0 = Math.floor((k * cout) / count);
  const c1 = Math.floor(((k + 1) * cout) / count);
  for (let co = c0; co < c1; co++) {
    const base = aBase + co * aStride;
    // everything before t is written
    let t = base;
    for (let b = 0; b < images; b++) {
      const top = base + b * hp * wp;
      const src = ((b0 + b) * cout + co) * ho * wo;
      // word-aligned with dy (see stageImages): else one float early, over a zero written just below
      // (put back after), where there is one
      const at = t < top && (stageByte + 4 * (top - src) - dy.byteOffset) % 8 !== 0 ? top - 1 : top;
      for (; t < top; t++) stage[t] = 0;
      stage.set(dy.subarray(src, src + ho * wo), at);
      if (wp !== wo || at !== top) ew[rowCopy](stageByte + (at + (ho - 1) * wo) * 4, stageByte + (top + (ho - 1) * wp) * 4, ho, wo * 4, -wo * 4, -wp * 4);
      if (at !== top) stage[at] = 0;
      for (let r = 0; r < ho - 1; r++) for (let z = top + r * wp + wo; z < top + (r + 1) * wp; z++) stage[z] = 0;
      t = top + (ho - 1) * wp + wo;
    }
    for (; t < base + aStride; t++) stage[t] = 0;
  }
}

/**
 * Batch-norm training forward over x [N, C, H, W], channels split between chunks: arrays [x, y, s]
 * with s a Float64Array [mean | variance | γ | β] (each C; the first two are written), nums [n, c, hw,
 * eps, relu] (relu 1: y = max(·, 0), the bits of a separate relu). Statistics in float64 with sums
 * shifted by the channel's first value (large means do not cancel), four partial sums each (one running
 * sum is a chain of dependent adds).
 */
function batchNormForwardLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number): void {
  const x = arrays[0];
  const y = arrays[1] as Float32Array | Float64Array;
  const s = arrays[2] as Float64Array;
  const [n, c, hw, eps, relu] = nums;
  const count1 = n * hw;
  const ch0 = Math.floor((k * c) / count);
  const ch1 = Math.floor(((k + 1) * c) / count);
  for (let ch = ch0; ch < ch1; ch++) {
    const x0 = x[ch * hw];
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      const end = base + hw;
      let i = base;
      for (; i + 3 < end; i += 4) {
        const d0 = x[i] - x0, d1 = x[i + 1] - x0, d2 = x[i + 2] - x0, d3 = x[i + 3] - x0;
        s0 += d0; s1 += d1; s2 += d2; s3 += d3;
        q0 += d0 * d0; q1 += d1 * d1; q2 += d2 * d2; q3 += d3 * d3;
      }
      for (; i < end; i++) {
        const d = x[i] - x0;
        s0 += d;
        q0 += d * d;
      }
    }
    const m = (s0 + s1 + (s2 + s3)) / count1;
    const v = Math.max(0, (q0 + q1 + (q2 + q3)) / count1 - m * m);
    s[ch] = x0 + m;
    s[c + ch] = v;
    const sc = s[2 * c + ch] / Math.sqrt(v + eps);
    const sh = s[3 * c + ch] - (x0 + m) * sc;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      if (relu) {
        for (let i = base, end = base + hw; i < end; i++) {
          const v = x[i] * sc + sh;
          y[i] = v > 0 ? v : 0;
        }
      } else for (let i = base, end = base + hw; i < end; i++) y[i] = x[i] * sc + sh;
    }
  }
}

/**
 * Batch-norm training backward, channels split between chunks: arrays [dy, x, dx, s] with s a
 * Float64Array [mean | variance | γ | dγ | dβ] (each C; the last two are written), nums [n, c, hw,
 * eps]. With x̂ = (x − μ)·r, r = 1/√(σ² + eps) and means over N·H·W:
 * dx = γ·r·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy.
 */
function batchNormBackwardLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number): void {
  const dy = arrays[0];
  const x = arrays[1];
  const dx = arrays[2] as Float32Array | Float64Array;
  const s = arrays[3] as Float64Array;
  const [n, c, hw, eps] = nums;
  const count1 = n * hw;
  const ch0 = Math.floor((k * c) / count);
  const ch1 = Math.floor(((k + 1) * c) / count);
  for (let ch = ch0; ch < ch1; ch++) {
    const mu = s[ch];
    const r = 1 / Math.sqrt(s[c + ch] + eps);
    let g0 = 0, g1 = 0, g2 = 0, g3 = 0, h0 = 0, h1 = 0, h2 = 0, h3 = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      const end = base + hw;
      let i = base;
      for (; i + 3 < end; i += 4) {
        const e0 = dy[i], e1 = dy[i + 1], e2 = dy[i + 2], e3 = dy[i + 3];
        g0 += e0; g1 += e1; g2 += e2; g3 += e3;
        h0 += e0 * (x[i] - mu); h1 += e1 * (x[i + 1] - mu); h2 += e2 * (x[i + 2] - mu); h3 += e3 * (x[i + 3] - mu);
      }
      for (; i < end; i++) {
        g0 += dy[i];
        h0 += dy[i] * (x[i] - mu);
      }
    }
    const sg = g0 + g1 + (g2 + g3);
    const sgx = h0 + h1 + (h2 + h3);
    s[3 * c + ch] = sgx * r;
    s[4 * c + ch] = sg;
    // dx = a·dy + bc·(x − μ) + k0, with a = γr, bc = −γr³·mean(dy·(x − μ)), k0 = −γr·mean(dy)
    const a = s[2 * c + ch] * r;
    const bc = (-a * r * r * sgx) / count1;
    const k0 = (-a * sg) / count1 - bc * mu;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = base, end = base + hw; i < end; i++) dx[i] = a * dy[i] + bc * x[i] + k0;
    }
  }
}

/**
 * batchNormForwardLoop and batchNormBackwardLoop for float32 through the kernel's batch-norm loops, the
 * same bits: arrays [x, x, y, s, stage] forward, [dy, x, dx, s, stage] backward; nums [n, c, hw, eps,
 * stageByte, slot, bnSums, backward, relu] (relu: the elementwise relu export applied to y, or −1). Chunk k copies runs of each plane (of x forward; of dy and x side
 * by side backward) into its slot of the staging area (`slot` floats from k·slot: 16 for the float64
 * partial sums, then the runs) and sums them there four lanes at a time (bnSums, bnDotSums), adding a
 * plane's last hw mod 4 values here as the JS loops do; then copies the runs in again, computes the
 * output there (bnApply, bnGradApply) and copies it out.
 */
function batchNormSimdLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const a = arrays[0] as Float32Array;
  const x = arrays[1] as Float32Array;
  const out = arrays[2] as Float32Array;
  const s = arrays[3] as Float64Array;
  const stage = arrays[4] as Float32Array;
  const [n, c, hw, eps, stageByte, slot, bnSums, backward, relu] = nums;
  const acc = k * slot;
  const piece = backward ? Math.floor((slot - 24) / 8) * 4 : slot - 24;
  const aAt = acc + 16;
  const xAt = aAt + piece + 4;
  const [aByte, xByte, accByte] = [stageByte + aAt * 4, stageByte + xAt * 4, stageByte + acc * 4];
  const partial = new Float64Array(stage.buffer, stage.byteOffset + acc * 4, 8);
  const count1 = n * hw;
  const main = hw - (hw % 4);
  const ch0 = Math.floor((k * c) / count);
  const ch1 = Math.floor(((k + 1) * c) / count);
  // stages the runs of the plane at `base` over [0, end), calling f(len, at) after each (at: its start)
  const eachRun = (base: number, end: number, f: (len: number, at: number) => void): void => {
    for (let at = base; at < base + end; at += piece) {
      const len = Math.min(piece, base + end - at);
      stage.set(a.subarray(at, at + len), aAt);
      if (backward) stage.set(x.subarray(at, at + len), xAt);
      f(len, at);
    }
  };
  const planes = (ch: number, f: (base: number) => void): void => {
    for (let b = 0; b < n; b++) f((b * c + ch) * hw);
  };
  for (let ch = ch0; ch < ch1; ch++) {
    // the value the sums are shifted by: the channel's first x forward, its mean backward
    const x0 = backward ? s[ch] : a[ch * hw];
    partial.fill(0);
    planes(ch, (base) => {
      if (backward) eachRun(base, main, (len) => ew[bnSums + 1](aByte, xByte, len, x0, accByte));
      else eachRun(base, main, (len) => ew[bnSums](aByte, len, x0, accByte));
      for (let i = base + main; i < base + hw; i++) {
        const d = backward ? a[i] : a[i] - x0;
        partial[0] += d;
        partial[4] += backward ? a[i] * (x[i] - x0) : d * d;
      }
    });
    const s1 = partial[0] + partial[1] + (partial[2] + partial[3]);
    const s2 = partial[4] + partial[5] + (partial[6] + partial[7]);
    if (backward) {
      const r = 1 / Math.sqrt(s[c + ch] + eps);
      s[3 * c + ch] = s2 * r;
      s[4 * c + ch] = s1;
      // dx = g·dy + bc·x + k0 (batchNormBackwardLoop)
      const g = s[2 * c + ch] * r;
      const bc = (-g * r * r * s2) / count1;
      const k0 = (-g * s1) / count1 - bc * x0;
      planes(ch, (base) => eachRun(base, hw, (len, at) => {
        ew[bnSums + 3](aByte, xByte, len, g, bc, k0);
        out.set(stage.subarray(aAt, aAt + len), at);
      }));
    } else {
      const m = s1 / count1;
      const v = Math.max(0, s2 / count1 - m * m);
      s[ch] = x0 + m;
      s[c + ch] = v;
      const sc = s[2 * c + ch] / Math.sqrt(v + eps);
      const sh = s[3 * c + ch] - (x0 + m) * sc;
      planes(ch, (base) => eachRun(base, hw, (len, at) => {
        ew[bnSums + 2](aByte, len, sc, sh);
        if (relu >= 0) ew[relu](aByte, 0, aByte, len);
        out.set(stage.subarray(aAt, aAt + len), at);
      }));
    }
  }
}

/**
 * out = op(a, b) through a WebAssembly elementwise loop (elementwise-simd.ts), the flat output split
 * between chunks: arrays [a, b, out, stage], nums [fn, n, inner, rank, aScalar, bScalar, stageFloat,
 * stageByte, slot, ...shape, ...stridesA, ...stridesB] over the broadcast plan's outer axes (shape
 * and strides of the rank − 1 outer axes; the inner axis has `inner` elements, stride 1 for a run or
 * 0 for a single value, per input). Chunk k copies its runs through slot k of the staging area
 * (three arrays of `slot` floats: a, b, result). A unary op passes bScalar 2: no b.
 */
function elementwiseLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const a = arrays[0] as Float32Array;
  const b = arrays[1] as Float32Array;
  const out = arrays[2] as Float32Array;
  const stage = arrays[3] as Float32Array;
  const [fn, n, inner, rank, aScalar, bScalar, stageFloat, stageByte, slot] = nums;
  const outer = rank - 1;
  const f = ew[fn];
  const sa = stageFloat + k * 3 * slot;
  const ba = stageByte + k * 3 * slot * 4;
  // chunk bounds on multiples of 4, so every chunk but the last computes whole SIMD lanes
  const lo = Math.floor((k * n) / count / 4) * 4;
  const hi = k === count - 1 ? n : Math.floor(((k + 1) * n) / count / 4) * 4;
  for (let o = lo; o < hi; ) {
    const row = Math.floor(o / inner);
    const col = o - row * inner;
    let oa = 0;
    let ob = 0;
    for (let d = outer - 1, r = row; d >= 0; d--) {
      const size = nums[9 + d];
      const i = r % size;
      r = (r - i) / size;
      oa += i * nums[9 + outer + d];
      ob += i * nums[9 + 2 * outer + d];
    }
    const len = Math.min(slot, inner - col, hi - o);
    if (aScalar) stage[sa] = a[oa];
    else stage.set(a.subarray(oa + col, oa + col + len), sa);
    if (bScalar === 1) stage[sa + slot] = b[ob];
    else if (bScalar === 0) stage.set(b.subarray(ob + col, ob + col + len), sa + slot);
    f(ba, ba + slot * 4, ba + 2 * slot * 4, len);
    out.set(stage.subarray(sa + 2 * slot, sa + 2 * slot + len), o);
    o += len;
  }
}

/**
 * 2×2 stride-2 max pooling without padding (pool.ts), channel planes split between chunks: arrays
 * [x, dy, out], nums [planes, h, w, ho, wo, backward]. The first cell of a window wins unless a later
 * one is greater (pool.ts's window scan, unrolled). Forward out[o] = x[argmax]; backward
 * out[argmax] = dy[o] into a zeroed out (the windows do not overlap).
 */
function halvingMaxPoolLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number): void {
  const x = arrays[0];
  const dy = arrays[1];
  const out = arrays[2] as Float32Array | Float64Array;
  const [planes, h, w, ho, wo, backward] = nums;
  const p0 = Math.floor((k * planes) / count);
  const p1 = Math.floor(((k + 1) * planes) / count);
  for (let p = p0, o = p0 * ho * wo; p < p1; p++) {
    for (let oy = 0; oy < ho; oy++) {
      let i = p * h * w + 2 * oy * w;
      for (let ox = 0; ox < wo; ox++, o++, i += 2) {
        // the first maximum in window order, branch-free: on random data each `if` would mispredict
        // half the time (2.2× slower)
        let at = i + +(x[i + 1] > x[i]);
        at += +(x[i + w] > x[at]) * (i + w - at);
        at += +(x[i + w + 1] > x[at]) * (i + w + 1 - at);
        if (backward) out[at] = dy[o];
        else out[o] = x[at];
      }
    }
  }
}

/**
 * The forward of halvingMaxPoolLoop for float32 through the kernel's maxPool2 (4 windows at a time),
 * planes split between chunks: arrays [x, out, stage], nums [planes, h, w, ho, wo, stageFloat,
 * stageByte, slot, maxPool2]. Chunk k copies bands of input rows into its slot of the staging area
 * (`slot` floats from stageFloat + k·slot, room for at least one output row's band), pools them there
 * and copies the outputs out; the same bits as the JS loop.
 */
function halvingMaxPoolSimdLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const x = arrays[0] as Float32Array;
  const out = arrays[1] as Float32Array;
  const stage = arrays[2] as Float32Array;
  const [planes, h, w, ho, wo, stageFloat, stageByte, slot, maxPool2] = nums;
  const at = stageFloat + k * slot;
  // a band of `band` output rows: 2·band input rows, 8 floats the last groups read past them, the
  // outputs (on a multiple of 4) and 4 floats the last group writes past them
  const band = Math.max(1, Math.min(ho, Math.floor((slot - 16) / (2 * w + wo))));
  const outAt = at + Math.ceil((2 * band * w + 8) / 4) * 4;
  const p0 = Math.floor((k * planes) / count);
  const p1 = Math.floor(((k + 1) * planes) / count);
  for (let p = p0; p < p1; p++) {
    for (let oy = 0; oy < ho; oy += band) {
      const rows = Math.min(band, ho - oy);
      const src = p * h * w + 2 * oy * w;
      stage.set(x.subarray(src, src + 2 * rows * w), at);
      ew[maxPool2](stageByte + at * 4, stageByte + outAt * 4, rows, w, wo);
      out.set(stage.subarray(outAt, outAt + rows * wo), (p * ho + oy) * wo);
    }
  }
}

/**
 * Stages X', the space-to-depth rearrangement of x [N, C, H, W] for non-overlapping kh×kw patches
 * (conv.ts), channels split between chunks: arrays [stage, x], nums [at, pitch, n, c, h, w, kh, kw,
 * ho, wo]. Row (ci, ky, kx) at at + row·pitch holds x[b, ci, oy·kh + ky, ox·kw + kx] along (b, oy, ox).
 */
function stagePatchesLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number): void {
  const stage = arrays[0] as Float32Array;
  const x = arrays[1];
  const [at, pitch, n, c, h, w, kh, kw, ho, wo] = nums;
  const c0 = Math.floor((k * c) / count);
  const c1 = Math.floor(((k + 1) * c) / count);
  for (let ci = c0; ci < c1; ci++)
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++) {
        let o = at + ((ci * kh + ky) * kw + kx) * pitch;
        for (let b = 0; b < n; b++)
          for (let oy = 0; oy < ho; oy++) {
            let src = ((b * c + ci) * h + oy * kh + ky) * w + kx;
            for (let ox = 0; ox < wo; ox++, src += kw) stage[o++] = x[src];
          }
      }
}

/**
 * Scatters rows of dX' (the GEMM result of the patch path's input gradient) back onto dx [N, C, H, W],
 * filter rows (ci, ky) split between chunks: arrays [mem, dx], nums [srcOff, ldr, r0, rows, j0, nc, ho,
 * wo, kh, kw, c, h, w, zipByte, slot, zip2, hasBias, bias[0…c) where hasBias is 1]. Row r0 + i = (ci,
 * ky, kx) of the block holds patch positions j0 … j0+nc (q = (b·Ho + oy)·Wo + ox) at srcOff + i·ldr;
 * each lands on dx[b, ci, oy·kh + ky, ox·kw + kx], one cell each, plus bias[ci] (a transposed
 * convolution's bias). The kw rows of one (ci, ky) fill the same dx rows, so they are written together,
 * side by side (for kw = 2, U-Net's up-convolution, in pairs): each chunk writes whole cache lines of dx
 * in order. With zipByte ≥ 0 (2 × 2 patches, Wo a multiple of 4, W = 2·Wo, the block's rows whole
 * channels; mem the kernel's memory), channels are split between chunks instead, and chunk k builds runs
 * of whole dx rows in its `slot` floats of mem from byte zipByte + 4·k·slot on, interleaving each pair
 * of rows with the kernel's zip2, then copies each run to dx at once.
 */
function scatterPatchesLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const mem = arrays[0];
  const dx = arrays[1] as Float32Array;
  const [srcOff, ldr, r0, rows, j0, nc, ho, wo, kh, kw, c, h, w, zipByte, slot, zip2, hasBias] = nums;
  const P = ho * wo;
  // channel ci's bias; −0 where there is none, which leaves every value as it is
  const biasOf = (ci: number): number => (hasBias ? nums[17 + ci] : -0);
  if (zipByte >= 0) {
    const cis = rows / 4;
    const slotAt = zipByte / 4 + k * slot;
    // output rows oy a run takes: each gives two dx rows of 2·wo
    const most = Math.floor(slot / (4 * wo));
    const ci1 = r0 / 4 + Math.floor(((k + 1) * cis) / count);
    for (let ci = r0 / 4 + Math.floor((k * cis) / count); ci < ci1; ci++) {
      // row (ci, ky, kx) of the block at at + (2·ky + kx)·ldr, column q at + q
      const at = srcOff + (4 * ci - r0) * ldr - j0;
      const bias = biasOf(ci);
      for (let q = j0; q < j0 + nc; ) {
        const b = Math.floor(q / P);
        const oy = Math.floor((q - b * P) / wo);
        const ox = q - b * P - oy * wo;
        const end = Math.min(j0 + nc, (b + 1) * P);
        const plane = (b * c + ci) * h;
        if (ox === 0 && end - q >= wo) {
          const rr = Math.min(most, Math.floor((end - q) / wo));
          for (let ky = 0; ky < 2; ky++) ew[zip2]((at + 2 * ky * ldr + q) * 4, (at + (2 * ky + 1) * ldr + q) * 4, (slotAt + 2 * ky * wo) * 4, rr, wo, wo * 4, wo * 16, bias);
          dx.set((mem as Float32Array).subarray(slotAt, slotAt + rr * 4 * wo), (plane + 2 * oy) * w);
          q += rr * wo;
        } else {
          // part of a row, where the block begins or ends
          const run = Math.min(end - q, wo - ox);
          for (let ky = 0; ky < 2; ky++) {
            for (let t = at + 2 * ky * ldr + q, e = t + run, d = (plane + 2 * oy + ky) * w + 2 * ox; t < e; t++, d += 2) {
              dx[d] = mem[t] + bias;
              dx[d + 1] = mem[t + ldr] + bias;
            }
          }
          q += run;
        }
      }
    }
    return;
  }
  // the (ci, ky) groups of kw rows the block's rows belong to (the first and last may be partial)
  const g0 = Math.floor(r0 / kw);
  const groups = Math.floor((r0 + rows - 1) / kw) - g0 + 1;
  const i1 = g0 + Math.floor(((k + 1) * groups) / count);
  for (let grp = g0 + Math.floor((k * groups) / count); grp < i1; grp++) {
    const ky = grp % kh;
    const ci = (grp - ky) / kh;
    const kx0 = Math.max(0, r0 - grp * kw);
    const kx1 = Math.min(kw, r0 + rows - grp * kw);
    // row kx of the group at at + kx·ldr
    const at = srcOff + (grp * kw - r0) * ldr - j0;
    const bias = biasOf(ci);
    const pairs = kw === 2 && kx0 === 0 && kx1 === 2;
    // one output row of the patch grid at a time: its cells land kw apart in a row of dx
    for (let q = j0; q < j0 + nc; ) {
      const b = Math.floor(q / P);
      const oy = Math.floor((q - b * P) / wo);
      const ox = q - b * P - oy * wo;
      const run = Math.min(j0 + nc - q, wo - ox);
      const d0 = ((b * c + ci) * h + oy * kh + ky) * w + ox * kw;
      if (pairs) {
        for (let t = at + q, end = t + run, d = d0; t < end; t++, d += 2) {
          dx[d] = mem[t] + bias;
          dx[d + 1] = mem[t + ldr] + bias;
        }
      } else {
        for (let kx = kx0; kx < kx1; kx++) {
          for (let t = at + kx * ldr + q, end = t + run, d = d0 + kx; t < end; t++, d += kw) dx[d] = mem[t] + bias;
        }
      }
      q += run;
    }
  }
}

/**
 * One fused Adam/AdamW update of a float32 parameter (adam.ts), elements split between chunks:
 * arrays [θ, g, m, v, θ', m', v'], nums [β1, β2, epsScaled, decay, l2, 1 − β1, 1 − β2, stepScaled]
 * (backend.ts's adamCoefficients). Computes in float64 and rounds once per output.
 */
function adamLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number): void {
  const [theta, grad, m, v] = arrays;
  const thetaOut = arrays[4] as Float32Array;
  const mOut = arrays[5] as Float32Array;
  const vOut = arrays[6] as Float32Array;
  const [b1, b2, epsScaled, decay, l2, c1, c2, stepScaled] = nums;
  const n = theta.length;
  const i1 = Math.floor(((k + 1) * n) / count);
  for (let i = Math.floor((k * n) / count); i < i1; i++) {
    const p = theta[i];
    const g = grad[i] + l2 * p;
    const m1 = b1 * m[i] + c1 * g;
    const v1 = b2 * v[i] + c2 * g * g;
    mOut[i] = m1;
    vOut[i] = v1;
    thetaOut[i] = p * decay - (m1 / (Math.sqrt(v1) + epsScaled)) * stepScaled;
  }
}

/**
 * adamLoop through WebAssembly (the same bits): arrays [θ, g, m, v, θ', m', v', stage], nums as adamLoop's
 * then [stageByte, slot, adamStep]. Chunk k stages runs of its elements in its slot of the staging area
 * (θ, g, m, v side by side), updates them in place (adamStep) and copies θ', m', v' out.
 */
function adamSimdLoop(arrays: ArrayLike<number>[], nums: number[], k: number, count: number, ew: LoopKernels): void {
  const [theta, grad, m, v] = arrays as Float32Array[];
  const [thetaOut, mOut, vOut, stage] = arrays.slice(4) as Float32Array[];
  const [b1, b2, epsScaled, decay, l2, c1, c2, stepScaled, stageByte, slot, adamStep] = nums;
  const piece = Math.floor(slot / 16) * 4;
  const base = k * slot;
  const n = theta.length;
  const i1 = Math.floor(((k + 1) * n) / count);
  for (let at = Math.floor((k * n) / count); at < i1; at += piece) {
    const len = Math.min(piece, i1 - at);
    [theta, grad, m, v].forEach((src, j) => stage.set(src.subarray(at, at + len), base + j * piece));
    ew[adamStep](stageByte + base * 4, stageByte + (base + piece) * 4, stageByte + (base + 2 * piece) * 4, stageByte + (base + 3 * piece) * 4, len, b1, b2, epsScaled, decay, l2, c1, c2, stepScaled);
    thetaOut.set(stage.subarray(base, base + len), at);
    mOut.set(stage.subarray(base + 2 * piece, base + 2 * piece + len), at);
    vOut.set(stage.subarray(base + 3 * piece, base + 3 * piece + len), at);
  }
}

/** The bodies, in the order the worker receives them; parallel.ts names them by these keys. */
export const LOOPS = {
  stageImages: stageImagesLoop,
  emitGrid: emitGridLoop,
  emitStaged: emitStagedLoop,
  emitDense: emitDenseLoop,
  emitDenseStaged: emitDenseStagedLoop,
  stageGrid: stageGridLoop,
  batchNormForward: batchNormForwardLoop,
  batchNormBackward: batchNormBackwardLoop,
  batchNormSimd: batchNormSimdLoop,
  elementwise: elementwiseLoop,
  halvingMaxPool: halvingMaxPoolLoop,
  halvingMaxPoolSimd: halvingMaxPoolSimdLoop,
  stagePatches: stagePatchesLoop,
  scatterPatches: scatterPatchesLoop,
  adam: adamLoop,
  adamSimd: adamSimdLoop,
} as const;

export const LOOP_BODIES: readonly LoopBody[] = Object.values(LOOPS);
