/** One measured row of a benchmark (`segrad bench`, `npm run bench`). */
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
  /** Time of the first iteration (kernels compiled, caches cold), in ms, where a suite measures it. */
  firstStepMs?: number;
  /** This row's images/s over the peer's (PyTorch) on the same workload and size. */
  speedVsPeer?: number;
  /** This row's peak RSS over the peer's on the same workload and size. */
  rssVsPeer?: number;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Peak resident set size of this process so far, in MB (NaN in a browser, which does not say). */
export function peakRssMB(): number {
  if (typeof process === 'undefined' || typeof process.resourceUsage !== 'function') return NaN;
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/**
 * Formats rows as a Markdown table: workload, backend, time, GFLOP/s or images/s, peak memory. A
 * "× peer" column (images/s ratio, then RSS ratio, against PyTorch) appears when a row carries one.
 */
export function markdownTable(rows: readonly BenchRow[]): string {
  const peer = rows.some((r) => r.speedVsPeer !== undefined || r.rssVsPeer !== undefined);
  const head = `| workload | backend | time (ms) | GFLOP/s | images/s | peak RSS (MB) |${peer ? ' images/s, RSS × PyTorch |' : ''}`;
  const sep = `|---|---|---:|---:|---:|---:|${peer ? '---:|' : ''}`;
  const f = (v: number | undefined | null, d: number): string => (v === undefined || v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));
  const ratio = (r: BenchRow): string => (r.speedVsPeer === undefined && r.rssVsPeer === undefined ? ' – |' : ` ${f(r.speedVsPeer, 2)}×, ${f(r.rssVsPeer, 2)}× |`);
  const body = rows.map((r) => `| ${r.workload}${r.size ? ` ${r.size}²` : ''}${r.note ? ` (${r.note})` : ''} | ${r.backend} | ${f(r.ms, 2)} | ${f(r.gflops, 2)} | ${f(r.imagesPerSecond, 2)} | ${f(r.peakRssMB, 0)} |${peer ? ratio(r) : ''}`);
  return [head, sep, ...body].join('\n');
}
