/** DRIVE retinal vessels in the official layout: full images with field of view, or random patches. Node only. */
import { buildFileDataset, type FileDatasetOptions, type FileDataset, type FileEntry } from './file-dataset.js';
import { isDirectory, nodeFs, nodePath } from './node-env.js';
import { cropPatch } from './patches.js';
import { Rng } from '../tensor/index.js';
import { mixSeed } from './seeds.js';
import { checkIndex, type Dataset, type Sample, type SkippedFile } from './types.js';

export interface DriveOptions extends Omit<FileDatasetOptions, 'classes'> {
  /** 'training' (default) or 'test'. */
  subset?: 'training' | 'test';
  /** 'patches' (random patches, the training protocol) or 'full' (whole images with `fov`). Default: patches for training, full for test. */
  mode?: 'patches' | 'full';
  /** Number of random patches. Default 200,000 (190,000 with 48×48 is the other common protocol). */
  patches?: number;
  /** Patch side. Default 64. */
  patchSize?: number;
  /** Seed of the patch positions. Default 0. */
  seed?: number;
}

/**
 * DRIVE from `dir/training/images/NN_training.tif`, `dir/training/1st_manual/NN_manual1.gif` (vessels)
 * and `dir/training/mask/NN_training_mask.gif` (field of view); `dir/test/` likewise with `_test`.
 * Full mode: 565×584 images (no resizing by default), 3 channels, mask K = 1, `fov` `[1, H, W]`.
 * Patch mode (training default): `patches` random `patchSize`² crops whose centre pixel lies inside
 * the field of view and whose square lies inside the image, drawn from `seed`; each carries its `fov`
 * crop and an id `NN_training@y,x` (top-left corner). The full images stay in memory (about 80 MB).
 * Evaluate on full images with `slidingWindow` / `reassemble`, counting only pixels where fov is 1.
 * @example const train = await drive('/data/DRIVE', { patches: 190000, patchSize: 48 });
 */
export async function drive(dir: string, opts: DriveOptions = {}): Promise<Dataset & { readonly skipped: readonly SkippedFile[] }> {
  const fs = await nodeFs();
  const path = await nodePath();
  const subset = opts.subset ?? 'training';
  const root = path.join(dir, subset);
  const dirs = { images: path.join(root, 'images'), manual: path.join(root, '1st_manual'), fov: path.join(root, 'mask') };
  for (const d of Object.values(dirs)) {
    if (!(await isDirectory(d))) throw new Error(`drive: ${d} is not a folder (expected ${subset}/images/NN_${subset}.tif, ${subset}/1st_manual/NN_manual1.gif and ${subset}/mask/NN_${subset}_mask.gif under ${dir})`);
  }
  const manual = new Set(await fs.readdir(dirs.manual));
  const fovs = new Set(await fs.readdir(dirs.fov));
  const entries: FileEntry[] = [];
  const problems: SkippedFile[] = [];
  const pattern = new RegExp(`^(\\d+)_${subset}\\.tiff?$`, 'i');
  for (const f of (await fs.readdir(dirs.images)).sort()) {
    const m = pattern.exec(f);
    if (!m) continue;
    const image = path.join(dirs.images, f);
    const mask = `${m[1]}_manual1.gif`, fov = `${m[1]}_${subset}_mask.gif`;
    if (!manual.has(mask)) problems.push({ file: image, reason: `missing mask: expected ${path.join(dirs.manual, mask)}` });
    else if (!fovs.has(fov)) problems.push({ file: image, reason: `missing field-of-view mask: expected ${path.join(dirs.fov, fov)}` });
    else entries.push({ id: `${m[1]}_${subset}`, image, masks: [path.join(dirs.manual, mask)], fov: path.join(dirs.fov, fov) });
  }
  const mode = opts.mode ?? (subset === 'training' ? 'patches' : 'full');
  const full = await buildFileDataset(`drive(${dir}, ${subset})`, entries, problems, { ...opts, memoryCache: mode === 'patches' || opts.memoryCache }, { size: null, channels: 3, emptyMessage: `no NN_${subset}.tif images in ${dirs.images}` });
  if (mode === 'full') return full;
  return DrivePatches.create(full, opts.patches ?? 200_000, opts.patchSize ?? 64, opts.seed ?? 0);
}

/** Random patches centred inside the field of view of a full-image dataset (see {@link drive}). */
export class DrivePatches implements Dataset {
  readonly name: string;
  private idCache: string[] | null = null;

  private constructor(
    readonly source: FileDataset,
    private readonly images: Sample[],
    /** Per patch: image index, top-left y, top-left x. */
    private readonly origins: Int32Array,
    readonly patchSize: number,
  ) {
    this.name = `${source.name} patches`;
  }

  /** Decodes every image of `source` and draws `count` patch origins from `seed`. */
  static async create(source: FileDataset, count: number, patchSize: number, seed: number): Promise<DrivePatches> {
    if (!Number.isInteger(count) || count <= 0) throw new Error(`drive: patches must be a positive integer, got ${count}`);
    if (!Number.isInteger(patchSize) || patchSize <= 0) throw new Error(`drive: patchSize must be a positive integer, got ${patchSize}`);
    const images: Sample[] = [];
    for (let i = 0; i < source.length; i++) images.push(await source.get(i));
    // Valid centres: inside the FOV, with the whole patch inside the image.
    const half = Math.floor(patchSize / 2);
    const centres = images.map((s) => {
      const { height: H, width: W } = s.shape;
      if (patchSize > H || patchSize > W) throw new Error(`drive: patchSize ${patchSize} is larger than ${s.id} (${H}×${W})`);
      const list: number[] = [];
      for (let y = half; y - half + patchSize <= H; y++) {
        for (let x = half; x - half + patchSize <= W; x++) if (s.fov![y * W + x] > 0) list.push(y * W + x);
      }
      if (list.length === 0) throw new Error(`drive: the field of view of ${s.id} (${source.entries[images.indexOf(s)].fov}) has no pixel where a ${patchSize}×${patchSize} patch fits`);
      return Int32Array.from(list);
    });
    const rng = new Rng(mixSeed(seed, 0x44524956));
    const origins = new Int32Array(count * 3);
    for (let j = 0; j < count; j++) {
      const i = rng.int(0, images.length);
      const c = centres[i][rng.int(0, centres[i].length)];
      const W = images[i].shape.width;
      origins[3 * j] = i;
      origins[3 * j + 1] = Math.floor(c / W) - half;
      origins[3 * j + 2] = (c % W) - half;
    }
    return new DrivePatches(source, images, origins, patchSize);
  }

  get length(): number {
    return this.origins.length / 3;
  }

  get skipped(): readonly SkippedFile[] {
    return this.source.skipped;
  }

  /** `NN_training@y,x` per patch (built on first use: 200,000 strings). */
  get ids(): readonly string[] {
    this.idCache ??= Array.from({ length: this.length }, (_, j) => this.patchId(j));
    return this.idCache;
  }

  /** The source image index and top-left corner of patch j. */
  origin(j: number): { image: number; y: number; x: number } {
    checkIndex(this.name, j, this.length);
    return { image: this.origins[3 * j], y: this.origins[3 * j + 1], x: this.origins[3 * j + 2] };
  }

  async get(j: number): Promise<Sample> {
    const { image, y, x } = this.origin(j);
    const s = this.images[image];
    const { channels, classes, height, width } = s.shape;
    const p = this.patchSize;
    return {
      image: cropPatch(s.image, channels, height, width, y, x, p),
      mask: cropPatch(s.mask, classes, height, width, y, x, p),
      fov: cropPatch(s.fov!, 1, height, width, y, x, p),
      shape: { channels, classes, height: p, width: p },
      id: this.patchId(j),
    };
  }

  private patchId(j: number): string {
    return `${this.images[this.origins[3 * j]].id}@${this.origins[3 * j + 1]},${this.origins[3 * j + 2]}`;
  }
}
