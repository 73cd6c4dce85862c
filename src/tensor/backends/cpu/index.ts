import type { Backend, BackendInfo, ConvAffineArgs } from '../../backend.js';
import type { ConvAffineStage } from './conv.js';
import { allocate, toTyped, type DType, type TypedArray } from '../../dtype.js';
import { adamUpdateF32 } from './adam.js';
import { batchNormBackward, batchNormForward } from './batchnorm.js';
import { allocateUninitialized, recycle } from './buffers.js';
import { binary, broadcastTo, reluGrad, unary, where } from './elementwise.js';
import * as image from './image.js';
import { concat, pad, permute, scatterAdd, slice, take } from './layout.js';
import { gemmKernel, gemmThreads } from './gemm.js';
import { matmul } from './matmul.js';
import { reduce } from './reduce.js';

type T = TypedArray;

const stageOf = (a: ConvAffineArgs): ConvAffineStage => ({ w: a.w as T, wShape: a.wShape, outShape: a.outShape, g: a.g, epi: { scale: a.scale as T, shift: a.shift as T, relu: a.relu } });

/**
 * The `cpu` backend: typed-array loops in float32 and float64. It is the reference every other backend
 * is tested against, and the backend gradient checks run on (in float64).
 */
export function createCpuBackend(): Backend {
  let live = 0;
  // a plain copy: slice() of an array on a SharedArrayBuffer (large outputs, buffers.ts) takes twice as
  // long as set() (2M floats: 3.2 vs 1.4 ms), and what the caller gets is then never shared memory
  const copyOut = (h: T, dtype: DType): T => {
    const out = allocate(dtype, h.length);
    out.set(h);
    return out;
  };
  const own = (x: T): T => {
    live++;
    return x;
  };
  return {
    name: 'cpu',
    // float32 matmul/conv run on the packed GEMM: report its kernel and thread count
    info: (): BackendInfo => ({ backend: 'cpu', mode: `typed-arrays+${gemmKernel()}`, dtypes: ['float32', 'float64'], synchronous: true, threads: gemmThreads() }),
    supports: () => true,
    upload: (data, dtype) => own(toTyped(data, dtype)),
    read: async (h, _size, dtype) => copyOut(h as T, dtype),
    readSync: (h, _size, dtype) => copyOut(h as T, dtype),
    dispose: (h) => {
      live--;
      recycle(h as T);
    },
    liveBuffers: () => live,
    fill: (size, value, dtype) => own(allocateUninitialized(dtype, size).fill(value)),
    cast: (x, size, _from, to) => {
      const out = allocateUninitialized(to, size);
      out.set(x as T);
      return own(out);
    },
    unary: (op, x, _size, dtype) => own(unary(op, x as T, dtype)),
    binary: (op, a, aShape, b, bShape, outShape, dtype) => own(binary(op, a as T, aShape, b as T, bShape, outShape, dtype)),
    reluGrad: (dy, x, _size, dtype) => own(reluGrad(dy as T, x as T, dtype)),
    adamUpdate: (theta, grad, m, v, size, s) => {
      const [t1, m1, v1] = [0, 1, 2].map(() => own(allocateUninitialized('float32', size))) as Float32Array[];
      adamUpdateF32(theta as Float32Array, grad as Float32Array, m as Float32Array, v as Float32Array, t1, m1, v1, s);
      return { theta: t1, m: m1, v: v1 };
    },
    where: (c, cs, a, as, b, bs, os, dtype) => own(where(c as T, cs, a as T, as, b as T, bs, os, dtype)),
    reduce: (op, x, shape, axes, dtype) => own(reduce(op, x as T, shape, axes, dtype)),
    matmul: (a, b, ba, bb, m, k, n, ta, tb, dtype) => own(matmul(a as T, b as T, ba, bb, m, k, n, ta, tb, dtype)),
    permute: (x, shape, perm, dtype) => own(permute(x as T, shape, perm, dtype)),
    broadcastTo: (x, shape, outShape, dtype) => own(broadcastTo(x as T, shape, outShape, dtype)),
    slice: (x, shape, begin, size, dtype) => own(slice(x as T, shape, begin, size, dtype)),
    concat: (xs, shapes, axis, dtype) => own(concat(xs as T[], shapes, axis, dtype)),
    pad: (x, shape, before, after, value, dtype) => own(pad(x as T, shape, before, after, value, dtype)),
    take: (x, idx, count, dtype) => own(take(x as T, idx as T, count, dtype)),
    scatterAdd: (idx, values, count, size, dtype) => own(scatterAdd(idx as T, values as T, count, size, dtype)),
    conv2d: (x, xs, w, ws, os, g, d) => own(image.conv2d(x as T, xs, w as T, ws, os, g, d)),
    conv2dAffine: (x, xs, w, ws, os, g, scale, shift, relu, d) => own(image.conv2dAffine(x as T, xs, w as T, ws, os, g, { scale: scale as T, shift: shift as T, relu }, d)),
    conv2dAffinePair: (x, xs, a, b, d) => own(image.conv2dAffinePair(x as T, xs, stageOf(a), stageOf(b), d)),
    conv2dBackwardInput: (dy, dys, w, ws, xs, g, d) => own(image.conv2dBackwardInput(dy as T, dys, w as T, ws, xs, g, d)),
    convTranspose2dBias: (x, xs, w, ws, os, g, bias, d) => own(image.convTranspose2dBias(x as T, xs, w as T, ws, os, g, bias as T, d)),
    conv2dBackwardFilter: (x, xs, dy, dys, ws, g, d) => own(image.conv2dBackwardFilter(x as T, xs, dy as T, dys, ws, g, d)),
    maxPool2d: (x, xs, os, g, d) => own(image.maxPool2d(x as T, xs, os, g, d)),
    maxPool2dBackward: (dy, x, xs, os, g, d) => own(image.maxPool2dBackward(dy as T, x as T, xs, os, g, d)),
    avgPool2d: (x, xs, os, g, d) => own(image.avgPool2d(x as T, xs, os, g, d)),
    avgPool2dBackward: (dy, xs, os, g, d) => own(image.avgPool2dBackward(dy as T, xs, os, g, d)),
    resize: (x, xs, h, w, m, d) => own(image.resize(x as T, xs, h, w, m, d)),
    resizeBackward: (dy, xs, h, w, m, d) => own(image.resizeBackward(dy as T, xs, h, w, m, d)),
    batchNormForward: (x, xs, gamma, beta, eps, d, relu) => {
      const r = batchNormForward(x as T, xs, gamma as T | null, beta as T | null, eps, d, relu);
      return { y: own(r.y), mean: own(r.mean), variance: own(r.variance) };
    },
    batchNormBackward: (dy, x, xs, mean, variance, gamma, eps, d, reluOut) => {
      const r = batchNormBackward(dy as T, x as T, xs, mean as T, variance as T, gamma as T | null, eps, d, reluOut as T | null | undefined);
      return { dx: own(r.dx), dgamma: own(r.dgamma), dbeta: own(r.dbeta) };
    },
  };
}

