import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdownTable, median, type BenchRow } from '../../bench/table.js';

// The bench table: the PyTorch ratio column appears only when a row carries a ratio, so the other
// suites' tables are unchanged. (Timings themselves are never asserted: they live in bench/.)

const segrad: BenchRow = { workload: 'unet train', size: 128, backend: 'cpu:typed-arrays', ms: 4000, imagesPerSecond: 2, peakRssMB: 1400, firstStepMs: 5000, note: 'first step 5000 ms' };
const torch: BenchRow = { workload: 'unet train', size: 128, backend: 'pytorch 1.13 cpu', ms: 1000, imagesPerSecond: 8, peakRssMB: 700 };

describe('markdownTable', () => {
  it('keeps the six columns when no row has a peer ratio', () => {
    const lines = markdownTable([segrad, torch]).split('\n');
    expect(lines[0]).toBe('| workload | backend | time (ms) | GFLOP/s | images/s | peak RSS (MB) |');
    expect(lines[2]).toBe('| unet train 128² (first step 5000 ms) | cpu:typed-arrays | 4000.00 | – | 2.00 | 1400 |');
  });

  it('adds the images/s and RSS ratio column when a row has one, a dash on the others', () => {
    const lines = markdownTable([{ ...segrad, speedVsPeer: 0.25, rssVsPeer: 2 }, torch]).split('\n');
    expect(lines[0].endsWith('| images/s, RSS × PyTorch |')).toBe(true);
    expect(lines[1].split('|').length).toBe(lines[0].split('|').length);
    expect(lines[2].endsWith('| 0.25×, 2.00× |')).toBe(true);
    expect(lines[3].endsWith('| – |')).toBe(true);
  });

  it('prints a dash for a missing value (a failed peer row carries null from JSON, a browser row NaN for its RSS)', () => {
    const failed = JSON.parse('{"workload":"unet train","size":64,"backend":"pytorch cpu","ms":null,"peakRssMB":null,"note":"failed: exit 1"}') as BenchRow;
    expect(markdownTable([failed]).split('\n')[2]).toBe('| unet train 64² (failed: exit 1) | pytorch cpu | – | – | – | – |');
    expect(markdownTable([{ ...torch, peakRssMB: NaN }]).split('\n')[2]).toBe('| unet train 128² | pytorch 1.13 cpu | 1000.00 | – | 8.00 | – |');
  });

  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('bench/gpu.sh', () => {
  it('is valid bash', () => {
    expect(() => execFileSync('bash', ['-n', 'bench/gpu.sh'])).not.toThrow();
  });

  it("bundles the suites so that loading them needs only the packages its bundle carries (gpu.js, webgpu)", async () => {
    // as `gpu.sh --pack` builds bench-dist/run.mjs: a package imported at the top of any suite would be
    // loaded with it on the GPU machine, which has no esbuild, playwright or sharp
    const dir = mkdtempSync(join(tmpdir(), 'segrad-gpu-bundle-'));
    try {
      const { build } = await import('esbuild');
      await build({ entryPoints: ['bench/run.ts'], outfile: join(dir, 'run.mjs'), bundle: true, platform: 'node', format: 'esm', target: 'es2022', packages: 'external', logLevel: 'error' });
      const code = readFileSync(join(dir, 'run.mjs'), 'utf8');
      const packages = [...code.matchAll(/^import\s[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm)].map((m) => m[1] ?? m[2]).filter((p) => !p.startsWith('node:'));
      expect(new Set(packages)).toEqual(new Set(['gpu.js']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
