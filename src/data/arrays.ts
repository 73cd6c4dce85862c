/**
 * A dataset from arrays already in memory (numpy exports read by another library, a decoder segrad
 * does not have, pixels drawn on a canvas), checked once when it is built so that a 0…255 image or a
 * 0/255 mask is an error that says what to do rather than a run that quietly learns nothing.
 */
import { oneHotMask } from './image.js';
import { checkIndex, type Dataset, type Sample } from './types.js';

/** One sample as plain arrays. */
export interface ArraySample {
  /** `[C, H, W]` row-major, values in [0, 1]. */
  image: ArrayLike<number>;
  /** `[H, W]`: 0/1 for a binary mask, or class indices 0…K−1 with `classes: K` (one-hot inside). */
  mask: ArrayLike<number>;
  /** Optional `[H, W]` field of view, 0/1: the metrics count only its 1s. */
  fov?: ArrayLike<number>;
  /** Default `sample-<index>`. */
  id?: string;
}

export interface FromArraysOptions {
  height: number;
  width: number;
  /** Image channels C (default: the first image's length / (H·W)). */
  channels?: number;
  /** 1 (default) for binary masks; K ≥ 2 for class-index masks. */
  classes?: number;
  /** The dataset's name in messages (default 'arrays'). */
  name?: string;
}

/**
 * Builds an in-memory {@link Dataset}. Every sample is checked now: array lengths against `[C, H, W]`
 * and `[H, W]`, image values finite and in [0, 1], mask values 0/1 (or whole class indices < K), ids
 * unique. Errors name the sample and the value. The arrays are copied.
 * @example
 * const ds = data.fromArrays([{ image: new Float32Array(64 * 64), mask: new Uint8Array(64 * 64) }], { height: 64, width: 64 });
 */
export function fromArrays(samples: readonly ArraySample[], opts: FromArraysOptions): Dataset {
  const name = opts.name ?? 'arrays';
  const { height: H, width: W } = opts;
  for (const [k, v] of [['height', H], ['width', W]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`fromArrays(${name}): ${k} must be a positive integer, got ${v}`);
  }
  if (samples.length === 0) throw new Error(`fromArrays(${name}): no samples`);
  const plane = H * W;
  const C = opts.channels ?? samples[0].image.length / plane;
  if (!Number.isInteger(C) || C <= 0) throw new Error(`fromArrays(${name}): the first image has ${samples[0].image.length} values, not a whole number of ${H}×${W} planes; pass channels`);
  const K = opts.classes ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new Error(`fromArrays(${name}): classes must be a positive integer, got ${K}`);

  const seen = new Set<string>();
  const built = samples.map((s, i): Sample => {
    const id = s.id ?? `sample-${i}`;
    const where = `fromArrays(${name}): sample ${id}`;
    if (seen.has(id)) throw new Error(`${where}: the id is used twice; ids name samples in metrics and predictions`);
    seen.add(id);
    checkLength(where, 'image', s.image.length, C * plane, `[C, H, W] = [${C}, ${H}, ${W}]`);
    checkLength(where, 'mask', s.mask.length, plane, `[H, W] = [${H}, ${W}]`);
    const image = Float32Array.from(s.image);
    for (let q = 0; q < image.length; q++) {
      const v = image[q];
      if (!(v >= 0 && v <= 1)) {
        throw new Error(`${where}: image value ${v} at index ${q} is ${Number.isFinite(v) ? 'outside [0, 1]' : 'not a finite number'}; scale 8-bit pixels by 1/255, or map a range lo…hi by (v − lo)/(hi − lo)`);
      }
    }
    const sample: Sample = { image, mask: maskOf(where, s.mask, K), shape: { channels: C, classes: K, height: H, width: W }, id };
    if (s.fov) {
      checkLength(where, 'fov', s.fov.length, plane, `[H, W] = [${H}, ${W}]`);
      sample.fov = maskOf(`${where} (fov)`, s.fov, 1);
    }
    return sample;
  });
  const ids = built.map((s) => s.id);
  return {
    name,
    length: built.length,
    ids,
    get: async (i: number) => {
      checkIndex(name, i, built.length);
      return built[i];
    },
  };
}

function checkLength(where: string, what: string, got: number, want: number, shape: string): void {
  if (got !== want) throw new Error(`${where}: ${what} has ${got} values; ${shape} is ${want}`);
}

/** `[H, W]` 0/1 values → `[1, H, W]`, or class indices → one-hot `[K, H, W]` (`oneHotMask`, which checks them). */
function maskOf(where: string, values: ArrayLike<number>, classes: number): Float32Array {
  if (classes > 1) return oneHotMask(values, classes, where);
  for (let p = 0; p < values.length; p++) {
    const v = values[p];
    if (v !== 0 && v !== 1) throw new Error(`${where}: mask value ${v} at pixel ${p}; a binary mask holds 0 and 1 (divide a 0/255 mask by 255), or pass classes: K for class indices`);
  }
  return Float32Array.from(values);
}
