import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../bench/browser.js';
import { chromiumPath } from '../../bench/chromium.js';
import { anchorFlops } from '../../src/cli/unet-bench.js';

// `npm run bench -- browser`: the anchor U-Net in headless Chromium (SwiftShader renders here, so the
// rows say that the kernels run in a page, not how fast; timings are never asserted)

let out: string[];
beforeEach(() => {
  out = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

describe('npm run bench -- browser', () => {
  it('refuses modes, sizes and counts it cannot run, saying what it takes', async () => {
    await expect(run(['--modes', 'cpu,webgl3'])).rejects.toThrow(/--modes takes cpu, webgl2, webgl, webgpu, not webgl3/);
    await expect(run(['--size', '20'])).rejects.toThrow(/--size must be a multiple of 16.*not 20/);
    await expect(run(['--reps', '0'])).rejects.toThrow(/--reps takes a positive integer, not '0'/);
  });

  // CI installs Debian's chromium; only a machine without it skips this
  it.skipIf(!chromiumPath())('times the train step and inference of each mode in a page, and names the browser and its renderer', async () => {
    const rows = await run(['--modes', 'cpu,webgl2', '--size', '16', '--batch', '2', '--reps', '1']);
    expect(rows.map((r) => [r.workload, r.backend.replace(/\+.*/, '')])).toEqual([
      ['unet train', 'chromium cpu:typed-arrays'],
      ['unet inference', 'chromium cpu:typed-arrays'],
      ['unet train', 'chromium gpu:webgl2'],
      ['unet inference', 'chromium gpu:webgl2'],
    ]);
    for (const r of rows) {
      expect(r.size).toBe(16);
      expect(r.imagesPerSecond).toBeCloseTo(2000 / r.ms, 6);
      expect(r.gflops).toBeCloseTo((2 * (r.workload === 'unet train' ? anchorFlops(16).train : anchorFlops(16).forward)) / (r.ms * 1e6), 6);
      // a page cannot read its process's memory
      expect(r.peakRssMB).toBeNaN();
    }
    // the same model, data and first step in both modes: the losses agree to float32 rounding
    const losses = rows.filter((r) => r.workload === 'unet train').map((r) => Number(/loss ([\d.]+)/.exec(r.note ?? '')?.[1]));
    expect(losses[0]).toBeGreaterThan(0);
    expect(Math.abs(losses[0] - losses[1])).toBeLessThan(1e-3);
    expect(out.join('\n')).toMatch(/Chromium [\d.]+.*headless; webgl2: /);
  }, 180_000);
});
