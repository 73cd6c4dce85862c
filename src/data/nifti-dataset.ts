/**
 * 2D slices of NIfTI volumes as a dataset (Node only): the Medical Segmentation Decathlon's layout
 * (`imagesTr/` and `labelsTr/`, `.nii.gz`) or `images/` with `labels/` or `masks/`. Each volume is read
 * once when the dataset is built, cut along its third axis, scaled to [0, 1] and kept in memory as
 * 8-bit slices; every slice remembers its volume, so `split` keeps a patient's slices on one side.
 */
import { importNodeOnly } from '../tensor/node-only.js';
import { checkWindow } from './decode.js';
import { oneHotMask, resizeBilinear, resizeNearest } from './image.js';
import { isGzip, readNifti, sliceGeometry, type NiftiVolume } from './nifti.js';
import { isDirectory, nodeFs, nodePath } from './node-env.js';
import { checkIndex, normaliseSize, type Dataset, type Sample, type SizeOption, type WarningHandler } from './types.js';

export interface NiftiDatasetOptions {
  /** The voxel values that map to 0 and 1 (CT in Hounsfield units: lung −1000,400, soft tissue −160,240). Default: each volume's own 0.5th and 99.5th percentiles, per channel (MRI). */
  window?: readonly [number, number];
  /** Resize every slice to `[height, width]` (bilinear images, nearest labels). Default: as stored, which needs one in-plane size for all volumes. */
  size?: SizeOption | null;
  /** Number of classes, background included, for labels 0…K−1 (one-hot). Unset: binary, every label > 0 is foreground. */
  classes?: number;
  /** 'all' slices (default), or only those whose label has foreground ('labelled'). */
  slices?: 'all' | 'labelled';
  /** The axis the slices are cut along: 2 (default: k, axial for most CT and MRI), 1 or 0. */
  axis?: 0 | 1 | 2;
  /** Sub-folders of the volumes and the labels (default imagesTr and labelsTr, else images with labels or masks). */
  imagesDir?: string;
  labelsDir?: string;
  /** Called after each volume is read: how many of `total` so far (a progress bar; reading CT is slow). */
  onProgress?: (done: number, total: number) => void;
  /** Where advice goes (CT read without a window). Default `console.warn`. */
  onWarning?: WarningHandler;
}

const EXTENSIONS = ['.nii.gz', '.nii'];

/** A volume's name without `.nii` / `.nii.gz`, or null for another file. */
function volumeName(file: string): string | null {
  const ext = EXTENSIONS.find((e) => file.toLowerCase().endsWith(e) && file.length > e.length);
  return ext && !file.startsWith('.') ? file.slice(0, file.length - ext.length) : null;
}

/** An 8-bit slice: image `[C, H, W]` and labels `[H, W]`. */
interface Slice {
  id: string;
  volume: string;
  image: Uint8Array;
  labels: Uint8Array;
}

class NiftiDataset implements Dataset {
  readonly ids: readonly string[];
  readonly groups: readonly string[];

  constructor(
    readonly name: string,
    private readonly slices: readonly Slice[],
    private readonly shape: { channels: number; height: number; width: number },
    private readonly classes: number,
    readonly groupSpacing?: ReadonlyMap<string, readonly [number, number, number]>,
  ) {
    this.ids = slices.map((s) => s.id);
    this.groups = slices.map((s) => s.volume);
  }

  get length(): number {
    return this.slices.length;
  }

  async get(i: number): Promise<Sample> {
    checkIndex(this.name, i, this.length);
    const s = this.slices[i];
    // plain loops: TypedArray.from with a map function is about ten times slower, per sample of every batch
    const image = new Float32Array(s.image.length);
    for (let q = 0; q < image.length; q++) image[q] = s.image[q] / 255;
    let mask: Float32Array;
    if (this.classes > 1) mask = oneHotMask(s.labels, this.classes, s.id);
    else {
      mask = new Float32Array(s.labels.length);
      for (let q = 0; q < mask.length; q++) mask[q] = s.labels[q] > 0 ? 1 : 0;
    }
    return { id: s.id, image, mask, shape: { ...this.shape, classes: this.classes } };
  }
}

/**
 * Reads the volumes of `dir` and their label volumes (same file names) into a dataset of 2D slices,
 * `<volume>#<k>` for slice k along the third axis, in the voxel order of the files (row j, column i).
 * A 4D volume's fourth axis gives the image channels (the Decathlon's MRI modalities). Errors name the
 * file: a missing label volume, shapes that differ, label values that are not whole numbers, or (with
 * `classes`) ≥ K.
 * @example const ds = await niftiDataset('/data/Task04_Hippocampus', { classes: 3, size: 64 });
 */
export async function niftiDataset(dir: string, opts: NiftiDatasetOptions = {}): Promise<Dataset> {
  const fs = await nodeFs();
  const path = await nodePath();
  const zlib = await importNodeOnly<typeof import('node:zlib')>('node:zlib');
  const name = `nifti(${dir})`;
  const [imagesDir, labelsDir] = await subfolders(dir, opts, path.join);
  if (opts.window) checkWindow(opts.window, `${name}: window`);
  const K = opts.classes ?? 1;
  if (!Number.isInteger(K) || K < 1 || K > 256) throw new Error(`${name}: classes must be an integer from 2 to 256 (or unset for binary labels), got ${K}`);
  const size = opts.size ? normaliseSize(opts.size, name) : null;
  const axis = opts.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) throw new Error(`${name}: axis must be 0, 1 or 2, got ${String(axis)}`);
  const volumes = (await fs.readdir(imagesDir)).flatMap((f) => {
    const v = volumeName(f);
    return v === null ? [] : [{ file: f, name: v }];
  }).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (volumes.length === 0) throw new Error(`${name}: no .nii or .nii.gz volumes in ${imagesDir}`);
  const modality = volumes.find((v) => /_000[1-9]$/.test(v.name));
  if (modality) throw new Error(`${name}: ${modality.file} is a second modality of a case in nnU-Net's layout (case_0000, case_0001, …), which is not read; give each case one volume, its modalities along the fourth axis (as the Decathlon does)`);
  const labelFiles = new Map((await fs.readdir(labelsDir)).flatMap((f) => (volumeName(f) === null ? [] : [[volumeName(f)!, f] as const])));
  const read = async (file: string): Promise<NiftiVolume> => {
    const bytes = await fs.readFile(file);
    return readNifti(isGzip(bytes) ? zlib.gunzipSync(bytes) : bytes, file);
  };

  const slices: Slice[] = [];
  const spacing = new Map<string, readonly [number, number, number]>();
  let shape: { channels: number; height: number; width: number } | null = null;
  for (const [n, v] of volumes.entries()) {
    const imageFile = path.join(imagesDir, v.file);
    const labelName = labelFiles.get(v.name) ?? labelFiles.get(v.name.replace(/_0000$/, ''));
    if (!labelName) throw new Error(`${imageFile}: no label volume ${v.name}.nii.gz (or .nii) in ${labelsDir}`);
    const labelFile = path.join(labelsDir, labelName);
    const image = await read(imageFile);
    const labels = await read(labelFile);
    const [nx, ny, nz, nt] = image.dims;
    if (labels.dims[0] !== nx || labels.dims[1] !== ny || labels.dims[2] !== nz || labels.dims[3] !== 1) {
      throw new Error(`${labelFile}: the labels are ${labels.dims.join('×')} voxels but the volume ${imageFile} is ${nx}×${ny}×${nz}${nt > 1 ? `×${nt}` : ''}; they must match voxel for voxel`);
    }
    const geo = sliceGeometry(image, axis);
    const [H, W] = [geo.height, geo.width];
    const here = { channels: nt, height: size ? size[0] : H, width: size ? size[1] : W };
    if (shape && (shape.channels !== here.channels || shape.height !== here.height || shape.width !== here.width)) {
      const what = shape.channels !== here.channels ? `${here.channels} channel(s) where the first volume has ${shape.channels}` : `slices of ${H}×${W} where the first volume's are ${shape.height}×${shape.width}; resize them with size (e.g. ?size=${shape.height})`;
      throw new Error(`${imageFile}: has ${what}`);
    }
    shape = here;
    if (n === 0 && !opts.window) adviseWindow(image, imageFile, name, opts.onWarning ?? ((m) => console.warn(m)));
    const slicer = volumeSlicer(image, { window: opts.window, size, axis });
    const [along, rows, cols] = geo.spacing;
    spacing.set(v.name, [along, (rows * H) / here.height, (cols * W) / here.width]);
    for (let k = 0; k < geo.count; k++) {
      let label: Float32Array = new Float32Array(H * W);
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          const l = labels.data[geo.start(k) + r * geo.rowStride + c * geo.colStride];
          if (!(Number.isInteger(l) && l >= 0 && l < (K > 1 ? K : 256))) {
            const q = geo.voxel(k, r, c);
            throw new Error(`${labelFile}: voxel (${q % nx}, ${Math.floor(q / nx) % ny}, ${Math.floor(q / (nx * ny))}) has label ${l}; labels are whole numbers ${K > 1 ? `0…${K - 1} (classes=${K})` : '≥ 0 (0 is background; set classes=K for several classes)'}`);
          }
          label[r * W + c] = l;
        }
      }
      if (opts.slices === 'labelled' && !label.some((l) => l > 0)) continue;
      if (size) label = resizeNearest(label, 1, H, W, size[0], size[1]);
      slices.push({ id: `${v.name}#${k}`, volume: v.name, image: slicer(k), labels: Uint8Array.from(label) });
    }
    opts.onProgress?.(n + 1, volumes.length);
  }
  if (slices.length === 0) throw new Error(`${name}: no slice has foreground in its labels (slices=labelled)`);
  // only whole volumes have a shape in 3D: with slices=labelled the stacks have gaps
  return new NiftiDataset(name, slices, shape!, K, opts.slices === 'labelled' ? undefined : spacing);
}

/**
 * The image slices of a volume as a dataset built from it holds them: slice k along `axis` (default 2,
 * the third) as 8-bit `[C, H, W]` (rows and columns as `sliceGeometry` gives them), scaled through `window` or the volume's own 0.5th and 99.5th
 * percentiles per channel, resized to `size` (bilinear) when given. `segrad predict` reads a volume
 * through this, so it sees what training saw.
 */
export function volumeSlicer(volume: NiftiVolume, opts: { window?: readonly [number, number]; size?: readonly [number, number] | null; axis?: 0 | 1 | 2 }): (k: number) => Uint8Array {
  const [nx, ny, nz, nt] = volume.dims;
  const voxels = nx * ny * nz;
  const geo = sliceGeometry(volume, opts.axis ?? 2);
  const plane = geo.height * geo.width;
  const ranges = Array.from({ length: nt }, (_, t) => (opts.window ? [opts.window[0], opts.window[1]] : percentileRange(volume.data.subarray(t * voxels, (t + 1) * voxels))));
  return (k) => {
    const planes = new Float32Array(nt * plane);
    for (let t = 0; t < nt; t++) {
      const [lo, hi] = ranges[t];
      const scale = hi > lo ? 1 / (hi - lo) : 0;
      const from = t * voxels + geo.start(k);
      for (let r = 0; r < geo.height; r++) {
        const row = from + r * geo.rowStride;
        const out = t * plane + r * geo.width;
        for (let c = 0; c < geo.width; c++) planes[out + c] = Math.min(1, Math.max(0, (volume.data[row + c * geo.colStride] - lo) * scale));
      }
    }
    const scaled = opts.size ? resizeBilinear(planes, nt, geo.height, geo.width, opts.size[0], opts.size[1]) : planes;
    const out = new Uint8Array(scaled.length);
    for (let q = 0; q < out.length; q++) out[q] = Math.round(scaled[q] * 255);
    return out;
  };
}

/**
 * CT in Hounsfield units (air at −1000) read by each volume's own percentiles gives the same tissue a
 * different grey in every scan; a fixed window keeps them comparable. Said once, for the first volume.
 */
function adviseWindow(volume: NiftiVolume, file: string, name: string, warn: WarningHandler): void {
  let min = Infinity;
  for (let q = 0; q < volume.data.length; q++) if (volume.data[q] < min) min = volume.data[q];
  if (min > -900) return;
  warn(`${name}: ${file} reaches ${min}, like CT in Hounsfield units; without a window each volume is scaled by its own percentiles, so one tissue gets a different grey in every scan. A fixed window keeps them alike: ?window=-160,240 (abdomen), -1000,400 (lung), -1000,2000 (bone)`);
}

/** The image and label folders: given, or the Decathlon's imagesTr/labelsTr, or images/ with labels/ or masks/. */
async function subfolders(dir: string, opts: NiftiDatasetOptions, join: (...p: string[]) => string): Promise<[string, string]> {
  if (opts.imagesDir || opts.labelsDir) {
    const pair: [string, string] = [join(dir, opts.imagesDir ?? 'imagesTr'), join(dir, opts.labelsDir ?? 'labelsTr')];
    for (const p of pair) if (!(await isDirectory(p))) throw new Error(`nifti(${dir}): folder ${p} does not exist`);
    return pair;
  }
  for (const [images, labels] of [['imagesTr', 'labelsTr'], ['images', 'labels'], ['images', 'masks']]) {
    if ((await isDirectory(join(dir, images))) && (await isDirectory(join(dir, labels)))) return [join(dir, images), join(dir, labels)];
  }
  throw new Error(`nifti(${dir}): expected the volumes in imagesTr/ and their labels in labelsTr/ (the Medical Segmentation Decathlon's layout), or images/ with labels/ or masks/; other names: ?images=NAME&labels=NAME`);
}

/** The 0.5th and 99.5th percentiles of a channel's voxels, from a 4096-bin histogram (exact sorting of a CT volume is slow). */
export function percentileRange(values: ArrayLike<number>): [number, number] {
  let [min, max] = [Infinity, -Infinity];
  for (let q = 0; q < values.length; q++) {
    const v = values[q];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return [min, max];
  const bins = new Float64Array(4096);
  const width = (max - min) / bins.length;
  for (let q = 0; q < values.length; q++) bins[Math.min(bins.length - 1, Math.floor((values[q] - min) / width))]++;
  const at = (share: number): number => {
    const target = share * values.length;
    let seen = 0;
    for (let b = 0; b < bins.length; b++) {
      if (seen + bins[b] >= target) return min + (b + (bins[b] ? (target - seen) / bins[b] : 0)) * width;
      seen += bins[b];
    }
    return max;
  };
  return [at(0.005), at(0.995)];
}
