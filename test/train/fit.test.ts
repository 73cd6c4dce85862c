import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Loader, split, synthetic } from '../../src/data/index.js';
import { all, dice, type Loss } from '../../src/losses/index.js';
import { loadSafetensors } from '../../src/nn/safetensors.js';
import { createModel, evaluateModel, fit, gradNorms, NonFiniteError, RunFolder, writeReport, type GradNorms, type ModelSpec } from '../../src/train/index.js';
import { toLossInput } from '../../src/train/outputs.js';
import type { Batch } from '../../src/data/types.js';

const root = mkdtempSync(join(tmpdir(), 'segrad-fit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every tensor of a safetensors file as plain numbers, by name. */
async function tensorsOf(path: string): Promise<Map<string, { shape: number[]; values: number[] }>> {
  const { tensors } = await loadSafetensors(path);
  const out = new Map<string, { shape: number[]; values: number[] }>();
  for (const [k, t] of Object.entries(tensors)) {
    out.set(k, { shape: [...t.shape], values: Array.from(await t.data()) });
    t.dispose();
  }
  return out;
}

const lines = (dir: string): Record<string, unknown>[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('fit end to end (CPU)', () => {
  it('a small U-Net trained with Dice on synthetic blobs reaches IoU >= 0.6 on the held-out split in 120 steps', async () => {
    // 48 blobs at 32 px, 80:20 split (39 train / 9 test), batch 4 → 10 steps per epoch, 12 epochs.
    // Picked from seeds 0–3 (split and model seed alike): final per-image test IoU 0.69–0.76, Dice 0.81–0.86;
    // the untrained model scores at most 0.2.
    const { train, test } = split(synthetic({ kind: 'blobs', count: 48, size: 32, seed: 7 }), { seed: 1 });
    const model = createModel({ name: 'unet', options: { inChannels: 1, outChannels: 1, widths: [8, 16, 32, 64], dropout: 0, seed: 1 } });
    const before = await evaluateModel(model, null, test);
    const result = await fit(model, dice(), train, { epochs: 12, batchSize: 4, lr: 3e-3, seed: 1 });
    expect(result.steps).toBe(120);
    const after = await evaluateModel(model, null, test);
    expect(before.iou).toBeLessThan(0.4);
    expect(after.iou).toBeGreaterThanOrEqual(0.6);
    expect(after.dice).toBeGreaterThanOrEqual(0.7);
  }, 60_000);
});

describe('fit run folder', () => {
  // Tiny settings: 16 px blobs, 20 images (16 train), batch 4 → 4 steps per epoch; dropout on, so the
  // resumed run must also redraw the same dropout masks.
  const data = () => split(synthetic({ kind: 'blobs', count: 20, size: 16, seed: 3 }), { seed: 0 });
  const spec: ModelSpec = { name: 'unet', options: { inChannels: 1, outChannels: 1, widths: [4, 8], dropout: 0.5, seed: 5 } };
  const opts = { batchSize: 4, lr: 1e-2, seed: 2, config: { model: spec, data: 'synthetic:blobs?count=20&size=16&seed=3' } };

  it('resuming an interrupted run ends with exactly the weights, BN buffers and optimiser state of an uninterrupted one', async () => {
    const a = join(root, 'A');
    const b = join(root, 'B');
    await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 3, outDir: a });
    await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 2, outDir: b });
    const resumed = await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 3, outDir: b, resume: true });
    expect(resumed.steps).toBe(12);
    expect(resumed.epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);

    const A = await tensorsOf(join(a, 'checkpoint.safetensors'));
    const B = await tensorsOf(join(b, 'checkpoint.safetensors'));
    expect([...B.keys()].sort()).toEqual([...A.keys()].sort());
    const names = [...A.keys()];
    expect(names.some((k) => k.startsWith('model.') && k.endsWith('running_mean'))).toBe(true);
    expect(names.some((k) => k.startsWith('model.') && k.endsWith('running_var'))).toBe(true);
    expect(names.filter((k) => k.startsWith('optim.')).length).toBeGreaterThan(0);
    for (const k of names) {
      expect(B.get(k)!.shape, k).toEqual(A.get(k)!.shape);
      expect(B.get(k)!.values, k).toEqual(A.get(k)!.values);
    }
    // The weights did change during the third epoch (the comparison is not vacuous).
    const b2 = join(root, 'B2');
    await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 2, outDir: b2 });
    const B2 = await tensorsOf(join(b2, 'checkpoint.safetensors'));
    expect(names.filter((k) => k.startsWith('model.')).some((k) => B2.get(k)!.values.some((v, i) => v !== A.get(k)!.values[i]))).toBe(true);

    // Optimiser scalars (step count, lr) and the position are in the metadata, the same in both.
    const metaA = JSON.parse((await loadSafetensors(join(a, 'checkpoint.safetensors'))).metadata.meta!);
    const metaB = JSON.parse((await loadSafetensors(join(b, 'checkpoint.safetensors'))).metadata.meta!);
    expect(metaB).toEqual(metaA);
    expect(metaA.epoch).toBe(2);
    expect(metaA.step).toBe(12);

    // The resumed log is the uninterrupted log: one step line per step, one epoch line per epoch, same losses.
    const stepLosses = (dir: string) => lines(dir).filter((r) => r.type === 'step').map((r) => [r.step, r.loss]);
    expect(stepLosses(b)).toEqual(stepLosses(a));
  }, 60_000);

  it('a folder holding a run is not trained over by mistake: an error unless resume or overwrite; resume checks it is the same run', async () => {
    const dir = join(root, 'held');
    await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 1, outDir: dir });
    const before = readFileSync(join(dir, 'checkpoint.safetensors'));
    const logBefore = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    const err = await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 1, outDir: dir }).then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/^fit: .*held already holds a run \(config\.json, metrics\.jsonl, checkpoint\.safetensors, best\.safetensors\); resume it .*--resume.*--overwrite/);
    expect(readFileSync(join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(logBefore);

    // resuming with another model, data or loss names what differs and the run's own command
    const other: ModelSpec = { ...spec, options: { ...spec.options, widths: [4, 8, 16] } };
    const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...saved, command: 'segrad train --widths 4,8' }));
    const cases: [Parameters<typeof fit>, RegExp][] = [
      [[createModel(other), dice(), data().train, { ...opts, config: { ...opts.config, model: other }, epochs: 2, outDir: dir, resume: true }], /trained with model .*"widths":\[4,8\].* but this run gives model .*"widths":\[4,8,16\].*its command: segrad train --widths 4,8\)/],
      [[createModel(spec), dice(), data().train, { ...opts, config: { ...opts.config, data: 'synthetic:vessels' }, epochs: 2, outDir: dir, resume: true }], /trained with data "synthetic:blobs[^"]*", but this run gives data "synthetic:vessels"/],
      [[createModel(spec), all(), data().train, { ...opts, epochs: 2, outDir: dir, resume: true }], /trained with loss "dice", but this run gives loss "all/],
    ];
    for (const [args, message] of cases) await expect(fit(...args)).rejects.toThrow(message);
    expect(readFileSync(join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);

    // overwrite starts over: the old log is gone, not appended to
    writeFileSync(join(dir, 'eval.json'), '{}');
    await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 1, outDir: dir, overwrite: true });
    expect(existsSync(join(dir, 'eval.json'))).toBe(false);
    expect(lines(dir).filter((r) => r.type === 'epoch').map((r) => r.epoch)).toEqual([0]);

    // resume where a run stopped in its first epoch (no checkpoint yet): it starts clean, its old step lines gone
    const early = join(root, 'stopped-early');
    mkdirSync(early);
    writeFileSync(join(early, 'config.json'), JSON.stringify({ ...opts.config, loss: 'dice' }));
    writeFileSync(join(early, 'metrics.jsonl'), JSON.stringify({ type: 'step', epoch: 0, step: 1, loss: 123 }) + '\n');
    await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 1, outDir: early, resume: true });
    expect(lines(early).filter((r) => r.type === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(lines(early).some((r) => r.loss === 123)).toBe(false);
  }, 60_000);

  it('writes config.json with the model spec, metrics.jsonl step and epoch lines, an atomic checkpoint and an SVG report', async () => {
    const dir = join(root, 'C');
    const { train, test } = data();
    await fit(createModel(spec), dice(), train, { ...opts, epochs: 2, outDir: dir, val: test });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.model).toEqual(spec);
    expect(config.loss).toBe('dice');
    expect(config.seed).toBe(2);
    expect(config.epochs).toBe(2);
    expect(config.trainSize).toBe(16);

    const log = lines(dir);
    const steps = log.filter((r) => r.type === 'step');
    const epochs = log.filter((r) => r.type === 'epoch');
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(steps.map((r) => r.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    for (const r of steps) {
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.gradNorm as number).toBeGreaterThan(0);
    }
    expect(epochs.map((r) => r.epoch)).toEqual([0, 1]);
    for (const r of epochs) expect((r.val as Record<string, number>).iou).toBeGreaterThanOrEqual(0);

    // Atomic writes: no temporary file is left; the checkpoint is a complete safetensors file.
    const files = readdirSync(dir);
    expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['config.json', 'metrics.jsonl', 'checkpoint.safetensors', 'best.safetensors']));
    const bytes = readFileSync(join(dir, 'checkpoint.safetensors'));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    const entries = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(entries.some((k) => k.startsWith('model.'))).toBe(true);
    expect(entries.some((k) => k.startsWith('optim.'))).toBe(true);
    const end = Math.max(...entries.map((k) => header[k].data_offsets[1]));
    expect(bytes.length).toBe(8 + headerLength + end);
    const model = createModel(spec);
    expect(entries.filter((k) => k.startsWith('model.')).length).toBe(Object.keys(model.stateDict()).length);

    const report = await writeReport(await RunFolder.open(dir), { summary: { iou: 0.5 } });
    const html = readFileSync(report, 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('Gradient norms');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  }, 60_000);

  it("scheduler 'poly': each epoch's steps at base·(1 − epoch/epochs)^0.9", async () => {
    const dir = join(root, 'poly');
    await fit(createModel(spec), dice(), data().train, { ...opts, epochs: 3, outDir: dir, scheduler: 'poly', lr: 0.02 });
    const byEpoch = [0, 1, 2].map((e) => [...new Set(lines(dir).filter((r) => r.type === 'step' && r.epoch === e).map((r) => r.lr as number))]);
    byEpoch.forEach((lrs, e) => {
      expect(lrs).toHaveLength(1);
      expect(lrs[0]).toBeCloseTo(0.02 * (1 - e / 3) ** 0.9, 12);
    });
  }, 60_000);

  it('monitor: dice picks best.safetensors by the highest validation Dice, loss by the lowest validation loss', async () => {
    const { train, test } = data();
    const bestOf = async (monitor: 'dice' | 'loss') => {
      const dir = join(root, `monitor-${monitor}`);
      const result = await fit(createModel(spec), dice(), train, { ...opts, epochs: 4, outDir: dir, val: test, monitor, lr: 0.05 });
      const meta = (await loadSafetensors(join(dir, 'best.safetensors'))).metadata;
      return { result, meta };
    };
    const byDice = await bestOf('dice');
    const epochs = byDice.result.epochs.map((e) => e.val!);
    const want = epochs.reduce((b, v, i) => (v.dice > epochs[b].dice ? i : b), 0);
    expect(byDice.result.best).toEqual({ metric: 'val dice', value: epochs[want].dice, epoch: want });
    expect([byDice.meta.epoch, byDice.meta.metric]).toEqual([String(want), 'val dice']);
    const byLoss = await bestOf('loss');
    const losses = byLoss.result.epochs.map((e) => e.val!.loss);
    expect(byLoss.result.best!.epoch).toBe(losses.indexOf(Math.min(...losses)));
    expect(byLoss.result.best!.epoch).not.toBe(want); // here the two disagree, so the choice shows
    await expect(fit(createModel(spec), dice(), train, { ...opts, epochs: 1, monitor: 'auc' as 'dice' })).rejects.toThrow(/monitor must be 'loss', 'iou' or 'dice', got 'auc'/);
  }, 60_000);

  it('a NaN loss stops the run naming the step, the batch ids and the last checkpoint', async () => {
    const dir = join(root, 'N');
    const base = dice();
    let calls = 0;
    const badStep = 6; // the second step of epoch 2: epoch 1's checkpoint exists
    const nanAt: Loss = Object.assign((input: Parameters<Loss>[0], target: Parameters<Loss>[1]) => {
      calls++;
      const l = base(input, target);
      return calls === badStep ? l.mul(NaN) : l;
    }, { lossName: 'nan-at-6', takes: base.takes });
    const { train } = data();
    // The batch order of epoch 1 (index 1) from a loader with the same seed and batch size.
    const expected: string[][] = [];
    for await (const batch of new Loader(train, { batchSize: 4, shuffle: true, seed: 2 }).epoch(1)) {
      expected.push(batch.ids);
      batch.images.dispose();
      batch.masks.dispose();
    }
    const ids = expected[1];
    const err = await fit(createModel(spec), nanAt, train, { ...opts, epochs: 3, outDir: dir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NonFiniteError);
    const e = err as NonFiniteError;
    expect(e.what).toBe('loss');
    expect(e.step).toBe(badStep);
    expect(e.epoch).toBe(1);
    expect(e.ids).toEqual(ids);
    expect(e.lastCheckpoint).toBe(join(dir, 'checkpoint.safetensors'));
    expect(e.message).toContain(`step ${badStep}`);
    for (const id of ids) expect(e.message).toContain(id);
    expect(e.message).toContain(join(dir, 'checkpoint.safetensors'));
    // The log stops with the last good epoch: nothing from the failed one.
    expect(lines(dir).filter((r) => r.type === 'step').length).toBe(4);

    // In the first epoch there is no checkpoint to name yet.
    calls = 0;
    const early: Loss = Object.assign((i: Parameters<Loss>[0], t: Parameters<Loss>[1]) => (++calls === 2 ? base(i, t).mul(NaN) : base(i, t)), { lossName: 'nan-at-2', takes: base.takes });
    const err2 = (await fit(createModel(spec), early, train, { ...opts, epochs: 1, outDir: join(root, 'N2') }).catch((x: unknown) => x)) as NonFiniteError;
    expect(err2).toBeInstanceOf(NonFiniteError);
    expect(err2.step).toBe(2);
    expect(err2.lastCheckpoint).toBeNull();
    expect(err2.message).toContain('no checkpoint was written yet');
  }, 60_000);

  it('a finite loss with a NaN gradient stops the run as a gradient failure, with the ALL base loss read alongside', async () => {
    const dir = join(root, 'G');
    const badStep = 3;
    const steps: { loss: number; gradNorm?: { global: number } }[] = [];
    // √(0·p) adds 0 to the loss, but its gradient is 0 · ∞ = NaN
    const base: Loss = Object.assign((input: Parameters<Loss>[0], target: Parameters<Loss>[1]) => {
      const l = dice()(input, target);
      return steps.length === badStep - 1 ? l.add(input.mul(0).sqrt().sum()) : l;
    }, { lossName: 'nan-gradient-at-3', takes: 'probabilities' as const });
    const err = (await fit(createModel(spec), all({ base }), data().train, { ...opts, epochs: 2, outDir: dir, onStep: (st) => steps.push(st) }).catch((x: unknown) => x)) as NonFiniteError;
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.what).toBe('gradient');
    expect(err.step).toBe(badStep);
    expect(steps.length).toBe(badStep - 1);
    for (const st of steps) expect(st.gradNorm!.global).toBeGreaterThan(0);
  }, 60_000);

  it('the recorded gradient norms are those of the step (read back with the ALL loss and its base loss)', async () => {
    const model = createModel({ ...spec, options: { ...spec.options, dropout: 0 } });
    const { train } = data();
    const loss = all();
    const steps: { loss: number; gradNorm?: GradNorms }[] = [];
    // lr 0: Adam leaves the parameters as they were, so the step can be recomputed after the run
    await fit(model, loss, train, { ...opts, lr: 0, epochs: 1, maxBatchesPerEpoch: 1, onStep: (st) => steps.push(st) });
    const loader = new Loader(train, { batchSize: 4, shuffle: true, seed: 2 });
    let batch: Batch | undefined;
    for await (const b of loader.epoch(0)) {
      batch ??= b;
      if (b !== batch) (b.images.dispose(), b.masks.dispose());
    }
    model.train();
    const l = loss(toLossInput(model.forward(batch!.images), loss.takes), batch!.masks);
    l.backward();
    const want = await gradNorms(model.namedParameters());
    const got = steps[0].gradNorm!;
    expect(steps[0].loss).toBeCloseTo((await l.data())[0], 5);
    expect(Math.abs(got.global - want.global)).toBeLessThanOrEqual(1e-5 * want.global);
    expect(Object.keys(got.groups).sort()).toEqual(Object.keys(want.groups).sort());
    for (const [g, v] of Object.entries(want.groups)) expect(Math.abs(got.groups[g] - v), g).toBeLessThanOrEqual(1e-5 * v);
  }, 60_000);

  it('ALL steps record the base loss, whether it is below δ, and the multiplier ω/(ε + x) below δ, 1 above', async () => {
    const dir = join(root, 'ALL');
    const omega = 10;
    const epsilon = 0.5;
    const delta = 0.66; // the Dice loss of this tiny run starts near 0.7 and ends near 0.6: it crosses δ
    const { train } = data();
    const steps: { baseLoss?: number; belowDelta?: boolean; gradMultiplier?: number; loss: number }[] = [];
    await fit(createModel({ ...spec, options: { ...spec.options, dropout: 0 } }), all({ omega, epsilon, delta }), train, { ...opts, epochs: 4, outDir: dir, onStep: (s) => steps.push(s) });
    const logged = lines(dir).filter((r) => r.type === 'step');
    expect(logged.length).toBe(16);
    const C = delta - omega * Math.log1p(delta / epsilon);
    for (const [i, s] of steps.entries()) {
      const x = s.baseLoss!;
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThan(1);
      expect(s.belowDelta).toBe(x < delta);
      expect(s.gradMultiplier).toBeCloseTo(x < delta ? omega / (epsilon + x) : 1, 10);
      // The logged ALL value is the transform of the logged base value (float32 arithmetic in the loss).
      expect(s.loss).toBeCloseTo(x < delta ? omega * Math.log1p(x / epsilon) : x - C, 4);
      expect(logged[i].baseLoss).toBe(x);
      expect(logged[i].belowDelta).toBe(s.belowDelta);
      expect(logged[i].gradMultiplier).toBe(s.gradMultiplier);
    }
    expect(steps.some((s) => s.belowDelta)).toBe(true);
    expect(steps.some((s) => !s.belowDelta)).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.allOptions).toEqual({ omega, epsilon, delta });
    expect(existsSync(join(dir, 'best.safetensors'))).toBe(true);
  }, 60_000);
});
