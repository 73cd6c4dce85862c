import { backendInfo, conv2d, matmul, randn, setBackend, type Tensor } from '../src/index.js';
import { useBackend } from './backend.js';
import { peakRssMB, timeIt, type BenchRow } from './table.js';

/**
 * Where a backend's time goes below the network: K kernels chained on resident data, then one read.
 * A small elementwise add (256 values) measures the cost of one kernel call (JS, encoding, submission,
 * the device's launch), a large one (8·16·128² values) memory bandwidth, and conv 3×3 16→16 at 128² and
 * matmul 1024³ the arithmetic kernels, all without a readback per kernel. One more row times a single
 * small kernel with its read: the round trip an asynchronous backend pays on every `data()`.
 *
 * `npm run bench -- dispatch [--backend cpu|gpu:MODE] [--quick]` (default gpu:webgpu; bench/gpu.sh runs it on a
 * GPU); `--quick` chains a twentieth as many kernels (a software driver).
 */
export async function run(args: string[]): Promise<BenchRow[]> {
  const i = args.indexOf('--backend');
  const arg = i >= 0 ? args[i + 1] : 'gpu:webgpu';
  try {
    await useBackend(arg, { softwareVulkan: true });
  } catch (e) {
    return [{ workload: 'dispatch', backend: arg, ms: NaN, peakRssMB: peakRssMB(), note: `unavailable: ${(e as Error).message}` }];
  }
  const info = backendInfo();
  const name = `${info.backend}:${info.mode}${info.adapter ? ` (${info.adapter})` : ''}`;
  const rows: BenchRow[] = [];
  const scale = args.includes('--quick') ? 1 / 20 : 1;

  /** Times `k` chained calls of `step` (each consuming the last result) and one read; ms per call. */
  const chain = async (label: string, x0: Tensor, step: (x: Tensor) => Tensor, k: number, flops: number, bytes: number): Promise<void> => {
    k = Math.max(1, Math.round(k * scale));
    const ms =
      (await timeIt(async () => {
        let x = x0;
        for (let j = 0; j < k; j++) {
          const y = step(x);
          if (x !== x0) x.dispose();
          x = y;
        }
        await x.data();
        x.dispose();
      }, 3, 1)) / k;
    const gbs = bytes / (ms * 1e6);
    rows.push({ workload: `${label} ×${k} chained`, backend: name, ms, gflops: flops ? flops / (ms * 1e6) : undefined, peakRssMB: peakRssMB(), note: bytes ? `${gbs.toFixed(1)} GB/s` : undefined });
  };

  const small = randn([256], { seed: 1 });
  const one = randn([256], { seed: 2 });
  await chain('add 256', small, (x) => x.add(one), 2000, 0, 0);
  const roundTrip = await timeIt(async () => {
    const y = small.add(one);
    await y.data();
    y.dispose();
  }, 21, 3);
  rows.push({ workload: 'add 256 + read', backend: name, ms: roundTrip, peakRssMB: peakRssMB() });

  const big = randn([8, 16, 128, 128], { seed: 3 });
  const bigOne = randn([8, 16, 128, 128], { seed: 4 });
  await chain('add 8·16·128²', big, (x) => x.add(bigOne), 200, 0, 3 * 4 * big.size);

  const w = randn([16, 16, 3, 3], { seed: 5 }).mul(0.1);
  await chain('conv3x3 N=8 16→16 128²', big, (x) => conv2d(x, w, { padding: 1 }), 50, 2 * 8 * 16 * 128 * 128 * 16 * 9, 0);

  const a = randn([1024, 1024], { seed: 6 });
  const b = randn([1024, 1024], { seed: 7 }).mul(1 / 32);
  await chain('matmul 1024³', a, (x) => matmul(x, b), 20, 2 * 1024 ** 3, 0);

  for (const t of [small, one, big, bigOne, w, a, b]) t.dispose();
  setBackend('cpu');
  return rows;
}
