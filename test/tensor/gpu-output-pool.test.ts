import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputPool, type BufferResult, type GpuBuffer } from '../../src/tensor/backends/gpu/output-pool.js';

/**
 * The webgpu output pool (output-pool.ts) on a fake device: it never hands out a buffer still held, and
 * a loop whose steps repeat their calls settles on the same buffers every step (a value replaced every
 * step on two), which is what lets bind-groups.ts reuse a step's bind groups.
 */

interface FakeBuffer extends GpuBuffer {
  id: number;
}

function fakeDevice(): { createBuffer(d: { size: number }): FakeBuffer; made: number } {
  const dev = {
    made: 0,
    createBuffer: ({ size }: { size: number }): FakeBuffer => ({ id: dev.made++, size, destroy: () => undefined }),
  };
  return dev;
}

const resultOf = (buffer: GpuBuffer): BufferResult => {
  buffer._refs = 1;
  return { buffer, _deleted: false, toArray: () => null, delete: () => undefined };
};

/**
 * One step of a loop: `temps` values taken at `at` and released at `until` (event indices within the
 * step), and `states` values replaced every step: the new one taken at `at`, the old released at `until`.
 */
interface Step {
  temps: { bytes: number; at: number; until: number }[];
  states: { bytes: number; at: number; until: number }[];
}

/**
 * Runs steps of the given kinds in the order `schedule` names them on a fresh pool (a read, cycle(),
 * after each; each kind's states its own); the buffers each step took, in order, and the buffers made
 * by the end of each step.
 */
function runSchedule(kinds: Step[], schedule: number[]): { takes: number[][]; made: number[] } {
  const pool = new OutputPool();
  const dev = fakeDevice();
  const held = new Set<GpuBuffer>();
  const take = (bytes: number): FakeBuffer => {
    const b = pool.take(dev, bytes) as FakeBuffer;
    // the property every reuse rests on: never a buffer whose value is still held
    expect(held.has(b), `buffer ${b.id} handed out while held`).toBe(false);
    expect(b.size).toBe(bytes);
    held.add(b);
    return b;
  };
  const release = (b: FakeBuffer): void => {
    held.delete(b);
    pool.recycle(resultOf(b));
  };
  const states = kinds.map((k) => k.states.map((s) => take(s.bytes)));
  pool.cycle();
  const takes: number[][] = [];
  const made: number[] = [];
  for (const kind of schedule) {
    const step = kinds[kind];
    const events = Math.max(0, ...[...step.temps, ...step.states].map((e) => e.until)) + 1;
    const ids: number[] = [];
    const temps: (FakeBuffer | null)[] = step.temps.map(() => null);
    const next: (FakeBuffer | null)[] = step.states.map(() => null);
    for (let e = 0; e < events; e++) {
      step.temps.forEach((t, j) => {
        if (t.at === e) ids.push((temps[j] = take(t.bytes)).id);
      });
      step.states.forEach((s, j) => {
        if (s.at === e) ids.push((next[j] = take(s.bytes)).id);
      });
      step.temps.forEach((t, j) => {
        if (t.until === e) release(temps[j]!);
      });
      step.states.forEach((s, j) => {
        if (s.until === e) release(states[kind][j]);
      });
    }
    states[kind] = next as FakeBuffer[];
    pool.cycle();
    takes.push(ids);
    made.push(dev.made);
  }
  return { takes, made };
}

/** `cycles` steps of one kind. */
const runLoop = (step: Step, cycles: number): { takes: number[][]; made: number[] } => runSchedule([step], Array.from({ length: cycles }, () => 0));

const span = fc.record({ bytes: fc.constantFrom(256, 512), at: fc.nat(12), length: fc.integer({ min: 0, max: 12 }) }).map(({ bytes, at, length }) => ({ bytes, at, until: at + length }));
const steps = fc.record({ temps: fc.array(span, { maxLength: 10 }), states: fc.array(span, { maxLength: 5 }) });

describe('webgpu output pool', () => {
  it('a released buffer of the same size is handed out again, a new one only where none is free', () => {
    const pool = new OutputPool();
    const dev = fakeDevice();
    const a = pool.take(dev, 256);
    pool.recycle(resultOf(a));
    expect(pool.take(dev, 512)).not.toBe(a);
    expect(pool.take(dev, 256)).toBe(a);
    expect(dev.made).toBe(2);
  });

  it('never hands out a held buffer, and a repeating loop settles on the same buffers (a replaced value on two)', () => {
    fc.assert(
      fc.property(steps, (step) => {
        const { takes, made } = runLoop(step, 12);
        // a step's calls find last step's buffers again, a replaced value the buffers of two steps back
        for (let c = 4; c < 12; c++) expect(takes[c], `step ${c}`).toEqual(takes[c - 2]);
        expect(made[11], 'buffers made after the loop settled').toBe(made[4]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('a loop of two kinds of step (training, then validation) settles too: no buffer made once settled, its rounds repeat', () => {
    fc.assert(
      fc.property(steps, steps, fc.integer({ min: 1, max: 4 }), fc.boolean(), (train, val, trainSteps, evalOnly) => {
        // rounds of an even count of training steps and one validation step; validation replaces
        // nothing where it is evaluation alone (a model in eval mode)
        if (evalOnly) val = { ...val, states: [] };
        const round = [...Array.from({ length: 2 * trainSteps }, () => 0), 1];
        const count = 16;
        const { takes, made } = runSchedule([train, val], Array.from({ length: count }, () => round).flat());
        expect(made[made.length - 1], 'buffers made after the loop settled').toBe(made[4 * round.length - 1]);
        const rounds = Array.from({ length: count }, (_, r) => JSON.stringify(takes.slice(r * round.length, (r + 1) * round.length)));
        // values replaced in both kinds of step (told apart by their takes' sizes only) may share buffers
        // in turn, and the rounds repeat only every few rounds (more bind groups kept); after evaluation
        // alone a round takes what the round two before took (one whose first takes look like a training
        // step's may swap a training step's values between two buffers from round to round)
        if (evalOnly) for (let r = 4; r < count; r++) expect(rounds[r], `round ${r}`).toBe(rounds[r - 2]);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('values replaced every step alternate between two buffers each from the second step on', () => {
    // three states of one size, each replaced before the next is taken: the pattern that walked every
    // state through every buffer of its size when the pool handed out the last freed one
    const step: Step = {
      temps: [{ bytes: 256, at: 0, until: 5 }],
      states: [0, 1, 2].map((k) => ({ bytes: 256, at: 1 + 2 * k, until: 2 + 2 * k })),
    };
    const { takes } = runLoop(step, 8);
    for (let c = 2; c < 8; c++) expect(takes[c]).toEqual(takes[c - 2]);
    const [even, odd] = [takes[6], takes[7]];
    // each state position holds two buffers in turn; the temporary keeps one
    for (const k of [1, 2, 3]) expect(even[k]).not.toBe(odd[k]);
    expect(even[0]).toBe(odd[0]);
  });
});

describe('the output pool past its cap', () => {
  it('keeps buffers up to its cap and destroys the rest, the open batch submitted first', () => {
    const events: string[] = [];
    const pool = new OutputPool(3000, () => events.push('flush'));
    const dev = fakeDevice();
    const bufs = [1000, 1000, 1000, 1000].map((bytes) => {
      const b = pool.take(dev, bytes) as FakeBuffer;
      b.destroy = () => events.push(`destroy ${b.id}`);
      return b;
    });
    for (const b of bufs) pool.recycle(resultOf(b));
    // three kept; the fourth destroyed, after a flush: a buffer destroyed while encoded work that uses
    // it is unsubmitted makes WebGPU reject the whole submission
    expect(events).toEqual(['flush', 'destroy 3']);
    expect([0, 1, 2].map(() => (pool.take(dev, 1000) as FakeBuffer).id).sort()).toEqual([0, 1, 2]);
  });
});
