import { isShared } from './buffers.js';
import { loopHelper, loopKernels } from './gemm.js';
import { LOOPS } from './loops.js';

/**
 * Runs the loops of loops.ts on both threads: chunks 0 … count−1 of a body go to whichever thread
 * claims them first (gemm-threads.ts), so the main thread never waits for a worker that is busy or
 * asleep for long. Small loops, and loops over arrays the worker cannot see (not on a
 * SharedArrayBuffer), run here, in chunk order; the result is the same bits either way.
 */

/**
 * Most chunks a loop is cut into: the thread that finishes its last chunk first waits for the other's,
 * about half a chunk, so more chunks mean less waiting (and a claim, a few atomics, per chunk).
 */
export const LOOP_CHUNKS = 32;

/** Loops with fewer elements than this run on this thread: waking the worker costs more. */
const LOOP_MIN = 1 << 16;

/** Chunks for a loop over n elements that splits anywhere (elementwise, Adam): one per 32K, at most LOOP_CHUNKS. */
export const chunksFor = (n: number): number => Math.max(1, Math.min(LOOP_CHUNKS, Math.floor(n / 32768)));
const INDEX = Object.fromEntries(Object.keys(LOOPS).map((name, i) => [name, i])) as Record<keyof typeof LOOPS, number>;

/** Runs `count` chunks of loop `name` that touch about `work` elements in all. */
export function parallelLoop(name: keyof typeof LOOPS, arrays: ArrayLike<number>[], nums: number[], count: number, work: number): void {
  const helper = work >= LOOP_MIN && count > 1 && arrays.every(isShared) ? loopHelper() : null;
  if (helper?.wanted()) helper.loop(INDEX[name], arrays, nums, count);
  else for (let k = 0; k < count; k++) LOOPS[name](arrays, nums, k, count, loopKernels);
}
