import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheStats, decodeCount, dsb2018, folderDataset } from '../../src/data/index.js';
import { rgb, tempDir, writeImage } from './fixtures.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(() => cleanup());

async function loadAll(ds: { length: number; get(i: number): Promise<{ image: Float32Array; mask: Float32Array }> }) {
  const out: number[][] = [];
  for (let i = 0; i < ds.length; i++) {
    const s = await ds.get(i);
    out.push([...s.image, ...s.mask]);
  }
  return out;
}

describe('disk cache', () => {
  it('a second dataset over the same files decodes nothing; touching a file decodes it again', async () => {
    const dir = join(root, 'data');
    const cacheDir = join(root, 'cache');
    for (const k of [0, 1, 2]) {
      await writeImage(join(dir, 'images', `s${k}.jpg`), 12, 10, 3, rgb(k));
      await writeImage(join(dir, 'masks', `s${k}.png`), 12, 10, 1, (y) => (y < 6 ? 255 : 0));
    }
    const before = decodeCount();
    const first = await loadAll(await folderDataset(dir, { cacheDir, size: [6, 8] }));
    expect(decodeCount() - before).toBe(6); // 3 images + 3 masks
    expect((await readdir(cacheDir)).filter((f) => f.endsWith('.u8')).length).toBe(6);

    const hits = cacheStats().hits;
    const mid = decodeCount();
    const second = await loadAll(await folderDataset(dir, { cacheDir, size: [6, 8] }));
    expect(decodeCount()).toBe(mid);
    expect(cacheStats().hits - hits).toBe(6);
    expect(second).toEqual(first);

    // other resize options are other entries
    await loadAll(await folderDataset(dir, { cacheDir, size: [4, 4] }));
    expect(decodeCount() - mid).toBe(6);

    const t = new Date(Date.now() + 5000);
    await utimes(join(dir, 'images', 's1.jpg'), t, t);
    const touched = decodeCount();
    const third = await loadAll(await folderDataset(dir, { cacheDir, size: [6, 8] }));
    expect(decodeCount() - touched).toBe(1);
    expect(third).toEqual(first);
  });

  it('merged DSB masks are cached as one entry; cacheDir: false never writes', async () => {
    const dir = join(root, 'dsb');
    const cacheDir = join(root, 'dsb-cache');
    await writeImage(join(dir, 'stage1_train', 'n1', 'images', 'n1.png'), 8, 8, 4, rgb(1));
    for (const k of [0, 1, 2]) await writeImage(join(dir, 'stage1_train', 'n1', 'masks', `m${k}.png`), 8, 8, 1, (y, x) => (x === k ? 255 : 0));
    const a = decodeCount();
    const first = await loadAll(await dsb2018(dir, { cacheDir, size: 8 }));
    expect(decodeCount() - a).toBe(4);
    const b = decodeCount();
    expect(await loadAll(await dsb2018(dir, { cacheDir, size: 8 }))).toEqual(first);
    expect(decodeCount()).toBe(b);
    const c = decodeCount();
    await loadAll(await dsb2018(dir, { cacheDir: false, size: 8 }));
    await loadAll(await dsb2018(dir, { cacheDir: false, size: 8 }));
    expect(decodeCount() - c).toBe(8);
  });

  it('memoryCache reuses decoded samples within a run', async () => {
    const dir = join(root, 'data');
    const ds = await folderDataset(dir, { cacheDir: false, memoryCache: true });
    await loadAll(ds);
    const n = decodeCount();
    await loadAll(ds);
    expect(decodeCount()).toBe(n);
  });
});
