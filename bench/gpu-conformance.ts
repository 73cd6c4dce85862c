import '../test/tensor/gpu-browser-harness.js';
import type { BrowserReport } from '../test/tensor/gpu-browser-harness.js';

/**
 * The gpu backend's conformance cases (test/tensor/gpu-cases.ts: every primitive against the cpu
 * backend) run outside vitest, so bench/gpu.sh can check a real GPU with nothing but node and the
 * bundle: `node bench-dist/conformance.mjs [mode] [scale]` (default webgpu, scale 1 = the cases' own
 * fast-check runs). Prints one line per case and a summary; exits 1 on any failure.
 */
const [mode = 'webgpu', scale = '1'] = process.argv.slice(2);
const run = (globalThis as unknown as { segradGpuConformance(only: string[], scale: number): Promise<BrowserReport> }).segradGpuConformance;
const report = await run([mode], Number(scale));
if (!report.modes.includes(mode)) {
  console.log(`conformance: mode ${mode} unavailable: ${report.unavailable.join('; ')}`);
  process.exit(1);
}
const failed = report.results.filter((r) => r.error);
for (const r of report.results) console.log(`${r.error ? 'FAIL' : 'ok  '} ${r.mode} ${r.name}${r.error ? `\n     ${r.error.split('\n').slice(0, 6).join('\n     ')}` : ''}`);
console.log(`conformance on ${mode} (${report.adapters[mode] ?? 'adapter unnamed'}): ${report.results.length - failed.length} passed, ${failed.length} failed, ${report.seconds[mode]} s`);
process.exit(failed.length ? 1 : 0);
