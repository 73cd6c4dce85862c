import { build } from 'esbuild';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserReport } from './gpu-browser-harness.js';

/**
 * The gpu backend's conformance cases (gpu-cases.ts) in a headless Chromium, bundled the way the
 * library's browser build is (gpu.js aliased to its browser build): the GL modes (webgl2, webgl),
 * which Node cannot run without headless-gl, and the browser's WebGPU. Chromium renders on
 * SwiftShader here. Runs when a Chromium binary is found (CHROMIUM_PATH or /usr/bin/chromium).
 */

const chromiumPath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
console.log(chromiumPath ? `gpu browser: using ${chromiumPath}` : 'gpu browser: no Chromium found (set CHROMIUM_PATH): the browser modes are not tested here');

// every distinct shape compiles a shader, slow on SwiftShader: a fifth of the Node run counts (at least one each)
const SCALE = 1 / 5;

describe.runIf(!!chromiumPath)('gpu backend in headless Chromium', () => {
  let report: BrowserReport;
  const dir = mkdtempSync(join(tmpdir(), 'segrad-gpu-browser-'));

  beforeAll(async () => {
    await build({
      entryPoints: [resolve('test/tensor/gpu-browser-harness.ts')],
      outfile: join(dir, 'harness.js'),
      bundle: true,
      // a classic script: file: pages may not load module scripts
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      keepNames: true,
      logLevel: 'error',
      external: ['webgpu', 'gl', 'node:*'],
      alias: { 'gpu.js': resolve('node_modules/gpu.js/dist/gpu-browser.js') },
    });
    // a file: page is a secure context, which navigator.gpu requires
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script src="harness.js"></script>');
    const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(dir, 'index.html')).href);
      await page.waitForFunction(() => 'segradGpuConformance' in globalThis, undefined, { timeout: 20_000 }).catch((e: Error) => {
        throw new Error(`the harness did not load: ${errors.join('; ') || e.message}`);
      });
      report = await page.evaluate(
        async (scale) => (globalThis as unknown as { segradGpuConformance(m: string[], s: number): Promise<BrowserReport> }).segradGpuConformance(['webgl2', 'webgl', 'webgpu'], scale),
        SCALE,
      );
    } finally {
      await browser.close();
    }
    const adapters = Object.entries(report.adapters).map(([m, a]) => `${m}: ${a ?? 'adapter not reported'}`).join('; ');
    console.log(`gpu conformance (Chromium): modes tested: ${report.modes.join(', ')}; not available: ${report.unavailable.join('; ') || 'none'}; ${adapters}; seconds ${JSON.stringify(report.seconds)}`);
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the GL modes', () => {
    expect(report.modes).toEqual(expect.arrayContaining(['webgl2', 'webgl']));
  });

  it('every case passes in every browser mode', () => {
    const failures = report.results.filter((r) => r.error).map((r) => `[${r.mode}] ${r.name}: ${r.error}`);
    expect(report.results.length).toBeGreaterThan(0);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });
});
