import { backendInfo, getBackend, setBackend, sizeOf, type Conv2dGeometry, type Shape } from '../src/index.js';
import { rowSplitPlan } from '../src/tensor/backends/gpu/split.js';
import { conv2dBackwardFilterSource, conv2dBackwardInputSource, conv2dSource } from '../src/tensor/backends/gpu/conv-kernels.js';
import { deviceFor } from '../src/tensor/backends/gpu/device.js';
import { useBackend } from './backend.js';
import { peakRssMB, positiveOption, timeIt, type BenchRow } from './table.js';

/**
 * How many outputs a thread suit each conv kernel on this device (webgpu). The anchor U-Net's
 * convolutions at 128², batch 8 — one 3×3 shape a level (Cin = Cout: 16 at 128² … 256 at 8²) forward,
 * input gradient and filter gradient, and the 2×2 up-convolutions (stride 2, run forward as an input
 * gradient) — each at 1, 2 and 4 outputs a thread (Device.widest), timed as `--calls` calls on resident
 * data and one read (ms a call: the device's time where it, not the host, is the bound). The width a
 * kernel took and its thread count are in the note, so the rows say which layers want fewer, longer
 * threads and which more (SEGRAD_GPU_WIDE_MIN_THREADS sets the floor).
 *
 * `npm run bench -- widths [--backend gpu:MODE] [--batch N] [--calls N]` (default gpu:webgpu, batch 8,
 * 20 calls; on SwiftShader `--batch 1 --calls 1`).
 */
export async function run(args: string[]): Promise<BenchRow[]> {
  const i = args.indexOf('--backend');
  const spec = i >= 0 ? args[i + 1] : 'gpu:webgpu';
  const batch = positiveOption(args, 'widths', '--batch', 8);
  const calls = positiveOption(args, 'widths', '--calls', 20);
  try {
    await useBackend(spec, { softwareVulkan: true });
  } catch (e) {
    return [{ workload: 'widths', backend: spec, ms: NaN, peakRssMB: peakRssMB(), note: `unavailable: ${(e as Error).message}` }];
  }
  const info = backendInfo();
  if (info.backend !== 'gpu') throw new Error(`widths: ${spec} is not a gpu mode`);
  const dev = deviceFor(info.mode as Parameters<typeof deviceFor>[0]);
  // the adapter once, in the first row's note: 57 rows of it would hide the figures
  const name = `${info.backend}:${info.mode}`;
  const be = getBackend();
  const rows: BenchRow[] = [];
  const widest = dev.widest;
  const minThreads = dev.minThreads;
  dev.minThreads = 0;

  // the values do not matter to the time; uploaded as host data, so nothing is read back first
  const upload = (shape: Shape, seed: number): unknown => be.upload(Float32Array.from({ length: sizeOf(shape) }, (_, j) => Math.sin(0.37 * j + seed)), 'float32');
  /** Times `calls` calls of `op` and one read of the last; ms a call (median of 3, after one untimed round that compiles). */
  const time = async (op: () => unknown, outputs: number): Promise<number> => {
    const round = async (): Promise<void> => {
      let last: unknown = null;
      for (let c = 0; c < calls; c++) {
        if (last !== null) be.dispose(last);
        last = op();
      }
      await be.read(last, outputs, 'float32');
      be.dispose(last);
    };
    return (await timeIt(round, 3, 1)) / calls;
  };

  const conv3: Conv2dGeometry = { stride: [1, 1], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 1 };
  const up: Conv2dGeometry = { stride: [2, 2], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1 };
  for (const [c, hw] of [[16, 128], [32, 64], [64, 32], [128, 16], [256, 8]]) {
    const xShape: Shape = [batch, c, hw, hw];
    const wShape: Shape = [c, c, 3, 3];
    const x = upload(xShape, 1);
    const w = upload(wShape, 2);
    const dy = upload(xShape, 3);
    const flops = 2 * batch * c * hw * hw * c * 9;
    const label = `${c}→${c} ${hw}²`;
    const weights = sizeOf(wShape);
    const plan = rowSplitPlan(batch * hw, hw, weights);
    for (const most of [1, 2, 4].filter((m) => m <= widest)) {
      dev.widest = most;
      const kernels = [
        { what: 'forward', width: conv2dSource(xShape, wShape, xShape, conv3, undefined, most).width, outputs: sizeOf(xShape), op: () => be.conv2d(x, xShape, w, wShape, xShape, conv3, 'float32') },
        { what: 'input grad', width: conv2dBackwardInputSource(xShape, wShape, xShape, conv3, undefined, most).width, outputs: sizeOf(xShape), op: () => be.conv2dBackwardInput(dy, xShape, w, wShape, xShape, conv3, 'float32') },
        { what: 'filter grad', width: conv2dBackwardFilterSource(xShape, xShape, wShape, conv3, plan, most).width, outputs: plan.P * weights, op: () => be.conv2dBackwardFilter(x, xShape, dy, xShape, wShape, conv3, 'float32') },
      ];
      for (const k of kernels) {
        const ms = await time(k.op, k.what === 'filter grad' ? weights : k.outputs);
        const split = k.what === 'filter grad' && plan.P > 1 ? `, ${plan.P} partials + their sum` : '';
        const on = rows.length === 0 && info.adapter ? `; adapter: ${info.adapter}` : '';
        rows.push({ workload: `conv 3×3 ${k.what} ${label} (up to ${most})`, backend: name, ms, gflops: flops / (ms * 1e6), peakRssMB: peakRssMB(), note: `width ${k.width}, ${k.outputs / k.width} threads${split}${on}` });
      }
    }
    [x, w, dy].forEach((h) => be.dispose(h));
  }
  // the up-convolutions: ConvTranspose2d(2c → c, 2×2, stride 2) from hw/2 to hw, as the input gradient of a conv
  for (const [c, hw] of [[16, 128], [32, 64], [64, 32], [128, 16]]) {
    const dyShape: Shape = [batch, 2 * c, hw / 2, hw / 2];
    const wShape: Shape = [2 * c, c, 2, 2];
    const outShape: Shape = [batch, c, hw, hw];
    const dy = upload(dyShape, 4);
    const w = upload(wShape, 5);
    const flops = 2 * batch * 2 * c * (hw / 2) ** 2 * c * 4;
    for (const most of [1, 2, 4].filter((m) => m <= widest)) {
      dev.widest = most;
      const width = conv2dBackwardInputSource(dyShape, wShape, outShape, up, undefined, most).width;
      const ms = await time(() => be.conv2dBackwardInput(dy, dyShape, w, wShape, outShape, up, 'float32'), sizeOf(outShape));
      rows.push({ workload: `up-conv 2×2 ${2 * c}→${c} to ${hw}² (up to ${most})`, backend: name, ms, gflops: flops / (ms * 1e6), peakRssMB: peakRssMB(), note: `width ${width}, ${sizeOf(outShape) / width} threads` });
    }
    [dy, w].forEach((h) => be.dispose(h));
  }
  dev.widest = widest;
  dev.minThreads = minThreads;
  setBackend('cpu');
  return rows;
}
