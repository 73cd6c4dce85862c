/** ISIC 2018 Task 1 lesion segmentation in its official layout. Node only. */
import { buildFileDataset, type FileDatasetOptions, type FileEntry, type FileDataset } from './file-dataset.js';
import { isDirectory, nodeFs, nodePath } from './node-env.js';
import type { SkippedFile } from './types.js';

export interface Isic2018Options extends FileDatasetOptions {
  /** Which release: 'Training' (2,594 images, default), 'Validation' or 'Test'. */
  subset?: 'Training' | 'Validation' | 'Test';
}

/**
 * ISIC 2018 Task 1 from `dir/ISIC2018_Task1-2_Training_Input/ISIC_XXXXXXX.jpg` and
 * `dir/ISIC2018_Task1_Training_GroundTruth/ISIC_XXXXXXX_segmentation.png` (0/255 masks).
 * Defaults: resize to 192×256 (H×W; 256×256 is the other common choice), 3 channels, K = 1.
 * Other files in the folders (LICENSE.txt, ATTRIBUTION.txt) are ignored.
 * @example const ds = await isic2018('/data/isic2018', { size: [256, 256] });
 */
export async function isic2018(dir: string, opts: Isic2018Options = {}): Promise<FileDataset> {
  const fs = await nodeFs();
  const path = await nodePath();
  const subset = opts.subset ?? 'Training';
  const inputDir = path.join(dir, `ISIC2018_Task1-2_${subset}_Input`);
  const truthDir = path.join(dir, `ISIC2018_Task1_${subset}_GroundTruth`);
  for (const d of [inputDir, truthDir]) {
    if (!(await isDirectory(d))) throw new Error(`isic2018: ${d} is not a folder (expected the official layout ISIC2018_Task1-2_${subset}_Input/ISIC_XXXXXXX.jpg and ISIC2018_Task1_${subset}_GroundTruth/ISIC_XXXXXXX_segmentation.png under ${dir})`);
  }
  const truths = new Set(await fs.readdir(truthDir));
  const entries: FileEntry[] = [];
  const problems: SkippedFile[] = [];
  for (const f of (await fs.readdir(inputDir)).sort()) {
    if (!/\.jpe?g$/i.test(f) || f.startsWith('.')) continue; // hidden: macOS's ._ resource forks
    const id = f.replace(/\.jpe?g$/i, '');
    const mask = `${id}_segmentation.png`;
    const image = path.join(inputDir, f);
    if (!truths.has(mask)) problems.push({ file: image, reason: `missing mask: expected ${path.join(truthDir, mask)}` });
    else entries.push({ id, image, masks: [path.join(truthDir, mask)] });
  }
  return buildFileDataset(`isic2018(${dir})`, entries, problems, opts, { size: [192, 256], channels: 3, emptyMessage: `no .jpg images in ${inputDir}` });
}
