import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { compareRuns, parseImagesCsv } from '../../src/cli/commands/compare-runs.js';
import { main } from '../../src/cli/main.js';
import { pairedStats } from '../../src/metrics/index.js';
import { captured } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'segrad-compare-runs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A run folder holding only an eval-images.csv with these ids and (iou, hd95) values. */
function run(name: string, rows: [string, number, number][]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const quote = (id: string) => (/[",]/.test(id) ? `"${id.replace(/"/g, '""')}"` : id);
  writeFileSync(join(dir, 'eval-images.csv'), ['id,iou,hd95', ...rows.map(([id, iou, hd]) => `${quote(id)},${iou},${Number.isFinite(hd) ? hd : 'NaN'}`)].join('\n') + '\n');
  return dir;
}

describe('segrad compare-runs', () => {
  it('is registered, with an example in --help', () => {
    expect(commands).toContain(compareRuns);
    expect(compareRuns.usage).toMatch(/example:\n\s+segrad eval /);
  });

  it('reads quoted ids back as eval writes them', () => {
    const { columns, rows } = parseImagesCsv('id,iou\n"a,b",0.5\n"say ""hi""",0.25\nplain,1\n', 'x.csv');
    expect(columns).toEqual(['iou']);
    expect([...rows]).toEqual([['a,b', [0.5]], ['say "hi"', [0.25]], ['plain', [1]]]);
    expect(() => parseImagesCsv('name,iou\n', 'x.csv')).toThrow(/x\.csv: is not an eval-images\.csv/);
  });

  it('pairs the images by id and tests each metric; for HD95 lower is better', async () => {
    const ids = ['a,1', 'b', 'c', 'd', 'e', 'f'];
    const A = run('A', ids.map((id, i) => [id, 0.5 + 0.05 * i, 4 + i]));
    // B in another order: higher IoU on 5 of 6 images, HD95 lower on all but one image (no distance there)
    const bRows: [string, number, number][] = ids.map((id, i) => [id, 0.5 + 0.05 * i + (i === 2 ? -0.01 : 0.02 * (i + 1)), i === 4 ? NaN : 3 + 0.9 * i]);
    const B = run('B', [...bRows].reverse());
    const r = await captured(() => main(['compare-runs', A, B, '--metrics', 'iou,hd95', '--json', join(root, 'out.json')]));
    expect(r.value).toBe(0);
    const json = JSON.parse(readFileSync(join(root, 'out.json'), 'utf8')) as { images: number; results: { metric: string; n: number; better: number; worse: number; wilcoxon: { p: number } }[] };
    expect(json.images).toBe(6);
    const iou = pairedStats(ids.map((_, i) => 0.5 + 0.05 * i), bRows.map((x) => x[1]));
    expect(json.results[0]).toMatchObject({ metric: 'iou', n: 6, better: 5, worse: 1 });
    expect(json.results[0].wilcoxon.p).toBe(iou.wilcoxon.p);
    expect(json.results[1]).toMatchObject({ metric: 'hd95', n: 5, better: 5, worse: 0 });
    expect(json.results[1].wilcoxon.p).toBeCloseTo(2 / 32, 12); // 5 pairs, all better: exact
    expect(r.out).toMatch(/^iou +6 +0\.6250 +/m);
    expect(r.out).toMatch(/^hd95 +5 .* 5 +0 +0\.0625/m);
  });

  it('runs on NIfTI slices also compare each volume\'s Dice and 3D HD95, paired by volume', async () => {
    const volumes = (dir: string, dice: number[], hd95: number[], names = ['v1', 'v2', 'v3', 'v4']) =>
      writeFileSync(join(dir, 'eval.json'), JSON.stringify({ perVolume: { perGroup: names.map((group, i) => ({ group, images: 4, dice: dice[i], hd95: hd95[i] })) } }));
    const A = run('VA', [['v1#0', 0.5, 1], ['v1#1', 0.6, 2]]);
    const B = run('VB', [['v1#0', 0.7, 1], ['v1#1', 0.8, 1]]);
    volumes(A, [0.7, 0.6, 0.8, 0.5], [5, 6, 4, 9]);
    volumes(B, [0.75, 0.7, 0.83, 0.51], [4, 3, 4.5, 2]);
    const r = await captured(() => main(['compare-runs', A, B, '--metrics', 'iou', '--json', join(root, 'v.json')]));
    expect(r.value).toBe(0);
    const rows = (JSON.parse(readFileSync(join(root, 'v.json'), 'utf8')) as { results: { metric: string; n: number; better: number; worse: number; wilcoxon: { p: number } }[] }).results;
    expect(rows.map((x) => x.metric)).toEqual(['iou', 'dice per volume', 'hd95 per volume']);
    // Dice higher on all 4 volumes: exact p = 2/16; HD95 lower on 3, higher on 1
    expect(rows[1]).toMatchObject({ n: 4, better: 4, worse: 0 });
    expect(rows[1].wilcoxon.p).toBeCloseTo(2 / 16, 12);
    expect(rows[2]).toMatchObject({ n: 4, better: 3, worse: 1 });
    expect(r.out).toMatch(/^dice per volume +4 +0\.6500 +0\.6975/m);
    volumes(B, [0.75, 0.7, 0.83], [4, 3, 4.5], ['v1', 'v2', 'v9']);
    expect((await captured(() => main(['compare-runs', A, B, '--metrics', 'iou']))).err).toMatch(/scored different volumes \(4 and 3, 2 in common\)/);
  });

  it('says what to do when a run has no eval-images.csv or the runs scored other images', async () => {
    const none = join(root, 'none');
    mkdirSync(none, { recursive: true });
    const A = run('A2', [['x', 0.5, 1], ['y', 0.6, 2]]);
    const missing = await captured(() => main(['compare-runs', A, none]));
    expect(missing.value).toBe(2);
    expect(missing.err).toMatch(/eval-images\.csv does not exist; score the run first: segrad eval --run .*none/);
    const other = run('B2', [['x', 0.5, 1], ['z', 0.6, 2]]);
    const differ = await captured(() => main(['compare-runs', A, other]));
    expect(differ.value).toBe(1);
    expect(differ.err).toMatch(/scored 2 images and .* 2, 1 of them the same \(only in A: y; only in B: z\); evaluate both runs on the same images/);
    expect((await captured(() => main(['compare-runs', A]))).err).toMatch(/give two run folders/);
    expect((await captured(() => main(['compare-runs', A, A, '--metrics', 'auc']))).err).toMatch(/no column 'auc' in .* it has iou, hd95/);
  });
});
