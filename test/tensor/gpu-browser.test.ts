import { beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath as findChromium, inChromium } from '../../bench/chromium.js';
import type { BrowserReport } from './gpu-browser-harness.js';

/**
 * The gpu backend's conformance cases (gpu-cases.ts) in a headless Chromium, bundled the way the
 * library's browser build is (gpu.js aliased to its browser build): the GL modes (webgl2, webgl),
 * which Node cannot run without headless-gl, and the browser's WebGPU. Chromium renders on
 * SwiftShader here. Runs when a Chromium binary is found (CHROMIUM_PATH or /usr/bin/chromium).
 */

const chromiumPath = findChromium();
console.log(chromiumPath ? `gpu browser: using ${chromiumPath}` : 'gpu browser: no Chromium found (set CHROMIUM_PATH): the browser modes are not tested here');

// every distinct shape compiles a shader, slow on SwiftShader: a fifth of the Node run counts (at least one each)
const SCALE = 1 / 5;

describe.runIf(!!chromiumPath)('gpu backend in headless Chromium', () => {
  let report: BrowserReport;

  beforeAll(async () => {
    report = await inChromium('test/tensor/gpu-browser-harness.ts', 'segradGpuConformance', (page) =>
      page.evaluate(
        async (scale) => (globalThis as unknown as { segradGpuConformance(m: string[], s: number): Promise<BrowserReport> }).segradGpuConformance(['webgl2', 'webgl', 'webgpu'], scale),
        SCALE,
      ),
    );
    const adapters = Object.entries(report.adapters).map(([m, a]) => `${m}: ${a ?? 'adapter not reported'}`).join('; ');
    console.log(`gpu conformance (Chromium): modes tested: ${report.modes.join(', ')}; not available: ${report.unavailable.join('; ') || 'none'}; ${adapters}; seconds ${JSON.stringify(report.seconds)}`);
  }, 240_000);

  it('runs the GL modes', () => {
    expect(report.modes).toEqual(expect.arrayContaining(['webgl2', 'webgl']));
  });

  it('every case passes in every browser mode', () => {
    const failures = report.results.filter((r) => r.error).map((r) => `[${r.mode}] ${r.name}: ${r.error}`);
    expect(report.results.length).toBeGreaterThan(0);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });
});
