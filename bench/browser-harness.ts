import { runUnetBench } from '../src/cli/unet-bench.js';
import type { BenchRow } from '../src/cli/bench-table.js';
import { availableGpuModes, backendInfo, prepareGpu, setBackend, type GpuMode } from '../src/index.js';

/**
 * Bundled for headless Chromium by bench/browser.ts: the anchor U-Net's train step and inference
 * (src/cli/unet-bench.ts, as `segrad bench` runs them) on each backend the page has.
 */

export interface BrowserBench {
  rows: BenchRow[];
  /** Modes asked for that this browser lacks, with why. */
  unavailable: string[];
  /** The adapter (GPU or software renderer) each gpu mode reports. */
  adapters: Record<string, string | undefined>;
}

async function run(modes: readonly string[], size: number, batch: number, reps: number): Promise<BrowserBench> {
  const out: BrowserBench = { rows: [], unavailable: [], adapters: {} };
  const webgpu = modes.includes('webgpu') ? await prepareGpu('webgpu') : null;
  for (const mode of modes) {
    if (mode === 'cpu') setBackend('cpu');
    else if (!availableGpuModes().includes(mode as GpuMode)) {
      out.unavailable.push(mode === 'webgpu' && webgpu ? `webgpu (${webgpu.reason})` : mode);
      continue;
    } else {
      setBackend('gpu', { mode });
      out.adapters[mode] = backendInfo().adapter;
    }
    out.rows.push(...(await runUnetBench({ sizes: [size], batch, workloads: ['train', 'inference'], reps, warmup: 1 })));
  }
  setBackend('cpu');
  return out;
}

(globalThis as unknown as { segradBrowserBench: typeof run }).segradBrowserBench = run;
