import { median } from '../src/cli/bench-table.js';

// the rows and their table are the CLI's (`segrad bench` prints them too)
export { markdownTable, median, peakRssMB, type BenchRow } from '../src/cli/bench-table.js';

/** Runs `fn` `warmup` times, then `reps` times, and returns the median wall time in ms. */
export async function timeIt(fn: () => unknown | Promise<unknown>, reps = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** The positive integer after `name` in a suite's `args`, or `dflt`; an error naming the suite otherwise. */
export function positiveOption(args: readonly string[], suite: string, name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${suite}: ${name} takes a positive integer, not '${args[i + 1] ?? ''}'`);
  return v;
}
