import type { Tensor } from '../tensor/index.js';

/** The sizes of one sample: image `[channels, height, width]`, mask `[classes, height, width]`. */
export interface SampleShape {
  channels: number;
  classes: number;
  height: number;
  width: number;
}

/**
 * One image and its mask as plain typed arrays (cheap to cache, transfer and batch).
 * - `image`: `[C, H, W]` row-major, values in [0, 1].
 * - `mask`: `[K, H, W]` row-major, values in {0, 1}: K = 1 for binary masks, one-hot over K classes otherwise.
 * - `fov`: optional `[1, H, W]` field-of-view mask in {0, 1} (DRIVE); metrics count only pixels where it is 1.
 */
export interface Sample {
  image: Float32Array;
  mask: Float32Array;
  shape: SampleShape;
  id: string;
  fov?: Float32Array;
}

/** A random-access collection of samples. `get(i)` for `0 <= i < length`; `ids[i]` names sample i. */
export interface Dataset {
  readonly name: string;
  readonly length: number;
  readonly ids: readonly string[];
  get(i: number): Promise<Sample>;
  /** Files left out because `skipBad` was set (absent or empty when nothing was skipped). */
  readonly skipped?: readonly SkippedFile[];
  /** Sample i's group, such as the patient or volume its slice comes from: `split` keeps a group on one side. */
  readonly groups?: readonly string[];
  /**
   * For groups that are whole volumes (their samples every slice, in order): the voxel size `[dz, dy, dx]`
   * of the slices as the dataset gives them (resized ones included), for boundary distances in the
   * volume's units (mm).
   */
  readonly groupSpacing?: ReadonlyMap<string, readonly [number, number, number]>;
}

/** A stacked batch: images `[N, C, H, W]`, masks `[N, K, H, W]`, fov `[N, 1, H, W]` when every sample has one. */
export interface Batch {
  images: Tensor;
  masks: Tensor;
  ids: string[];
  fov?: Tensor;
}

/** A file that was left out of a dataset, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/** Receives warnings about skipped files (default: `console.warn`). */
export type WarningHandler = (message: string) => void;

/** Height and width to resize to: `[height, width]`, or one number for a square. */
export type SizeOption = number | readonly [number, number];

/** Normalises a {@link SizeOption} to `[height, width]`, rejecting non-positive or fractional sizes. */
export function normaliseSize(size: SizeOption, what: string): [number, number] {
  const hw: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  for (const v of hw) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${what}: size must be positive integers [height, width], got ${JSON.stringify(size)}`);
  }
  return hw;
}

/** Checks `0 <= i < length` and that `i` is an integer; the message names the dataset. */
export function checkIndex(name: string, i: number, length: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) throw new RangeError(`${name}: sample index ${i} is out of range [0, ${length})`);
}
