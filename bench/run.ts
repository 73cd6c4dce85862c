/**
 * `npm run bench -- <suite> [options]`: runs one benchmark suite and prints a Markdown table
 * (workload, backend, time, GFLOP/s or images/s, peak memory). `--json FILE` also writes the rows.
 * Suites live in bench/<suite>.ts and export `run(args): Promise<BenchRow[]>`.
 */
import { writeFileSync } from 'node:fs';
import { markdownTable, type BenchRow } from './table.js';

const suites: Record<string, () => Promise<{ run(args: string[]): Promise<BenchRow[]> }>> = {
  matmul: () => import('./matmul.js'),
  conv: () => import('./conv.js'),
  unet: () => import('./unet.js'),
  dispatch: () => import('./dispatch.js'),
  widths: () => import('./widths.js'),
  browser: () => import('./browser.js'),
};

const [suite, ...args] = process.argv.slice(2);
if (!suite || !(suite in suites)) {
  console.error(`usage: npm run bench -- <${Object.keys(suites).join('|')}> [--json FILE] [suite options]
  unet: --size 64|128  --workload train|inference|fit  --backend cpu|gpu[:mode]  --loss NAME  --reps N  --warmup N  --profile  --no-peer
        (SEGRAD_PROFILE=1 in the environment profiles any run; the per-op table goes to stderr at exit)
  dispatch: --backend cpu|gpu:MODE (default gpu:webgpu): kernel-call cost, bandwidth, conv and matmul on resident data
  widths: --backend gpu:MODE (default gpu:webgpu) --batch N --calls N: each U-Net conv kernel at 1, 2 and 4 outputs a thread
  browser: --modes cpu,webgl2,webgl,webgpu --size N --batch N --reps N: the U-Net in headless Chromium`);
  process.exit(2);
}
const rows = await (await suites[suite]()).run(args);
console.log(markdownTable(rows));
const j = args.indexOf('--json');
if (j >= 0 && args[j + 1]) {
  writeFileSync(args[j + 1], JSON.stringify(rows, null, 2));
  console.log(`wrote ${args[j + 1]}`);
}
