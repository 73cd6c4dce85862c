/** The generic folder layout: `images/<name>.<ext>` with `masks/<name>[suffix].<ext>`. Node only. */
import { buildFileDataset, imageName, IMAGE_EXTENSIONS, otherFormat, otherFormatsNote, type FileDatasetOptions, type FileEntry, type FileDataset } from './file-dataset.js';
import { isDirectory, nodeFs, nodePath } from './node-env.js';
import type { SkippedFile } from './types.js';

export interface FolderDatasetOptions extends FileDatasetOptions {
  /** Sub-folder with the images. Default 'images'. */
  imagesDir?: string;
  /** Sub-folder with the masks. Default 'masks'. */
  masksDir?: string;
  /** Text between the image name and the mask's extension, e.g. '_mask'. Default ''. */
  maskSuffix?: string;
}

/**
 * A dataset from `dir/images/<name>.<ext>` and `dir/masks/<name>[maskSuffix].<ext>` (any of png, jpg,
 * tif, gif, webp; a png mask is preferred when several match). Masks: 0/255 (> 127 is foreground) or
 * 0/1 (the 1s), K = 1, or class-index / palette PNGs with `classes: K`. Default: no resizing (every
 * file keeps its size, so pass `size` when they differ), channels from the first image (1 for grey,
 * else 3).
 * Ids are the image names without extension, sorted.
 * @example const ds = await folderDataset('data/polyps', { size: 128, maskSuffix: '_mask' });
 */
export async function folderDataset(dir: string, opts: FolderDatasetOptions = {}): Promise<FileDataset> {
  const fs = await nodeFs();
  const path = await nodePath();
  const imagesDir = path.join(dir, opts.imagesDir ?? 'images');
  const masksDir = path.join(dir, opts.masksDir ?? 'masks');
  const suffix = opts.maskSuffix ?? '';
  for (const d of [imagesDir, masksDir]) {
    if (!(await isDirectory(d))) throw new Error(`folderDataset: ${d} is not a folder (expected ${dir}/images/<name>.<ext> and ${dir}/masks/<name>${suffix}.<ext>)`);
  }
  const maskFiles = new Map<string, string>();
  const otherMasks = new Map<string, string>(); // masks in a format sharp does not decode, by name
  for (const f of (await fs.readdir(masksDir)).sort()) {
    const n = imageName(f);
    const other = n ? null : otherFormat(f);
    if (other) otherMasks.set(other.base, `${f}, a ${other.format} file, which segrad does not decode`);
    if (!n) continue;
    const prev = maskFiles.get(n.base);
    if (!prev || (n.ext === '.png' && !prev.toLowerCase().endsWith('.png'))) maskFiles.set(n.base, f);
  }
  const entries: FileEntry[] = [];
  const problems: SkippedFile[] = [];
  const missing: string[] = []; // the names of problems' images, in their order
  const imageDirFiles = (await fs.readdir(imagesDir)).sort();
  for (const f of imageDirFiles) {
    const n = imageName(f);
    if (!n) continue;
    const image = path.join(imagesDir, f);
    const mask = maskFiles.get(n.base + suffix);
    if (mask !== undefined) {
      entries.push({ id: n.base, image, masks: [path.join(masksDir, mask)] });
      continue;
    }
    const other = otherMasks.get(n.base + suffix);
    problems.push({ file: image, reason: `missing mask: expected ${path.join(masksDir, n.base + suffix)}.{${IMAGE_EXTENSIONS.map((e) => e.slice(1)).join(',')}}${other ? ` (there is ${other})` : ''}` });
    missing.push(n.base);
  }
  const found = suffixGuess(missing, maskFiles);
  if (found !== undefined) {
    problems.forEach((p, i) => {
      const mask = maskFiles.get(missing[i] + found);
      if (mask) p.reason += ` (there is ${mask}: maskSuffix '${found}'? on the command line ?suffix=${found})`;
    });
  }
  return buildFileDataset(`folder(${dir})`, entries, problems, opts, { size: null, emptyMessage: `no images in ${imagesDir}${otherFormatsNote(imageDirFiles)}` });
}

/**
 * The suffix that names most of the missing masks, when the masks seem to carry one the options do not
 * name: tried are the endings of the mask names that start with the first missing image's name.
 */
function suffixGuess(missing: readonly string[], masks: ReadonlyMap<string, string>): string | undefined {
  if (missing.length === 0) return undefined;
  let best: string | undefined;
  let bestCount = 0;
  for (const name of masks.keys()) {
    if (!name.startsWith(missing[0]) || name === missing[0]) continue;
    const suffix = name.slice(missing[0].length);
    const count = missing.filter((m) => masks.has(m + suffix)).length;
    if (count > bestCount) [best, bestCount] = [suffix, count];
  }
  return best;
}

/**
 * Command-line image arguments: a folder stands for its image files (sorted; hidden files and other
 * files left out; NIfTI volumes too with `volumes`), a file for itself. Throws for a folder without images.
 * @example await imageFiles(['scans/', 'extra.png']) // ['scans/a.png', 'scans/b.jpg', 'extra.png']
 */
export async function imageFiles(paths: readonly string[], opts: { volumes?: boolean } = {}): Promise<string[]> {
  const fs = await nodeFs();
  const path = await nodePath();
  const out: string[] = [];
  for (const p of paths) {
    if (!(await isDirectory(p))) {
      out.push(p);
      continue;
    }
    const files = await fs.readdir(p);
    const found = files.filter((f) => imageName(f) || (opts.volumes && !f.startsWith('.') && /\.nii(\.gz)?$/i.test(f))).sort().map((f) => path.join(p, f));
    if (found.length === 0) throw new Error(`${p}: a folder without image files (${IMAGE_EXTENSIONS.join(', ')})${otherFormatsNote(files)}`);
    out.push(...found);
  }
  return out;
}
