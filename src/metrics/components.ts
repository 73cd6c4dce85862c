/**
 * Connected components of binary masks: labelling, and the post-processing that keeps only the largest
 * object (nnU-Net's "remove all but the largest component", for tasks with one object per image such
 * as a skin lesion).
 */
import { resolveThreshold } from './confusion.js';

export interface Components {
  /** Per pixel: 0 for background, else its component's label 1…count (numbered in scan order). */
  labels: Int32Array;
  /** sizes[k − 1] is the pixel count of component k. */
  sizes: number[];
}

/**
 * Labels the connected components of the foreground (`value > 0.5`, or `>= threshold` given one) of one
 * `height × width` image from `offset` on — or, with `depth`, one volume of `depth` such planes; 8-connected
 * by default (diagonal neighbours touch; 26-connected in a volume), or 4 (face neighbours only; 6 in a volume).
 * @example labelComponents([1, 0, 1, 1, 0, 0], { height: 2, width: 3, connectivity: 4 }).sizes // [2, 1]
 */
export function labelComponents(values: ArrayLike<number>, opts: { height: number; width: number; depth?: number; offset?: number; threshold?: number; connectivity?: 4 | 8 }): Components {
  const { height: H, width: W, depth: D = 1, offset = 0 } = opts;
  const connectivity = opts.connectivity ?? 8;
  if (connectivity !== 4 && connectivity !== 8) throw new Error(`labelComponents: connectivity must be 4 or 8, got ${String(connectivity)}`);
  const n = D * H * W;
  if (![D, H, W].every((v) => Number.isInteger(v) && v > 0) || offset + n > values.length) {
    throw new Error(`labelComponents: ${D > 1 ? `a volume of ${D}×` : 'an image of '}${H}×${W} from value ${offset} needs ${offset + n} values, got ${values.length}`);
  }
  const threshold = opts.threshold === undefined ? undefined : resolveThreshold('labelComponents', opts.threshold);
  const on = (p: number): boolean => (threshold === undefined ? values[offset + p] > 0.5 : values[offset + p] >= threshold);
  // the neighbour offsets [dz, dy, dx]: faces only, or every voxel of the 3×3(×3) block
  const steps: number[][] = [];
  for (const dz of D > 1 ? [-1, 0, 1] : [0]) for (const dy of [-1, 0, 1]) for (const dx of [-1, 0, 1]) {
    const moved = Math.abs(dz) + Math.abs(dy) + Math.abs(dx);
    if (moved > 0 && (connectivity === 8 || moved === 1)) steps.push([dz, dy, dx]);
  }
  const labels = new Int32Array(n);
  const sizes: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < n; start++) {
    if (labels[start] || !on(start)) continue;
    const label = sizes.length + 1;
    let size = 0;
    labels[start] = label;
    stack.push(start);
    // a flood fill from each unlabelled foreground voxel, with an explicit stack (no recursion depth limit)
    while (stack.length) {
      const p = stack.pop()!;
      size++;
      const [z, y, x] = [Math.floor(p / (H * W)), Math.floor(p / W) % H, p % W];
      for (const [dz, dy, dx] of steps) {
        const [w, v, u] = [z + dz, y + dy, x + dx];
        if (w < 0 || v < 0 || u < 0 || w >= D || v >= H || u >= W) continue;
        const q = (w * H + v) * W + u;
        if (!labels[q] && on(q)) {
          labels[q] = label;
          stack.push(q);
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/**
 * Keeps each image's largest predicted object: in `[N, 1, H, W]` probabilities, the pixels of every
 * smaller component of the foreground (`>= threshold`, 8-connected) get probability 0, so they are
 * background at any threshold above 0; the rest are kept as they are. On a tie the first component in scan
 * order is kept. Returns a new array.
 * @example keepLargestComponent([0.9, 0, 0.8, 0.7], { shape: [1, 1, 1, 4] }) // [0, 0, 0.8, 0.7]
 */
export function keepLargestComponent(probs: ArrayLike<number>, opts: { shape: readonly number[]; threshold?: number; connectivity?: 4 | 8 }): Float32Array {
  const [n, c, height, width] = opts.shape;
  if (opts.shape.length !== 4 || c !== 1 || n * height * width !== probs.length) {
    throw new Error(`keepLargestComponent: shape [${opts.shape.join(', ')}] must be [N, 1, H, W] and hold the ${probs.length} probabilities; with several classes, take each class's plane`);
  }
  const threshold = resolveThreshold('keepLargestComponent', opts.threshold);
  const out = Float32Array.from(probs);
  const plane = height * width;
  for (let i = 0; i < n; i++) {
    const { labels, sizes } = labelComponents(probs, { height, width, offset: i * plane, threshold, connectivity: opts.connectivity });
    if (sizes.length < 2) continue;
    const keep = largestLabel(sizes);
    for (let p = 0; p < plane; p++) if (labels[p] && labels[p] !== keep) out[i * plane + p] = 0;
  }
  return out;
}

/** The label (1…) of the largest component, the first in scan order on a tie; 0 when there is none. */
export function largestLabel(sizes: readonly number[]): number {
  let keep = sizes.length ? 1 : 0;
  for (let k = 2; k <= sizes.length; k++) if (sizes[k - 1] > sizes[keep - 1]) keep = k;
  return keep;
}
