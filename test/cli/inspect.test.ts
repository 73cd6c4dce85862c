import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { inspect } from '../../src/cli/commands/inspect.js';
import { main } from '../../src/cli/main.js';
import { summarizeDataset, synthetic } from '../../src/data/index.js';
import { captured } from '../helpers/cli.js';
import { writeImage } from '../data/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'segrad-inspect-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('summarizeDataset', () => {
  it('counts each class\'s pixels over masks spread through the data, the empty masks and the image values', async () => {
    const ds = synthetic({ kind: 'blobs', count: 12, size: 16, classes: 3, seed: 2 });
    const s = await summarizeDataset(ds, 6);
    expect(s).toMatchObject({ samples: 12, read: 6, shape: { channels: 1, classes: 3, height: 16, width: 16 }, skipped: 0 });
    // the same counts by hand over samples 0, 2, 4, 6, 8, 10
    const counts = [0, 0, 0];
    let [min, max] = [Infinity, -Infinity];
    for (const i of [0, 2, 4, 6, 8, 10]) {
      const x = ds.getSync(i);
      for (let q = 0; q < 256; q++) counts[[0, 1, 2].find((c) => x.mask[c * 256 + q] > 0.5)!]++;
      for (const v of x.image) [min, max] = [Math.min(min, v), Math.max(max, v)];
    }
    s.classShares.forEach((share, k) => expect(share).toBeCloseTo(counts[k] / 1536, 12));
    expect(s.imageValues.min).toBe(min);
    expect(s.imageValues.max).toBe(max);
    expect(s.groups).toBeUndefined();
  });
});

describe('segrad inspect', () => {
  it('is registered, with examples', () => {
    expect(commands).toContain(inspect);
    expect(inspect.usage).toMatch(/examples:\n\s+segrad inspect /);
  });

  it('prints the shape, the split train makes, the class shares and the empty masks', async () => {
    const r = await captured(() => main(['inspect', '--data', 'synthetic:vessels?foreground=0.05&count=30&size=32', '--samples', '10']));
    expect(r.value).toBe(0);
    expect(r.out).toContain('synthetic:vessels: 30 samples, images 1×32×32, masks of 1 class (binary)');
    expect(r.out).toContain('groups: none (the split is by sample)');
    expect(r.out).toContain('split: 21 train / 3 val / 6 test');
    expect(r.out).toMatch(/foreground: 5\.\d % of the pixels/);
    expect(r.out).toContain('empty masks: 0 of 10');
    expect(r.err).toBe('');
  });

  it('warns of inverted masks, masks that are all empty, and slices of one scan split at random', async () => {
    const inverted = join(root, 'inverted');
    const empty = join(root, 'empty');
    for (let i = 0; i < 3; i++) {
      await writeImage(join(inverted, 'images', `pt${i}_slice1.png`), 8, 8, 1, () => 100);
      await writeImage(join(inverted, 'masks', `pt${i}_slice1.png`), 8, 8, 1, (y) => (y > 0 ? 255 : 0));
      await writeImage(join(empty, 'images', `e${i}.png`), 8, 8, 1, () => 100);
      await writeImage(join(empty, 'masks', `e${i}.png`), 8, 8, 1, () => 0);
    }
    const a = await captured(() => main(['inspect', '--data', `${inverted}?cache=off`]));
    expect(a.value).toBe(0);
    expect(a.err).toMatch(/the masks are 88 % foreground; .* inverted/);
    expect(a.err).toMatch(/look like slices of one scan/);
    const b = await captured(() => main(['inspect', '--data', `${empty}?cache=off`]));
    expect(b.err).toMatch(/every mask read is empty/);
    expect((await captured(() => main(['inspect']))).err).toMatch(/--data SPEC is required/);
  });
});
