import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer } from '../../src/cli/commands/web.js';

/**
 * The browser ESM bundle of the public API (dist/browser/segrad.js, `npm run build`) imported as a
 * module in headless Chromium: a gradient, a gradcheck, a small U-Net forward pass, and the same
 * gradient on the gpu backend in webgl2 (SwiftShader here); and the same bundle bundled again by an app's
 * own bundler (esbuild for the browser, nothing marked external), as an app that imports 'segrad' is.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
let browser: Browser;
let dir = '';
let close: (() => Promise<void>) | undefined;
let url = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`browser bundle test: ${CHROMIUM} is missing; install Debian's Chromium (apt-get install -y chromium), as .ci/run does`);
  dir = mkdtempSync(join(tmpdir(), 'segrad-bundle-'));
  // built into the temporary folder, so tests that run the CLI from dist/ are never raced
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--browser-to', dir], { cwd: ROOT, stdio: 'pipe' });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>bundle</title>');
  const s = await startWebServer({ dir, port: 0, host: '127.0.0.1' });
  close = s.close;
  url = s.url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await close?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('browser ESM bundle', () => {
  it('imports as a module and computes gradients, a gradcheck and a U-Net forward pass', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    // a string, so vitest's module transform leaves the browser's own dynamic import alone
    const r = (await page.evaluate(`(async () => {
      const s = await import('./segrad.js');
      const x = s.tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
      x.mul(x).sigmoid().sum().backward();
      const grad = Array.from(x.grad.dataSync());
      const report = s.gradcheck((a) => a.softmax(-1).log().sum(), [s.randn([3, 4], { seed: 1, dtype: 'float64' })]);
      const model = new s.models.UNet({ inChannels: 1, outChannels: 1, widths: [4, 8], seed: 0 });
      const y = model.forward(s.rand([2, 1, 16, 16], { seed: 2 }));
      const info = s.setBackend('gpu', { mode: 'webgl2' });
      const g = s.tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
      g.mul(g).sigmoid().sum().backward();
      const gpuGrad = Array.from(await g.grad.data());
      return { grad, ok: report.ok, shape: [...y.shape], mode: info.mode, gpuGrad };
    })()`)) as { grad: number[]; ok: boolean; shape: number[]; mode: string; gpuGrad: number[] };
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const expected = [1, 2, 3, 4].map((v) => 2 * v * sig(v * v) * (1 - sig(v * v)));
    r.grad.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(r.ok).toBe(true);
    expect(r.shape).toEqual([2, 1, 16, 16]);
    expect(r.mode).toBe('webgl2');
    r.gpuGrad.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  }, 120_000);

  it('bundles into an app for the browser with nothing left to resolve (no literal import of a Node module), and runs there', async () => {
    // the Node-only modules are imported through importNodeOnly, whose specifier bundlers do not follow
    const app = await build({
      stdin: { contents: "export { tensor, nn } from './segrad.js';", resolveDir: dir, loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      outfile: join(dir, 'app.js'),
      logLevel: 'silent',
    });
    expect(app.errors).toEqual([]);
    const page = await browser.newPage();
    await page.goto(url);
    const r = (await page.evaluate(`(async () => {
      const { tensor, nn } = await import('./app.js');
      const x = tensor([1, -2, 3], undefined, { requiresGrad: true });
      x.mul(x).sum().backward();
      const saved = await nn.saveSafetensors('w.safetensors', { x }).then(() => 'saved', (e) => e.message);
      return { grad: Array.from(x.grad.dataSync()), saved };
    })()`)) as { grad: number[]; saved: string };
    expect(r.grad).toEqual([2, -4, 6]);
    // a Node-only function says so in a browser
    expect(r.saved).toContain("'node:fs/promises' is Node only");
  }, 120_000);
});
