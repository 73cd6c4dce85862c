import { execFileSync } from 'node:child_process';
import type { BrowserBench } from './browser-harness.js';
import { chromiumPath, inChromium } from './chromium.js';
import { positiveOption, type BenchRow } from './table.js';

const MODES = ['cpu', 'webgl2', 'webgl', 'webgpu'];

/**
 * What headless Chromium measures: the anchor U-Net's train step and inference (as `segrad bench` runs
 * them) in a browser page on the cpu backend (WebAssembly SIMD, one thread: a file: page has no
 * SharedArrayBuffer) and in the gpu backend's browser modes. Without a GPU Chromium renders on
 * SwiftShader, a CPU: those rows say that the kernels run there, not how fast a GPU runs them.
 *
 * `npm run bench -- browser [--modes cpu,webgl2,webgl,webgpu] [--size 32] [--batch 2] [--reps 3]`
 * (CHROMIUM_PATH picks the browser; Debian's chromium by default).
 */
export async function run(args: string[]): Promise<BenchRow[]> {
  const m = args.indexOf('--modes');
  const modes = (m >= 0 ? args[m + 1] ?? '' : MODES.join(',')).split(',');
  const bad = modes.filter((m) => !MODES.includes(m));
  if (bad.length) throw new Error(`browser: --modes takes ${MODES.join(', ')}, not ${bad.join(', ')}`);
  const size = positiveOption(args, 'browser', '--size', 32);
  if (size % 16 !== 0) throw new Error(`browser: --size must be a multiple of 16 (the U-Net halves it four times), not ${size}`);
  const batch = positiveOption(args, 'browser', '--batch', 2);
  const reps = positiveOption(args, 'browser', '--reps', 3);
  const path = chromiumPath();
  if (!path) return [{ workload: 'browser', backend: 'chromium', ms: NaN, peakRssMB: NaN, note: 'unavailable: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)' }];
  // (Debian's wrapper script complains on stderr about its memory check; only stdout is the version)
  const version = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const r = await inChromium('bench/browser-harness.ts', 'segradBrowserBench', (page) => {
    page.setDefaultTimeout(0);
    return page.evaluate(
      ([m, s, b, n]) => (globalThis as unknown as { segradBrowserBench(m: string[], s: number, b: number, n: number): Promise<BrowserBench> }).segradBrowserBench(m, s, b, n),
      [modes, size, batch, reps] as [string[], number, number, number],
    );
  });
  console.log(`${version}, headless; ${Object.entries(r.adapters).map(([m, a]) => `${m}: ${a ?? 'adapter not reported'}`).join('; ') || 'no gpu mode'}${r.unavailable.length ? `; not available: ${r.unavailable.join('; ')}` : ''}`);
  return r.rows.map((row) => ({ ...row, backend: `chromium ${row.backend}` }));
}
