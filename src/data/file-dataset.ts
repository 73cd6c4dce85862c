/**
 * The dataset shared by every folder layout (folder, ISIC 2018, DSB 2018): a list of (image, mask
 * files) pairs decoded lazily with sharp, resized, disk-cached and checked up front. Node only.
 */
import { cached, DEFAULT_CACHE_DIR } from './cache.js';
import { checkWindow, decodeFile, readImageInfo, resizeLabels, sampleFormat, valueRange, type RawPixels } from './decode.js';
import { loadSharp, mapLimit, nodePath } from './node-env.js';
import { binaryMask, interleavedToPlanar, oneHotMask } from './image.js';
import { checkIndex, normaliseSize, type Dataset, type Sample, type SizeOption, type SkippedFile, type WarningHandler } from './types.js';

/** One sample on disk: its image, the mask file(s) merged by union, and an optional field-of-view mask. */
export interface FileEntry {
  id: string;
  image: string;
  masks: string[];
  fov?: string;
}

/** Options shared by the file-backed datasets. */
export interface FileDatasetOptions {
  /** Resize to `[height, width]` (or a square); null keeps each file's size. Default: per dataset. */
  size?: SizeOption | null;
  /** Image channels: 3 (RGB, alpha dropped) or 1 (luminance). Default: per dataset; folder: from the first image. */
  channels?: 1 | 3;
  /**
   * Image values lo…hi (in the file's units: 0–255 for 8-bit files, 0–65535 for 16-bit ones) map to 0…1,
   * clipped: for images that use part of their range, such as a 12-bit camera's `[0, 4095]`, or a CT
   * window. Default: the whole range of each file's type.
   */
  window?: readonly [number, number];
  /** Number of classes, background included, for index masks (pixel value = class index → one-hot `[K, H, W]`). Unset: binary masks (0/255: > 127 is foreground; 0/1: the 1s), K = 1. */
  classes?: number;
  /** Disk-cache folder for decoded pixels, or false for none. Default `.cache/segrad-data` under the current folder. */
  cacheDir?: string | false;
  /** Also keep decoded samples in memory (fast, but ISIC at 192×256 takes about 2 GB). Default false. */
  memoryCache?: boolean;
  /** Leave out samples with a missing, unreadable or mismatched file instead of throwing. Default false. */
  skipBad?: boolean;
  /** Where skip warnings go. Default `console.warn`. */
  onWarning?: WarningHandler;
  /** Read every file's header when the dataset is built, so bad files are found before training. Default true. */
  validate?: boolean;
  /** Called as a slow build goes (NIfTI volumes read so far of `total`): a progress bar. */
  onProgress?: (done: number, total: number) => void;
  /**
   * The group of each sample (its patient, when one patient's scans or slices are several files), so
   * `split` keeps a group whole and no patient is on both sides: a separator (the id's part before its
   * first occurrence: `'_'` makes `patient012_slice045` group `patient012`), a RegExp (its first capture
   * group, or the whole match), or a function of the id.
   */
  groupBy?: string | RegExp | ((id: string) => string);
}

/** A dataset of image/mask files. `skipped` lists what `skipBad` left out. */
export class FileDataset implements Dataset {
  readonly ids: readonly string[];
  /** Each sample's group, with `groupBy`. */
  readonly groups?: readonly string[];
  private readonly memory = new Map<number, Sample>();

  /** @internal Use `folderDataset`, `isic2018`, `dsb2018` or {@link buildFileDataset}. */
  constructor(
    readonly name: string,
    readonly entries: readonly FileEntry[],
    readonly skipped: readonly SkippedFile[],
    private readonly settings: { size: [number, number] | null; channels: 1 | 3; classes: number; cacheDir: string | null; memoryCache: boolean; window?: readonly [number, number] },
    groupBy?: FileDatasetOptions['groupBy'],
  ) {
    this.ids = entries.map((e) => e.id);
    if (groupBy !== undefined) this.groups = this.ids.map((id) => groupOf(id, groupBy, name));
  }

  get length(): number {
    return this.entries.length;
  }

  /** Decodes sample i: image `[C, H, W]` in [0, 1], mask `[K, H, W]` in {0, 1}, fov `[1, H, W]` when the layout has one. */
  async get(i: number): Promise<Sample> {
    checkIndex(this.name, i, this.length);
    const hit = this.memory.get(i);
    if (hit) return hit;
    const e = this.entries[i];
    const { size, channels, classes, cacheDir, window } = this.settings;
    const image = await cached(cacheDir, [e.image], { kind: 'image', channels, size, window }, () => decodeFile(e.image, { kind: 'image', channels, size, window }));
    const kind = classes > 1 ? 'index' : 'mask';
    const mask = await cached(cacheDir, e.masks, { kind, size, union: e.masks.length > 1 }, () => decodeMasks(e.masks, kind, size));
    const fov = e.fov ? await cached(cacheDir, [e.fov], { kind: 'mask', size }, () => decodeFile(e.fov!, { kind: 'mask', size })) : undefined;
    for (const [px, files] of [[mask, e.masks], ...(fov ? [[fov, [e.fov!]]] : [])] as [RawPixels, string[]][]) {
      if (px.channels !== 1 || px.data.length !== px.height * px.width) throw new Error(`${this.name}: ${files.join(', ')} decoded to ${px.channels} channels, expected a one-channel mask`);
      if (px.height !== image.height || px.width !== image.width) {
        throw new Error(`${this.name}: ${files.join(', ')} is ${px.width}×${px.height} but the image ${e.image} is ${image.width}×${image.height} (W×H); pass a size to resize both`);
      }
    }
    const sample: Sample = {
      image: interleavedToPlanar(image.data, image.height, image.width, image.channels),
      mask: classes > 1 ? oneHotMask(mask.data, classes, e.masks.join(', ')) : binaryMask(mask.data, e.masks.join(', ')),
      shape: { channels: image.channels, classes, height: image.height, width: image.width },
      id: e.id,
      ...(fov ? { fov: binaryMask(fov.data, e.fov!) } : {}),
    };
    if (this.settings.memoryCache) this.memory.set(i, sample);
    return sample;
  }
}

/** The group `groupBy` gives sample `id`; an id it does not fit is an error naming both. */
function groupOf(id: string, groupBy: NonNullable<FileDatasetOptions['groupBy']>, name: string): string {
  if (typeof groupBy === 'function') return groupBy(id);
  if (typeof groupBy === 'string') {
    const at = id.indexOf(groupBy);
    if (at <= 0) throw new Error(`${name}: sample ${id} has no '${groupBy}' after its first character, so groupBy (groups=${groupBy}) cannot tell its patient; name the files <patient>${groupBy}<rest>`);
    return id.slice(0, at);
  }
  const m = groupBy.exec(id);
  if (!m) throw new Error(`${name}: sample ${id} does not match groupBy ${String(groupBy)}, so its patient is unknown`);
  return m[1] ?? m[0];
}

/** Decodes mask files and merges them by union (max), at native size, then resizes nearest. */
async function decodeMasks(files: readonly string[], kind: 'mask' | 'index', size: [number, number] | null): Promise<RawPixels> {
  if (files.length === 1) return decodeFile(files[0], { kind, size });
  let merged: RawPixels | null = null;
  for (const f of files) {
    const px = await decodeFile(f, { kind, size: null });
    if (!merged) {
      merged = { ...px, data: px.data.slice() };
      continue;
    }
    if (px.width !== merged.width || px.height !== merged.height) {
      throw new Error(`${f} is ${px.width}×${px.height} but ${files[0]} is ${merged.width}×${merged.height} (W×H): masks of one sample must have one size`);
    }
    for (let q = 0; q < px.data.length; q++) if (px.data[q] > merged.data[q]) merged.data[q] = px.data[q];
  }
  return size ? resizeLabels(merged!, size) : merged!;
}

/**
 * Builds a {@link FileDataset} from entries found by a layout scanner, with the `problems` it found
 * (missing masks…). Checks every file's header (unless `validate: false`): unreadable files and, when
 * not resizing, image/mask size mismatches. Without `skipBad` any problem throws, naming the file(s);
 * with it, bad samples are left out, reported through `onWarning` and listed in `skipped`.
 * Throws when no sample is left (`emptyMessage`).
 */
export async function buildFileDataset(
  name: string,
  entries: FileEntry[],
  problems: SkippedFile[],
  opts: FileDatasetOptions,
  defaults: { size: SizeOption | null; channels?: 1 | 3; emptyMessage: string },
): Promise<FileDataset> {
  const size = opts.size === undefined ? (defaults.size === null ? null : normaliseSize(defaults.size, name)) : opts.size === null ? null : normaliseSize(opts.size, name);
  const classes = opts.classes ?? 1;
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`${name}: classes must be a positive integer, got ${opts.classes}`);
  const bad = [...problems];
  let good = entries;
  if (opts.window) checkWindow(opts.window, name);
  const infos = new Map<FileEntry, Awaited<ReturnType<typeof readImageInfo>>>();
  if (opts.validate ?? true) {
    const checks = await mapLimit(entries, 8, async (e) => {
      try {
        const img = await readImageInfo(e.image);
        infos.set(e, img);
        for (const f of [...e.masks, ...(e.fov ? [e.fov] : [])]) {
          const m = await readImageInfo(f);
          // a mask drawn on the stored pixels of an image that EXIF says to show turned: resized, it would lie across the picture
          const turned = img.orientation >= 5 && img.width !== img.height && m.width === img.height && m.height === img.width;
          if (turned || (size === null && (m.width !== img.width || m.height !== img.height))) {
            const why = turned ? `; the image carries EXIF orientation ${img.orientation} and is read as shown (turned), the mask fits its stored pixels: draw masks on the picture as shown, or drop the image's orientation tag` : '; pass a size to resize both';
            return { file: `${e.image}, ${f}`, reason: `image is ${img.width}×${img.height} (as shown) but ${f} is ${m.width}×${m.height} (W×H)${why}` };
          }
        }
        return null;
      } catch (err) {
        return { file: e.image, reason: (err as Error).message };
      }
    });
    good = entries.filter((_, i) => checks[i] === null);
    for (const c of checks) if (c) bad.push(c);
  }
  if (bad.length > 0) {
    const list = bad.slice(0, 5).map((b) => `  ${b.file}: ${b.reason}`).join('\n');
    const more = bad.length > 5 ? `\n  … and ${bad.length - 5} more` : '';
    if (!opts.skipBad) throw new Error(`${name}: ${bad.length} bad sample(s) (pass skipBad: true, on the command line --skip-bad, to leave them out):\n${list}${more}`);
    (opts.onWarning ?? console.warn)(`${name}: skipped ${bad.length} bad sample(s):\n${list}${more}`);
  }
  if (good.length === 0) throw new Error(`${name}: ${defaults.emptyMessage}${bad.length ? ` (all ${bad.length} sample(s) were bad)` : ''}`);
  if (size === null) checkOneSize(name, good, infos);
  const wide = good.find((e) => infos.get(e)?.depth === 'ushort');
  if (wide && !opts.window) await warnIfDim(name, wide.image, opts.onWarning ?? console.warn);
  const unscaled = opts.window ? undefined : good.find((e) => !['uchar', 'ushort', undefined].includes(infos.get(e)?.depth));
  if (unscaled) await askForWindow(name, unscaled.image, infos.get(unscaled)!.depth);
  // the first image in order decides (the checks above finish in any order)
  const firstChannels = infos.get(good[0])?.channels;
  const channels = opts.channels ?? defaults.channels ?? (firstChannels !== undefined && firstChannels <= 2 ? 1 : 3);
  if (channels !== 1 && channels !== 3) throw new Error(`${name}: channels must be 1 or 3, got ${channels}`);
  const path = await nodePath();
  const cacheDir = opts.cacheDir === false ? null : path.resolve(opts.cacheDir ?? DEFAULT_CACHE_DIR);
  return new FileDataset(name, good, bad, { size, channels, classes, cacheDir, memoryCache: opts.memoryCache ?? false, ...(opts.window ? { window: opts.window } : {}) }, opts.groupBy);
}

/**
 * Without resizing, every image must have one size: batches stack them and the metrics pool them, so a
 * mixed folder would fail only when a batch or the evaluation met the odd one, perhaps after training.
 */
function checkOneSize(name: string, entries: readonly FileEntry[], infos: ReadonlyMap<FileEntry, { width: number; height: number }>): void {
  const bySize = new Map<string, FileEntry[]>();
  for (const e of entries) {
    const info = infos.get(e);
    if (info === undefined) continue;
    const s = `${info.width}×${info.height}`;
    const group = bySize.get(s);
    if (group) group.push(e);
    else bySize.set(s, [e]);
  }
  if (bySize.size <= 1) return;
  const groups = [...bySize].sort((a, b) => b[1].length - a[1].length);
  const list = groups.slice(0, 4).map(([s, es]) => `${s} (W×H): ${es.length} image(s), such as ${es[0].image}`).join('; ');
  throw new Error(
    `${name}: the images have ${groups.length} sizes and are not resized: ${list}${groups.length > 4 ? '; …' : ''}. ` +
      `Pass a size to resize them all to one (size: 256 or [height, width]; on the command line --data '…?size=256' or '…?size=192x256')`,
  );
}

/**
 * Read by the whole 16-bit range, a 16-bit image whose values stay small (a 12-bit camera's) keeps a few
 * of 256 grey levels; the first 16-bit image of a dataset says whether to suggest a window.
 */
async function warnIfDim(name: string, file: string, warn: WarningHandler): Promise<void> {
  const sharp = await loadSharp();
  const max = Math.max(...(await sharp(file).stats()).channels.map((c) => c.max));
  if (max <= 0 || max >= 4096) return;
  const top = 2 ** Math.ceil(Math.log2(max + 1)) - 1;
  warn(
    `${name}: ${file} is a 16-bit image whose values reach only ${max}; read by the whole 16-bit range it keeps ${Math.floor(max / 257) + 1} grey levels of 256. ` +
      `Pass window: [0, ${top}] to map 0…${top} to 0…1 (on the command line --data '…?window=0,${top}')`,
  );
}

/**
 * Signed and float images (CT in Hounsfield units, float exports of microscopy) have no range to scale
 * from: read as 8 bits they would be clipped and training would see black. The first one names the range
 * a window must give.
 */
async function askForWindow(name: string, file: string, depth: string): Promise<never> {
  const [lo, hi] = await valueRange(file);
  const ct = depth === 'short' ? ', or for CT in Hounsfield units a window such as -1000,400 (lung) or -160,240 (soft tissue)' : '';
  throw new Error(
    `${name}: ${file} is a ${sampleFormat(depth)} image (values ${lo}…${hi}), which has no fixed range to read it by. ` +
      `Pass window: [lo, hi], the values that map to 0 and 1: on the command line --data '…?window=${lo},${hi}' (this file's range)${ct}`,
  );
}

/** File extensions sharp decodes that the layouts use. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.gif', '.webp'];

/**
 * Splits an image file's name into base and lower-case extension; null for other files and for hidden
 * ones (a leading dot: macOS's `._name.png` resource forks, `.DS_Store`), which are never samples.
 */
export function imageName(file: string): { base: string; ext: string } | null {
  const dot = file.lastIndexOf('.');
  if (file.startsWith('.') || dot <= 0) return null;
  const ext = file.slice(dot).toLowerCase();
  return IMAGE_EXTENSIONS.includes(ext) ? { base: file.slice(0, dot), ext } : null;
}

/** Formats medical and scientific images often come in that sharp does not decode, by extension. */
const OTHER_FORMATS: readonly [string, string][] = [
  ['.nii.gz', 'NIfTI'], ['.nii', 'NIfTI'], ['.dcm', 'DICOM'], ['.dicom', 'DICOM'], ['.npy', 'NumPy'], ['.npz', 'NumPy'],
  ['.mha', 'MetaImage'], ['.mhd', 'MetaImage'], ['.nrrd', 'NRRD'], ['.h5', 'HDF5'], ['.hdf5', 'HDF5'], ['.bmp', 'BMP'],
];

/** A file in one of {@link OTHER_FORMATS}: its name without the extension, the extension and the format; else null. */
export function otherFormat(file: string): { base: string; ext: string; format: string } | null {
  if (file.startsWith('.')) return null;
  const lower = file.toLowerCase();
  const hit = OTHER_FORMATS.find(([ext]) => lower.endsWith(ext) && lower.length > ext.length);
  return hit ? { base: file.slice(0, file.length - hit[0].length), ext: hit[0], format: hit[1] } : null;
}

/** What to do with files segrad does not decode, said once where a folder turned out to hold no images. */
export const OTHER_FORMAT_ADVICE =
  'convert them to PNG or TIFF (16-bit, or signed 16-bit with ?window=lo,hi for CT in Hounsfield units), or read them with a library for that format and pass the arrays to data.fromArrays';

/** ' (it holds 3 .dcm files (DICOM), which segrad does not decode: …)' for a folder's file names, or '' when none is in another known format. */
export function otherFormatsNote(files: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of files) {
    const o = otherFormat(f);
    if (o) counts.set(`${o.ext} (${o.format})`, (counts.get(`${o.ext} (${o.format})`) ?? 0) + 1);
  }
  if (counts.size === 0) return '';
  const list = [...counts].map(([k, n]) => `${n} ${k.replace(' (', ` file${n === 1 ? '' : 's'} (`)}`).join(', ');
  const nifti = [...counts.keys()].some((k) => k.includes('NIfTI')) ? '; NIfTI volumes are read as 2D slices by --data nifti:DIR (imagesTr/ and labelsTr/, or images/ with labels/ or masks/)' : '';
  return ` (it holds ${list}, which segrad does not decode as images: ${OTHER_FORMAT_ADVICE}${nifti})`;
}
