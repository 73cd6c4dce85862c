import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, Conv2dGeometry } from '../../src/tensor/backend.js';
import { createCpuBackend } from '../../src/tensor/backends/cpu/index.js';
import { getBackend, tensor } from '../../src/index.js';
import { enableProfiling, formatProfile, isDeviceTiming, isProfiling, profileBackend, profileReport, recordDeviceKernel, recordQueuedKernel, resetProfile } from '../../src/tensor/profile.js';

// Profile mode: counts and keys per primitive, results unchanged, the report adds up.

const geometry: Conv2dGeometry = { stride: [1, 1], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 1 };

/** A fixed sequence of primitive calls; returns the handles it computed. */
function sequence(b: Backend) {
  const x = b.upload(Float32Array.from({ length: 2 * 1 * 4 * 4 }, (_, i) => Math.sin(i)), 'float32');
  const w = b.upload(Float32Array.from({ length: 3 * 1 * 3 * 3 }, (_, i) => Math.cos(i)), 'float32');
  const y = b.conv2d(x, [2, 1, 4, 4], w, [3, 1, 3, 3], [2, 3, 4, 4], geometry, 'float32');
  const r = b.unary('relu', y, 96, 'float32');
  const m = b.binary('mul', r, [2, 3, 4, 4], r, [2, 3, 4, 4], [2, 3, 4, 4], 'float32');
  const m2 = b.binary('mul', m, [2, 3, 4, 4], x, [2, 1, 4, 4], [2, 3, 4, 4], 'float32');
  const a = b.binary('add', m2, [2, 3, 4, 4], r, [2, 3, 4, 4], [2, 3, 4, 4], 'float32');
  const s = b.reduce('sum', a, [2, 3, 4, 4], [0, 2, 3], 'float32');
  const dw = b.conv2dBackwardFilter(x, [2, 1, 4, 4], a, [2, 3, 4, 4], [3, 1, 3, 3], geometry, 'float32');
  return { y, r, m2, a, s, dw };
}

const read = (b: Backend, h: unknown, n: number) => Array.from(b.readSync!(h, n, 'float32'));

afterEach(() => {
  enableProfiling(false);
  resetProfile();
});

describe('profileBackend', () => {
  it('counts every primitive call under its key (op name for unary/binary/reduce)', () => {
    resetProfile();
    sequence(profileBackend(createCpuBackend()));
    const counts = Object.fromEntries(profileReport().map((r) => [r.op, r.calls]));
    expect(counts).toEqual({
      upload: 2,
      conv2d: 1,
      'unary:relu': 1,
      'binary:mul': 2,
      'binary:add': 1,
      'reduce:sum': 1,
      conv2dBackwardFilter: 1,
    });
  });

  it('computes exactly what the unprofiled backend computes', () => {
    const plain = createCpuBackend();
    const profiled = profileBackend(createCpuBackend());
    const a = sequence(plain);
    const b = sequence(profiled);
    const sizes = { y: 96, r: 96, m2: 96, a: 96, s: 3, dw: 27 } as const;
    for (const k of Object.keys(sizes) as (keyof typeof sizes)[]) expect(read(profiled, b[k], sizes[k])).toEqual(read(plain, a[k], sizes[k]));
    expect(profiled.info()).toEqual(plain.info());
    expect(profiled.name).toBe('cpu');
    expect(profiled.liveBuffers()).toBe(plain.liveBuffers());
  });

  it('times async reads until they settle and leaves info/supports/liveBuffers untimed', async () => {
    resetProfile();
    const b = profileBackend(createCpuBackend());
    const h = b.upload(new Float32Array([1, 2, 3]), 'float32');
    expect(Array.from(await b.read(h, 3, 'float32'))).toEqual([1, 2, 3]);
    b.info();
    b.supports('float32');
    b.liveBuffers();
    b.dispose(h);
    expect(profileReport().map((r) => r.op).sort()).toEqual(['dispose', 'read', 'upload']);
  });

  it('the report sums to the total: times add up, shares add up to 100 %, sorted longest first', () => {
    resetProfile();
    const b = profileBackend(createCpuBackend());
    for (let i = 0; i < 3; i++) sequence(b);
    const rows = profileReport();
    const total = rows.reduce((s, r) => s + r.totalMs, 0);
    expect(rows.reduce((s, r) => s + r.calls, 0)).toBe(3 * 9);
    expect(rows.reduce((s, r) => s + r.percent, 0)).toBeCloseTo(100, 6);
    for (const r of rows) {
      expect(r.meanMs).toBeCloseTo(r.totalMs / r.calls, 9);
      if (total > 0) expect(r.percent).toBeCloseTo((100 * r.totalMs) / total, 9);
    }
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].totalMs).toBeGreaterThanOrEqual(rows[i].totalMs);
    const table = formatProfile('synchronous backend');
    expect(table.split('\n')[0]).toBe('| op | calls | total ms | % of total | mean ms |');
    expect(table).toContain(`| **total** | 27 | ${total.toFixed(2)} | 100.0 | – |`);
    expect(table).toContain('| binary:mul | 6 |');
    expect(table.endsWith('synchronous backend')).toBe(true);
  });
});

describe('enableProfiling (the engine hook)', () => {
  it('profiles the engine backend in place: same object, tensors made before keep working', () => {
    const before = tensor([1, 2, 3, 4], [2, 2]);
    const backend = getBackend();
    enableProfiling(true);
    expect(isProfiling()).toBe(true);
    resetProfile();
    expect(getBackend()).toBe(backend);
    const y = before.mul(before).add(tensor([1, 1], [1, 2])).exp();
    const keys = profileReport().map((r) => r.op);
    expect(keys).toEqual(expect.arrayContaining(['binary:mul', 'binary:add', 'unary:exp', 'upload']));
    expect(Array.from(y.dataSync())).toEqual(Array.from(new Float32Array([2, 5, 10, 17].map(Math.exp))));

    enableProfiling(false);
    resetProfile();
    const z = y.mul(before); // a tensor made while profiling mixes with one made before and after
    expect(profileReport()).toEqual([]);
    expect(z.shape).toEqual([2, 2]);
    expect(getBackend()).toBe(backend);
  });

  it('restores the original methods when switched off', () => {
    const backend = getBackend();
    const original = backend.binary;
    enableProfiling(true);
    expect(backend.binary).not.toBe(original);
    enableProfiling(false);
    expect(backend.binary).toBe(original);
  });
});

describe('queued kernels of an asynchronous device (webgpu)', () => {
  it('are kept apart from the primitive calls, summed per kernel, printed as a second table, and reset', () => {
    enableProfiling(true);
    resetProfile();
    recordQueuedKernel('conv2d', 1.5);
    recordQueuedKernel('conv2d', 0.5);
    recordQueuedKernel('mul', 1);
    expect(profileReport()).toEqual([]);
    const q = profileReport('queued');
    expect(q.map((r) => [r.op, r.calls, r.totalMs, r.meanMs])).toEqual([
      ['conv2d', 2, 2, 1],
      ['mul', 1, 1, 1],
    ]);
    expect(q.reduce((s, r) => s + r.percent, 0)).toBeCloseTo(100, 10);
    const text = formatProfile('note');
    expect(text).toMatch(/Kernel calls of the asynchronous device[^\n]*\n\n\| kernel \| calls \| total ms \| % of total \| mean ms \|/);
    expect(text).toContain('| conv2d | 2 | 2.00 | 66.7 | 1.000 |');
    resetProfile();
    expect(profileReport('queued')).toEqual([]);
    expect(formatProfile()).not.toMatch(/Kernel calls of the asynchronous device/);
    enableProfiling(false);
    recordQueuedKernel('conv2d', 1);
    expect(profileReport('queued')).toEqual([]);
  });
});

describe('device times of an asynchronous device (webgpu, device timing)', () => {
  it('are recorded only under device timing, printed as their own table with the round trip, and reset', () => {
    enableProfiling(true);
    expect(isDeviceTiming()).toBe(false);
    recordDeviceKernel('conv2d', 3, 0.05);
    expect(profileReport('device')).toEqual([]);
    enableProfiling(true, { deviceTime: true });
    expect(isDeviceTiming()).toBe(true);
    resetProfile();
    recordQueuedKernel('conv2d', 0.1);
    recordDeviceKernel('conv2d', 3, 0.05);
    recordDeviceKernel('conv2d', 1, 0.05);
    recordDeviceKernel('add', 4, 0.05);
    expect(profileReport('device').map((r) => [r.op, r.calls, r.totalMs])).toEqual([
      ['add', 1, 4],
      ['conv2d', 2, 4],
    ]);
    const text = formatProfile(undefined, ['device']);
    expect(text).toMatch(/^Kernel calls of the asynchronous device: device time of each, run alone \(submitted by itself and waited for\), less the round trip of an empty submission \(0\.050 ms\):\n\n\| kernel \|/);
    expect(text).toContain('| conv2d | 2 | 4.00 | 50.0 | 2.000 |');
    expect(text).not.toContain('| op |');
    expect(formatProfile()).toMatch(/\| op \|[\s\S]*encode and submit[\s\S]*device time of each/);
    resetProfile();
    expect(profileReport('device')).toEqual([]);
    enableProfiling(false);
    expect(isDeviceTiming()).toBe(false);
  });
});
