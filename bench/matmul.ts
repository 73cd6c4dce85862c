import { backendInfo, matmul, randn, setBackend, tidy, type Tensor } from '../src/index.js';
import { useBackend } from './backend.js';
import { peakRssMB, timeIt, type BenchRow } from './table.js';

/**
 * Matmul GFLOP/s at 512³ and 1024³ on cpu and each gpu.js mode that runs here, or only on `--backend
 * cpu|gpu:MODE` (then every size runs: that is how bench/gpu.sh times a real GPU). A gpu time includes the
 * read of the result (the read is what waits for the device); `npm run bench -- dispatch` times products
 * chained on the device. The cpu backend computes as the op is called, so its rows time the product alone,
 * as the conv bench does, and a last row adds the read: on this VM the first touch of the fresh 4 MB array
 * a read returns costs about 12 ms, as much as a third of the product.
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
      const product = async (read: boolean) =>
        timeIt(async () => {
          const c = tidy(() => matmul(a, b));
          if (read) await c.data();
          c.dispose();
          // the cpu backend is quick: more warm-up (the worker thread starts and its code tiers up) and reps
        }, t === 'cpu' ? 9 : n >= 1024 ? 3 : 5, t === 'cpu' ? 5 : 1);
      const reads = t === 'cpu' ? (n === sizes[sizes.length - 1] ? [false, true] : [false]) : [true];
      for (const read of reads) {
        const ms = await product(read);
        const workload = `matmul ${n}³${t === 'cpu' && read ? ', result read back' : ''}`;
        rows.push({ workload, backend: name, ms, gflops: (2 * n ** 3) / (ms * 1e6), peakRssMB: peakRssMB() });
      }
      (a as Tensor).dispose();
      b.dispose();
    }
  }
  setBackend('cpu');
  return rows;
}
