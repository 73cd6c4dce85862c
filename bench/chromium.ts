import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';

/** The Chromium binary: CHROMIUM_PATH, else Debian's; undefined where none is installed. */
export const chromiumPath = (): string | undefined => [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));

/**
 * Bundles `entry` (a TypeScript file that sets `globalThis[global]`) for the browser as the library's
 * browser build is (gpu.js aliased to its browser build), opens it in headless Chromium with WebGPU
 * enabled (SwiftShader renders where there is no GPU), from a file: page, a secure context as
 * navigator.gpu requires, and resolves with what `use` makes of the page.
 */
export async function inChromium<T>(entry: string, global: string, use: (page: Page) => Promise<T>): Promise<T> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no Chromium found: install it (apt-get install chromium) or set CHROMIUM_PATH');
  const dir = mkdtempSync(join(tmpdir(), 'segrad-chromium-'));
  try {
    // loaded here, not at the top: bench/gpu.sh's bundle of the suites carries neither esbuild nor playwright
    const { build } = await import('esbuild');
    await build({
      entryPoints: [resolve(entry)],
      outfile: join(dir, 'harness.js'),
      bundle: true,
      // a classic script: file: pages may not load module scripts
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      keepNames: true,
      logLevel: 'error',
      // Node-only packages and built-ins, which the library loads lazily and never in a browser
      external: ['sharp', 'cli-progress', 'webgpu', 'gl', 'node:*', 'fs', 'path', 'os', 'worker_threads', 'url', 'crypto', 'zlib', 'child_process'],
      alias: { 'gpu.js': resolve('node_modules/gpu.js/dist/gpu-browser.js') },
    });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script src="harness.js"></script>');
    const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
    const browser = await chromium.launch({ executablePath, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(dir, 'index.html')).href);
      await page.waitForFunction((g) => g in globalThis, global, { timeout: 20_000 }).catch((e: Error) => {
        throw new Error(`${entry} did not load in Chromium: ${errors.join('; ') || e.message}`);
      });
      return await use(page);
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
