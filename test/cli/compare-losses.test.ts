import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareLossesCommand } from '../../src/cli/commands/compare-losses.js';
import { commands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { captured } from '../helpers/cli.js';


const root = mkdtempSync(join(tmpdir(), 'segrad-compare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const TINY = ['--data', 'synthetic:blobs?count=15&size=16&seed=1', '--widths', '4,8', '--epochs', '1', '--batch', '4', '--lr', '0.01'];

function csv(path: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

/** Mean and sample standard deviation, computed here independently of the code under test. */
function meanSd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1))];
}

describe('segrad compare-losses', () => {
  it('is registered and has examples in --help', () => {
    expect(commands).toContain(compareLossesCommand);
    expect(compareLossesCommand.usage).toMatch(/examples:\n\s+segrad compare-losses /);
  });

  it('2 losses × 2 seeds: results.csv with 4 rows, table.md with mean ± std over seeds, report.html with charts', async () => {
    const out = join(root, 'two');
    const r = await captured(() => compareLossesCommand.run([...TINY, '--losses', 'dice,jaccard', '--seeds', '2', '--out', out]));
    expect(r.value).toBe(0);
    const rows = csv(join(out, 'results.csv'));
    expect(rows).toHaveLength(4);
    expect(Object.keys(rows[0])).toEqual(['model', 'loss', 'seed', 'imbalance', 'iou', 'dice', 'precision', 'recall', 'specificity', 'auc', 'seconds', 'below_delta', 'lowest_base', 'hd95', 'assd']);
    expect(rows.map((x) => `${x.loss}/${x.seed}`).sort()).toEqual(['dice/0', 'dice/1', 'jaccard/0', 'jaccard/1']);
    for (const x of rows) {
      expect(x.model).toBe('unet');
      expect(x.imbalance).toBe('');
      for (const k of ['iou', 'dice', 'recall', 'specificity']) {
        expect(Number(x[k])).toBeGreaterThanOrEqual(0);
        expect(Number(x[k])).toBeLessThanOrEqual(1);
      }
      // Dice/F1 = 2·IoU/(1 + IoU) holds for each image, so the per-image mean Dice is at least the mean IoU.
      expect(Number(x.dice)).toBeGreaterThanOrEqual(Number(x.iou));
      // every run records its boundary distances: a distance ≥ 0, or NaN where no test image has foreground on both sides
      expect(x.hd95 === 'NaN' || Number(x.hd95) >= 0).toBe(true);
    }
    const table = readFileSync(join(out, 'table.md'), 'utf8');
    for (const loss of ['dice', 'jaccard']) {
      const iou = rows.filter((x) => x.loss === loss).map((x) => Number(x.iou));
      const [m, sd] = meanSd(iou);
      const label = loss === 'dice' ? 'Dice' : 'Jaccard';
      const line = table.split('\n').find((l) => l.startsWith(`| ${label} |`));
      expect(line, label).toBeDefined();
      expect(line).toContain(`| 2 | ${m.toFixed(4)} ± ${sd.toFixed(4)} |`);
    }
    expect(table).toMatch(/\| loss \| seeds \| IoU \| Dice \/ F1 \| recall \| specificity \| AUC \|/);
    // No ALL in the comparison: the paired section says so.
    expect(table).toMatch(/Paired comparison: ALL − Dice[^\n]*\n\nn\/a/);
    expect(r.out).toContain(table.trim().split('\n')[0]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(1);
    expect(html).toContain('<table>');
    expect(html).not.toMatch(/NaN/);
    // One run folder per run, each with its config and the split-independent settings.
    for (const name of ['unet-dice-s0', 'unet-dice-s1', 'unet-jaccard-s0', 'unet-jaccard-s1']) expect(existsSync(join(out, 'runs', name, 'result.json')), name).toBe(true);
    // Same seed → same split for every loss: the same number of training images, the same test set size.
    const cfg = (n: string) => JSON.parse(readFileSync(join(out, 'runs', n, 'config.json'), 'utf8')) as { trainSize: number; seed: number };
    expect(cfg('unet-dice-s1').trainSize).toBe(cfg('unet-jaccard-s1').trainSize);
    expect(cfg('unet-dice-s1').seed).toBe(1);

    // Running again with the same settings reuses the finished runs: same rows, no training.
    const again = await captured(() => compareLossesCommand.run([...TINY, '--losses', 'dice,jaccard', '--seeds', '2', '--out', out]));
    expect(again.value).toBe(0);
    expect(again.err.match(/\(reused\)/g)).toHaveLength(4);
    expect(csv(join(out, 'results.csv')).map((x) => x.iou)).toEqual(rows.map((x) => x.iou));
  }, 60_000);

  it('ALL against Dice over two foreground fractions: per-seed differences, their mean and the paired t statistic', async () => {
    const out = join(root, 'paired');
    const r = await captured(() => compareLossesCommand.run([...TINY, '--losses', 'dice,all', '--all-opt', 'delta=0.9', '--seeds', '0,1,2', '--imbalance', '0.1,0.3', '--out', out, '--quiet']));
    expect(r.value).toBe(0);
    const rows = csv(join(out, 'results.csv'));
    expect(rows).toHaveLength(12);
    expect([...new Set(rows.map((x) => x.imbalance))]).toEqual(['0.1', '0.3']);
    const table = readFileSync(join(out, 'table.md'), 'utf8');
    expect(table).toContain('## unet · foreground 10%');
    expect(table).toContain('## unet · foreground 30%');
    expect(table).toContain('ALL delta=0.9');
    for (const f of ['0.1', '0.3']) {
      const d = [0, 1, 2].map((s) => {
        const get = (loss: string) => Number(rows.find((x) => x.loss === loss && x.seed === String(s) && x.imbalance === f)!.iou);
        return get('all') - get('dice');
      });
      const line = table.split('\n').find((l) => l.startsWith(`| unet | ${Number(f) * 100}% |`))!;
      expect(line, f).toBeDefined();
      const cells = line.split('|').map((c) => c.trim());
      // CSV values carry 6 decimals, so the differences agree to about 1e-6.
      const perSeed = cells[4].split(', ').map(Number);
      for (let i = 0; i < 3; i++) expect(perSeed[i]).toBeCloseTo(d[i], 4);
      const [m, sd] = meanSd(d);
      expect(Number(cells[5])).toBeCloseTo(m, 4);
      if (sd > 1e-3) expect(Math.abs(Number(cells[6]) - m / (sd / Math.sqrt(3)))).toBeLessThan(0.01 * Math.abs(m / (sd / Math.sqrt(3))) + 0.01);
      if (d.every((x) => x === 0)) expect(cells[6]).toBe('n/a');
      expect(cells[10]).toBe(`${d.filter((x) => x > 1e-6).length} / ${d.filter((x) => x < -1e-6).length} of 3`);
    }
    // --all-opt reaches the loss: the ALL runs record δ = 0.9, and the Dice loss of these runs (about 0.7) is below it.
    const run = join(out, 'runs', 'unet-all-s0-fg0.3');
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).allOptions).toEqual({ omega: 10, epsilon: 0.5, delta: 0.9 });
    const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; belowDelta?: boolean });
    expect(steps.filter((x) => x.type === 'step').every((x) => x.belowDelta === true)).toBe(true);
    // … so the table's share of ALL steps below δ is 100 %, recorded per run in the CSV (Dice: none)
    expect(table.split('\n').find((l) => l.startsWith('| unet | 30% |'))).toMatch(/\| 100% \|$/);
    expect(rows.filter((x) => x.loss === 'all' && x.imbalance === '0.3').map((x) => x.below_delta)).toEqual(['1.000000', '1.000000', '1.000000']);
    expect(rows.filter((x) => x.loss === 'dice').every((x) => x.below_delta === '')).toBe(true);
  }, 60_000);

  it('--seeds 4, runs seed 4 alone (4 is the count: seeds 0…3)', async () => {
    const out = join(root, 'one-seed');
    const r = await captured(() => compareLossesCommand.run([...TINY, '--losses', 'dice', '--seeds', '4,', '--out', out, '--quiet']));
    expect(r.value).toBe(0);
    expect(csv(join(out, 'results.csv')).map((x) => x.seed)).toEqual(['4']);
  }, 60_000);

  it('Ctrl-C keeps the finished runs and gives the command that goes on, reusing them (exit 130)', async () => {
    const out = join(root, 'interrupted');
    const args = ['--data', 'synthetic:blobs?count=60&size=16&seed=1', '--widths', '4,8', '--epochs', '3', '--batch', '4', '--lr', '0.01', '--losses', 'dice,jaccard', '--seeds', '3', '--out', out];
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'test/helpers/segrad-cli.ts', 'compare-losses', ...args], { cwd: resolve(import.meta.dirname, '../..') });
    child.stdout.resume();
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/\[1\/6\] unet · dice · seed 0: IoU/.test(err) && !child.killed) child.kill('SIGINT');
    });
    expect(await new Promise<number | null>((done) => child.on('exit', done))).toBe(130);
    const m = /stopped in run (\d) of 6; the (\d) finished run\(s\) are kept in (.*)\/runs, and this command goes on from there, reusing them:\n  segrad compare-losses (.*)\n/.exec(err);
    expect(m, err).not.toBeNull();
    const finished = Number(m![2]);
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(m![3]).toBe(out);
    expect(m![4]).toBe(args.map((a) => (a.includes('?') || a.includes('&') ? `'${a}'` : a)).join(' '));
    const again = await captured(() => compareLossesCommand.run(args));
    expect(again.value).toBe(0);
    expect(again.err.match(/\(reused\)/g)?.length).toBe(finished);
    expect(csv(join(out, 'results.csv'))).toHaveLength(6);
  }, 120_000);

  it('usage errors exit with code 2 and a clear message', async () => {
    for (const [argv, message] of [
      [['compare-losses', '--losses', 'dice,hinge'], /unknown loss 'hinge'/],
      [['compare-losses', '--lossez', 'dice'], /unknown option --lossez/],
      [['compare-losses', '--models', 'resnet'], /unknown model 'resnet'/],
      [['compare-losses', '--data', 'folder:/tmp', '--imbalance', '0.1'], /--imbalance needs synthetic data/],
      [['compare-losses', '--imbalance', '0,0.1'], /foreground fractions in \(0, 1\)/],
      [['compare-losses', '--seeds', 'three'], /--seeds must be a count/],
      [['compare-losses', '--seeds', '0,0'], /--seeds must be .*different seeds/],
      [['compare-losses', '--seeds', ','], /--seeds must be .*one seed: 4,/],
      [['compare-losses', '--losses', 'dice,all', '--all-opt', 'gamma=2'], /--all-opt: .*no option 'gamma'/],
      [['compare-losses', '--losses', 'dice', '--all-opt', 'delta=0.2'], /'all' is not in --losses/],
      [['compare-losses', '--epochs', 'ten'], /--epochs must be a number/],
    ] as [string[], RegExp][]) {
      const r = await captured(() => main(argv));
      expect(r.value, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
  });
});
