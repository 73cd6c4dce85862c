/**
 * Patch extraction for patch-based training and evaluation (DRIVE protocol): crop one patch, cut an
 * image into overlapping sliding-window patches, and put per-patch outputs back together by averaging
 * the overlaps. Plain typed arrays, no Node.
 */

/** Top-left corner of a patch. */
export interface PatchPosition {
  y: number;
  x: number;
}

/** Crops `[C, p, p]` at (y0, x0) from planar `[C, H, W]` data. The patch must lie inside the image. */
export function cropPatch(data: Float32Array, channels: number, height: number, width: number, y0: number, x0: number, patch: number): Float32Array {
  if (y0 < 0 || x0 < 0 || y0 + patch > height || x0 + patch > width) {
    throw new RangeError(`cropPatch: a ${patch}×${patch} patch at (y ${y0}, x ${x0}) does not fit in a ${height}×${width} image`);
  }
  const out = new Float32Array(channels * patch * patch);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < patch; y++) {
      const from = c * height * width + (y0 + y) * width + x0;
      out.set(data.subarray(from, from + patch), c * patch * patch + y * patch);
    }
  }
  return out;
}

/** Start offsets 0, stride, 2·stride… along one axis, plus `length − patch` so the far edge is covered. */
function starts(length: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + patch <= length; s += stride) out.push(s);
  if (out[out.length - 1] !== length - patch) out.push(length - patch);
  return out;
}

/**
 * The top-left corners of a sliding window over an H×W image, row by row. Every pixel is covered;
 * the last row and column of patches are moved back to end at the border when the stride does not fit.
 */
export function patchPositions(height: number, width: number, patch: number, stride = patch): PatchPosition[] {
  if (!Number.isInteger(patch) || patch <= 0 || !Number.isInteger(stride) || stride <= 0) {
    throw new Error(`patchPositions: patch and stride must be positive integers, got patch ${patch}, stride ${stride}`);
  }
  if (patch > height || patch > width) throw new Error(`patchPositions: a ${patch}×${patch} patch does not fit in a ${height}×${width} image`);
  const ys = starts(height, patch, stride), xs = starts(width, patch, stride);
  return ys.flatMap((y) => xs.map((x) => ({ y, x })));
}

/**
 * Cuts planar `[C, H, W]` data into overlapping patches: `patches` is `[P, C, patch, patch]` flat,
 * in the order of `positions` (see {@link patchPositions}). Default stride: `patch` (no overlap,
 * except at the far edges).
 * @example const { patches, positions } = slidingWindow(sample.image, sample.shape, 64, 32);
 */
export function slidingWindow(
  data: Float32Array,
  shape: { channels: number; height: number; width: number },
  patch: number,
  stride = patch,
): { patches: Float32Array; positions: PatchPosition[]; count: number } {
  const { channels, height, width } = shape;
  if (data.length !== channels * height * width) throw new Error(`slidingWindow: data has ${data.length} values, expected ${channels}×${height}×${width}`);
  const positions = patchPositions(height, width, patch, stride);
  const size = channels * patch * patch;
  const patches = new Float32Array(positions.length * size);
  positions.forEach((p, i) => patches.set(cropPatch(data, channels, height, width, p.y, p.x, patch), i * size));
  return { patches, positions, count: positions.length };
}

/**
 * The inverse of {@link slidingWindow}: `[P, C, patch, patch]` patch outputs (e.g. predicted
 * probabilities; C may differ from the image's) → `[C, H, W]`, each pixel the mean of every patch
 * covering it — or, with `blend: 'gaussian'`, their mean weighted by a Gaussian centred on each patch
 * (σ = patch/8, as nnU-Net), so a patch's edge, where the network saw least context, counts least.
 * Untouched patches give back the original image exactly (sums are kept in float64).
 */
export function reassemble(
  patches: Float32Array,
  positions: readonly PatchPosition[],
  shape: { channels: number; height: number; width: number },
  patch: number,
  blend: 'mean' | 'gaussian' = 'mean',
): Float32Array {
  const { channels, height, width } = shape;
  const size = channels * patch * patch;
  if (patches.length !== positions.length * size) {
    throw new Error(`reassemble: ${positions.length} positions of [${channels}, ${patch}, ${patch}] need ${positions.length * size} values, got ${patches.length}`);
  }
  if (blend !== 'mean' && blend !== 'gaussian') throw new Error(`reassemble: blend must be 'mean' or 'gaussian', got '${String(blend)}'`);
  const weight = blend === 'gaussian' ? gaussianWeights(patch) : null;
  const sum = new Float64Array(channels * height * width);
  const count = new Float64Array(height * width);
  positions.forEach(({ y: y0, x: x0 }, i) => {
    if (y0 < 0 || x0 < 0 || y0 + patch > height || x0 + patch > width) throw new RangeError(`reassemble: patch ${i} at (y ${y0}, x ${x0}) does not fit in ${height}×${width}`);
    for (let y = 0; y < patch; y++) {
      for (let x = 0; x < patch; x++) {
        const q = (y0 + y) * width + x0 + x;
        const w = weight ? weight[y * patch + x] : 1;
        count[q] += w;
        for (let c = 0; c < channels; c++) sum[c * height * width + q] += w * patches[i * size + c * patch * patch + y * patch + x];
      }
    }
  });
  const out = new Float32Array(channels * height * width);
  for (let q = 0; q < height * width; q++) {
    if (count[q] === 0) throw new Error(`reassemble: pixel (y ${Math.floor(q / width)}, x ${q % width}) is covered by no patch`);
    for (let c = 0; c < channels; c++) out[c * height * width + q] = sum[c * height * width + q] / count[q];
  }
  return out;
}

/**
 * nnU-Net's importance map: exp(−d²/2σ²) from the patch centre, σ = patch/8, scaled to a maximum of 1, and
 * no weight below the smallest positive one (so every pixel a patch covers still counts).
 */
export function gaussianWeights(patch: number): Float64Array {
  const sigma = patch / 8;
  const centre = (patch - 1) / 2;
  const w = new Float64Array(patch * patch);
  for (let y = 0; y < patch; y++) for (let x = 0; x < patch; x++) w[y * patch + x] = Math.exp(-((y - centre) ** 2 + (x - centre) ** 2) / (2 * sigma * sigma));
  let [max, min] = [0, Infinity];
  for (const v of w) {
    if (v > max) max = v;
    if (v > 0 && v < min) min = v;
  }
  for (let q = 0; q < w.length; q++) w[q] = Math.max(w[q] / max, min / max);
  return w;
}
