import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/cli/commands/eval.js';
import { commands } from '../../src/cli/commands/index.js';
import { train } from '../../src/cli/commands/train.js';
import { main } from '../../src/cli/main.js';
import { captured } from '../helpers/cli.js';


const DATA = 'synthetic:blobs?count=15&size=16&seed=1';
const root = mkdtempSync(join(tmpdir(), 'segrad-eval-'));
const run = join(root, 'run');
beforeAll(async () => {
  const r = await captured(() => train.run(['--data', DATA, '--widths', '4,8', '--epochs', '2', '--batch', '4', '--lr', '0.01', '--seed', '3', '--out', run, '--quiet']));
  expect(r.value).toBe(0);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

describe('segrad eval', () => {
  it('is registered and has an example in --help', () => {
    expect(commands).toContain(evaluate);
    expect(evaluate.usage).toMatch(/examples:\n\s+segrad eval --run /);
  });

  it('scores the last checkpoint on the same test split as training: the numbers train printed', async () => {
    const r = await captured(() => evaluate.run(['--run', run, '--checkpoint', 'last']));
    expect(r.value).toBe(0);
    const trained = readJson(join(run, 'test-metrics.json'));
    const evaluated = readJson(join(run, 'eval.json'));
    // 15 images, 20 % test (seed 3, the run's seed) → 3 images, as in training.
    expect(evaluated.images).toBe(3);
    expect(evaluated.images).toBe(trained.images);
    expect(evaluated.split).toBe('test');
    expect(evaluated.seed).toBe(3);
    expect(String(evaluated.checkpoint).endsWith('checkpoint.safetensors')).toBe(true);
    for (const k of ['loss', 'iou', 'dice', 'precision', 'recall', 'specificity', 'accuracy', 'auc']) expect(evaluated[k], k).toBeCloseTo(trained[k] as number, 10);
    // The table shows the IoU that eval.json records.
    expect(r.out).toContain((evaluated.iou as number).toFixed(4));
    expect(r.out).toMatch(/test \(3 images\)/);
  });

  it('writes each image\'s scores to eval-images.csv (the per-image mean is eval.json\'s) and prints the lowest IoUs', async () => {
    const r = await captured(() => evaluate.run(['--run', run, '--checkpoint', 'last']));
    expect(r.value).toBe(0);
    const [head, ...lines] = readFileSync(join(run, 'eval-images.csv'), 'utf8').trim().split('\n');
    expect(head).toBe('id,iou,dice,precision,recall,specificity,accuracy,auc,hd95,assd,foreground,predicted,true_objects,predicted_objects,matched_objects,dsb');
    const rows = lines.map((l) => l.split(',')).map(([id, ...v]) => ({ id, values: v.map(Number) }));
    const evaluated = readJson(join(run, 'eval.json'));
    expect(rows).toHaveLength(evaluated.images as number);
    expect(new Set(rows.map((x) => x.id)).size).toBe(rows.length);
    const mean = (k: number) => rows.reduce((a, x) => a + x.values[k], 0) / rows.length;
    expect(mean(0)).toBeCloseTo(evaluated.iou as number, 5);
    expect(mean(1)).toBeCloseTo(evaluated.dice as number, 5);
    for (const x of rows) for (const v of [x.values[9], x.values[10]]) expect(v >= 0 && v <= 1).toBe(true);
    // the boundary distances: eval.json's are the mean over the images that have them, the rest counted
    const surface = evaluated.surface as { hd95: number; assd: number; images: number; emptyPrediction: number; emptyMask: number };
    const bounded = rows.filter((x) => Number.isFinite(x.values[7]));
    expect(bounded.length).toBe(surface.images);
    expect(rows.length - bounded.length).toBeGreaterThanOrEqual(surface.emptyPrediction + surface.emptyMask);
    expect(bounded.reduce((a, x) => a + x.values[7], 0) / bounded.length).toBeCloseTo(surface.hd95, 5);
    expect(bounded.reduce((a, x) => a + x.values[8], 0) / bounded.length).toBeCloseTo(surface.assd, 5);
    expect(r.out).toContain(`boundary: HD95 ${surface.hd95.toFixed(2)} px, ASSD ${surface.assd.toFixed(2)} px (${surface.images} images`);
    // the object counts: eval.json's totals are the sums of the rows'
    const objects = evaluated.objects as { trueObjects: number; predictedObjects: number; matched: number; f1: number };
    const sum = (k: number) => rows.reduce((a, x) => a + x.values[k], 0);
    expect([sum(11), sum(12), sum(13)]).toEqual([objects.trueObjects, objects.predictedObjects, objects.matched]);
    expect(objects.trueObjects).toBeGreaterThan(0);
    expect(objects.f1).toBeCloseTo((2 * objects.matched) / (objects.trueObjects + objects.predictedObjects), 12);
    expect(r.out).toContain(`objects: ${objects.trueObjects} in the masks, ${objects.predictedObjects} predicted, ${objects.matched} matched at IoU > 0.5`);
    const worst = [...rows].sort((a, b) => a.values[0] - b.values[0])[0];
    expect(r.out).toContain(`lowest IoU: ${worst.id} ${worst.values[0].toFixed(4)}`);
  });

  it('--tta scores the mirrored mean and --keep-largest the largest object (evaluateModel\'s options, tested there), recorded in eval.json', async () => {
    expect((await captured(() => evaluate.run(['--run', run, '--quiet']))).value).toBe(0);
    const plain = readJson(join(run, 'eval.json'));
    expect(plain.tta).toBe(false);
    const r = await captured(() => evaluate.run(['--run', run, '--tta']));
    expect(r.value).toBe(0);
    expect(r.err).toContain('mirrored (4 passes)');
    const mirrored = readJson(join(run, 'eval.json'));
    expect(mirrored.tta).toBe(true);
    expect(mirrored.auc).not.toBe(plain.auc);
    expect(plain.keepLargest).toBe(false);
    expect((await captured(() => evaluate.run(['--run', run, '--keep-largest', '--quiet']))).value).toBe(0);
    expect(readJson(join(run, 'eval.json')).keepLargest).toBe(true);
  });

  it('loads best.safetensors by default, evaluates other data with --data (all of it), and honours --protocol', async () => {
    const r = await captured(() => evaluate.run(['--run', run, '--data', 'synthetic:blobs?count=6&size=16&seed=9', '--protocol', 'pooled', '--quiet']));
    expect(r.value).toBe(0);
    const e = readJson(join(run, 'eval.json'));
    expect(String(e.checkpoint).endsWith('best.safetensors')).toBe(true);
    expect(e.images).toBe(6);
    expect(e.split).toBe('all');
    expect(e.protocol).toBe('pooled');
    expect(e.iou as number).toBeGreaterThanOrEqual(0);
    expect(e.iou as number).toBeLessThanOrEqual(1);
  });

  it('--patch with one window covering the whole image gives exactly the whole-image scores', async () => {
    const whole = await captured(() => evaluate.run(['--run', run, '--checkpoint', 'last', '--protocol', 'pooled', '--quiet']));
    expect(whole.value).toBe(0);
    const a = readJson(join(run, 'eval.json'));
    const side = String(readJson(join(run, 'config.json')).data).match(/size=(\d+)/)![1];
    const windowed = await captured(() => evaluate.run(['--run', run, '--checkpoint', 'last', '--protocol', 'pooled', '--patch', side, '--stride', side, '--quiet']));
    expect(windowed.value).toBe(0);
    const b = readJson(join(run, 'eval.json'));
    expect(b.patch).toBe(Number(side));
    for (const k of ['iou', 'dice', 'precision', 'recall', 'specificity', 'accuracy', 'auc']) expect(b[k], k).toBeCloseTo(a[k] as number, 5);
    // one window per image: a Gaussian blend weighs it alone, so the scores stay the whole image's
    expect((await captured(() => evaluate.run(['--run', run, '--checkpoint', 'last', '--protocol', 'pooled', '--patch', side, '--stride', side, '--blend', 'gaussian', '--quiet']))).value).toBe(0);
    const g = readJson(join(run, 'eval.json'));
    expect(g.blend).toBe('gaussian');
    for (const k of ['iou', 'dice', 'auc']) expect(g[k], k).toBeCloseTo(a[k] as number, 5);
  });

  it('usage errors exit with code 2 and say what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['eval'], /--run DIR is required/],
      [['eval', '--run', join(root, 'nope')], new RegExp(`run folder .*nope does not exist`)],
      [['eval', '--run', run, '--bogus'], /unknown option --bogus/],
      [['eval', '--run', run, '--checkpoint', 'first'], /--checkpoint must be best or last/],
      [['eval', '--run', run, '--protocol', 'dice'], /--protocol must be per-image or pooled/],
      [['eval', '--run', run, '--blend', 'gaussian'], /--blend combines the overlapping patches of --patch; give --patch N too/],
      [['eval', '--run', run, '--patch', '16', '--blend', 'max'], /--blend must be mean or gaussian, got 'max'/],
    ];
    for (const [argv, message] of cases) {
      const r = await captured(() => main(argv));
      expect(r.value, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
    // A folder that is not a run.
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const r = await captured(() => main(['eval', '--run', empty]));
    expect(r.value).toBe(2);
    expect(r.err).toMatch(/has no config\.json/);
    expect(existsSync(join(empty, 'eval.json'))).toBe(false);
  });

  it('a run whose data folder has moved says so and how to give its new place (exit 1)', async () => {
    const moved = join(root, 'moved-run');
    cpSync(run, moved, { recursive: true });
    const config = readJson(join(moved, 'config.json'));
    writeFileSync(join(moved, 'config.json'), JSON.stringify({ ...config, data: `folder:${join(root, 'gone')}` }));
    const r = await captured(() => main(['eval', '--run', moved]));
    expect(r.value).toBe(1);
    expect(r.err).toMatch(/folder .*gone does not exist.*the run's own data \(config\.json\): if it has moved, give --data with its new place and --split test/);
    const elsewhere = await captured(() => main(['eval', '--run', run, '--data', `folder:${join(root, 'gone')}`]));
    expect(elsewhere.value).toBe(1);
    expect(elsewhere.err).not.toMatch(/run's own data/);
  });

  it('data the model cannot take is an error naming the mismatch (exit 1)', async () => {
    const r = await captured(() => main(['eval', '--run', run, '--data', 'synthetic:blobs?count=4&size=16&channels=3']));
    expect(r.value).toBe(1);
    expect(r.err).toMatch(/3-channel images, but the model .* takes 1/);
  });
});
