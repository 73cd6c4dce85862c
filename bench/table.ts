/** One measured row of a benchmark. */
export interface BenchRow {
  workload: string;
  backend: string;
  /** Median time of one iteration in milliseconds. */
  ms: number;
  gflops?: number;
  imagesPerSecond?: number;
  peakRssMB: number;
  size?: number;
  note?: string;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

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

/** Peak resident set size of this process so far, in MB. */
export function peakRssMB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** Formats rows as a Markdown table: workload, backend, time, GFLOP/s or images/s, peak memory. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const head = '| workload | backend | time (ms) | GFLOP/s | images/s | peak RSS (MB) |';
  const sep = '|---|---|---:|---:|---:|---:|';
  const f = (v: number | undefined, d: number): string => (v === undefined ? '–' : v.toFixed(d));
  const body = rows.map((r) => `| ${r.workload}${r.size ? ` ${r.size}²` : ''}${r.note ? ` (${r.note})` : ''} | ${r.backend} | ${f(r.ms, 2)} | ${f(r.gflops, 2)} | ${f(r.imagesPerSecond, 2)} | ${f(r.peakRssMB, 0)} |`);
  return [head, sep, ...body].join('\n');
}
