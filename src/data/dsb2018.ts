/** The 2018 Data Science Bowl nuclei set (stage1_train) in its official layout. Node only. */
import { buildFileDataset, imageName, type FileDatasetOptions, type FileEntry, type FileDataset } from './file-dataset.js';
import { isDirectory, nodeFs, nodePath } from './node-env.js';
import type { SkippedFile } from './types.js';

export interface Dsb2018Options extends FileDatasetOptions {
  /** The stage folder under `dir`. Default 'stage1_train' (the only one with masks). */
  stage?: string;
}

/**
 * DSB 2018 from `dir/stage1_train/<id>/images/<id>.png` (RGBA: alpha dropped) and
 * `dir/stage1_train/<id>/masks/*.png`, one PNG per nucleus, merged by union into one binary mask.
 * `dir` may also be the stage1_train folder itself. Defaults: resize to 256×256, 3 channels, K = 1.
 * @example const ds = await dsb2018('/data/dsb2018');
 */
export async function dsb2018(dir: string, opts: Dsb2018Options = {}): Promise<FileDataset> {
  const fs = await nodeFs();
  const path = await nodePath();
  const stage = opts.stage ?? 'stage1_train';
  let root = path.join(dir, stage);
  if (!(await isDirectory(root))) {
    if (path.basename(path.resolve(dir)) === stage && (await isDirectory(dir))) root = dir;
    else throw new Error(`dsb2018: ${root} is not a folder (expected ${dir}/${stage}/<id>/images/<id>.png and ${dir}/${stage}/<id>/masks/*.png)`);
  }
  const entries: FileEntry[] = [];
  const problems: SkippedFile[] = [];
  for (const id of (await fs.readdir(root)).sort()) {
    const sampleDir = path.join(root, id);
    if (!(await isDirectory(sampleDir))) continue;
    const image = path.join(sampleDir, 'images', `${id}.png`);
    const exists = await fs.stat(image).then((s) => s.isFile(), () => false);
    if (!exists) {
      problems.push({ file: image, reason: 'missing image' });
      continue;
    }
    const masksDir = path.join(sampleDir, 'masks');
    const masks = (await isDirectory(masksDir)) ? (await fs.readdir(masksDir)).filter((f) => imageName(f)).sort().map((f) => path.join(masksDir, f)) : [];
    if (masks.length === 0) problems.push({ file: image, reason: `missing mask: no mask files in ${masksDir}` });
    else entries.push({ id, image, masks });
  }
  return buildFileDataset(`dsb2018(${dir})`, entries, problems, opts, { size: 256, channels: 3, emptyMessage: `no samples in ${root}` });
}
