import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const json = (file: string): { version: string; dependencies?: Record<string, string> } => JSON.parse(readFileSync(file, 'utf8'));

describe('the published package', () => {
  // gpu.js pins webgpu 0.2.9 (its Dawn needs glibc 2.38), and the overrides in segrad's package.json do
  // not reach an app that installs segrad: only a dependency of segrad's own gives that app 0.6.2
  it('depends on the webgpu version its WebGPU path loads, not only through overrides', () => {
    const pkg = json(resolve(root, 'package.json'));
    expect(pkg.dependencies?.webgpu).toBe('0.6.2');
    const fromDevice = createRequire(resolve(root, 'src/tensor/backends/gpu/device.ts'));
    expect(json(fromDevice.resolve('webgpu/package.json')).version).toBe(pkg.dependencies?.webgpu);
  });
});
