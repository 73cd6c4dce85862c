/**
 * Boundary metrics: the Hausdorff distance, its 95th percentile (HD95) and the average symmetric surface
 * distance (ASSD) between a thresholded prediction and its mask, as MONAI computes them
 * (`compute_hausdorff_distance`, `compute_average_surface_distance`), in pixels or in the units of a
 * `spacing`. Overlap scores cannot tell a ragged border from a stray blob far away; these can.
 *
 * - A surface (edge) pixel is a foreground pixel with a background 4-neighbour or on the image's border
 *   (MONAI's `binary_erosion(x) ^ x`).
 * - Each edge pixel of one side has a distance to the nearest edge pixel of the other, by an exact
 *   Euclidean distance transform (Felzenszwalb and Huttenlocher's lower envelope of parabolas).
 * - HD = the largest of them both ways; HD95 = the larger of the two directed 95th percentiles (numpy's
 *   linear interpolation); ASSD = the mean of both directions' distances taken together.
 * - Where the prediction or the mask has no foreground, the distances are undefined: NaN (MONAI gives
 *   NaN or ∞), and the means skip that image while counting it.
 */
import { binaryPair, resolveThreshold } from './confusion.js';

/** One image's boundary distances; NaN where the prediction or the mask (inside the field of view) is empty. */
export interface SurfaceDistances {
  /** Hausdorff distance: the farthest any edge pixel lies from the other side's edge. */
  hd: number;
  /** The larger of the two directed 95th percentiles of the edge distances (robust to a few outliers). */
  hd95: number;
  /** Average symmetric surface distance: the mean of both directions' edge distances together. */
  assd: number;
}

export interface SurfaceOptions {
  /** Predictions `>= threshold` are foreground (default 0.5); a mask pixel is foreground when `> 0.5`. */
  threshold?: number;
  /** Only pixels where `fov > 0.5` are foreground on either side (DRIVE's field of view). */
  fov?: ArrayLike<number>;
  /** Size of a pixel `[dy, dx]` (default [1, 1]: distances in pixels). */
  spacing?: readonly [number, number];
}

/** The mean boundary distances over images, and how many images had none. */
export interface SurfaceScores {
  /** Means over the images where both the prediction and the mask have foreground; NaN if there is none. */
  hd95: number;
  assd: number;
  /** Images scored (both sides non-empty). */
  images: number;
  /** Images with foreground in the mask but none predicted: the object missed entirely. */
  emptyPrediction: number;
  /** Images with no foreground in the mask but some predicted. */
  emptyMask: number;
}

const NO_DISTANCE: SurfaceDistances = { hd: NaN, hd95: NaN, assd: NaN };

/**
 * HD, HD95 and ASSD of one image (`height × width` values from `offset` on).
 * @example surfaceDistances([1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], { height: 2, width: 3 }).hd // √5
 */
export function surfaceDistances(pred: ArrayLike<number>, target: ArrayLike<number>, opts: SurfaceOptions & { height: number; width: number; offset?: number }): SurfaceDistances {
  return edgeDistances(pred, target, opts).distances;
}

/**
 * HD, HD95 and ASSD of one volume `[depth, height, width]` (from `offset` on), with its voxel size
 * `spacing: [dz, dy, dx]` (default 1s: distances in voxels): MONAI's 3D semantics, where an edge voxel has
 * a background face neighbour (6-connected) or lies on the volume's border, its first and last slice too.
 * @example volumeSurfaceDistances(pred, mask, { depth: 40, height: 256, width: 256, spacing: [3, 0.8, 0.8] }).hd95 // in mm
 */
export function volumeSurfaceDistances(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  opts: { depth: number; height: number; width: number; spacing?: readonly [number, number, number]; threshold?: number; offset?: number },
): SurfaceDistances {
  const { depth: D, height: H, width: W, offset = 0 } = opts;
  const spacing = opts.spacing ?? [1, 1, 1];
  if (![D, H, W].every((n) => Number.isInteger(n) && n > 0)) throw new Error(`volumeSurfaceDistances: depth, height and width must be positive integers, got ${D}×${H}×${W}`);
  if (!(spacing.length === 3 && spacing.every((v) => v > 0 && Number.isFinite(v)))) throw new Error(`volumeSurfaceDistances: spacing must be three positive numbers [dz, dy, dx], got [${String(spacing)}]`);
  const n = D * H * W;
  if (offset + n > Math.min(pred.length, target.length)) throw new Error(`volumeSurfaceDistances: a volume of ${D}×${H}×${W} from value ${offset} needs ${offset + n} values; the predictions have ${pred.length}, the mask ${target.length}`);
  const threshold = resolveThreshold('volumeSurfaceDistances', opts.threshold);
  const [P, G] = binaryPair(pred, target, undefined, threshold, offset, n);
  return gridDistances(P, G, [D, H, W], spacing, true).distances;
}

/**
 * The mean HD95 and ASSD over the images of `[N, 1, H, W]` foreground probabilities and masks, with the
 * count of images where one side is empty (those have no distance and are left out of the means).
 * @example surfaceScores(probs, masks, { shape: [8, 1, 64, 64] }).hd95 // in pixels
 */
export function surfaceScores(probs: ArrayLike<number>, masks: ArrayLike<number>, opts: SurfaceOptions & { shape: readonly number[] }): SurfaceScores {
  const [n, , height, width] = opts.shape;
  const plane = height * width;
  if (opts.shape.length !== 4 || opts.shape[1] !== 1 || probs.length !== n * plane || masks.length !== probs.length || (opts.fov && opts.fov.length !== probs.length)) {
    throw new Error(`surfaceScores: shape [${opts.shape.join(', ')}] must be [N, 1, H, W] and hold as many values as the predictions (${probs.length}), masks (${masks.length})${opts.fov ? ` and fov (${opts.fov.length})` : ''}`);
  }
  const out: SurfaceScores = { hd95: 0, assd: 0, images: 0, emptyPrediction: 0, emptyMask: 0 };
  for (let i = 0; i < n; i++) {
    const { distances: d, predicted, present } = edgeDistances(probs, masks, { ...opts, height, width, offset: i * plane });
    if (present && !predicted) out.emptyPrediction++;
    if (predicted && !present) out.emptyMask++;
    if (Number.isNaN(d.hd95)) continue;
    out.hd95 += d.hd95;
    out.assd += d.assd;
    out.images++;
  }
  out.hd95 = out.images ? out.hd95 / out.images : NaN;
  out.assd = out.images ? out.assd / out.images : NaN;
  return out;
}

function edgeDistances(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  opts: SurfaceOptions & { height: number; width: number; offset?: number },
): { distances: SurfaceDistances; predicted: boolean; present: boolean } {
  const { height: H, width: W, offset = 0 } = opts;
  const [sy, sx] = opts.spacing ?? [1, 1];
  if (!(Number.isInteger(H) && Number.isInteger(W) && H > 0 && W > 0)) throw new Error(`surfaceDistances: height and width must be positive integers, got ${H}×${W}`);
  if (!(sy > 0 && sx > 0 && Number.isFinite(sy) && Number.isFinite(sx))) throw new Error(`surfaceDistances: spacing must be two positive numbers [dy, dx], got [${String(opts.spacing)}]`);
  if (offset + H * W > Math.min(pred.length, target.length) || (opts.fov && offset + H * W > opts.fov.length)) {
    throw new Error(`surfaceDistances: an image of ${H}×${W} from value ${offset} needs ${offset + H * W} values; the predictions have ${pred.length}, the mask ${target.length}${opts.fov ? `, the fov ${opts.fov.length}` : ''}`);
  }
  const threshold = resolveThreshold('surfaceDistances', opts.threshold);
  const [P, G] = binaryPair(pred, target, opts.fov, threshold, offset, H * W);
  return gridDistances(P, G, [1, H, W], [1, sy, sx], false);
}

/**
 * HD, HD95 and ASSD between the foreground of two binary grids `[D, H, W]`, with the voxel size
 * `[dz, dy, dx]`; `zBorder`: the first and last slices are border (a 3D volume), or not (a 2D image, D = 1).
 */
function gridDistances(P: Uint8Array, G: Uint8Array, dims: readonly [number, number, number], spacing: readonly [number, number, number], zBorder: boolean): { distances: SurfaceDistances; predicted: boolean; present: boolean } {
  const predEdges = edges(P, dims, zBorder);
  const maskEdges = edges(G, dims, zBorder);
  const predicted = predEdges.length > 0;
  const present = maskEdges.length > 0;
  if (!predicted || !present) return { distances: NO_DISTANCE, predicted, present };
  // every edge voxel lies in the box around both edge sets, and so does each one's nearest: the
  // transforms over the box alone are exact, and far cheaper for one lesion in a large image
  const [, H, W] = dims;
  const [z0, z1, y0, y1, x0, x1] = box([...predEdges, ...maskEdges], H, W);
  const boxDims: [number, number, number] = [z1 - z0 + 1, y1 - y0 + 1, x1 - x0 + 1];
  const inBox = (ps: number[]): number[] => ps.map((p) => ((Math.floor(p / (H * W)) - z0) * boxDims[1] + (Math.floor(p / W) % H) - y0) * boxDims[2] + ((p % W) - x0));
  const [predBox, maskBox] = [inBox(predEdges), inBox(maskEdges)];
  const toMask = sampled(distanceTransform(maskBox, boxDims, spacing), predBox);
  const toPred = sampled(distanceTransform(predBox, boxDims, spacing), maskBox);
  let sum = 0;
  for (const d of toMask) sum += d;
  for (const d of toPred) sum += d;
  return {
    distances: {
      hd: Math.max(toMask[toMask.length - 1], toPred[toPred.length - 1]),
      hd95: Math.max(percentile(toMask, 95), percentile(toPred, 95)),
      assd: sum / (toMask.length + toPred.length),
    },
    predicted,
    present,
  };
}

/**
 * The edge voxels of a binary grid: foreground with a background face neighbour (4 in a plane, 6 in a
 * volume) or on the border (in z too when `zBorder`).
 */
function edges(x: Uint8Array, [D, H, W]: readonly [number, number, number], zBorder: boolean): number[] {
  const out: number[] = [];
  const plane = H * W;
  for (let z = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let c = 0; c < W; c++) {
        const p = z * plane + y * W + c;
        if (!x[p]) continue;
        const border = y === 0 || c === 0 || y === H - 1 || c === W - 1 || (zBorder && (z === 0 || z === D - 1));
        const open = !x[p - W] || !x[p + W] || !x[p - 1] || !x[p + 1] || (zBorder && (!x[p - plane] || !x[p + plane]));
        if (border || open) out.push(p);
      }
    }
  }
  return out;
}

/** The slices z0…z1, rows y0…y1 and columns x0…x1 that hold the voxels `ps` of a grid of H×W planes. */
function box(ps: number[], H: number, W: number): [number, number, number, number, number, number] {
  let [z0, z1, y0, y1, x0, x1] = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
  for (const p of ps) {
    const [z, y, x] = [Math.floor(p / (H * W)), Math.floor(p / W) % H, p % W];
    if (z < z0) z0 = z;
    if (z > z1) z1 = z;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
  }
  return [z0, z1, y0, y1, x0, x1];
}

/** Squared Euclidean distance from every voxel to the nearest of `features` (voxel indices): along z, then columns, then rows. */
function distanceTransform(features: number[], [D, H, W]: readonly [number, number, number], [sz, sy, sx]: readonly [number, number, number]): Float64Array {
  const d = new Float64Array(D * H * W).fill(Infinity);
  for (const p of features) d[p] = 0;
  const longest = Math.max(D, H, W);
  const line = new Float64Array(longest);
  const out = new Float64Array(longest);
  const envelope = { v: new Int32Array(longest), z: new Float64Array(longest + 1) };
  // one pass along an axis: `count` lines of `n` values, line l starting at start(l), `stride` apart
  const pass = (count: number, n: number, stride: number, start: (l: number) => number, a: number): void => {
    for (let l = 0; l < count; l++) {
      const s0 = start(l);
      for (let i = 0; i < n; i++) line[i] = d[s0 + i * stride];
      lowerEnvelope(line, n, a, out, envelope);
      for (let i = 0; i < n; i++) d[s0 + i * stride] = out[i];
    }
  };
  if (D > 1) pass(H * W, D, H * W, (l) => l, sz * sz);
  pass(D * W, H, W, (l) => Math.floor(l / W) * H * W + (l % W), sy * sy);
  pass(D * H, W, 1, (l) => l * W, sx * sx);
  return d;
}

/** out[q] = min over p of a·(q − p)² + f[p], for the first n values (Felzenszwalb and Huttenlocher 2012); ∞ stays ∞ where every f is. */
function lowerEnvelope(f: Float64Array, n: number, a: number, out: Float64Array, { v, z }: { v: Int32Array; z: Float64Array }): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    let s = -Infinity;
    while (k >= 0) {
      const p = v[k];
      s = (f[q] + a * q * q - (f[p] + a * p * p)) / (2 * a * (q - p));
      if (s > z[k]) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = k === 0 ? -Infinity : s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1] < q) j++;
    const p = v[j];
    out[q] = a * (q - p) * (q - p) + f[p];
  }
}

/** The distances (square roots of the transform) at `at`, sorted ascending. */
function sampled(squared: Float64Array, at: number[]): Float64Array {
  const out = new Float64Array(at.length);
  for (let i = 0; i < at.length; i++) out[i] = Math.sqrt(squared[at[i]]);
  return out.sort();
}

/** numpy's default percentile of sorted values: linear interpolation between the two nearest ranks. */
function percentile(sorted: Float64Array, q: number): number {
  const rank = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
