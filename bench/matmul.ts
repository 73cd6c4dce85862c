import { existsSync } from 'node:fs';
import { backendInfo, matmul, prepareGpu, randn, setBackend, tidy, type Tensor } from '../src/index.js';
import { peakRssMB, timeIt, type BenchRow } from './table.js';

/**
 * Matmul GFLOP/s at 512³ and 1024³ on cpu and each gpu.js mode that runs here, or only on `--backend
 * cpu|gpu:MODE` (then every size runs: that is how bench/gpu.sh times a real GPU). Each time includes the
 * read of the result; `npm run bench -- dispatch` times products chained on the device.
 */
export async function run(args: string[]): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const only = args.indexOf('--backend') >= 0 ? args[args.indexOf('--backend') + 1] : undefined;
  const all: { backend: 'cpu' | 'gpu'; mode?: string }[] = [{ backend: 'cpu' }, { backend: 'gpu', mode: 'webasm' }, { backend: 'gpu', mode: 'cpu' }, { backend: 'gpu', mode: 'webgpu' }];
  const targets = only ? [{ backend: only.split(':')[0] as 'cpu' | 'gpu', mode: only.split(':')[1] }] : all;
  const sizes = args.includes('--quick') ? [256] : [512, 1024];
  for (const t of targets) {
    try {
      if (t.mode === 'webgpu') {
        // without a GPU, Chromium's software Vulkan driver gives Dawn an adapter (correctness, not speed)
        const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
        if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;
        const probe = await prepareGpu('webgpu');
        if (!probe.ok) throw new Error(probe.reason);
      }
      setBackend(t.backend, { mode: t.mode });
    } catch (e) {
      rows.push({ workload: 'matmul', backend: `${t.backend}${t.mode ? `:${t.mode}` : ''}`, ms: NaN, peakRssMB: peakRssMB(), note: `unavailable: ${(e as Error).message}` });
      continue;
    }
    const name = `${t.backend}:${backendInfo().mode}`;
    for (const n of sizes) {
      if ((t.mode === 'cpu' || t.mode === 'webgpu') && n > 512 && !only && !args.includes('--all')) continue; // gpu.js's cpu mode (and webgpu on a software driver) take minutes at 1024³
      const a = randn([n, n], { seed: 1 });
      const b = randn([n, n], { seed: 2 });
      const ms = await timeIt(async () => {
        const c = tidy(() => matmul(a, b));
        await c.data();
        c.dispose();
        // the cpu backend is quick: more warm-up (the worker thread starts and its code tiers up) and reps
      }, t.backend === 'cpu' ? 9 : n >= 1024 ? 3 : 5, t.backend === 'cpu' ? 5 : 1);
      rows.push({ workload: `matmul ${n}³`, backend: name, ms, gflops: (2 * n ** 3) / (ms * 1e6), peakRssMB: peakRssMB() });
      (a as Tensor).dispose();
      b.dispose();
    }
  }
  setBackend('cpu');
  return rows;
}
