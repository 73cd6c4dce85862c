import { backendInfo, matmul, randn, setBackend, tidy, type Tensor } from '../src/index.js';
import { useBackend } from './backend.js';
import { peakRssMB, timeIt, type BenchRow } from './table.js';

/**
 * Matmul GFLOP/s at 512³ and 1024³ on cpu and each gpu.js mode that runs here, or only on `--backend
 * cpu|gpu:MODE` (then every size runs: that is how bench/gpu.sh times a real GPU). Each time includes the
 * read of the result; `npm run bench -- dispatch` times products chained on the device.
 */
export async function run(args: string[]): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const only = args.indexOf('--backend') >= 0 ? args[args.indexOf('--backend') + 1] : undefined;
  const targets = only ? [only] : ['cpu', 'gpu:webasm', 'gpu:cpu', 'gpu:webgpu'];
  const sizes = args.includes('--quick') ? [256] : [512, 1024];
  for (const t of targets) {
    const mode = t.split(':')[1];
    try {
      // without a GPU, Chromium's software Vulkan driver gives Dawn an adapter (correctness, not speed)
      await useBackend(t, { softwareVulkan: true });
    } catch (e) {
      rows.push({ workload: 'matmul', backend: t, ms: NaN, peakRssMB: peakRssMB(), note: `unavailable: ${(e as Error).message}` });
      continue;
    }
    const name = `${t.split(':')[0]}:${backendInfo().mode}`;
    for (const n of sizes) {
      if ((mode === 'cpu' || mode === 'webgpu') && n > 512 && !only && !args.includes('--all')) continue; // gpu.js's cpu mode (and webgpu on a software driver) take minutes at 1024³
      const a = randn([n, n], { seed: 1 });
      const b = randn([n, n], { seed: 2 });
      const ms = await timeIt(async () => {
        const c = tidy(() => matmul(a, b));
        await c.data();
        c.dispose();
        // the cpu backend is quick: more warm-up (the worker thread starts and its code tiers up) and reps
      }, t === 'cpu' ? 9 : n >= 1024 ? 3 : 5, t === 'cpu' ? 5 : 1);
      rows.push({ workload: `matmul ${n}³`, backend: name, ms, gflops: (2 * n ** 3) / (ms * 1e6), peakRssMB: peakRssMB() });
      (a as Tensor).dispose();
      b.dispose();
    }
  }
  setBackend('cpu');
  return rows;
}
