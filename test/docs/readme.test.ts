import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/index.js';
import { useSwiftShaderIfNoDriver } from '../tensor/gpu-modes.js';

// The README's TypeScript examples must run as written: each ```ts block is imported as a module with
// 'segrad' pointing at the sources, inside a temporary working folder.
const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const src = pathToFileURL(resolve(__dirname, '../../src/index.ts')).href;

/** What each example must have done, checked from its console output and the files it wrote. */
const checks: ((logs: unknown[][], dir: string) => void)[] = [
  (logs) => {
    // d/dx mean(tanh x) = (1 − tanh²x)/n at x = [0.5, −1]
    const printed = logs.find((l) => Array.isArray(l[0]))![0] as number[];
    const expected = [0.5, -1].map((x) => (1 - Math.tanh(x) ** 2) / 2);
    printed.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    // the first log is x.grad of Σσ(x²): 2x·σ(x²)(1 − σ(x²)) at x = 1
    const s = 1 / (1 + Math.exp(-1));
    expect(String(logs[0][0])).toContain((2 * s * (1 - s)).toFixed(4));
  },
  (logs, dir) => {
    const values = logs.map((l) => l[0]).filter((v): v is number => typeof v === 'number');
    expect(values.length).toBeGreaterThan(0);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(1);
    expect(existsSync(join(dir, 'unet.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'runs/vessels/checkpoint.safetensors'))).toBe(true);
  },
  (logs) => {
    // edges 1, 2 and 2, 3 of a 6-pixel row, half a unit wide: distances [0, 0.5] both ways
    expect(logs[0][0]).toEqual({ hd: 0.5, hd95: 0.475, assd: 0.25 });
  },
  (logs) => {
    // the Lovász hinge, sorted on the device where SwiftShader (or a GPU) serves WebGPU
    expect(Array.from(logs[0][0] as Float32Array)).toEqual([0.75]);
    if (webgpu) expect(logs[0][1]).toBe('webgpu');
  },
];

// Chromium's SwiftShader serves WebGPU where the machine has no Vulkan driver of its own
const webgpu = await useSwiftShaderIfNoDriver();
afterAll(() => void setBackend('cpu'));

describe('README examples', () => {
  it('has TypeScript examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });
  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'segrad-readme-'));
      const file = join(__dirname, `.readme-example-${i}.ts`);
      const cwd = process.cwd();
      writeFileSync(file, code.replace(/from 'segrad'/g, `from '${src}'`));
      process.chdir(dir);
      const logs: unknown[][] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => logs.push(a);
      try {
        await import(/* @vite-ignore */ pathToFileURL(file).href);
        checks[i]?.(logs, dir);
      } finally {
        console.log = log;
        process.chdir(cwd);
        rmSync(file, { force: true });
        rmSync(dir, { recursive: true, force: true });
      }
      expect(checks[i], `README example ${i + 1} has no check in this test`).toBeDefined();
    }, 120_000);
  });
});
