/**
 * Scores per group of images: for slices of volumes, each volume's pixels pooled over its slices, as
 * volumetric Dice is reported (the Medical Segmentation Decathlon, nnU-Net), then the mean over volumes.
 * A slice-by-slice mean weighs a slice with three pixels of tumour as much as one with three thousand.
 */
import { countRange, dice, iou, resolveThreshold } from './confusion.js';
import { perClassScores } from './per-class.js';
import { volumeSurfaceDistances } from './surface.js';

export interface GroupScores {
  /** Groups scored. */
  groups: number;
  /** Means over the groups of each group's pooled IoU and Dice (a group with nothing to score on either side counts as 1, as `iou` does). */
  iou: number;
  dice: number;
  /** Each group's own scores, in the order the groups first appear. */
  perGroup: { group: string; images: number; iou: number; dice: number; classDice?: number[]; hd95?: number; assd?: number }[];
  /** For several classes: each class's Dice pooled within each group, then the mean over the groups where it is defined. */
  classDice?: number[];
  /** With `spacing`: the groups' 3D boundary distances in its units (`volumeSurfaceDistances`), the mean over the groups where both sides have foreground. */
  hd95?: number;
  assd?: number;
}

/**
 * Pools the images of each group (`groups[i]` names image i's) and scores it: foreground probabilities and
 * masks `[N, 1, H, W]`, inside `fov` when given; with `classes` (class probabilities and one-hot masks
 * `[N, K, H, W]`), each class's Dice too.
 * @example groupScores(probs, masks, { shape: [40, 1, 64, 64], groups: ids.map((id) => id.split('#')[0]) }).dice // volumetric Dice
 */
export function groupScores(
  probs: ArrayLike<number>,
  masks: ArrayLike<number>,
  opts: {
    shape: readonly number[];
    groups: readonly string[];
    threshold?: number;
    fov?: ArrayLike<number>;
    classes?: { probs: Float32Array; masks: Float32Array; count: number };
    /** The voxel size `[dz, dy, dx]` of groups that are whole volumes, their images the slices in order (`Dataset.groupSpacing`): their 3D HD95 and ASSD too. */
    spacing?: ReadonlyMap<string, readonly [number, number, number]>;
  },
): GroupScores {
  const [n, , height, width] = opts.shape;
  const plane = height * width;
  if (opts.shape.length !== 4 || opts.shape[1] !== 1 || n * plane !== probs.length || masks.length !== probs.length || opts.groups.length !== n) {
    throw new Error(`groupScores: shape [${opts.shape.join(', ')}] must be [N, 1, H, W] and hold the ${probs.length} predictions and masks (${masks.length}), with one group per image (${opts.groups.length})`);
  }
  const threshold = resolveThreshold('groupScores', opts.threshold);
  const members = new Map<string, number[]>();
  opts.groups.forEach((g, i) => (members.get(g) ?? members.set(g, []).get(g)!).push(i));
  const perGroup = [...members].map(([group, images]) => {
    const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
    for (const i of images) {
      const part = countRange(probs, masks, opts.fov, threshold, i * plane, (i + 1) * plane);
      c.tp += part.tp;
      c.fp += part.fp;
      c.fn += part.fn;
      c.tn += part.tn;
    }
    const spacing = opts.spacing?.get(group);
    return {
      group, images: images.length, iou: iou(c), dice: dice(c),
      ...(opts.classes ? { classDice: classDice(opts.classes, images, plane, height, width, opts.fov) } : {}),
      ...(spacing ? volumeDistances(probs, masks, images, plane, [images.length, height, width], spacing, threshold) : {}),
    };
  });
  const mean = (xs: number[]): number => {
    const ok = xs.filter((x) => !Number.isNaN(x));
    return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
  };
  const K = opts.classes?.count ?? 1;
  return {
    groups: perGroup.length,
    iou: mean(perGroup.map((g) => g.iou)),
    dice: mean(perGroup.map((g) => g.dice)),
    perGroup,
    ...(opts.classes ? { classDice: Array.from({ length: K - 1 }, (_, k) => mean(perGroup.map((g) => g.classDice![k]))) } : {}),
    ...(opts.spacing ? { hd95: mean(perGroup.flatMap((g) => (g.hd95 === undefined ? [] : [g.hd95]))), assd: mean(perGroup.flatMap((g) => (g.assd === undefined ? [] : [g.assd]))) } : {}),
  };
}

/** A group's images stacked as a volume (in their order) and its 3D HD95 and ASSD with the voxel size. */
function volumeDistances(probs: ArrayLike<number>, masks: ArrayLike<number>, images: number[], plane: number, dims: [number, number, number], spacing: readonly [number, number, number], threshold: number): { hd95: number; assd: number } {
  const p = new Float32Array(images.length * plane);
  const m = new Float32Array(images.length * plane);
  images.forEach((i, z) => {
    for (let q = 0; q < plane; q++) {
      p[z * plane + q] = probs[i * plane + q];
      m[z * plane + q] = masks[i * plane + q];
    }
  });
  const { hd95, assd } = volumeSurfaceDistances(p, m, { depth: dims[0], height: dims[1], width: dims[2], spacing, threshold });
  return { hd95, assd };
}

/** Classes 1…K−1's Dice over the images of one group, pooled (NaN where a class is neither present nor predicted). */
function classDice(classes: { probs: Float32Array; masks: Float32Array; count: number }, images: number[], plane: number, height: number, width: number, fov?: ArrayLike<number>): number[] {
  const K = classes.count;
  const gather = (x: Float32Array): Float32Array => {
    const out = new Float32Array(images.length * K * plane);
    images.forEach((i, j) => out.set(x.subarray(i * K * plane, (i + 1) * K * plane), j * K * plane));
    return out;
  };
  const groupFov = fov ? Float32Array.from({ length: images.length * plane }, (_, q) => fov[images[Math.floor(q / plane)] * plane + (q % plane)]) : undefined;
  return perClassScores(gather(classes.probs), gather(classes.masks), { shape: [images.length, K, height, width], protocol: 'pooled', fov: groupFov }).map((c) => c.dice);
}
