import { describe, expect, it } from 'vitest';
import { parse } from '../../bench/unet.js';

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
