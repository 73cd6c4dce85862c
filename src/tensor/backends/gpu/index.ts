import { adamCoefficients, TensorSizeLimitError, type AdamScalars, type Backend, type BackendInfo, type Handle } from '../../backend.js';
import { webgpuAdam } from './adam.js';
import type { DType } from '../../dtype.js';
import { fmt, sizeOf, type Shape } from '../../shape.js';
import { gpuBatchNorm } from './batchnorm.js';
import { availableGpuModes, deviceFor, GPU_MODES, GpuHandle, prepareGpu, type Device, type GpuMode } from './device.js';
import * as C from './conv-kernels.js';
import * as K from './kernels.js';
import { lovaszWeights } from './lovasz.js';
import { scatterAddSorted } from './scatter.js';
import { partStride } from './webgpu-batch.js';
import { combinePartials, rowSplitPlan, runReduction, splitPlan } from './split.js';
import { SUM_SQUARES_RUN, sumSquaresMany } from './sum-squares.js';

export { availableGpuModes, GPU_MODES, prepareGpu, type GpuMode } from './device.js';

/**
 * The scatterAdd kernel is a gather, each output element passing over all `count` values (gpu.js has
 * no atomics): past this many visits a synchronous mode reads the indices and values back and scatters
 * on the host, and webgpu sorts them by index on the device (scatter.ts) (take's gradient over a million
 * elements would otherwise visit 10^12).
 */
const SCATTER_GATHER_MAX = 1 << 24;

/** out[idx[k]] += vs[k] in float32, k in order: the sums of the kernel's gather, in its order. */
function scatterOnHost(idx: Float32Array, vs: Float32Array, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let k = 0; k < idx.length; k++) out[idx[k]] += vs[k];
  return out;
}

/** Inputs per concat kernel: GL breaks beyond 32 array arguments and webgpu allows few storage buffers. */
const CONCAT_CHUNK = 4;

/**
 * The `gpu` backend: every primitive as a gpu.js kernel in float32, one kernel source for every gpu.js
 * mode. Without `mode` it picks the best mode available now (webgpu only after `prepareGpu('webgpu')`);
 * an unavailable mode throws naming the mode and the reason. Tensors stay on the device between ops
 * and only `read()` crosses to the host; in webgpu mode ops queue without blocking and only reads await.
 * @example await prepareGpu('webgpu'); setBackend('gpu', { mode: 'webgpu' }); await x.mul(y).data();
 */
export function createGpuBackend(opts: { mode?: string }): Backend {
  const mode = pickMode(opts.mode);
  const dev = deviceFor(mode);
  const h = (x: Handle): GpuHandle => x as GpuHandle;
  const f32 = (op: string, dtype: DType): void => {
    if (dtype !== 'float32') throw new Error(`${op}: dtype ${dtype} is not supported on the gpu backend (mode '${mode}'): it computes in float32`);
  };
  const info: BackendInfo = { backend: 'gpu', mode, dtypes: ['float32'], synchronous: dev.synchronous, ...(dev.adapter ? { adapter: dev.adapter } : {}) };

  const backend: Backend = {
    name: 'gpu',
    info: () => ({ ...info, dtypes: [...info.dtypes] }),
    supports: (dtype) => dtype === 'float32',
    upload: (data, dtype) => {
      f32('upload', dtype);
      return dev.upload(data instanceof Float32Array ? data : Float32Array.from(data));
    },
    read: (x) => dev.read(h(x), h(x).size),
    dispose: (x) => dev.release(h(x)),
    liveBuffers: () => dev.live,
    fill: (size, value, dtype) => {
      f32('fill', dtype);
      return size === 1 ? dev.constant(value) : dev.run('fill', K.fillSource, size, [value]);
    },
    cast: (x, size, from, to) => {
      f32('cast', from);
      f32('cast', to);
      return dev.run('cast', K.copySource, size, [h(x)]);
    },
    unary: (op, x, size, dtype) => {
      f32(op, dtype);
      return dev.run(op, K.unarySource(op), size, [h(x)]);
    },
    binary: (op, a, aShape, b, bShape, outShape, dtype) => {
      f32(op, dtype);
      return dev.run(op, K.binarySource(op, aShape, bShape, outShape), sizeOf(outShape), [h(a), h(b)]);
    },
    axpby: (a, alpha, b, beta, size, dtype) => {
      f32('axpby', dtype);
      return dev.run('axpby', K.axpbySource, size, [h(a), alpha, h(b), beta]);
    },
    ...(mode === 'webgpu'
      ? {
          // one kernel for both running averages, handed on as two views of its output
          batchNormRunningUpdate: (runMean: Handle, runVar: Handle, mean: Handle, variance: Handle, momentum: number, varFactor: number, c: number, dtype: DType) => {
            f32('batchNormRunningUpdate', dtype);
            const stride = partStride(c);
            const both = dev.run('batchNormRunningUpdate', K.runningUpdateSource(c, stride), stride + c, [h(runMean), h(runVar), h(mean), h(variance), 1 - momentum, momentum, varFactor]);
            const [m, v] = dev.parts(both, 2, c);
            return { mean: m, variance: v };
          },
        }
      : {}),
    sumSquaresMany: (xs, sizes, dtype) => {
      f32('sumSquaresMany', dtype);
      const parts = sumSquaresMany(dev, xs.map(h), sizes);
      if (parts.length === 1) return parts[0];
      try {
        return concat(dev, parts, parts.map((_, k) => [Math.min(SUM_SQUARES_RUN, xs.length - k * SUM_SQUARES_RUN)]), 0);
      } finally {
        for (const p of parts) dev.release(p);
      }
    },
    lovaszWeights: (errors, fg, rows, len, dtype) => {
      f32('lovaszWeights', dtype);
      return lovaszWeights(dev, h(errors), h(fg), rows, len);
    },
    reluGrad: (dy, x, size, dtype) => {
      f32('reluGrad', dtype);
      return dev.run('reluGrad', K.reluGradSource, size, [h(dy), h(x)]);
    },
    // webgpu: the whole step of a parameter in one kernel whose output holds m′, v′ and θ′ (three views
    // of it), and several parameters' steps in one call (adam.ts): on a real GPU a step's time was mostly
    // the calls'; the other modes take three kernels a parameter
    ...(mode === 'webgpu'
      ? webgpuAdam(dev)
      : {
          adamUpdate: (theta: Handle, grad: Handle, m: Handle, v: Handle, size: number, s: AdamScalars) => {
            const c = adamCoefficients(s);
            const m1 = dev.run('adamUpdate', K.adamMomentSource, size, [h(grad), h(theta), h(m), c.b1, c.c1, c.l2]);
            const v1 = dev.run('adamUpdate', K.adamVelocitySource, size, [h(grad), h(theta), h(v), c.b2, c.c2, c.l2]);
            const t1 = dev.run('adamUpdate', K.adamThetaSource, size, [h(theta), m1, v1, c.decay, c.epsScaled, c.stepScaled]);
            return { theta: t1, m: m1, v: v1 };
          },
        }),
    where: (c, cShape, a, aShape, b, bShape, outShape, dtype) => {
      f32('where', dtype);
      return dev.run('where', K.whereSource(cShape, aShape, bShape, outShape), sizeOf(outShape), [h(c), h(a), h(b)]);
    },
    reduce: (op, x, shape, axes, dtype) => {
      f32(op, dtype);
      const outSize = sizeOf(shape.map((d, k) => (axes.includes(k) ? 1 : d)));
      // an empty reduction has no first element to start max/min from: it is the identity
      if (sizeOf(shape) === 0) return dev.run(op, K.fillSource, outSize, [op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity]);
      if (splitPlan(sizeOf(shape) / outSize, outSize).P > 1) return runReduction(dev, { op, params: ['xs'], args: [h(x)], outputs: outSize, fold: op, ...K.reduceTerms(shape, axes) });
      return dev.run(op, K.reduceSource(op, shape, axes), outSize, [h(x)]);
    },
    matmul: (a, b, batchA, batchB, m, k, n, transA, transB, dtype) => {
      f32('matmul', dtype);
      const size = Math.max(batchA, batchB) * m * n;
      if (k === 0) return dev.run('matmul', K.fillSource, size, [0]);
      if (dev.mode !== 'cpu' && dev.mode !== 'webasm') return dev.run('matmul', K.matmulSource(batchA, batchB, m, k, n, transA, transB), size, [h(a), h(b)]);
      // on a CPU one thread walks a whole dot product: rows contiguous along k read about twice as fast
      // (measured 0.12 → 0.22 GFLOP/s at 1024³ in webasm) as the GPU-friendly strided column of b
      const temps: GpuHandle[] = [];
      const kMajor = (x: GpuHandle, batch: number, rows: number, cols: number): GpuHandle => {
        const t = dev.run('matmul', K.permuteSource([batch, rows, cols], [0, 2, 1]), batch * rows * cols, [x]);
        temps.push(t);
        return t;
      };
      try {
        const A = transA ? kMajor(h(a), batchA, k, m) : h(a);
        const B = transB ? h(b) : kMajor(h(b), batchB, k, n);
        return dev.run('matmul', K.matmulSource(batchA, batchB, m, k, n, false, true), size, [A, B]);
      } finally {
        for (const t of temps) dev.release(t);
      }
    },
    permute: (x, shape, perm, dtype) => {
      f32('permute', dtype);
      return dev.run('permute', K.permuteSource(shape, perm), sizeOf(shape), [h(x)]);
    },
    broadcastTo: (x, shape, outShape, dtype) => {
      f32('broadcastTo', dtype);
      return dev.run('broadcastTo', K.broadcastSource(shape, outShape), sizeOf(outShape), [h(x)]);
    },
    slice: (x, shape, begin, size, dtype) => {
      f32('slice', dtype);
      return dev.run('slice', K.sliceSource(shape, begin, size), sizeOf(size), [h(x)]);
    },
    concat: (xs, shapes, axis, dtype) => {
      f32('concat', dtype);
      return concat(dev, xs.map(h), shapes, axis);
    },
    pad: (x, shape, before, after, value, dtype) => {
      f32('pad', dtype);
      const outSize = sizeOf(shape.map((d, k) => d + before[k] + after[k]));
      if (sizeOf(shape) === 0) return dev.run('pad', K.fillSource, outSize, [value]);
      return dev.run('pad', K.padSource(shape, before, after), outSize, [h(x), value]);
    },
    take: (x, indices, count, dtype) => {
      f32('take', dtype);
      return dev.run('take', K.takeSource, count, [h(x), h(indices)]);
    },
    scatterAdd: (indices, values, count, size, dtype) => {
      f32('scatterAdd', dtype);
      if (count === 0) return dev.run('scatterAdd', K.fillSource, size, [0]);
      if (count * size > SCATTER_GATHER_MAX) {
        if (dev.synchronous) return dev.upload(scatterOnHost(dev.readSync(h(indices), count), dev.readSync(h(values), count), size));
        return scatterAddSorted(dev, h(indices), h(values), count, size);
      }
      return dev.run('scatterAdd', K.scatterAddSource(count), size, [h(indices), h(values)]);
    },
    conv2d: (x, xShape, w, wShape, outShape, g, dtype) => {
      f32('conv2d', dtype);
      const k = C.conv2dSource(xShape, wShape, outShape, g, undefined, dev.mostFor(sizeOf(outShape)));
      return dev.run('conv2d', k.source, sizeOf(outShape), [h(x), h(w)], k.width);
    },
    conv2dAffine: (x, xShape, w, wShape, outShape, g, scale, shift, relu, dtype) => {
      f32('conv2dAffine', dtype);
      const k = C.conv2dSource(xShape, wShape, outShape, g, C.affineEpilogue(relu), dev.mostFor(sizeOf(outShape)));
      return dev.run('conv2dAffine', k.source, sizeOf(outShape), [h(x), h(w), h(scale), h(shift)], k.width);
    },
    convTranspose2dBias: (x, xShape, w, wShape, outShape, g, bias, dtype) => {
      f32('convTranspose2dBias', dtype);
      const k = C.conv2dBackwardInputSource(xShape, wShape, outShape, g, C.biasEpilogue, dev.mostFor(sizeOf(outShape)));
      return dev.run('convTranspose2dBias', k.source, sizeOf(outShape), [h(x), h(w), h(bias)], k.width);
    },
    conv2dBackwardInput: (dy, dyShape, w, wShape, xShape, g, dtype) => {
      f32('conv2dBackwardInput', dtype);
      const k = C.conv2dBackwardInputSource(dyShape, wShape, xShape, g, undefined, dev.mostFor(sizeOf(xShape)));
      return dev.run('conv2dBackwardInput', k.source, sizeOf(xShape), [h(dy), h(w)], k.width);
    },
    conv2dBackwardFilter: (x, xShape, dy, dyShape, wShape, g, dtype) => {
      f32('conv2dBackwardFilter', dtype);
      const weights = sizeOf(wShape);
      const plan = rowSplitPlan(dyShape[0] * dyShape[2], dyShape[3], weights);
      const k = C.conv2dBackwardFilterSource(xShape, dyShape, wShape, g, plan, dev.mostFor(plan.P * weights));
      const out = dev.run('conv2dBackwardFilter', k.source, plan.P * weights, [h(x), h(dy)], k.width);
      return plan.P === 1 ? out : combinePartials(dev, 'conv2dBackwardFilter', out, plan.P, weights, 'sum');
    },
    maxPool2d: (x, xShape, outShape, g, dtype) => {
      f32('maxPool2d', dtype);
      return dev.run('maxPool2d', K.maxPoolSource(xShape, outShape, g, true), sizeOf(outShape), [h(x)]);
    },
    maxPool2dBackward: (dy, x, xShape, outShape, g, dtype) => {
      f32('maxPool2dBackward', dtype);
      if (K.poolTiles(xShape, outShape, g)) return dev.run('maxPool2dBackward', K.maxPoolBackwardTiledSource(xShape, outShape, g), sizeOf(xShape), [h(dy), h(x)]);
      // the argmax per window first, so each input cell can check which windows it won
      const arg = dev.run('maxPool2dBackward', K.maxPoolSource(xShape, outShape, g, false), sizeOf(outShape), [h(x)]);
      try {
        return dev.run('maxPool2dBackward', K.maxPoolBackwardSource(xShape, outShape, g), sizeOf(xShape), [h(dy), arg]);
      } finally {
        dev.release(arg);
      }
    },
    avgPool2d: (x, xShape, outShape, g, dtype) => {
      f32('avgPool2d', dtype);
      return dev.run('avgPool2d', K.avgPoolSource(xShape, outShape, g), sizeOf(outShape), [h(x)]);
    },
    avgPool2dBackward: (dy, xShape, outShape, g, dtype) => {
      f32('avgPool2dBackward', dtype);
      return dev.run('avgPool2dBackward', K.avgPoolBackwardSource(xShape, outShape, g), sizeOf(xShape), [h(dy)]);
    },
    resize: (x, xShape, outH, outW, m, dtype) => {
      f32('resize', dtype);
      return dev.run(`resize(${m})`, K.resizeSource(xShape, outH, outW, m), xShape[0] * xShape[1] * outH * outW, [h(x)]);
    },
    resizeBackward: (dy, xShape, outH, outW, m, dtype) => {
      f32('resizeBackward', dtype);
      return dev.run(`resizeBackward(${m})`, K.resizeBackwardSource(xShape, outH, outW, m), sizeOf(xShape), [h(dy)]);
    },
  };
  Object.assign(backend, gpuBatchNorm(dev, (x) => h(x as Handle)));
  if (dev.synchronous) backend.readSync = (x) => dev.readSync(h(x), h(x).size);
  return backend;
}

function pickMode(requested: string | undefined): GpuMode {
  if (requested === undefined) {
    const avail = availableGpuModes();
    // cpu mode always works, so this never comes up empty
    return avail[0] ?? 'cpu';
  }
  if (!(GPU_MODES as readonly string[]).includes(requested)) {
    throw new Error(`setBackend('gpu', { mode: '${requested}' }): unknown gpu.js mode '${requested}'; expected one of ${GPU_MODES.join(', ')}`);
  }
  return requested as GpuMode;
}

/** Joins inputs along `axis` in chunks of a few inputs per kernel, then joins the partial results. */
function concat(dev: Device, xs: GpuHandle[], shapes: readonly Shape[], axis: number): GpuHandle {
  const outer = sizeOf(shapes[0].slice(0, axis));
  let parts = xs.map((x, k) => ({ x, chunk: sizeOf(shapes[k].slice(axis)), owned: false }));
  parts = parts.filter((p) => p.chunk > 0 || parts.length === 1);
  if (outer === 0 || parts.length === 0) return dev.run('concat', K.fillSource, 0, [0]);
  const temps: GpuHandle[] = [];
  try {
    while (parts.length > 1 || !parts[0].owned) {
      const next: typeof parts = [];
      for (let s = 0; s < parts.length; s += CONCAT_CHUNK) {
        const group = parts.slice(s, s + CONCAT_CHUNK);
        const chunk = group.reduce((a, p) => a + p.chunk, 0);
        const out = dev.run('concat', K.concatSource(group.map((p) => p.chunk), outer), outer * chunk, group.map((p) => p.x));
        next.push({ x: out, chunk, owned: true });
      }
      for (const p of parts) if (p.owned) temps.push(p.x);
      parts = next;
    }
  } catch (e) {
    for (const p of parts) if (p.owned) temps.push(p.x);
    const what = `concat of ${xs.length} inputs ${shapes.map(fmt).join(' ')} along axis ${axis}: ${(e as Error).message}`;
    // a size error stays one, so callers can still tell what would fit
    if (e instanceof TensorSizeLimitError) throw new TensorSizeLimitError(e.op, e.elements, e.limit, what);
    throw new Error(what, { cause: e });
  } finally {
    for (const t of temps) dev.release(t);
  }
  return parts[0].x;
}
