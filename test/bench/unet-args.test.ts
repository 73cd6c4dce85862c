import { describe, expect, it } from 'vitest';
import { parse, targetLines } from '../../bench/unet.js';
import type { BenchRow } from '../../src/cli/bench-table.js';

describe('npm run bench -- unet: options', () => {
  it('parses the options, the first of a repeated one winning (bench/gpu.sh puts the user options first)', () => {
    const o = parse(['--size', '64', '--backend', 'gpu:webgpu', '--workload', 'train', '--reps', '5', '--warmup', '2', '--profile', '--no-peer', '--json', 'x.json', '--size', '128']);
    expect(o).toEqual({ sizes: [64], workloads: ['train'], backendArg: 'gpu:webgpu', reps: 5, warmup: 2, profile: true, peerDevice: 'cpu' });
    expect(parse([])).toMatchObject({ sizes: [64, 128], workloads: ['train', 'inference'], backendArg: 'cpu', reps: 7, warmup: 3, profile: false });
    // the trainer's own step (bench/gpu.sh runs it at 128²)
    expect(parse(['--workload', 'fit', '--size', '128']).workloads).toEqual(['fit']);
    // another loss for the train step (bench/gpu.sh times Lovász, sorted on the card)
    expect(parse(['--loss', 'lovasz-hinge']).loss).toBe('lovasz-hinge');
  });

  it('refuses an option it does not know instead of ignoring it, and says where another batch is timed', () => {
    expect(() => parse(['--batch', '2'])).toThrow(/unknown option '--batch'.*segrad bench --batch N/);
    expect(() => parse(['--szie', '64'])).toThrow(/unknown option '--szie' \(options: --size/);
    expect(() => parse(['--size', '32'])).toThrow(/--size must be 64 or 128, got '32'/);
    expect(() => parse(['--workload', 'eval'])).toThrow(/--workload must be train, inference or fit, got 'eval'/);
    expect(() => parse(['--loss', 'lovasz'])).toThrow(/--loss must be one of .*lovasz-hinge.*, got 'lovasz'/);
  });
});

describe('npm run bench -- unet: the targets it checks', () => {
  const row = (workload: string, size: number, backend: string, more: Partial<BenchRow>): BenchRow => ({ workload, size, backend, ms: 1, peakRssMB: 100, ...more });

  it('says met or not met for each cpu target whose row is there, at the thresholds', () => {
    const lines = targetLines([
      row('unet train', 64, 'cpu:wasm', { imagesPerSecond: 30, firstStepMs: 2999 }),
      row('unet train', 128, 'cpu:wasm', { imagesPerSecond: 9.99, firstStepMs: 3000, rssVsPeer: 2 }),
      row('unet inference', 64, 'cpu:wasm', { imagesPerSecond: 1 }),
      row('unet inference', 128, 'cpu:wasm', { imagesPerSecond: 40.5 }),
    ]);
    expect(lines).toEqual([
      'target unet train 64² on cpu:wasm ≥ 30 img/s: 30.00 img/s, met',
      'target unet train 64² on cpu:wasm, first step < 3 s: 2999.00 ms, met',
      'target unet train 128² on cpu:wasm ≥ 10 img/s: 9.99 img/s, not met',
      'target unet train 128² on cpu:wasm, first step < 3 s: 3000.00 ms, not met',
      "target unet train 128² on cpu:wasm, peak RSS ≤ 2× PyTorch's: 2.00×, met",
      'target unet inference 128² on cpu:wasm ≥ 40 img/s: 40.50 img/s, met',
    ]);
  });

  it("on a gpu, the 128² train step against PyTorch's on the same card; rows without a value (failed, no peer) say nothing", () => {
    expect(targetLines([row('unet train', 128, 'gpu:webgpu', { imagesPerSecond: 20, speedVsPeer: 0.18 }), row('unet train', 64, 'gpu:webgpu', { imagesPerSecond: 50, speedVsPeer: 0.3 })])).toEqual([
      "target unet train 128² on gpu:webgpu ≥ 0.25× PyTorch's images/s on the same card: 0.18×, not met",
    ]);
    expect(targetLines([row('unet train', 128, 'gpu:webgpu', { imagesPerSecond: 20 }), row('unet train', 64, 'cpu:wasm', { ms: NaN, imagesPerSecond: NaN })])).toEqual([]);
  });
});
