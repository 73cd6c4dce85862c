import gpujs from 'gpu.js';
import { describe, expect, it, vi } from 'vitest';
import type { Conv2dGeometry } from '../../src/tensor/backend.js';
import { widthFor } from '../../src/tensor/backends/gpu/codegen.js';
import { affineEpilogue, conv2dBackwardFilterSource, conv2dBackwardInputSource, conv2dSource, type ConvSource } from '../../src/tensor/backends/gpu/conv-kernels.js';
import { sizeOf, type Shape } from '../../src/tensor/shape.js';
import { deviceFor } from '../../src/tensor/backends/gpu/device.js';
import { batchNormTrain, conv2d, setBackend, tensor } from '../../src/index.js';
import { gpuModesHere } from './gpu-modes.js';

/**
 * The conv kernels that compute several outputs a thread (webgpu) against their one-a-thread form, both
 * run in gpu.js's cpu mode (JS, so this runs on any machine): the same sums in the same order, so the
 * same values. The conformance cases (gpu-cases.ts) check both forms against the cpu backend on a device.
 */

const { modes } = await gpuModesHere();

/** Runs a kernel source in gpu.js cpu mode over `size` outputs, `width` a thread; the flat outputs. */
function runCpu(k: ConvSource, size: number, args: Float32Array[]): number[] {
  const kern = new gpujs.GPU({ mode: 'cpu' }).createKernel(k.source, { output: [size / k.width] });
  const out = kern(...args) as unknown as ArrayLike<number | ArrayLike<number>>;
  return Array.from(out).flatMap((v) => (typeof v === 'number' ? [v] : Array.from(v).slice(0, k.width)));
}

const values = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.731 + seed) * 2));
const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

interface Geo { xShape: Shape; wShape: Shape; outShape: Shape; g: Conv2dGeometry }
const geo = (n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, g: Partial<Conv2dGeometry>): Geo => {
  const full: Conv2dGeometry = { stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1, ...g };
  const { stride: [sh, sw], pad: [pt, pb, pl, pr], dilation: [dh, dw], groups } = full;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  return { xShape: [n, c, h, w], wShape: [o, c / groups, kh, kw], outShape: [n, o, oh, ow], g: full };
};

const cases: [string, Geo][] = [
  ['3×3 padding 1, rows of 8', geo(2, 3, 5, 8, 4, 3, 3, { pad: [1, 1, 1, 1] })],
  ['3×3 padding 1, rows of 6 (2 a thread)', geo(1, 2, 4, 6, 2, 3, 3, { pad: [1, 1, 1, 1] })],
  ['4-wide kernel, asymmetric padding, row stride and dilation, groups', geo(2, 4, 7, 8, 4, 2, 4, { pad: [0, 1, 2, 1], stride: [2, 1], dilation: [2, 1], groups: 2 })],
  ['2-wide kernel, column stride 2 and dilation 2 (forward only wide)', geo(1, 2, 4, 12, 2, 1, 2, { stride: [1, 2], dilation: [1, 2], pad: [0, 0, 1, 0] })],
  ['2 × 2 patches (stride 2), a row past the last patch, groups', geo(2, 4, 5, 8, 6, 2, 2, { stride: [2, 2], groups: 2 })],
];
/** Filters that tile the input (stride = kernel, no padding or dilation): their input gradient is the patch kernel. */
const tiles = (g: Conv2dGeometry, wShape: Shape): boolean =>
  g.stride[0] === wShape[2] && g.stride[1] === wShape[3] && g.pad.every((p) => p === 0) && g.dilation.every((d) => d === 1);

describe('conv kernels with several outputs a thread', () => {
  it('take 4 or 2 outputs where a row allows it, else 1', () => {
    expect([widthFor(8, 4), widthFor(6, 4), widthFor(5, 4), widthFor(8, 1), widthFor(8, 2)]).toEqual([4, 2, 1, 1, 2]);
  });

  it.each(cases)('compute what one output a thread computes: %s', (_name, { xShape, wShape, outShape, g }) => {
    const x = values(sizeOf(xShape), 1);
    const w = values(sizeOf(wShape), 2);
    const dy = values(sizeOf(outShape), 3);

    const fwd = [conv2dSource(xShape, wShape, outShape, g, undefined, 4), conv2dSource(xShape, wShape, outShape, g)];
    expect(fwd[0].width).toBe(widthFor(outShape[3], 4));
    expect(fwd[0].width).toBeGreaterThan(1);
    expect(fwd[1].width).toBe(1);
    expect(same(runCpu(fwd[0], sizeOf(outShape), [x, w]), runCpu(fwd[1], sizeOf(outShape), [x, w]))).toBe(true);

    const bwd = [conv2dBackwardInputSource(outShape, wShape, xShape, g, undefined, 4), conv2dBackwardInputSource(outShape, wShape, xShape, g)];
    const strideOne = g.stride[0] === 1 && g.stride[1] === 1;
    expect(bwd[0].width).toBe(strideOne || tiles(g, wShape) ? widthFor(xShape[3], 4) : 1);
    expect(same(runCpu(bwd[0], sizeOf(xShape), [dy, w]), runCpu(bwd[1], sizeOf(xShape), [dy, w]))).toBe(true);

    // one kernel, and partials of two rows each (the last one short where the rows are odd)
    const rows = outShape[0] * outShape[2];
    for (const plan of [{ P: 1, R: rows }, { P: Math.ceil(rows / 2), R: 2 }]) {
      const filt = [conv2dBackwardFilterSource(xShape, outShape, wShape, g, plan, 4), conv2dBackwardFilterSource(xShape, outShape, wShape, g, plan)];
      const filterRow = g.stride[1] === 1 && g.dilation[1] === 1 && wShape[3] >= 2;
      expect(filt[0].width).toBe(filterRow ? wShape[3] : 1);
      const size = plan.P * sizeOf(wShape);
      expect(same(runCpu(filt[0], size, [x, dy]), runCpu(filt[1], size, [x, dy]))).toBe(true);
    }
  });

  it('keep each source per shape, geometry, epilogue and width: the same object again, another for any of them changed', () => {
    const { xShape, wShape, outShape, g } = cases[0][1];
    const a = conv2dSource(xShape, wShape, outShape, g, affineEpilogue(true), 4);
    expect(conv2dSource(xShape, wShape, outShape, g, affineEpilogue(true), 4)).toBe(a);
    const others = [
      conv2dSource(xShape, wShape, outShape, g, affineEpilogue(false), 4),
      conv2dSource(xShape, wShape, outShape, g, undefined, 4),
      conv2dSource(xShape, wShape, outShape, g, affineEpilogue(true), 1),
      conv2dSource(xShape, wShape, outShape, { ...g, dilation: [2, 1] }, affineEpilogue(true), 4),
    ];
    expect(new Set([a.source, ...others.map((o) => o.source)]).size).toBe(5);
  });

  // CI and this machine have SwiftShader's Vulkan driver; only a machine without any driver skips these
  it.skipIf(!modes.includes('webgpu'))('narrow a kernel only as far as SEGRAD_GPU_WIDE_MIN_THREADS leaves threads (read when the device module loads)', async () => {
    vi.resetModules();
    process.env.SEGRAD_GPU_WIDE_MIN_THREADS = '1000';
    try {
      const dev = await import('../../src/tensor/backends/gpu/device.js');
      await dev.prepareGpu('webgpu');
      const d = dev.deviceFor('webgpu');
      expect(d.minThreads).toBe(1000);
      // 4000 outputs: 1000 threads of 4; 3999: 4 a thread would leave 999, so 2; 1999: even 2 would leave too few
      expect([4000, 3999, 2000, 1999, 10].map((n) => d.mostFor(n))).toEqual([4, 2, 2, 1, 1]);
      d.widest = 2;
      expect([1e6, 2000, 1999].map((n) => d.mostFor(n))).toEqual([2, 2, 1]);
    } finally {
      delete process.env.SEGRAD_GPU_WIDE_MIN_THREADS;
      vi.resetModules();
    }
  });

  it.skipIf(!modes.includes('webgpu'))('are chosen per call from the thread floor: every conv and batch-norm kernel narrows, and the values stay the same', async () => {
    const d = deviceFor('webgpu');
    const floor = d.minThreads;
    const run = vi.spyOn(d, 'run');
    /** A conv → batch norm → ReLU forward and backward on webgpu: the gradients, and the most outputs a thread each op's kernels took. */
    const step = async (): Promise<{ values: number[][]; widths: Map<string, number> }> => {
      run.mockClear();
      setBackend('gpu', { mode: 'webgpu' });
      try {
        const x = tensor(values(2 * 3 * 4 * 8, 1), [2, 3, 4, 8], { requiresGrad: true });
        const w = tensor(values(4 * 3 * 3 * 3, 2), [4, 3, 3, 3], { requiresGrad: true });
        const y = batchNormTrain(conv2d(x, w, { padding: 1 }), null, null, 1e-5, { relu: true }).y;
        y.mul(tensor(values(sizeOf(y.shape), 3), y.shape)).sum().backward();
        const out = [await y.data(), await x.grad!.data(), await w.grad!.data()].map((a) => Array.from(a));
        [x, w, y, x.grad!, w.grad!].forEach((t) => t.dispose());
        const widths = new Map<string, number>();
        for (const [op, , , , width] of run.mock.calls) widths.set(op, Math.max(widths.get(op) ?? 1, width ?? 1));
        return { values: out, widths };
      } finally {
        setBackend('cpu');
      }
    };
    try {
      const wide = await step();
      for (const op of ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardFilter', 'batchNormForward', 'batchNormBackward']) expect(wide.widths.get(op), op).toBeGreaterThan(1);
      d.minThreads = 1e9;
      const narrow = await step();
      expect([...narrow.widths.values()].every((w) => w === 1)).toBe(true);
      expect(narrow.values).toEqual(wide.values);
    } finally {
      d.minThreads = floor;
      run.mockRestore();
    }
  });

  it.skipIf(!modes.includes('webgpu'))('are on in webgpu, and off under SEGRAD_GPU_WIDE=0 (read when the device module loads)', async () => {
    const widest = async (): Promise<number> => {
      vi.resetModules();
      const dev = await import('../../src/tensor/backends/gpu/device.js');
      await dev.prepareGpu('webgpu');
      return dev.deviceFor('webgpu').widest;
    };
    try {
      expect(await widest()).toBe(4);
      process.env.SEGRAD_GPU_WIDE = '0';
      expect(await widest()).toBe(1);
    } finally {
      delete process.env.SEGRAD_GPU_WIDE;
      vi.resetModules();
    }
  });
});
