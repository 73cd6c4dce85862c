/** What a dataset holds, read from a sample of it: what to know before a long training run. */
import type { Dataset } from './types.js';

export interface DatasetSummary {
  samples: number;
  /** The first sample's shape: image channels, mask classes, height and width. */
  shape: { channels: number; classes: number; height: number; width: number };
  /** Samples read for the shares and values below (spread evenly through the dataset). */
  read: number;
  /** Share of each class's pixels over the read masks, inside the field of view (class 0 is background; one class: [background, foreground]). */
  classShares: number[];
  /** Share of the read pixels (inside the field of view) that are foreground: any class but 0. */
  foreground: number;
  /** Read masks with no foreground at all. */
  emptyMasks: number;
  /** Smallest and largest share of foreground in one read mask. */
  maskShareRange: [number, number];
  /** Image values over the read samples (all channels). */
  imageValues: { min: number; max: number; mean: number };
  /** Distinct groups (patients, volumes) when the dataset has them. */
  groups?: number;
  /** Files left out by skipBad. */
  skipped: number;
}

/**
 * Reads up to `max` samples spread evenly through `data` and summarises them: shapes, each class's share
 * of the pixels, empty masks, the image value range and the groups.
 * @example (await summarizeDataset(synthetic({ kind: 'vessels', foreground: 0.05 }))).classShares[1] // ≈ 0.05
 */
export async function summarizeDataset(data: Dataset, max = 64): Promise<DatasetSummary> {
  if (data.length === 0) throw new Error(`summarizeDataset: ${data.name} is empty`);
  const read = Math.min(max, data.length);
  // the first sample read is sample 0: its shape is the summary's
  let first: DatasetSummary['shape'] | null = null;
  let counts: number[] = [];
  let [emptyMasks, lo, hi] = [0, Infinity, -Infinity];
  let [vmin, vmax, vsum, vcount] = [Infinity, -Infinity, 0, 0];
  for (let j = 0; j < read; j++) {
    const s = await data.get(Math.floor((j * data.length) / read));
    if (!first) {
      first = s.shape;
      counts = new Array<number>(Math.max(2, first.classes)).fill(0);
    }
    const plane = s.shape.height * s.shape.width;
    let [fg, all] = [0, 0];
    for (let q = 0; q < plane; q++) {
      if (s.fov && !(s.fov[q] > 0.5)) continue;
      all++;
      let k = 0;
      if (s.shape.classes === 1) k = s.mask[q] > 0.5 ? 1 : 0;
      else for (let c = 1; c < s.shape.classes; c++) if (s.mask[c * plane + q] > 0.5) k = c;
      counts[k]++;
      if (k > 0) fg++;
    }
    if (fg === 0) emptyMasks++;
    const share = all ? fg / all : 0;
    lo = Math.min(lo, share);
    hi = Math.max(hi, share);
    for (const v of s.image) {
      if (v < vmin) vmin = v;
      if (v > vmax) vmax = v;
      vsum += v;
    }
    vcount += s.image.length;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    samples: data.length,
    shape: first!,
    read,
    classShares: counts.map((c) => (total ? c / total : NaN)),
    foreground: total ? (total - counts[0]) / total : NaN,
    emptyMasks,
    maskShareRange: [lo, hi],
    imageValues: { min: vmin, max: vmax, mean: vsum / vcount },
    ...(data.groups ? { groups: new Set(data.groups).size } : {}),
    skipped: data.skipped?.length ?? 0,
  };
}
