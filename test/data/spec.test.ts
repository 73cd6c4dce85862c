import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFromSpec, DrivePatches, FileDataset, SyntheticDataset, windowFromSpec } from '../../src/data/index.js';
import { inDisc, rgb, tempDir, writeImage } from './fixtures.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
  await writeImage(join(root, 'f', 'images', 'a.png'), 10, 12, 3, rgb(1));
  await writeImage(join(root, 'f', 'masks', 'a_m.png'), 10, 12, 1, () => 255);
  const disc = inDisc(20, 20);
  await writeImage(join(root, 'd', 'training', 'images', '21_training.tif'), 20, 20, 3, rgb(2));
  await writeImage(join(root, 'd', 'training', '1st_manual', '21_manual1.gif'), 20, 20, 1, () => 0);
  await writeImage(join(root, 'd', 'training', 'mask', '21_training_mask.gif'), 20, 20, 1, (y, x) => (disc(y, x) ? 255 : 0));
});
afterAll(() => cleanup());

describe('datasetFromSpec', () => {
  it('synthetic with defaults and with query options', async () => {
    const plain = await datasetFromSpec('synthetic:vessels');
    expect(plain).toBeInstanceOf(SyntheticDataset);
    expect((plain as SyntheticDataset).options).toMatchObject({ kind: 'vessels', count: 100, size: [64, 64] });
    const ds = (await datasetFromSpec('synthetic:blobs?foreground=0.05&count=20&size=32x48&seed=3')) as SyntheticDataset;
    expect(ds.length).toBe(20);
    expect(ds.options).toMatchObject({ kind: 'blobs', foreground: 0.05, size: [32, 48], seed: 3 });
    expect((await ds.get(0)).shape).toMatchObject({ height: 32, width: 48 });
  });

  it('folder and drive with their options', async () => {
    const f = await datasetFromSpec(`folder:${join(root, 'f')}?suffix=_m&size=8&cache=off`);
    expect(f).toBeInstanceOf(FileDataset);
    expect((await f.get(0)).shape).toEqual({ channels: 3, classes: 1, height: 8, width: 8 });
    const plain = await (await datasetFromSpec(`folder:${join(root, 'f')}?suffix=_m&cache=off`)).get(0);
    const windowed = await (await datasetFromSpec(`folder:${join(root, 'f')}?suffix=_m&cache=off&window=0,127.5`)).get(0);
    for (let q = 0; q < plain.image.length; q++) expect(windowed.image[q]).toBeCloseTo(Math.min(1, Math.round(plain.image[q] * 510) / 255), 6);
    expect(windowFromSpec('folder:/x?window=-160,240&size=8')).toEqual([-160, 240]);
    expect(windowFromSpec('folder:/x?size=8')).toBeUndefined();
    const d = await datasetFromSpec(`drive:${join(root, 'd')}?patches=10&patchSize=8&cache=off`);
    expect(d).toBeInstanceOf(DrivePatches);
    expect(d.length).toBe(10);
    const full = await datasetFromSpec(`drive:${join(root, 'd')}?mode=full`, { cacheDir: false });
    expect((await full.get(0)).fov).toBeDefined();
  });

  it('a bare folder is read in the layout its sub-folders name, query options included', async () => {
    const f = await datasetFromSpec(`${join(root, 'f')}?suffix=_m&size=8&cache=off`);
    expect(f.name).toMatch(/^folder\(/);
    expect((await f.get(0)).shape).toEqual({ channels: 3, classes: 1, height: 8, width: 8 });
    expect(await datasetFromSpec(`${join(root, 'd')}?patchSize=8`, { cacheDir: false })).toBeInstanceOf(DrivePatches);
    await writeImage(join(root, 'isic', 'ISIC2018_Task1-2_Training_Input', 'ISIC_0000001.jpg'), 8, 8, 3, rgb(3));
    await writeImage(join(root, 'isic', 'ISIC2018_Task1_Training_GroundTruth', 'ISIC_0000001_segmentation.png'), 8, 8, 1, () => 255);
    expect((await datasetFromSpec(`${join(root, 'isic')}?size=8`, { cacheDir: false })).name).toMatch(/^isic2018/);
    await writeImage(join(root, 'dsb', 'stage1_train', 'n1', 'images', 'n1.png'), 8, 8, 3, rgb(4));
    await writeImage(join(root, 'dsb', 'stage1_train', 'n1', 'masks', 'm1.png'), 8, 8, 1, () => 255);
    expect((await datasetFromSpec(`${join(root, 'dsb')}?size=8`, { cacheDir: false })).name).toMatch(/^dsb2018/);
    await expect(datasetFromSpec(join(root, 'f', 'images'))).rejects.toThrow(/images is in none of the layouts segrad knows: images\/ and masks\/ \(folder\), .*folder:.*\?images=NAME&masks=NAME/);
    await expect(datasetFromSpec(join(root, 'nowhere'))).rejects.toThrow(/unknown dataset kind .*or a folder that exists/);
  });

  it('clear errors: unknown kind, unknown option, bad number, missing folder', async () => {
    await expect(datasetFromSpec('imagenet:/data')).rejects.toThrow(/unknown dataset kind 'imagenet'.*synthetic:…/);
    await expect(datasetFromSpec('synthetic:blobs?colour=red')).rejects.toThrow(/unknown option 'colour' for synthetic/);
    await expect(datasetFromSpec('synthetic:blobs?count=lots')).rejects.toThrow(/count=lots .* is not a number/);
    await expect(datasetFromSpec('synthetic:stars')).rejects.toThrow(/unknown kind 'stars'/);
    await expect(datasetFromSpec('synthetic')).rejects.toThrow(/needs a synthetic kind/);
    await expect(datasetFromSpec(`isic2018:${join(root, 'missing')}`)).rejects.toThrow(/folder .*missing does not exist/);
    await expect(datasetFromSpec(`folder:${join(root, 'f')}?size=big`)).rejects.toThrow(/size=big .* must be N, HxW or native/);
    for (const w of ['5', '3,1', '0,x', ',9']) await expect(datasetFromSpec(`folder:${join(root, 'f')}?suffix=_m&window=${w}`)).rejects.toThrow(/window=.* must be \[lo, hi\] with lo < hi/);
  });
});
