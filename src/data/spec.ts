/** Parses the CLI's dataset strings, e.g. `synthetic:blobs?foreground=0.05&count=200&size=64` or `isic2018:/data/isic`. */
import { drive } from './drive.js';
import { dsb2018 } from './dsb2018.js';
import { checkWindow } from './decode.js';
import type { FileDatasetOptions } from './file-dataset.js';
import { folderDataset } from './folder.js';
import { isic2018 } from './isic2018.js';
import { niftiDataset } from './nifti-dataset.js';
import { isDirectory, nodeFs, nodePath } from './node-env.js';
import { synthetic, type SyntheticKind } from './synthetic.js';
import type { Dataset, SizeOption } from './types.js';

/** The dataset kinds {@link datasetFromSpec} knows. */
export const DATASET_KINDS = ['synthetic', 'isic2018', 'dsb2018', 'drive', 'folder', 'nifti'] as const;

const FILE_KEYS = ['size', 'channels', 'classes', 'cache', 'window', 'groups'];
const KEYS: Record<(typeof DATASET_KINDS)[number], string[]> = {
  synthetic: ['count', 'size', 'foreground', 'noise', 'seed', 'channels', 'classes'],
  isic2018: [...FILE_KEYS, 'subset'],
  dsb2018: [...FILE_KEYS, 'stage'],
  drive: ['size', 'channels', 'cache', 'window', 'subset', 'mode', 'patches', 'patchSize', 'seed'],
  folder: [...FILE_KEYS, 'suffix', 'images', 'masks'],
  nifti: ['size', 'classes', 'window', 'slices', 'images', 'labels', 'axis'],
};

/** Every query option a dataset spec takes, over all kinds (the CLI points a mistyped `--size` here). */
export const DATASET_OPTIONS: readonly string[] = [...new Set(Object.values(KEYS).flat())];

/**
 * Builds a dataset from a spec string `kind:target[?key=value&…]`, or a bare folder `<dir>[?key=value&…]`
 * whose layout names its kind (the sub-folders of isic2018, dsb2018, drive, or images/ and masks/):
 * - `synthetic:<blobs|vessels|nuclei>` with count, size (`64` or `48x64` as H×W), foreground, noise, seed, channels, classes;
 * - `isic2018:<dir>` (subset), `dsb2018:<dir>` (stage), `folder:<dir>` (suffix, images, masks) with size
 *   (`native` to keep file sizes), channels, classes, cache (`off` or a folder), window (`0,4095`: the image
 *   values that map to 0 and 1), groups (a separator: the id's part before it names the sample's patient,
 *   whom the split keeps on one side);
 * - `drive:<dir>` with subset, mode (patches|full), patches, patchSize, seed, size, channels, cache, window;
 * - `nifti:<dir>` (imagesTr/ and labelsTr/ of .nii.gz volumes, cut into 2D slices) with size, classes,
 *   window, slices (all|labelled), axis (0|1|2, default 2), images, labels.
 * `opts` (cacheDir, skipBad, onWarning…) apply to the file datasets; query values override them.
 * Throws on an unknown kind or key, a bad value, or a folder that does not exist.
 * @example const ds = await datasetFromSpec('synthetic:vessels?foreground=0.05&count=200');
 */
export async function datasetFromSpec(spec: string, opts: FileDatasetOptions = {}): Promise<Dataset> {
  const colon = spec.indexOf(':');
  let kind = (colon < 0 ? spec : spec.slice(0, colon)) as (typeof DATASET_KINDS)[number];
  let rest = colon < 0 ? '' : spec.slice(colon + 1);
  if (!DATASET_KINDS.includes(kind)) {
    // a bare folder (C:\data on Windows too): its layout says which kind it is
    const dir = spec.split('?')[0];
    if (!(await isDirectory(dir))) {
      throw new Error(`datasetFromSpec: unknown dataset kind '${kind}' in '${spec}'; expected one of ${DATASET_KINDS.map((k) => `${k}:…`).join(', ')}, or a folder that exists`);
    }
    kind = await layoutOf(dir);
    rest = spec;
  }
  const q = rest.indexOf('?');
  const target = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  for (const key of params.keys()) {
    if (!KEYS[kind].includes(key)) throw new Error(`datasetFromSpec: unknown option '${key}' for ${kind} in '${spec}'; expected one of ${KEYS[kind].join(', ')}`);
  }
  const num = (key: string): number | undefined => {
    const v = params.get(key);
    if (v === null) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`datasetFromSpec: ${key}=${v} in '${spec}' is not a number`);
    return n;
  };
  const str = (key: string): string | undefined => params.get(key) ?? undefined;
  const size = (): SizeOption | null | undefined => {
    const v = params.get('size');
    if (v === null) return undefined;
    if (v === 'native') return null;
    const m = /^(\d+)(?:x(\d+))?$/.exec(v);
    if (!m) throw new Error(`datasetFromSpec: size=${v} in '${spec}' must be N, HxW or native`);
    return m[2] ? [Number(m[1]), Number(m[2])] : Number(m[1]);
  };
  const channels = num('channels') as 1 | 3 | undefined;

  if (kind === 'synthetic') {
    if (!target) throw new Error(`datasetFromSpec: '${spec}' needs a synthetic kind: synthetic:blobs, synthetic:vessels or synthetic:nuclei`);
    const s = size();
    return synthetic({ kind: target as SyntheticKind, count: num('count'), size: s ?? undefined, foreground: num('foreground'), noise: num('noise'), seed: num('seed'), channels, classes: num('classes') });
  }
  if (!target) throw new Error(`datasetFromSpec: '${spec}' needs a folder: ${kind}:<dir>`);
  if (!(await isDirectory(target))) throw new Error(`datasetFromSpec: folder ${target} does not exist (from '${spec}')`);
  const cache = str('cache');
  const window = parseWindow(params.get('window'), spec);
  const common: FileDatasetOptions = {
    ...opts,
    ...(window ? { window } : {}),
    ...(params.has('size') ? { size: size() } : {}),
    ...(channels !== undefined ? { channels } : {}),
    ...(params.has('classes') ? { classes: num('classes') } : {}),
    ...(cache !== undefined ? { cacheDir: cache === 'off' ? false : cache } : {}),
    ...(params.has('groups') ? { groupBy: params.get('groups')! } : {}),
  };
  switch (kind) {
    case 'isic2018':
      return isic2018(target, { ...common, subset: str('subset') as 'Training' | undefined });
    case 'dsb2018':
      return dsb2018(target, { ...common, stage: str('stage') });
    case 'folder':
      return folderDataset(target, { ...common, maskSuffix: str('suffix'), imagesDir: str('images'), masksDir: str('masks') });
    case 'nifti': {
      const slices = str('slices');
      if (slices !== undefined && slices !== 'all' && slices !== 'labelled') throw new Error(`datasetFromSpec: slices=${slices} in '${spec}' must be all or labelled`);
      const axis = num('axis') ?? 2;
      if (axis !== 0 && axis !== 1 && axis !== 2) throw new Error(`datasetFromSpec: axis=${axis} in '${spec}' must be 0, 1 or 2`);
      return niftiDataset(target, { window, size: common.size, classes: common.classes, slices, axis, imagesDir: str('images'), labelsDir: str('labels'), onProgress: opts.onProgress, onWarning: opts.onWarning });
    }
    case 'drive':
      return drive(target, { ...common, subset: str('subset') as 'training' | undefined, mode: str('mode') as 'patches' | undefined, patches: num('patches'), patchSize: num('patchSize'), seed: num('seed') });
  }
}

/** The official layout a folder is in, by the sub-folders each one has; throws listing them when it is in none. */
async function layoutOf(dir: string): Promise<'isic2018' | 'dsb2018' | 'drive' | 'folder' | 'nifti'> {
  const path = await nodePath();
  const has = (...parts: string[]) => isDirectory(path.join(dir, ...parts));
  if (await has('ISIC2018_Task1-2_Training_Input')) return 'isic2018';
  if (await has('stage1_train')) return 'dsb2018';
  if ((await has('training', 'images')) && (await has('training', '1st_manual'))) return 'drive';
  if ((await has('imagesTr')) && (await has('labelsTr'))) return 'nifti';
  if ((await has('images')) && (await has('labels'))) return 'nifti';
  if ((await has('images')) && (await has('masks'))) return (await holdsVolumes(path.join(dir, 'images'))) ? 'nifti' : 'folder';
  throw new Error(
    `datasetFromSpec: ${dir} is in none of the layouts segrad knows: images/ and masks/ (folder), ISIC2018_Task1-2_Training_Input/ (isic2018), ` +
      `stage1_train/ (dsb2018), training/images/ and training/1st_manual/ (drive), imagesTr/ and labelsTr/ (nifti). For other sub-folder names: folder:${dir}?images=NAME&masks=NAME`,
  );
}

/** True when a folder holds NIfTI volumes (.nii, .nii.gz). */
async function holdsVolumes(dir: string): Promise<boolean> {
  const fs = await nodeFs();
  return (await fs.readdir(dir)).some((f) => /\.nii(\.gz)?$/i.test(f));
}

/** The `window=lo,hi` of a dataset spec, if it has one: `segrad predict` reads new images as the run's were read. */
export function windowFromSpec(spec: string): [number, number] | undefined {
  const q = spec.indexOf('?');
  return parseWindow(new URLSearchParams(q < 0 ? '' : spec.slice(q + 1)).get('window'), spec);
}

/** A spec's `window` value `lo,hi` as numbers (undefined when absent); throws naming the spec when it is not one. */
function parseWindow(v: string | null, spec: string): [number, number] | undefined {
  if (v === null) return undefined;
  const parts = v.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  checkWindow(parts, `datasetFromSpec: window=${v} in '${spec}'`);
  return [parts[0], parts[1]];
}
