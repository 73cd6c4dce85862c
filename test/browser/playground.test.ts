import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer } from '../../src/cli/commands/web.js';
import type { PageState } from '../../web/main.js';
import { writeImage } from '../data/fixtures.js';

/**
 * The teaching playground end to end: builds dist/web with scripts/build-web.mjs, serves it on
 * 127.0.0.1, and drives it in Debian's headless Chromium: a step on the backend the page picks, then
 * training on the cpu backend until the loss falls, the ALL explorer, a gradcheck, a loss race and the
 * exports. Saves test-output/playground.png.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const WEB = join(ROOT, 'dist', 'web');
const CHROMIUM = '/usr/bin/chromium';


let stopServer: (() => Promise<void>) | undefined;
let browser: Browser;
let page: Page;
let base = '';
const pageErrors: string[] = [];
const failedLoads: string[] = [];

const getState = (): Promise<PageState> => page.evaluate(() => (window as unknown as { __segrad: { state: PageState } }).__segrad.state);
const waitFor = (fn: string, timeout = 30_000): Promise<unknown> => page.waitForFunction(fn, null, { timeout, polling: 100 });
const S = 'window.__segrad.state';
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The number of line segments drawn by the series paths inside `selector`. */
async function segments(selector: string): Promise<number> {
  return page.$$eval(`${selector} path.series`, (ps) => ps.reduce((n, p) => n + (p.getAttribute('d')?.match(/L/g)?.length ?? 0), 0));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`playground test: ${CHROMIUM} is missing; install Debian's Chromium (apt-get install -y chromium), as .ci/run does`);
  }
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs')], { cwd: ROOT, stdio: 'pipe' });
  // the server of `segrad web`, so the test covers it too
  const started = await startWebServer({ dir: WEB, port: 0, host: '127.0.0.1', sources: join(ROOT, 'src') });
  stopServer = started.close;
  base = started.url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().startsWith('Failed to load resource')) failedLoads.push(`${m.text()} ${m.location().url}`);
  });
  await page.goto(base);
  await waitFor(`${S}.ready || ${S}.error`, 60_000);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer?.();
});

describe('playground (dist/web in headless Chromium)', () => {
  it('serves only files inside the folder', async () => {
    expect((await fetch(new URL('/../package.json', base))).status).toBe(404);
    expect((await fetch(new URL('/%2e%2e/package.json', base))).status).toBe(404);
    expect((await fetch(new URL('/nope.js', base))).status).toBe(404);
    expect((await fetch(base, { method: 'POST' })).status).toBe(405);
  });

  it('loads without a missing resource (the icon is inline, not a /favicon.ico that 404s)', () => {
    expect(failedLoads).toEqual([]);
  });

  it('builds a static folder with relative paths only', () => {
    const html = readFileSync(join(WEB, 'index.html'), 'utf8');
    expect(html).toContain('<script defer src="playground.js"></script>');
    expect(html).toContain('href="playground.css"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(existsSync(join(WEB, 'playground.js'))).toBe(true);
  });

  let firstLoss = NaN;

  it('works opened straight from the folder (file://, no server)', async () => {
    const local = await browser.newPage();
    const errors: string[] = [];
    local.on('pageerror', (e) => errors.push(e.message));
    await local.goto(pathToFileURL(join(WEB, 'index.html')).href + '?backend=cpu');
    await local.waitForFunction(`${S}.ready || ${S}.error`, null, { timeout: 30_000 });
    expect(await local.evaluate(`${S}.error`)).toBeNull();
    expect(await local.textContent('#backend-info')).toMatch(/^cpu/);
    await local.click('#step');
    await local.waitForFunction(`${S}.steps >= 1 || ${S}.error`, null, { timeout: 30_000 });
    expect(await local.evaluate(`${S}.lossHistory.length`)).toBe(1);
    expect(errors).toEqual([]);
    await local.close();
  }, 60_000);

  it('names the backend it runs on (a fallback to cpu said on the page) and trains one step there', async () => {
    const s = await getState();
    expect(s.error).toBeNull();
    expect(s.backend).toMatch(/^(gpu|cpu) · /);
    expect(await page.textContent('#backend-info')).toContain(s.backend);
    if (s.backend.startsWith('cpu')) {
      // auto found no hardware GPU mode here (headless Chromium has SwiftShader only): never silent
      expect(s.fellBack).toBe(true);
      expect(s.rejected.length).toBeGreaterThan(0);
      expect(await page.isVisible('#backend-warning')).toBe(true);
      expect(await page.textContent('#backend-warning')).toContain('the cpu backend runs');
    }
    await page.click('#step');
    await waitFor(`${S}.steps >= 1 || ${S}.error`, 40_000);
    const after = await getState();
    expect(after.error).toBeNull();
    expect(after.lossHistory).toHaveLength(1);
    firstLoss = after.lossHistory[0];
    expect(Number.isFinite(firstLoss)).toBe(true);
  }, 60_000);

  it('the gpu backend in webgpu mode, where the browser has an adapter, gives the same first step', async () => {
    await page.selectOption('#backend', 'webgpu');
    await waitFor(`${S}.ready`, 30_000);
    const s = await getState();
    if (!s.backend.startsWith('gpu · webgpu')) {
      // no adapter: the page must say it fell back
      expect(s.backend).toMatch(/^cpu/);
      expect(await page.textContent('#backend-warning')).toContain('webgpu');
      return;
    }
    expect(s.steps).toBe(0);
    await page.click('#step');
    await waitFor(`${S}.steps >= 1 || ${S}.error`, 60_000);
    const after = await getState();
    expect(after.error).toBeNull();
    expect(after.backend).toMatch(/^gpu · webgpu/);
    // same seed, data and model as the step above on the cpu backend: float32 on both
    expect(Math.abs(after.lossHistory[0] - firstLoss)).toBeLessThan(1e-3);
  }, 80_000);

  it('a Lovász loss trains on cpu and, sorted on the device, on webgpu where the browser has an adapter: the same first step', async () => {
    const firstStep = async (backend: string): Promise<{ backend: string; loss: number }> => {
      const p = await browser.newPage();
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(`${base}?backend=${backend}&loss=lovasz-hinge`);
      await p.waitForFunction(`${S}.ready || ${S}.error`, null, { timeout: 30_000 });
      expect(await p.inputValue('#loss')).toBe('lovasz-hinge');
      await p.click('#step');
      await p.waitForFunction(`${S}.steps >= 1 || ${S}.error`, null, { timeout: 60_000 });
      const s = (await p.evaluate(S)) as PageState;
      expect(s.error).toBeNull();
      expect(errors).toEqual([]);
      await p.close();
      return { backend: s.backend, loss: s.lossHistory[0] };
    };
    const cpu = await firstStep('cpu');
    expect(cpu.loss).toBeGreaterThan(0);
    const gpu = await firstStep('webgpu');
    if (!gpu.backend.startsWith('gpu · webgpu')) return;
    expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThan(1e-3);
  }, 150_000);

  it('a gpu mode that fails while training falls back to the cpu backend and says so (or trains)', async () => {
    await page.selectOption('#backend', 'webasm');
    await waitFor(`${S}.ready`, 30_000);
    let s = await getState();
    if (!s.backend.startsWith('gpu · webasm')) {
      expect(s.backend).toMatch(/^cpu/);
      expect(await page.textContent('#backend-warning')).toContain('webasm');
      return;
    }
    await page.click('#step');
    await waitFor(`${S}.ready && (${S}.steps >= 1 || ${S}.backend.startsWith('cpu') || ${S}.error)`, 60_000);
    s = await getState();
    expect(s.error).toBeNull();
    if (s.backend.startsWith('cpu')) {
      expect(s.fellBack).toBe(true);
      expect(await page.isVisible('#backend-warning')).toBe(true);
      expect(await page.textContent('#backend-warning')).toMatch(/gpu · webasm\) failed while training .*switched to the cpu backend/);
      expect(await page.inputValue('#backend')).toBe('cpu');
    } else {
      expect(Math.abs(s.lossHistory[0] - firstLoss)).toBeLessThan(1e-3);
    }
  }, 80_000);

  it('a lesson link presets the controls: data, foreground, loss, epochs, ALL\'s ω and δ, the race', async () => {
    const p = await browser.newPage();
    await p.goto(`${base}?backend=cpu&data=vessels&fg=2&loss=all&epochs=7&omega=12&delta=0.3&race=dice,focal&gfg=5&grads=dice,bce`);
    await p.waitForFunction(`${S}.ready || ${S}.error`, null, { timeout: 30_000 });
    expect([await p.inputValue('#dataset'), await p.inputValue('#foreground'), await p.inputValue('#loss'), await p.inputValue('#epochs')]).toEqual(['vessels', '2', 'all', '7']);
    const s = (await p.evaluate(S)) as PageState;
    expect(s.all).toEqual({ omega: 12, epsilon: 0.5, delta: 0.3 });
    expect(await p.textContent('#delta-value')).toBe('0.3');
    expect(await p.$$eval('#race-losses input:checked', (xs) => xs.map((x) => (x as HTMLInputElement).value))).toEqual(['dice', 'focal']);
    expect(await p.textContent('#race-status')).toBe('Ready: dice vs focal, same seed and data.');
    expect(await p.textContent('#train-status')).toMatch(/^Ready: vessels, .*foreground 2\.\d %/);
    await p.waitForFunction(`${S}.gradients.version > 0`, null, { timeout: 30_000 });
    expect(((await p.evaluate(S)) as PageState).gradients).toMatchObject({ foreground: 0.05, losses: ['dice', 'bce'] });
    // and the page writes such a link for its current settings, which opens the same page again
    await p.selectOption('#model', 'focusnet');
    await p.waitForFunction(`${S}.ready`, null, { timeout: 30_000 });
    await p.click('#lesson-link');
    const link = await p.inputValue('#lesson-url');
    const q = new URL(link).searchParams;
    expect(Object.fromEntries(q)).toEqual({ backend: 'cpu', data: 'vessels', fg: '2', loss: 'all', model: 'focusnet', lr: '0.003', epochs: '7', omega: '12', epsilon: '0.5', delta: '0.3', race: 'dice,focal', gfg: '5', grads: 'dice,bce' });
    const again = await browser.newPage();
    await again.goto(link);
    await again.waitForFunction(`${S}.ready || ${S}.error`, null, { timeout: 30_000 });
    expect(await again.inputValue('#model')).toBe('focusnet');
    expect(((await again.evaluate(S)) as PageState).all).toEqual(s.all);
    await again.close();
    await p.close();
  }, 60_000);

  it('your images: pairs chosen files by name, leaves the rest out and says so, reads 0/255 and 0/1 masks, trains', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segrad-own-'));
    const disc = (i: number, n: number) => (y: number, x: number) => (y - n / 2) ** 2 + (x - n / 2 + (i % 3)) ** 2 < (n / (3 + (i % 2))) ** 2;
    const files: string[] = [];
    let foreground = 0;
    for (let i = 0; i < 6; i++) {
      const inside = disc(i, 32);
      for (let q = 0; q < 32 * 32; q++) if (inside(Math.floor(q / 32), q % 32)) foreground++;
      const big = disc(i, 64);
      await writeImage(join(dir, `case${i}.png`), 64, 64, 1, (y, x) => (big(y, x) ? 200 : 40));
      // masks at the playground's 32×32, so the foreground is exact; one 0/1 label map among them
      const suffix = i === 5 ? '_seg' : '_mask';
      await writeImage(join(dir, `case${i}${suffix}.png`), 32, 32, 1, (y, x) => (inside(y, x) ? (i === 5 ? 1 : 255) : 0));
      files.push(join(dir, `case${i}.png`), join(dir, `case${i}${suffix}.png`));
    }
    await writeImage(join(dir, 'lonely.png'), 16, 16, 1, () => 128);
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`${base}?backend=cpu&data=own`);
    await p.waitForFunction(`${S}.ready || ${S}.error`, null, { timeout: 30_000 });
    expect(await p.isVisible('#own-files')).toBe(true);
    expect(await p.isDisabled('#foreground')).toBe(true);
    expect(await p.textContent('#train-status')).toMatch(/^Choose your images and their masks/);
    expect(await p.isDisabled('#start')).toBe(true);

    await p.setInputFiles('#own-files', files.slice(0, 2)); // one pair is too few
    await p.waitForFunction(`document.querySelector('#train-status').classList.contains('error')`, null, { timeout: 30_000 });
    expect(await p.textContent('#train-status')).toMatch(/^1 image–mask pair found in 2 file\(s\); two or more are needed/);

    await p.setInputFiles('#own-files', [...files, join(dir, 'lonely.png')]);
    await p.waitForFunction(`${S}.ready && /your images/.test(document.querySelector('#train-status').textContent)`, null, { timeout: 30_000 });
    const status = (await p.textContent('#train-status'))!;
    expect(status).toMatch(/^Ready: your images \(6 pairs, resized\), 5 training and 1 validation images of 32×32/);
    expect(status).toContain('Left out, without a partner: lonely.png.');
    expect(Number(/foreground ([\d.]+) %/.exec(status)![1])).toBeCloseTo((100 * foreground) / (6 * 32 * 32), 1);
    await p.click('#step');
    await p.waitForFunction(`${S}.steps >= 1 || ${S}.error`, null, { timeout: 30_000 });
    const s = (await p.evaluate(S)) as PageState;
    expect(s.error).toBeNull();
    expect(Number.isFinite(s.lossHistory[0])).toBe(true);
    expect(errors).toEqual([]);
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('trains on the cpu backend: the loss falls, the charts and the sample grid draw', async () => {
    await page.selectOption('#backend', 'cpu');
    await waitFor(`${S}.ready && ${S}.backend.startsWith('cpu') && ${S}.steps === 0`);
    expect(await page.textContent('#backend-info')).toContain('cpu');
    const boxes = (): Promise<string> =>
      page.$$eval('.panel, .chart, #samples, #train-status, .buttons', (els) => JSON.stringify(els.map((e) => {
        const r = e.getBoundingClientRect();
        return [r.x, r.y, r.width, r.height].map(Math.round);
      })));
    const layout = await boxes();
    await page.click('#start');
    await waitFor(`${S}.steps >= 2`);
    // responsive while training: a round trip through the page's event loop stays short
    const t0 = Date.now();
    await page.evaluate(() => 1);
    expect(Date.now() - t0).toBeLessThan(2000);
    await waitFor(`${S}.steps >= 24 || ${S}.error`, 40_000);
    // fixed-size panels: nothing moved while the charts, the grid and the status line changed
    expect(await boxes()).toBe(layout);
    await page.click('#pause');
    const s = await getState();
    expect(s.error).toBeNull();
    const l = s.lossHistory;
    expect(mean(l.slice(-4))).toBeLessThan(0.85 * mean(l.slice(0, 4)));
    expect(s.epochs.length).toBeGreaterThanOrEqual(5);
    for (const e of s.epochs) expect(e.iou).toBeGreaterThanOrEqual(0);
    expect(await segments('#loss-chart')).toBeGreaterThanOrEqual(20);
    expect(await segments('#metric-chart')).toBeGreaterThanOrEqual(8);
    // the prediction row of the sample grid is drawn and no longer the flat grey of an untrained model
    const pixels = await page.$eval('#samples', (c) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const lower = canvas.getContext('2d')!.getImageData(110, Math.floor((2 * canvas.height) / 3), canvas.width - 110, Math.floor(canvas.height / 3) - 4).data;
      const stats = (a: Uint8ClampedArray) => {
        let sum = 0, sq = 0, n = 0;
        for (let i = 0; i < a.length; i += 4) { sum += a[i]; sq += a[i] * a[i]; n++; }
        return { mean: sum / n, sd: Math.sqrt(sq / n - (sum / n) ** 2) };
      };
      return { all: stats(d), predictions: stats(lower) };
    });
    expect(pixels.all.sd).toBeGreaterThan(20);
    expect(pixels.predictions.sd).toBeGreaterThan(10);
  }, 70_000);

  it('ALL explorer: the point follows the base loss, the multiplier is ω/(ε+x) below δ and 1 above, δ redraws the curve', async () => {
    await page.selectOption('#loss', 'all');
    await waitFor(`${S}.ready && ${S}.steps === 0`);
    const before = await page.innerHTML('#all-chart');
    expect(before).toContain('δ=0.1');
    // δ = 0.9: the Dice loss of an untrained model (≈ 0.7) is below it, on the log branch
    await page.fill('#delta', '0.9');
    await page.dispatchEvent('#delta', 'input');
    await waitFor(`${S}.all.delta === 0.9`);
    const at09 = await page.innerHTML('#all-chart');
    expect(at09).toContain('δ=0.9');
    // the curve itself moved, not only its label
    const curve = (html: string) => html.match(/data-name="ALL\(x\)" d="([^"]+)"/)?.[1];
    expect(curve(at09)).toBeDefined();
    expect(curve(at09)).not.toBe(curve(before));
    expect(await page.textContent('#delta-value')).toBe('0.9');

    await page.click('#step');
    await waitFor(`${S}.steps >= 1 || ${S}.error`);
    let s = await getState();
    expect(s.error).toBeNull();
    let x = s.lastStep!.base!;
    expect(x).toBeGreaterThan(0.3);
    expect(x).toBeLessThan(0.9);
    expect(s.lastStep!.multiplier).toBeCloseTo(10 / (0.5 + x), 10);
    expect(await page.textContent('#all-readout')).toContain(`dice x = ${x.toFixed(4)} < δ = 0.9`);
    expect(await page.$$eval('#all-chart path.series[data-name="now"]', (ps) => ps.length)).toBe(2);

    // δ = 0.3, moved with the keyboard from 0.31: now x ≥ δ and the multiplier is 1
    await page.fill('#delta', '0.31');
    await page.dispatchEvent('#delta', 'input');
    await page.focus('#delta');
    await page.keyboard.press('ArrowLeft');
    await waitFor(`${S}.all.delta === 0.3`);
    expect(await page.innerHTML('#all-chart')).toContain('δ=0.3');
    await page.focus('#step');
    await page.keyboard.press('Enter');
    await waitFor(`${S}.steps >= 2 || ${S}.error`);
    s = await getState();
    x = s.lastStep!.base!;
    expect(x).toBeGreaterThanOrEqual(0.3);
    expect(s.lastStep!.multiplier).toBe(1);
    expect(await page.textContent('#all-readout')).toContain(`dice x = ${x.toFixed(4)} ≥ δ = 0.3: gradient × 1`);
  }, 40_000);

  it('gradient panel: ALL pushes ω/(ε + x) times harder than Dice below δ; Focal fades as the foreground shrinks', async () => {
    // drawn with the explorer's current ω, ε, δ (an earlier test moved δ; the panel redraws once a slider rests)
    await waitFor(`${S}.gradients.all !== null && ${S}.gradients.all.delta === ${S}.all.delta`);
    let g = (await getState()).gradients;
    expect(g.losses).toEqual(['dice', 'focal', 'bce', 'all']);
    const { omega, epsilon, delta } = g.all!;
    expect(delta).toBeLessThan(0.5); // so Dice loss 0.5 lies above δ and 0.05 below
    // at Dice loss 0.05 (below δ): between the two walk steps around it the factor is ω/(ε + x) for x near 0.05
    expect(g.at.all.near / g.at.dice.near).toBeCloseTo(omega / (epsilon + 0.05), 0);
    expect(g.at.all.half).toBeCloseTo(g.at.dice.half, 12);
    expect(await page.$$eval('#grad-chart path.series', (ps) => ps.map((p) => p.getAttribute('data-name')))).toEqual(['dice', 'focal', 'bce', 'all']);
    const focalAt2 = g.at.focal.near;
    await page.fill('#grad-fg', '30');
    await page.dispatchEvent('#grad-fg', 'change');
    await waitFor(`${S}.gradients.foreground === 0.3`);
    g = (await getState()).gradients;
    expect(g.at.focal.near).toBeGreaterThan(10 * focalAt2);
    expect(await page.textContent('#grad-chart')).toContain('30.0 % foreground');
    // unticking a loss takes its line away
    await page.uncheck('#grad-losses input[value="bce"]');
    await waitFor(`${S}.gradients.losses.length === 3`);
    expect(await page.$$eval('#grad-chart path.series', (ps) => ps.length)).toBe(3);
  }, 40_000);

  it('gradcheck panel: every op and layer offered passes in float64', async () => {
    const ops = await page.$$eval('#gc-op option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(ops).toEqual(expect.arrayContaining(['sigmoid', 'softmax', 'matmul', 'conv2d', 'maxPool2d', 'batchnorm', 'dice', 'all-log', 'all-linear']));
    for (const op of ops) {
      await page.selectOption('#gc-op', op);
      const href = (await page.getAttribute('#gc-source', 'href'))!;
      expect(href).toMatch(/^\.\.\/\.\.\/src\/.+\.ts$/);
      // the link opens the op's source (served under /src/ by `segrad web`; dist/web/../../src on disk)
      const source = await fetch(new URL(href, base));
      expect(source.status).toBe(200);
      expect(existsSync(join(WEB, href))).toBe(true);
      if (op === 'conv2d') expect(await source.text()).toContain('export function conv2d');
      if (op === 'all-log') expect(await source.text()).toContain('export function adaptiveLog');
      await page.click('#gc-run');
      await waitFor(`${S}.gradcheck && ${S}.gradcheck.id === '${op}'`);
      const g = (await getState()).gradcheck!;
      expect(g.ok).toBe(true);
      expect(g.maxAbsError).toBeLessThan(1e-5);
      expect(g.checks).toBeGreaterThanOrEqual(6);
      expect(await page.textContent('#gc-summary')).toMatch(/^ok: /);
      const rows = await page.$$eval('#gc-table tbody tr', (r) => r.length);
      expect(rows).toBeGreaterThanOrEqual(6);
      expect(rows).toBeLessThanOrEqual(12);
    }
    // the ALL log-branch case is checked below δ, where the multiplier applies, the linear one above
    await page.selectOption('#gc-op', 'all-log');
    await page.click('#gc-run');
    await waitFor(`${S}.gradcheck.id === 'all-log'`);
    expect(await page.textContent('#gc-summary')).toMatch(/dice x = 0\.0\d+ \(δ = 0\.1\)/);
    await page.selectOption('#gc-op', 'all-linear');
    await page.click('#gc-run');
    await waitFor(`${S}.gradcheck.id === 'all-linear'`);
    const x = Number((await page.textContent('#gc-summary'))!.match(/dice x = ([\d.]+)/)![1]);
    expect(x).toBeGreaterThan(0.1);
  }, 30_000);

  it('loss race: dice and all trained in turn, curves overlaid', async () => {
    await page.click('#race-start');
    await waitFor(`${S}.race.steps >= 10 || ${S}.error`, 30_000);
    await page.click('#race-pause');
    await waitFor(`!${S}.race.running`);
    const s = await getState();
    expect(s.error).toBeNull();
    expect(s.race.losses).toEqual(['dice', 'all']);
    for (const name of ['dice', 'all']) expect(s.race.history[name].length).toBeGreaterThanOrEqual(4);
    expect(await page.$$eval('#race-loss-chart path.series', (ps) => ps.map((p) => p.getAttribute('data-name')))).toEqual(['dice', 'all']);
    expect(await segments('#race-loss-chart')).toBeGreaterThanOrEqual(6);
  }, 40_000);

  it('exports the weights as safetensors and the curves as CSV', async () => {
    const [weights] = await Promise.all([page.waitForEvent('download'), page.click('#export-weights')]);
    expect(weights.suggestedFilename()).toMatch(/^segrad-unet-all-step\d+\.safetensors$/);
    const bytes = readFileSync((await weights.path())!);
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names.length).toBeGreaterThan(10);
    const last = Math.max(...names.map((k) => header[k].data_offsets[1]));
    expect(bytes.length).toBe(8 + n + last);
    expect((header.__metadata__ as unknown as Record<string, string>).loss).toBe('all');

    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const text = readFileSync((await csv.path())!, 'utf8').trim().split('\n');
    expect(text[0]).toBe('run,step,epoch,loss,base_loss,val_iou,val_dice');
    const s = await getState();
    expect(text.filter((r) => r.startsWith('train:all,'))).toHaveLength(s.steps);
    expect(text.filter((r) => r.startsWith('race:dice,')).length).toBe(s.race.history.dice.length);

    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
    expect(png.suggestedFilename()).toBe('segrad-loss.png');
    const pngBytes = readFileSync((await png.path())!);
    expect([...pngBytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(pngBytes.length).toBeGreaterThan(2000);

    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-output', 'playground.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
