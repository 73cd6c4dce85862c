import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../../src/cli/commands/train.js';
import { setBackend } from '../../src/index.js';
import { captured } from '../helpers/cli.js';
import { useSwiftShaderIfNoDriver } from '../tensor/gpu-modes.js';

/**
 * `segrad train --backend gpu:webgpu`: the CLI requests the WebGPU adapter itself, and the whole run
 * (training steps, validation, checkpoints, test metrics) works on an asynchronous backend, with the
 * same losses as the cpu backend to float32 rounding. Without a GPU, Dawn runs on Chromium's SwiftShader.
 */

// No adapter is requested here: the CLI must do that itself (this file runs in a fresh module graph).
const vulkan = await useSwiftShaderIfNoDriver();
if (!vulkan) console.log('segrad train on gpu:webgpu: not run (no Vulkan driver: install chromium for SwiftShader or set VK_ICD_FILENAMES)');
const root = mkdtempSync(join(tmpdir(), 'segrad-train-webgpu-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  setBackend('cpu');
});
const TINY = ['--data', 'synthetic:blobs?count=15&size=16&seed=1', '--widths', '4,8', '--batch', '4', '--lr', '0.01', '--seed', '4', '--epochs', '1', '--max-batches', '2', '--loss', 'dice', '--quiet'];
const records = (dir: string): Record<string, unknown>[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const steps = (dir: string): number[] => records(dir).filter((r) => r.type === 'step').map((r) => r.loss as number);

/** `segrad train` with `args` on gpu:webgpu, then on cpu, into root/NAME-gpu and root/NAME-cpu; both must succeed. */
async function onBoth(args: string[], name: string): Promise<{ gpu: string; cpu: string }> {
  const [gpu, cpu] = [join(root, `${name}-gpu`), join(root, `${name}-cpu`)];
  const g = await captured(() => train.run([...args, '--backend', 'gpu:webgpu', '--out', gpu]));
  expect(g.value, g.err).toBe(0);
  expect((await captured(() => train.run([...args, '--backend', 'cpu', '--out', cpu]))).value).toBe(0);
  return { gpu, cpu };
}

describe.skipIf(!vulkan)('segrad train on gpu:webgpu', () => {
  it('trains, validates and checkpoints with the losses of the cpu backend', async () => {
    const { gpu, cpu } = await onBoth(TINY, 'dice');
    const epoch = (dir: string) => records(dir).find((r) => r.type === 'epoch') as { val: { loss: number; iou: number } };
    expect(steps(gpu)).toHaveLength(2);
    steps(gpu).forEach((l, k) => expect(Math.abs(l - steps(cpu)[k]), `step ${k + 1}`).toBeLessThan(1e-4));
    expect(Math.abs(epoch(gpu).val.loss - epoch(cpu).val.loss)).toBeLessThan(1e-4);
    const iou = (dir: string) => JSON.parse(readFileSync(join(dir, 'test-metrics.json'), 'utf8')).iou as number;
    expect(Math.abs(iou(gpu) - iou(cpu))).toBeLessThan(1e-3);
  }, 300_000);

  it('--resume continues from the checkpoint (parameters and Adam moments saved from, and loaded into, the device) with the losses of an uninterrupted run', async () => {
    // on webgpu the parameters and moments are views of one buffer each step; a checkpoint reads them
    // back and a resume uploads them again as plain buffers
    const whole = join(root, 'whole');
    const resumed = join(root, 'resumed');
    const run = (epochs: string, out: string, ...more: string[]) => captured(() => train.run([...TINY, '--backend', 'gpu:webgpu', '--epochs', epochs, '--out', out, ...more]));
    expect((await run('2', whole)).value).toBe(0);
    expect((await run('1', resumed)).value).toBe(0);
    expect((await run('2', resumed, '--resume')).value).toBe(0);
    expect(steps(resumed)).toHaveLength(4);
    steps(resumed).forEach((l, k) => expect(Math.abs(l - steps(whole)[k]), `step ${k + 1}`).toBeLessThan(1e-6));
  }, 300_000);

  it('trains with a Lovász loss (sorted on the device there) with the losses of the cpu backend', async () => {
    const { gpu, cpu } = await onBoth([...TINY.slice(0, TINY.indexOf('--loss')), '--loss', 'lovasz-softmax', '--quiet'], 'lovasz');
    expect(steps(gpu)).toHaveLength(2);
    steps(gpu).forEach((l, k) => expect(Math.abs(l - steps(cpu)[k]), `step ${k + 1}`).toBeLessThan(1e-4));
  }, 300_000);
});
