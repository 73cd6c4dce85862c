import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setBackend, tensor, tidy, type Tensor } from '../../src/index.js';
import type { AdamScalars } from '../../src/tensor/backend.js';
import { createCpuBackend } from '../../src/tensor/backends/cpu/index.js';
import { createGpuBackend } from '../../src/tensor/backends/gpu/index.js';
import { Adam, AdamW } from '../../src/nn/index.js';
import { GROUP } from '../../src/tensor/backends/gpu/adam.js';
import { deviceFor } from '../../src/tensor/backends/gpu/device.js';
import { countBindGroups, gpuModesHere } from './gpu-modes.js';

/**
 * Adam on gpu webgpu with several parameters a kernel call (adam.ts): the same values as the cpu
 * backend's fused update, step after step, as the parameters go from their own blocks (first step) to
 * gathered groups (second) to group updates (from the third), and back when a parameter is assigned
 * from elsewhere; and the kernel calls each of those steps takes.
 */

const { modes } = await gpuModesHere();

// two groups of GROUP parameters and a single one; sizes across the 64-float view alignment
const SIZES = [1, 3, 64, 65, 100, 1000, 7, 300, 2, 129, 5, 640, 33].slice(0, 2 * GROUP + 1);
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(0.7 * i + seed));

/** Runs `steps` Adam(W) steps of loss Σ_k Σ_i c_ki·θ_ki² on `backend`; θ after each step, and the optimizer's kernel calls and the bind groups they made each step. */
async function train(backend: 'cpu' | 'gpu', steps: number, opts: { decoupled?: boolean; assignAt?: number } = {}): Promise<{ thetas: number[][][]; calls: number[]; bindGroups: number[] }> {
  if (backend === 'gpu') setBackend('gpu', { mode: 'webgpu' });
  else setBackend('cpu');
  const run = backend === 'gpu' ? vi.spyOn(deviceFor('webgpu'), 'run') : null;
  const groups = backend === 'gpu' ? await countBindGroups() : null;
  try {
    const params = SIZES.map((n, k) => tensor(values(n, k), [n], { requiresGrad: true }));
    const coeffs = SIZES.map((n, k) => tensor(values(n, 100 + k), [n]));
    const Opt = opts.decoupled ? AdamW : Adam;
    const opt = new Opt(params.map((p, k) => [`p${k}`, p] as [string, Tensor]), { lr: 0.05, weightDecay: 0.01 });
    const thetas: number[][][] = [];
    const calls: number[] = [];
    const bindGroups: number[] = [];
    for (let s = 1; s <= steps; s++) {
      tidy(() => params.reduce<Tensor | null>((acc, p, k) => (acc ? acc.add(p.square().mul(coeffs[k]).sum()) : p.square().mul(coeffs[k]).sum()), null)!.backward());
      run?.mockClear();
      const made = groups?.made() ?? 0;
      opt.step();
      calls.push(run ? run.mock.calls.filter(([op]) => op === 'adamUpdate').length : 0);
      bindGroups.push((groups?.made() ?? 0) - made);
      opt.zeroGrad();
      if (s === opts.assignAt) params[2].assign(tensor(values(SIZES[2], 50), [SIZES[2]]));
      thetas.push(await Promise.all(params.map(async (p) => Array.from(await p.data()))));
    }
    return { thetas, calls, bindGroups };
  } finally {
    run?.mockRestore();
    groups?.stop();
    setBackend('cpu');
  }
}

describe.skipIf(!modes.includes('webgpu'))('Adam on gpu webgpu, several parameters a call', () => {
  // groups are off on a software adapter such as this machine's SwiftShader: turned on here
  beforeEach(() => void (process.env.SEGRAD_GPU_ADAM_GROUPS = '1'));
  afterEach(() => {
    delete process.env.SEGRAD_GPU_ADAM_GROUPS;
    setBackend('cpu');
  });

  it('are on where the adapter is hardware and off on a software one, unless SEGRAD_GPU_ADAM_GROUPS says (read as the backend is made)', () => {
    const has = (): boolean => !!createGpuBackend({ mode: 'webgpu' }).adamUpdateMany;
    expect(has()).toBe(true);
    process.env.SEGRAD_GPU_ADAM_GROUPS = '0';
    expect(has()).toBe(false);
    delete process.env.SEGRAD_GPU_ADAM_GROUPS;
    expect(has()).toBe(!deviceFor('webgpu').software);
    // the fallback flag of Chromium's SwiftShader, which this machine's Dawn runs on
    if (deviceFor('webgpu').adapter?.includes('swiftshader')) expect(deviceFor('webgpu').software).toBe(true);
  });

  it('gives the cpu backend values at every step, with a call a group once the state is gathered', async () => {
    for (const decoupled of [false, true]) {
      const gpu = await train('gpu', 5, { decoupled });
      const cpu = await train('cpu', 5, { decoupled });
      gpu.thetas.forEach((step, s) => step.forEach((theta, k) => theta.forEach((v, i) => expect(Math.abs(v - cpu.thetas[s][k][i]), `step ${s + 1}, p${k}[${i}]`).toBeLessThan(1e-6))));
      const groups = Math.floor(SIZES.length / GROUP);
      const singles = SIZES.length - groups * GROUP;
      // step 1: a call a parameter; 2: a gather and an update a group; then an update a group
      expect(gpu.calls).toEqual([SIZES.length, 2 * groups + singles, groups + singles, groups + singles, groups + singles]);
    }
  });

  it('binds kept groups once its buffers settle: the coefficients of a step come in a buffer, not as parameters', async () => {
    const gpu = await train('gpu', 9);
    const cpu = await train('cpu', 9);
    gpu.thetas.forEach((step, s) => step.forEach((theta, k) => theta.forEach((v, i) => expect(Math.abs(v - cpu.thetas[s][k][i]), `step ${s + 1}, p${k}[${i}]`).toBeLessThan(1e-6))));
    // a group's state alternates between two buffers, so its call is seen a second time at step 5 or 6 and
    // binds that kept group from step 7 on; what is left is the upload of the step's coefficients and the
    // lone parameter's own call (its scalars are parameters of that call)
    expect(gpu.bindGroups.slice(6), `bind groups a step: ${gpu.bindGroups}`).toEqual([2, 2, 2]);
  });

  it('adamUpdateMany: any sizes and values, three steps, the cpu backend’s adamUpdate to float32 rounding (property)', async () => {
    const gpu = createGpuBackend({ mode: 'webgpu' });
    const cpu = createCpuBackend();
    const live = gpu.liveBuffers();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: GROUP + 2 }), fc.integer({ min: 0, max: 1000 }), fc.boolean(), async (sizes, seed, decoupled) => {
        const s = (t: number): AdamScalars => ({ b1: 0.9, b2: 0.999, lr: 0.01, eps: 1e-8, bc1: 1 - 0.9 ** t, bc2: 1 - 0.999 ** t, wd: 0.02, decoupled });
        const data = (k: number, what: number): Float32Array => Float32Array.from(values(sizes[k], seed + 10 * k + what));
        let g = sizes.map((_, k) => ({ theta: gpu.upload(data(k, 0), 'float32'), m: gpu.upload(data(k, 1).map(Math.abs), 'float32'), v: gpu.upload(data(k, 2).map((x) => x * x), 'float32') }));
        let c = sizes.map((_, k) => ({ theta: cpu.upload(data(k, 0), 'float32'), m: cpu.upload(data(k, 1).map(Math.abs), 'float32'), v: cpu.upload(data(k, 2).map((x) => x * x), 'float32') }));
        for (let t = 1; t <= 3; t++) {
          const grads = sizes.map((_, k) => data(k, 3 + t));
          const gg = grads.map((x) => gpu.upload(x, 'float32'));
          const next = gpu.adamUpdateMany!(g.map((it, k) => ({ ...it, grad: gg[k], size: sizes[k] })), s(t));
          const cnext = c.map((it, k) => cpu.adamUpdate!(it.theta, cpu.upload(grads[k], 'float32'), it.m, it.v, sizes[k], s(t)));
          for (const it of g) [it.theta, it.m, it.v].forEach((x) => gpu.dispose(x));
          gg.forEach((x) => gpu.dispose(x));
          [g, c] = [next, cnext];
          for (let k = 0; k < sizes.length; k++)
            for (const part of ['theta', 'm', 'v'] as const) {
              const got = await gpu.read(g[k][part], sizes[k], 'float32');
              const want = await cpu.read(c[k][part], sizes[k], 'float32');
              got.forEach((x, i) => expect(Math.abs(x - want[i]), `step ${t}, item ${k} ${part}[${i}]`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[i]))));
            }
        }
        for (const it of g) [it.theta, it.m, it.v].forEach((x) => gpu.dispose(x));
      }),
      { numRuns: 8 },
    );
    // every view, gathered state and group output released with the last handle
    expect(gpu.liveBuffers()).toBe(live);
  });

  it('takes a parameter assigned from elsewhere back into its group, the values still the cpu backend’s', async () => {
    const gpu = await train('gpu', 6, { assignAt: 3 });
    const cpu = await train('cpu', 6, { assignAt: 3 });
    gpu.thetas.forEach((step, s) => step.forEach((theta, k) => theta.forEach((v, i) => expect(Math.abs(v - cpu.thetas[s][k][i]), `step ${s + 1}, p${k}[${i}]`).toBeLessThan(1e-6))));
    // after step 3, p2 (first group) is new: step 4 updates that group a parameter at a time, step 5 gathers it
    const [g, one] = [Math.floor(SIZES.length / GROUP), SIZES.length % GROUP];
    expect(gpu.calls.slice(3)).toEqual([GROUP + (g - 1) + one, 2 + (g - 1) + one, g + one]);
  });
});
