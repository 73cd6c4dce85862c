import fc from 'fast-check';
import { availableGpuModes, createGpuBackend, prepareGpu, type GpuMode } from '../../src/tensor/backends/gpu/index.js';
import { cases, type Pair } from './gpu-cases.js';

/**
 * Bundled for a headless browser by gpu-browser.test.ts (gpu.js aliased to its browser build, as in
 * the library's browser bundle): runs the conformance cases in the browser's GL and WebGPU modes.
 */

export interface BrowserReport {
  modes: string[];
  unavailable: string[];
  adapters: Record<string, string | undefined>;
  results: { mode: string; name: string; error?: string }[];
  seconds: Record<string, number>;
}

/** Runs the cases in the `only` modes available here, each with ⌈runs·scale⌉ fast-check runs. */
async function run(only: readonly string[], scale: number): Promise<BrowserReport> {
  const report: BrowserReport = { modes: [], unavailable: [], adapters: {}, results: [], seconds: {} };
  const webgpu = await prepareGpu('webgpu');
  if (!webgpu.ok) report.unavailable.push(`webgpu (${webgpu.reason})`);
  const avail = availableGpuModes();
  for (const m of ['webgpu', 'webgl2', 'webgl'] as GpuMode[]) {
    if (!only.includes(m)) continue;
    if (!avail.includes(m)) {
      if (m !== 'webgpu') report.unavailable.push(m);
      continue;
    }
    report.modes.push(m);
    const p: Pair = { gpu: createGpuBackend({ mode: m }) };
    report.adapters[m] = p.gpu.info().adapter;
    const t0 = performance.now();
    for (const c of cases) {
      try {
        await fc.assert(c.make(p), { numRuns: Math.ceil(c.runs * scale) });
        report.results.push({ mode: m, name: c.name });
      } catch (e) {
        report.results.push({ mode: m, name: c.name, error: String((e as Error).message).slice(0, 1500) });
      }
    }
    report.seconds[m] = Math.round(performance.now() - t0) / 1000;
    const live = p.gpu.liveBuffers();
    report.results.push(live === 0 ? { mode: m, name: 'no device outputs left live' } : { mode: m, name: 'no device outputs left live', error: `${live} left` });
  }
  return report;
}

(globalThis as unknown as { segradGpuConformance: typeof run }).segradGpuConformance = run;
