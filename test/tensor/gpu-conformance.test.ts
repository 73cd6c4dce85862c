import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpuBackend } from '../../src/tensor/backends/gpu/index.js';
import { deviceFor } from '../../src/tensor/backends/gpu/device.js';
import { cases, type Pair } from './gpu-cases.js';
import { gpuModesHere } from './gpu-modes.js';

/**
 * Every primitive of the gpu backend against the cpu backend, in every gpu.js mode this machine runs in
 * Node. The cases and their tolerances are in gpu-cases.ts; gpu-browser.test.ts runs the same cases in
 * a headless browser for the GL modes.
 */

const { modes, skipped } = await gpuModesHere();
console.log(`gpu conformance (Node): modes tested: ${modes.join(', ')}; not available here: ${skipped.join('; ') || 'none'}`);

describe.each(modes.map((mode) => ({ mode })))('gpu backend, mode $mode, matches cpu', ({ mode }) => {
  const p = {} as Pair;
  beforeAll(() => {
    p.gpu = createGpuBackend({ mode });
  });
  afterAll(() => {
    expect(p.gpu.liveBuffers(), 'device outputs left live').toBe(0);
  });

  it.each(cases)('$name', async (c) => {
    await fc.assert(c.make(p), { numRuns: c.runs });
  });

  it('compiles each (primitive, shape signature) once', async () => {
    const dev = deviceFor(mode);
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const chain = async (): Promise<void> => {
      const h = p.gpu.upload(x, 'float32');
      const e = p.gpu.unary('exp', h, 6, 'float32');
      const s = p.gpu.reduce('sum', e, [2, 3], [1], 'float32');
      await p.gpu.read(s, 2, 'float32');
      for (const t of [h, e, s]) p.gpu.dispose(t);
    };
    await chain();
    const before = dev.kernelCount;
    for (let r = 0; r < 3; r++) await chain();
    expect(dev.kernelCount).toBe(before);
  });
});
