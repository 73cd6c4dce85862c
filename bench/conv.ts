import { backendInfo, conv2d, randn, setBackend, tidy } from '../src/index.js';
import { gemmThreads, useGemmThreads } from '../src/tensor/backends/cpu/gemm.js';
import { peakRssMB, timeIt, type BenchRow } from './table.js';

/**
 * conv2d 3×3 (padding 1) on the cpu backend in float32: forward alone, and forward + backward
 * (input and weight gradients). GFLOP/s counts 2·N·Cout·Ho·Wo·Cin·kh·kw per pass, three passes for
 * forward + backward. Each row runs with the GEMM's worker thread and again without it (where there
 * is one). `--quick` runs smaller images. The cpu backend computes as the op is called, so nothing is
 * read back: a read copies the output into a new array, and on this VM the first touch of a fresh 8 MB
 * array (the 16→16 output at 128²) took about 25 ms, more than the conv itself.
 */
export async function run(args: string[]): Promise<BenchRow[]> {
  setBackend('cpu');
  const quick = args.includes('--quick');
  const shapes = quick
    ? [{ n: 2, cin: 16, cout: 16, hw: 64 }, { n: 2, cin: 64, cout: 64, hw: 16 }]
    : [{ n: 8, cin: 16, cout: 16, hw: 128 }, { n: 8, cin: 64, cout: 64, hw: 32 }];
  const name = `cpu:${backendInfo().mode}`;
  const rows: BenchRow[] = [];
  const threadCounts = gemmThreads() === 2 ? [2, 1] : [1];
  for (const s of threadCounts.flatMap((threads) => shapes.map((shape) => ({ ...shape, threads })))) {
    useGemmThreads(s.threads === 2);
    const note = `threads=${s.threads}`;
    const x = randn([s.n, s.cin, s.hw, s.hw], { seed: 1 });
    const w = randn([s.cout, s.cin, 3, 3], { seed: 2 }).mul(0.1);
    const dy = randn([s.n, s.cout, s.hw, s.hw], { seed: 3 });
    const flops = 2 * s.n * s.cout * s.hw * s.hw * s.cin * 9;
    const label = `conv3x3 N=${s.n} ${s.cin}→${s.cout} ${s.hw}²`;

    const fwd = await timeIt(() => {
      conv2d(x, w, { padding: 1 }).dispose();
    }, 9, 3);
    rows.push({ workload: `${label} forward`, backend: name, ms: fwd, gflops: flops / (fwd * 1e6), peakRssMB: peakRssMB(), note });

    const fwdBwd = await timeIt(() => {
      tidy(() => {
        const xl = x.detach();
        const wl = w.detach();
        xl.requiresGrad = true;
        wl.requiresGrad = true;
        conv2d(xl, wl, { padding: 1 }).backward(dy);
        if (!xl.grad || !wl.grad) throw new Error('conv bench: backward left no gradient');
        xl.grad?.dispose();
        wl.grad?.dispose();
      });
    }, 9, 3);
    rows.push({ workload: `${label} fwd+bwd`, backend: name, ms: fwdBwd, gflops: (3 * flops) / (fwdBwd * 1e6), peakRssMB: peakRssMB(), note });
    [x, w, dy].forEach((t) => t.dispose());
  }
  useGemmThreads(true);
  return rows;
}
