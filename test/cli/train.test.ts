import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { interruptNote, train } from '../../src/cli/commands/train.js';
import { main } from '../../src/cli/main.js';
import { captured } from '../helpers/cli.js';
import { writeImage, writeNifti } from '../data/fixtures.js';
import { datasetFromSpec, readNifti, sliceGeometry } from '../../src/data/index.js';
import { labelComponents } from '../../src/metrics/index.js';
import { createModel, probabilities, type ModelSpec } from '../../src/train/index.js';
import { noGrad, tensor } from '../../src/tensor/index.js';


const root = mkdtempSync(join(tmpdir(), 'segrad-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DATA = 'synthetic:blobs?count=15&size=16&seed=1';
const TINY = ['--data', DATA, '--widths', '4,8', '--batch', '4', '--lr', '0.01', '--seed', '4'];
const jsonl = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('segrad train', () => {
  it('is registered', () => expect(commands).toContain(train));

  it('writes the run folder: config with the model spec, metrics, checkpoints, test metrics and a report', async () => {
    const out = join(root, 'run');
    const r = await captured(() => train.run([...TINY, '--epochs', '2', '--loss', 'dice', '--out', out]));
    expect(r.value).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.model).toEqual({ name: 'unet', options: { inChannels: 1, outChannels: 1, seed: 4, widths: [4, 8] } });
    expect(config.data).toBe(DATA);
    expect(config.loss).toBe('dice');
    expect(config.seed).toBe(4);
    // 15 images: 3 test, 2 validation (10 %), 10 train → 3 batches of 4 per epoch.
    expect(config.trainSize).toBe(10);
    expect(config.valSize).toBe(2);
    const log = jsonl(join(out, 'metrics.jsonl'));
    expect(log.filter((x) => x.type === 'step').map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.filter((x) => x.type === 'epoch').length).toBe(2);
    for (const f of ['checkpoint.safetensors', 'best.safetensors', 'report.html', 'test-metrics.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const test = JSON.parse(readFileSync(join(out, 'test-metrics.json'), 'utf8'));
    expect(test.images).toBe(3);
    // the class balance before training: blobs are 20 % foreground by default
    const fg = Number(/foreground: ([\d.]+) % of the pixels of 10 training masks/.exec(r.err)![1]);
    expect(Math.abs(fg - 20)).toBeLessThan(1.5);
    expect(r.err).not.toMatch(/inverted/);
    expect(r.out).toContain(`${(test.iou as number).toFixed(4)}`);
    // the boundary distances: in test-metrics.json, the line under the table and the report
    const { hd95, images } = test.surface as { hd95: number; images: number };
    expect(images + test.surface.emptyPrediction + test.surface.emptyMask).toBeLessThanOrEqual(3);
    expect(r.out).toMatch(images ? `boundary: HD95 ${hd95.toFixed(2)} px` : 'boundary: HD95 and ASSD n/a');
    const report = readFileSync(join(out, 'report.html'), 'utf8');
    expect(report).toContain(`<tr><th>HD95 (px)</th><td>${images ? hd95.toFixed(4) : 'n/a'}</td></tr>`);
    expect(report).toMatch(/<svg/);
    // the 3 test images, from the lowest IoU to the highest, each captioned with its own
    expect(report).toContain('<h2>Test images with the lowest and the highest IoU</h2>');
    const shown = [...report.matchAll(/<figcaption>[^<(]+ \(IoU ([\d.]+)\)/g)].map((m) => Number(m[1]));
    expect(shown).toHaveLength(3);
    expect(shown).toEqual([...shown].sort((a, b) => a - b));
    expect(shown.reduce((a, b) => a + b, 0) / 3).toBeCloseTo(test.iou as number, 3); // per-image protocol: their mean
  }, 60_000);

  it('--augment and --augment-intensity change what the model sees, the same way for the same seed', async () => {
    const losses = async (name: string, ...flags: string[]) => {
      const out = join(root, name);
      expect((await captured(() => train.run([...TINY, '--epochs', '1', '--out', out, '--quiet', ...flags]))).value).toBe(0);
      return jsonl(join(out, 'metrics.jsonl')).filter((x) => x.type === 'step').map((x) => x.loss as number);
    };
    const plain = await losses('plain');
    const turned = await losses('turned', '--augment');
    const bright = await losses('bright', '--augment-intensity');
    for (const other of [turned, bright]) expect(other).not.toEqual(plain);
    expect(bright).not.toEqual(turned);
    expect(await losses('bright-again', '--augment-intensity')).toEqual(bright);
  }, 60_000);

  it('--resume continues to the requested epoch with the same losses as an uninterrupted run', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    expect((await captured(() => train.run([...TINY, '--epochs', '3', '--out', a, '--quiet']))).value).toBe(0);
    expect((await captured(() => train.run([...TINY, '--epochs', '2', '--out', b, '--quiet']))).value).toBe(0);
    expect((await captured(() => train.run([...TINY, '--epochs', '3', '--out', b, '--resume', '--quiet']))).value).toBe(0);
    const losses = (dir: string) => jsonl(join(dir, 'metrics.jsonl')).filter((x) => x.type === 'step').map((x) => x.loss);
    expect(losses(b)).toHaveLength(9);
    expect(losses(b)).toEqual(losses(a));
    const test = (dir: string) => JSON.parse(readFileSync(join(dir, 'test-metrics.json'), 'utf8')).iou as number;
    expect(test(b)).toBe(test(a));
  }, 60_000);

  it('an --out holding a run: an error (exit 1) unless --resume with its settings or --overwrite', async () => {
    const out = join(root, 'kept');
    expect((await captured(() => train.run([...TINY, '--epochs', '1', '--out', out, '--quiet']))).value).toBe(0);
    const weights = readFileSync(join(out, 'best.safetensors'));
    const again = await captured(() => main(['train', ...TINY, '--epochs', '1', '--out', out, '--quiet']));
    expect(again.value).toBe(1);
    expect(again.err).toMatch(/kept already holds a run .*--resume.*--overwrite/);
    const other = await captured(() => main(['train', ...TINY, '--widths', '4,8,16', '--epochs', '2', '--out', out, '--resume', '--quiet']));
    expect(other.value).toBe(1);
    expect(other.err).toMatch(/"widths":\[4,8\].*"widths":\[4,8,16\].*its command: segrad train --data/);
    expect(readFileSync(join(out, 'best.safetensors')).equals(weights)).toBe(true);
    expect((await captured(() => train.run([...TINY, '--epochs', '1', '--loss', 'dice', '--out', out, '--overwrite', '--quiet']))).value).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).loss).toBe('dice');
    expect(jsonl(join(out, 'metrics.jsonl')).filter((x) => x.type === 'epoch')).toHaveLength(1);
  }, 60_000);

  it('with classes=K: each foreground class\'s IoU and Dice in the table, test-metrics.json and the report; segrad eval gives the same', async () => {
    const data = join(root, 'three-classes');
    for (let i = 0; i < 8; i++) {
      await writeImage(join(data, 'images', `s${i}.png`), 16, 16, 1, (y, x) => (x < 3 + (i % 4) ? 200 : y > 11 ? 120 : 30));
      await writeImage(join(data, 'masks', `s${i}.png`), 16, 16, 1, (y, x) => (x < 3 + (i % 4) ? 1 : y > 11 ? 2 : 0));
    }
    const out = join(root, 'classes-run');
    const r = await captured(() => train.run(['--data', `${data}?classes=3&cache=off`, '--widths', '4,8', '--batch', '4', '--lr', '0.01', '--epochs', '2', '--loss', 'dice', '--out', out]));
    expect(r.value).toBe(0);
    const test = JSON.parse(readFileSync(join(out, 'test-metrics.json'), 'utf8')) as { perClass: { class: number; iou: number; dice: number }[] };
    expect(test.perClass.map((c) => c.class)).toEqual([1, 2]);
    const rows = test.perClass.map((c) => `${c.class}      ${c.iou.toFixed(4)}  ${c.dice.toFixed(4)}`);
    for (const row of rows) expect(r.out).toContain(row);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain(`<tr><th>class 2 Dice</th><td>${test.perClass[1].dice.toFixed(4)}</td></tr>`);
    expect(r.out).toMatch(/class +IoU +Dice +precision +recall +HD95 \(px\)/);
    const e = await captured(() => main(['eval', '--run', out, '--quiet']));
    expect(e.value).toBe(0);
    for (const row of rows) expect(e.out).toContain(row);
    expect(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).perClass).toEqual(test.perClass);
    // eval-images.csv: each class's per-image IoU, Dice and HD95; their means (where defined) are the per-image protocol's
    const [head, ...lines] = readFileSync(join(out, 'eval-images.csv'), 'utf8').trim().split('\n');
    const columns = head.split(',');
    expect(columns.slice(-6)).toEqual(['class1_iou', 'class1_dice', 'class1_hd95', 'class2_iou', 'class2_dice', 'class2_hd95']);
    for (const [k, c] of test.perClass.entries()) {
      const values = lines.map((l) => Number(l.split(',')[columns.indexOf(`class${k + 1}_iou`)])).filter(Number.isFinite);
      expect(values.reduce((a, b) => a + b, 0) / values.length).toBeCloseTo(c.iou, 5);
    }
  }, 60_000);

  it('trains on NIfTI volumes (the Decathlon layout as a bare folder) and tests on whole volumes, then eval scores them', async () => {
    const data = join(root, 'Task98_Disc');
    for (let n = 0; n < 5; n++) {
      const disc = (i: number, j: number, k: number) => (i - 8) ** 2 + (j - 8) ** 2 < (3 + k + (n % 2)) ** 2;
      await writeNifti(join(data, 'imagesTr', `disc_${n}.nii.gz`), [16, 16, 4], (i, j, k) => (disc(i, j, k) ? 200 : -800) + 7 * ((i * 3 + j * 5 + n) % 9));
      await writeNifti(join(data, 'labelsTr', `disc_${n}.nii.gz`), [16, 16, 4], (i, j, k) => (disc(i, j, k) ? 1 : 0), { type: 'uint8' });
    }
    const out = join(root, 'nifti-run');
    const r = await captured(() => train.run(['--data', `${data}?window=-1000,400`, '--widths', '4,8', '--batch', '4', '--lr', '0.01', '--epochs', '2', '--out', out]));
    expect(r.value).toBe(0);
    // whole volumes of 4 slices on each side: 20 % of 5 volumes to test, 10 % of 20 slices (2) taken as one volume to val
    expect(r.err).toContain('(12 train / 4 val / 4 test, 1×16×16)');
    const test = JSON.parse(readFileSync(join(out, 'test-metrics.json'), 'utf8')) as { images: number; perVolume: { groups: number; dice: number; perGroup: { group: string; images: number }[] } };
    expect(test.images).toBe(4);
    // the test volume's Dice with its slices pooled
    expect(test.perVolume.groups).toBe(1);
    expect(test.perVolume.perGroup[0].images).toBe(4);
    expect(r.out).toContain(`per volume (1 volume, each one's slices pooled): Dice ${test.perVolume.dice.toFixed(4)}`);
    expect(r.out).toMatch(/HD95 [\d.]+ and ASSD [\d.]+ in the volumes' units \(3D\)/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain(`<tr><th>Dice per volume</th><td>${test.perVolume.dice.toFixed(4)}</td></tr>`);
    const e = await captured(() => main(['eval', '--run', out, '--quiet']));
    expect(e.value).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).perVolume).toEqual(test.perVolume);
    const rows = readFileSync(join(out, 'eval-images.csv'), 'utf8').trim().split('\n').slice(1);
    expect(new Set(rows.map((l) => l.split('#')[0])).size).toBe(1);
    // predict segments a volume slice by slice and writes the labels as a volume in its geometry
    const p = await captured(() => main(['predict', join(data, 'imagesTr', 'disc_1.nii.gz'), '--run', out, '--out', join(root, 'nifti-pred')]));
    expect(p.value).toBe(0);
    expect(p.out).toMatch(/disc_1\.nii\.gz \(16×16×4\): foreground [\d.]+ % → .*disc_1_mask\.nii\.gz/);
    const written = readNifti(gunzipSync(readFileSync(join(root, 'nifti-pred', 'disc_1_mask.nii.gz'))));
    expect(written.dims).toEqual([16, 16, 4, 1]);
    // the labels are the model's own on the slices as training read them (the dataset's slices of disc_1)
    const model = createModel((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { model: ModelSpec }).model);
    await model.load(join(out, 'best.safetensors'));
    model.eval();
    const ds = await datasetFromSpec(`${data}?window=-1000,400`);
    const slices = await Promise.all(ds.ids.flatMap((id, i) => (id.startsWith('disc_1#') ? [ds.get(i)] : [])));
    const x = tensor(Float32Array.from(slices.flatMap((s) => Array.from(s.image))), [4, 1, 16, 16]);
    const expected = Array.from(noGrad(() => probabilities(model.forward(x))).dataSync(), (v) => (v >= 0.5 ? 1 : 0));
    expect(Array.from(written.data)).toEqual(expected);
    expect(expected.some((v) => v === 1)).toBe(true);
    // inspect names the volumes and their voxel size
    const seen = await captured(() => main(['inspect', '--data', `${data}?window=-1000,400`]));
    expect(seen.out).toContain('groups: 5 (each kept whole by the split)');
    expect(seen.out).toContain('voxel size (z × y × x, as the slices are given): 1.00 × 1.00 × 1.00');
    // --keep-largest on a volume: its largest object in 3D; here a second, smaller bright blob is dropped
    const two = join(root, 'two.nii.gz');
    await writeNifti(two, [16, 16, 4], (i, j) => ((i - 5) ** 2 + (j - 5) ** 2 < 12 || (i - 12) ** 2 + (j - 12) ** 2 < 4 ? 200 : -800));
    const labelsOf = async (...flags: string[]) => {
      expect((await captured(() => main(['predict', two, '--run', out, '--out', join(root, 'two-pred'), ...flags]))).value).toBe(0);
      return readNifti(gunzipSync(readFileSync(join(root, 'two-pred', 'two_mask.nii.gz')))).data;
    };
    const plain = labelComponents(await labelsOf(), { depth: 4, height: 16, width: 16 });
    expect(plain.sizes.length).toBeGreaterThan(1);
    const kept = await labelsOf('--keep-largest');
    const biggest = plain.sizes.indexOf(Math.max(...plain.sizes)) + 1;
    expect(Array.from(kept)).toEqual(Array.from(plain.labels, (l) => (l === biggest ? 1 : 0)));
  }, 60_000);

  it('a run sliced along another axis predicts a volume slice by slice along it, the labels back in voxel order', async () => {
    const data = join(root, 'Task96_Axis');
    for (let n = 0; n < 3; n++) {
      await writeNifti(join(data, 'imagesTr', `ax_${n}.nii.gz`), [8, 16, 16], (i, j, k) => (j > 5 + n && k < 12 ? 200 : -800) + i);
      await writeNifti(join(data, 'labelsTr', `ax_${n}.nii.gz`), [8, 16, 16], (i, j, k) => (j > 5 + n && k < 12 ? 1 : 0), { type: 'uint8' });
    }
    const out = join(root, 'axis-run');
    const spec = `nifti:${data}?window=-1000,400&axis=0`;
    expect((await captured(() => train.run(['--data', spec, '--widths', '4,8', '--epochs', '1', '--batch', '4', '--out', out, '--quiet']))).value).toBe(0);
    expect((await captured(() => main(['predict', join(data, 'imagesTr', 'ax_1.nii.gz'), '--run', out, '--out', join(root, 'axis-pred')]))).value).toBe(0);
    const written = readNifti(gunzipSync(readFileSync(join(root, 'axis-pred', 'ax_1_mask.nii.gz'))));
    expect(written.dims).toEqual([8, 16, 16, 1]);
    // the model's own thresholded output on the dataset's slices of ax_1 (along i), placed at their voxels
    const model = createModel((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { model: ModelSpec }).model);
    await model.load(join(out, 'best.safetensors'));
    model.eval();
    const ds = await datasetFromSpec(spec);
    const slices = await Promise.all(ds.ids.flatMap((id, i) => (id.startsWith('ax_1#') ? [ds.get(i)] : [])));
    expect(slices).toHaveLength(8);
    const probs = noGrad(() => probabilities(model.forward(tensor(Float32Array.from(slices.flatMap((s) => Array.from(s.image))), [8, 1, 16, 16])))).dataSync();
    const geo = sliceGeometry(written, 0);
    const expected = new Array<number>(8 * 16 * 16).fill(-1);
    for (let s0 = 0; s0 < 8; s0++) for (let r = 0; r < 16; r++) for (let c = 0; c < 16; c++) expected[geo.voxel(s0, r, c)] = probs[s0 * 256 + r * 16 + c] >= 0.5 ? 1 : 0;
    expect(Array.from(written.data)).toEqual(expected);
  }, 60_000);

  it('warns that slices of one scan split at random leak into the test set, and not once they are grouped', async () => {
    const data = join(root, 'slices');
    for (let p = 0; p < 4; p++) for (let k = 0; k < 3; k++) {
      await writeImage(join(data, 'images', `pt${p}_slice${k}.png`), 16, 16, 1, (y, x) => (x < 4 + p ? 200 : 30));
      await writeImage(join(data, 'masks', `pt${p}_slice${k}.png`), 16, 16, 1, (y, x) => (x < 4 + p ? 255 : 0));
    }
    const run = (spec: string, out: string) => captured(() => train.run(['--data', spec, '--widths', '4,8', '--epochs', '1', '--batch', '4', '--out', join(root, out)]));
    const loose = await run(`${data}?cache=off`, 'slices-loose');
    expect(loose.value).toBe(0);
    expect(loose.err).toMatch(/ids such as pt\d_slice\d look like slices of one scan; .*groups=_slice/);
    const grouped = await run(`${data}?cache=off&groups=_slice`, 'slices-grouped');
    expect(grouped.value).toBe(0);
    expect(grouped.err).not.toMatch(/look like slices/);
    expect(grouped.err).toContain('(9 train / 0 val / 3 test'); // round(4 · 0.2) = 1 patient of 3 slices to test
  }, 60_000);

  it('Ctrl-C says where the last checkpoint is and gives the command that continues the run (exit 130)', async () => {
    expect(interruptNote(['--data', 'synthetic:blobs', '--overwrite', '--loss-opt', "delta=it's"], 'runs/unet-all-x', 3, 2)).toBe(
      "segrad train: stopped in epoch 4; the checkpoint of epoch 3 is in runs/unet-all-x. Continue with:\n  segrad train --data synthetic:blobs --loss-opt 'delta=it'\\''s' --out runs/unet-all-x --resume",
    );
    expect(interruptNote(['--out', 'r', '--resume'], 'r', 0, -1)).toMatch(/stopped in epoch 1; no epoch had finished, so r holds no checkpoint yet and this starts the run over\. Continue with:\n  segrad train --out r --resume$/);

    // the real thing: a child process, interrupted once its first epoch is logged
    const out = join(root, 'interrupted');
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'test/helpers/segrad-cli.ts', 'train', '--data', 'synthetic:blobs?count=400&size=32&seed=1', '--widths', '4,8', '--batch', '4', '--epochs', '50', '--out', out], { cwd: resolve(import.meta.dirname, '../..') });
    child.stdout.resume();
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/epoch 1\/50: train loss/.test(err) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    expect(code).toBe(130);
    expect(err).toMatch(new RegExp(`stopped in epoch \\d+; the checkpoint of epoch \\d+ is in ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\. Continue with:\n  segrad train .*--out .*interrupted --resume`));
    const [, stopped, kept] = /stopped in epoch (\d+); the checkpoint of epoch (\d+)/.exec(err)!.map(Number);
    expect(stopped).toBe(kept + 1);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(true);
    // and the command it gives continues from there
    const again = await captured(() => train.run(['--data', 'synthetic:blobs?count=400&size=32&seed=1', '--widths', '4,8', '--batch', '4', '--epochs', String(kept + 1), '--out', out, '--resume', '--quiet']));
    expect(again.value).toBe(0);
  }, 120_000);

  it('masks mostly foreground (objects drawn dark on light) get a warning that they look inverted', async () => {
    const data = join(root, 'inverted');
    for (let i = 0; i < 6; i++) {
      await writeImage(join(data, 'images', `s${i}.png`), 16, 16, 1, (y, x) => (x < 4 ? 200 : 30));
      await writeImage(join(data, 'masks', `s${i}.png`), 16, 16, 1, (y, x) => (x < 4 ? 0 : 255));
    }
    const r = await captured(() => train.run(['--data', `${data}?cache=off`, '--widths', '4,8', '--epochs', '1', '--batch', '4', '--out', join(root, 'inverted-run')]));
    expect(r.value).toBe(0);
    expect(r.err).toMatch(/warning: the masks are 75 % foreground; if they draw the objects dark on a light background, they are inverted/);
  }, 60_000);

  it('usage errors exit with code 2 and name the problem', async () => {
    for (const [argv, message] of [
      [['train', '--epochz', '2'], /unknown option --epochz \(did you mean --epochs\?\)/],
      [['train', '--size', '256'], /unknown option --size: size is an option of the data, given in its spec, e\.g\. --data 'folder:DIR\?size=…'/],
      [['train', '--window', '0,4095'], /--window: window is an option of the data/],
      [['train', '--bogus', '1'], /unknown option --bogus \(see 'segrad train --help'\)$/m],
      [['train', '--loss', 'hinge'], /unknown loss 'hinge'/],
      [['train', '--model', 'resnet'], /unknown model 'resnet'/],
      [['train', '--monitor', 'auc'], /--monitor must be loss, dice or iou, got 'auc'/],
      [['train', '--epochs', 'two'], /--epochs must be a number/],
      [['train', '--data', 'synthetic:blobs?count=5&size=18', '--widths', '4,8,16', '--epochs', '1'], /sizes must be divisible by 4/],
    ] as [string[], RegExp][]) {
      const r = await captured(() => main(argv));
      expect(r.value, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
    const bad = await captured(() => main(['train', '--data', 'synthetic:blobs?colour=red']));
    expect(bad.value).toBe(1);
    expect(bad.err).toMatch(/unknown option 'colour'/);
  });
});
