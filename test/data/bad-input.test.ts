import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drive, dsb2018, folderDataset, imageFiles, isic2018 } from '../../src/data/index.js';
import { otherFormat } from '../../src/data/file-dataset.js';
import { rgb, tempDir, writeBytes, writeImage } from './fixtures.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(() => cleanup());

async function folderWith(name: string, build: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(root, name);
  await writeImage(join(dir, 'images', 'good.png'), 4, 4, 3, rgb(1));
  await writeImage(join(dir, 'masks', 'good.png'), 4, 4, 1, () => 255);
  await build(dir);
  return dir;
}

describe('bad input', () => {
  it('a missing mask names the image and the expected mask; skipBad leaves it out with one warning', async () => {
    const dir = await folderWith('missing', (d) => writeImage(join(d, 'images', 'lonely.png'), 4, 4, 3, rgb(2)));
    await expect(folderDataset(dir, { cacheDir: false })).rejects.toThrow(/lonely\.png: missing mask: expected .*masks.lonely\./);
    const warnings: string[] = [];
    const ds = await folderDataset(dir, { cacheDir: false, skipBad: true, onWarning: (m) => warnings.push(m) });
    expect(ds.ids).toEqual(['good']);
    expect(ds.skipped.length).toBe(1);
    expect(ds.skipped[0].file).toMatch(/images.lonely\.png$/);
    expect(ds.skipped[0].reason).toMatch(/missing mask/);
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/skipped 1 bad sample/);
  });

  it('an unreadable image or mask names the file', async () => {
    const dir = await folderWith('corrupt', async (d) => {
      await writeBytes(join(d, 'images', 'broken.png'), 'this is not a png');
      await writeImage(join(d, 'masks', 'broken.png'), 4, 4, 1, () => 0);
      await writeImage(join(d, 'images', 'badmask.png'), 4, 4, 3, rgb(3));
      await writeBytes(join(d, 'masks', 'badmask.png'), new Uint8Array([1, 2, 3]));
    });
    const err = await folderDataset(dir, { cacheDir: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/2 bad sample/);
    expect((err as Error).message).toMatch(/images.broken\.png: not a readable image/);
    expect((err as Error).message).toMatch(/masks.badmask\.png: not a readable image/);
    const ds = await folderDataset(dir, { cacheDir: false, skipBad: true, onWarning: () => undefined });
    expect(ds.ids).toEqual(['good']);
    expect(ds.skipped.map((s) => s.file).sort()).toEqual([join(dir, 'images', 'badmask.png'), join(dir, 'images', 'broken.png')]);
  });

  it('masks named with a suffix the options do not give: the error names the suffix they seem to carry', async () => {
    const dir = join(root, 'suffixed');
    for (const name of ['s1', 's10', 's2']) {
      await writeImage(join(dir, 'images', `${name}.png`), 4, 4, 3, rgb(1));
      await writeImage(join(dir, 'masks', `${name}_mask.png`), 4, 4, 1, () => 255);
    }
    const err = await folderDataset(dir, { cacheDir: false }).catch((e: Error) => e.message);
    expect(err).toMatch(/3 bad sample\(s\) \(pass skipBad: true, on the command line --skip-bad, to leave them out\)/);
    for (const name of ['s1', 's10', 's2']) expect(err).toContain(`${name}.png: missing mask: expected ${join(dir, 'masks', name)}.{png,`);
    for (const name of ['s1', 's10', 's2']) expect(err).toContain(`(there is ${name}_mask.png: maskSuffix '_mask'? on the command line ?suffix=_mask)`);
    // macOS's resource forks and other hidden files are not samples
    await writeBytes(join(dir, 'images', '._s1.png'), 'not an image');
    await writeBytes(join(dir, 'masks', '._s1_mask.png'), 'not an image');
    expect((await folderDataset(dir, { cacheDir: false, maskSuffix: '_mask' })).ids).toEqual(['s1', 's10', 's2']);
    // a mask that does not exist under any suffix gets no guess
    const plain = await folderWith('no-guess', (d) => writeImage(join(d, 'images', 'alone.png'), 4, 4, 3, rgb(2)));
    await expect(folderDataset(plain, { cacheDir: false })).rejects.toThrow(/alone\.png: missing mask: expected [^\n(]*$/m);
  });

  it('DICOM, NIfTI and NumPy files are named as formats segrad does not decode, with what to do instead', async () => {
    const dir = join(root, 'medical');
    for (const n of ['a', 'b']) await writeBytes(join(dir, 'images', `${n}.dcm`), 'DICM');
    await writeBytes(join(dir, 'images', 'c.nii.gz'), 'x');
    await writeBytes(join(dir, 'images', 'notes.txt'), 'x');
    await writeBytes(join(dir, 'masks', 'a.nii.gz'), 'x');
    await expect(folderDataset(dir, { cacheDir: false })).rejects.toThrow(
      /no images in .*images \(it holds 2 \.dcm files \(DICOM\), 1 \.nii\.gz file \(NIfTI\), which segrad does not decode as images: convert them to PNG or TIFF .*data\.fromArrays; NIfTI volumes are read as 2D slices by --data nifti:DIR .*\)/,
    );
    await expect(imageFiles([join(dir, 'images')])).rejects.toThrow(/a folder without image files .*\(it holds 2 \.dcm files \(DICOM\)/);
    await writeImage(join(dir, 'images', 'a.png'), 4, 4, 3, rgb(1));
    await expect(folderDataset(dir, { cacheDir: false })).rejects.toThrow(/a\.png: missing mask: expected .* \(there is a\.nii\.gz, a NIfTI file, which segrad does not decode\)/);
    expect(otherFormat('scan.NPY')).toEqual({ base: 'scan', ext: '.npy', format: 'NumPy' });
    expect(otherFormat('.nii.gz')).toBeNull();
  });

  it('a file whose header reads but whose data is truncated fails at get(), naming the file', async () => {
    const dir = await folderWith('truncated', async (d) => {
      await writeImage(join(d, 'images', 'cut.png'), 32, 32, 3, (y, x, c) => (y * 7 + x * 13 + c * 31) % 256);
      await writeImage(join(d, 'masks', 'cut.png'), 32, 32, 1, () => 0);
      const bytes = await readFile(join(d, 'images', 'cut.png'));
      await writeFile(join(d, 'images', 'cut.png'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    });
    const ds = await folderDataset(dir, { cacheDir: false, size: 32 }); // its neighbour is 4×4
    await expect(ds.get(ds.ids.indexOf('cut'))).rejects.toThrow(/images.cut\.png: cannot decode image/);
  });

  it('image and mask sizes must match when not resizing; resizing both is fine', async () => {
    const dir = await folderWith('mismatch', async (d) => {
      await writeImage(join(d, 'images', 'odd.png'), 4, 4, 3, rgb(1));
      await writeImage(join(d, 'masks', 'odd.png'), 5, 4, 1, () => 255);
    });
    await expect(folderDataset(dir, { cacheDir: false })).rejects.toThrow(/odd\.png.*image is 4×4 \(as shown\) but .*masks.odd\.png is 4×5 \(W×H\)/);
    const ds = await folderDataset(dir, { cacheDir: false, size: 4 });
    expect((await ds.get(1)).shape).toMatchObject({ height: 4, width: 4 });
    // with validation off the mismatch is still caught when the sample is read
    const unchecked = await folderDataset(dir, { cacheDir: false, validate: false });
    await expect(unchecked.get(1)).rejects.toThrow(/masks.odd\.png is 4×5 but the image .*images.odd\.png is 4×4/);
  });

  it('empty and missing folders are clear errors', async () => {
    const empty = join(root, 'empty');
    await writeBytes(join(empty, 'images', 'README.txt'), 'no images here');
    await writeBytes(join(empty, 'masks', 'README.txt'), '');
    await expect(folderDataset(empty, { cacheDir: false })).rejects.toThrow(/no images in .*empty.images/);
    await expect(folderDataset(join(root, 'nowhere'), { cacheDir: false })).rejects.toThrow(/nowhere.images is not a folder/);
    await expect(isic2018(empty, { cacheDir: false })).rejects.toThrow(/ISIC2018_Task1-2_Training_Input is not a folder/);
    await expect(dsb2018(empty, { cacheDir: false })).rejects.toThrow(/stage1_train is not a folder/);
    await expect(drive(empty, { cacheDir: false })).rejects.toThrow(/training.images is not a folder/);
  });

  it('every layout reports its missing masks', async () => {
    const isic = join(root, 'isic-missing');
    await writeImage(join(isic, 'ISIC2018_Task1-2_Training_Input', 'ISIC_0000009.jpg'), 8, 8, 3, rgb(1));
    await writeBytes(join(isic, 'ISIC2018_Task1_Training_GroundTruth', 'ATTRIBUTION.txt'), '');
    await writeBytes(join(isic, 'ISIC2018_Task1-2_Training_Input', '._ISIC_0000009.jpg'), 'a resource fork'); // not a sample
    await expect(isic2018(isic, { cacheDir: false })).rejects.toThrow(/^[^\n]*: 1 bad sample[^]*ISIC_0000009\.jpg: missing mask: expected .*ISIC_0000009_segmentation\.png/);
    await expect(isic2018(isic, { cacheDir: false, skipBad: true, onWarning: () => undefined })).rejects.toThrow(/no \.jpg images.*all 1 sample\(s\) were bad/);

    const dsb = join(root, 'dsb-missing');
    await writeImage(join(dsb, 'stage1_train', 'x1', 'images', 'x1.png'), 8, 8, 4, rgb(1));
    await writeImage(join(dsb, 'stage1_train', 'x2', 'images', 'x2.png'), 8, 8, 4, rgb(2));
    await writeImage(join(dsb, 'stage1_train', 'x2', 'masks', 'n.png'), 8, 8, 1, () => 255);
    await expect(dsb2018(dsb, { cacheDir: false })).rejects.toThrow(/x1\.png: missing mask: no mask files in .*x1.masks/);
    const kept = await dsb2018(dsb, { cacheDir: false, skipBad: true, onWarning: () => undefined });
    expect(kept.ids).toEqual(['x2']);

    const dr = join(root, 'drive-missing');
    await writeImage(join(dr, 'training', 'images', '21_training.tif'), 8, 8, 3, rgb(1));
    await writeImage(join(dr, 'training', '1st_manual', '21_manual1.gif'), 8, 8, 1, () => 255);
    await writeBytes(join(dr, 'training', 'mask', '.keep'), '');
    await expect(drive(dr, { cacheDir: false })).rejects.toThrow(/21_training\.tif: missing field-of-view mask: expected .*21_training_mask\.gif/);
  });
});
