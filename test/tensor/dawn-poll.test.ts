import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { matmul, randn, setBackend } from '../../src/index.js';
import { NAP_MS, napFor, patiently, SPIN_MS, usePatientPolling } from '../../src/tensor/backends/gpu/dawn-poll.js';
import { gpuModesHere } from './gpu-modes.js';

/**
 * Waiting for Dawn without a busy core: while segrad awaits the device, the global setImmediate (which
 * Dawn's Node binding calls for every poll) naps first, and it is given back when the wait ends.
 */

const { modes } = await gpuModesHere();
const spin = globalThis.setImmediate;

/**
 * Polls through the global setImmediate, as Dawn's binding does, until `ms` have passed; counts the polls.
 * Its callback reads as native code, as the binding's does (a bound function).
 */
function dawnLikeWait(ms: number): { done: Promise<void>; polls: () => number } {
  let polls = 0;
  const end = performance.now() + ms;
  const done = new Promise<void>((resolve) => {
    const tick = (): void => {
      polls++;
      if (performance.now() >= end) resolve();
      else globalThis.setImmediate(tick.bind(null));
    };
    globalThis.setImmediate(tick.bind(null));
  });
  return { done, polls: () => polls };
}

/** The most polls a patient wait of `ms` can make after its first SPIN_MS: each one sleeps napFor(elapsed) first. */
const napBound = (ms: number): number => 50 * Math.log(Math.max(ms, SPIN_MS) / SPIN_MS) + ms / NAP_MS + 2;

afterEach(() => {
  vi.restoreAllMocks();
  globalThis.setImmediate = spin;
});

afterAll(() => {
  usePatientPolling(false);
  setBackend('cpu');
});

// first: patient polling as device.ts turned it on when it loaded the webgpu package
describe.each(modes.filter((m) => m === 'webgpu').map((mode) => ({ mode })))('Dawn\'s polls during a read, mode $mode', ({ mode }) => {
  it('a read of a long computation naps between polls and gives setImmediate back after', async () => {
    setBackend('gpu', { mode });
    const a = randn([384, 384], { seed: 1 });
    const b = randn([384, 384], { seed: 2 }).mul(0.05);
    let c = matmul(a, b);
    await c.data(); // the kernels built
    let polls = 0;
    globalThis.setImmediate = ((...args: Parameters<typeof setImmediate>) => {
      polls++;
      return spin(...args);
    }) as typeof setImmediate;
    const counting = globalThis.setImmediate;
    const t0 = performance.now();
    for (let i = 0; i < 6; i++) c = matmul(c, b);
    const out = await c.data();
    const ms = performance.now() - t0;
    expect(globalThis.setImmediate).toBe(counting);
    expect(out.every(Number.isFinite)).toBe(true);
    // Dawn's own polling makes about a poll every few microseconds of the wait
    expect(polls).toBeLessThanOrEqual(napBound(ms) + 1000);
  });
});

describe('napFor', () => {
  it('does not nap within SPIN_MS, then naps a fiftieth of the wait so far, at most NAP_MS', () => {
    expect(napFor(0)).toBe(0);
    expect(napFor(SPIN_MS)).toBe(0);
    expect(napFor(10)).toBeCloseTo(0.2, 12);
    expect(napFor(49)).toBeCloseTo(0.98, 12);
    expect(napFor(50 * NAP_MS)).toBe(NAP_MS);
    expect(napFor(10_000)).toBe(NAP_MS);
  });
});

describe('patiently', () => {
  it('leaves setImmediate alone while patient polling is off', async () => {
    usePatientPolling(false);
    const sleep = vi.spyOn(Atomics, 'wait');
    const w = dawnLikeWait(5);
    const p = patiently(w.done);
    expect(globalThis.setImmediate).toBe(spin);
    await p;
    expect(sleep).not.toHaveBeenCalled();
  });

  it('makes the polls of a long wait nap, and gives setImmediate back when the wait ends', async () => {
    usePatientPolling(true);
    const sleep = vi.spyOn(Atomics, 'wait');
    const w = dawnLikeWait(120);
    const t0 = performance.now();
    const p = patiently(w.done);
    expect(globalThis.setImmediate).not.toBe(spin);
    await p;
    const ms = performance.now() - t0;
    expect(globalThis.setImmediate).toBe(spin);
    expect(sleep.mock.calls.length).toBeGreaterThan(0);
    // every nap at most NAP_MS, none longer
    expect(Math.max(...sleep.mock.calls.map((c) => c[3] as number))).toBeLessThanOrEqual(NAP_MS);
    expect(w.polls() - sleep.mock.calls.length).toBeGreaterThan(0); // the first polls spin
    expect(sleep.mock.calls.length).toBeLessThanOrEqual(napBound(ms));
  });

  it('holds up only Dawn\'s polls: other code\'s setImmediate callbacks during a wait go straight through', async () => {
    usePatientPolling(true);
    const w = dawnLikeWait(30);
    const p = patiently(w.done);
    await new Promise((resolve) => setTimeout(resolve, 5)); // past SPIN_MS: Dawn's polls nap by now
    const sleep = vi.spyOn(Atomics, 'wait');
    let ran = 0;
    for (let i = 0; i < 200; i++) globalThis.setImmediate(() => void ran++);
    globalThis.setImmediate(function named() {
      ran++;
    });
    expect(sleep).not.toHaveBeenCalled();
    await p;
    expect(ran).toBe(201);
    expect(sleep.mock.calls.length).toBeGreaterThan(0);
  });

  it('rejects as the wait does, and gives setImmediate back then too', async () => {
    usePatientPolling(true);
    const p = patiently(new Promise((_, reject) => setTimeout(() => reject(new Error('device lost')), 2)));
    await expect(p).rejects.toThrow('device lost');
    expect(globalThis.setImmediate).toBe(spin);
  });

  it('overlapping waits: setImmediate comes back when the last one ends', async () => {
    usePatientPolling(true);
    const long = patiently(dawnLikeWait(30).done);
    const short = patiently(dawnLikeWait(2).done);
    await short;
    expect(globalThis.setImmediate).not.toBe(spin);
    await long;
    expect(globalThis.setImmediate).toBe(spin);
  });

  it('keeps setImmediate\'s own properties (util.promisify) and its arguments', async () => {
    usePatientPolling(true);
    const w = patiently(dawnLikeWait(3).done);
    await expect(promisify(globalThis.setImmediate)('value')).resolves.toBe('value');
    const got = await new Promise((resolve) => globalThis.setImmediate((a: number, b: number) => resolve(a + b), 2, 3));
    expect(got).toBe(5);
    await w;
  });

  it('a setImmediate replaced during a wait (fake timers) is left as it is, and ours kept past the wait no longer naps', async () => {
    usePatientPolling(true);
    const w = patiently(dawnLikeWait(20).done);
    const ours = globalThis.setImmediate;
    const theirs = ((f: () => void) => spin(f)) as typeof setImmediate;
    globalThis.setImmediate = theirs;
    await w;
    expect(globalThis.setImmediate).toBe(theirs);
    // their restore hands ours back: outside a wait it is setImmediate itself
    globalThis.setImmediate = ours;
    const sleep = vi.spyOn(Atomics, 'wait');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const polls = dawnLikeWait(10);
    await polls.done;
    expect(sleep).not.toHaveBeenCalled();
  });
});
