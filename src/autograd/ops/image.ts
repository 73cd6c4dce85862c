import type { Conv2dGeometry, ConvAffineArgs, Pool2dGeometry, ResizeMode } from '../../tensor/backend.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { isGradEnabled } from '../../tensor/engine.js';
import { checkSame, record, wrap, type GradFn } from '../graph.js';
import { add, mul, relu } from './elementwise.js';
import { reshape } from './layout.js';

/** Image ops on NCHW tensors: convolution, transposed convolution, pooling and resizing. */

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface Conv2dOptions {
  stride?: Pair;
  /** A number or [h, w] (symmetric), [top, bottom, left, right], or 'same' (stride 1 only, as in PyTorch) or 'valid'. */
  padding?: Pair | readonly [number, number, number, number] | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

function padOf(p: Conv2dOptions['padding'], kernel: [number, number], dilation: [number, number], stride: [number, number], op: string): [number, number, number, number] {
  if (p === undefined || p === 'valid') return [0, 0, 0, 0];
  if (p === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new Error(`${op}: padding 'same' needs stride 1, got ${fmt(stride)}`);
    const th = dilation[0] * (kernel[0] - 1);
    const tw = dilation[1] * (kernel[1] - 1);
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  if (typeof p === 'number') return [p, p, p, p];
  if (p.length === 2) return [p[0], p[0], p[1], p[1]];
  return [p[0], p[1], p[2], p[3]];
}

function checkNCHW(op: string, shape: readonly number[]): void {
  if (shape.length !== 4) throw new Error(`${op}: expected an NCHW input of rank 4, got ${fmt(shape)}`);
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch). x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw].
 * Output [N, Cout, Ho, Wo] with Ho = ⌊(H + pads − d(kh−1) − 1)/s⌋ + 1. Bias is added by the caller.
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const { dtype, backend } = checkSame('conv2d', [x, w]);
  const { geo, outShape } = convGeometry('conv2d', x.shape, w, opts);
  const out = wrap(backend, backend.conv2d(x.handle, x.shape, w.handle, w.shape, outShape, geo, dtype), outShape, dtype);
  return record('conv2d', [x, w], out, { geo });
}

/** The geometry and output shape of conv2d(x, w, opts) for x of shape `xShape`, or an error naming `op` and the shapes. */
function convGeometry(op: string, xShape: readonly number[], w: Tensor, opts: Conv2dOptions): { geo: Conv2dGeometry; outShape: number[] } {
  checkNCHW(op, xShape);
  if (w.rank !== 4) throw new Error(`${op}: weight must be [Cout, Cin/groups, kh, kw], got ${fmt(w.shape)}`);
  const groups = opts.groups ?? 1;
  const [n, cin, h, wd] = xShape;
  const [cout, cpg, kh, kw] = w.shape;
  if (cin !== cpg * groups || cout % groups !== 0) throw new Error(`${op}: input ${fmt(xShape)} does not match weight ${fmt(w.shape)} with groups ${groups}`);
  const stride = pair(opts.stride ?? 1);
  const dilation = pair(opts.dilation ?? 1);
  const pad = padOf(opts.padding, [kh, kw], dilation, stride, op);
  const ho = Math.floor((h + pad[0] + pad[1] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const wo = Math.floor((wd + pad[2] + pad[3] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  if (ho <= 0 || wo <= 0) throw new Error(`${op}: input ${fmt(xShape)} is too small for kernel ${fmt([kh, kw])} with padding ${fmt(pad)}`);
  return { geo: { stride, pad, dilation, groups }, outShape: [n, cout, ho, wo] };
}

/** convGeometry, with scale and shift checked to be [Cout]. */
function affineGeometry(op: string, xShape: readonly number[], w: Tensor, scale: Tensor, shift: Tensor, opts: Conv2dOptions): { geo: Conv2dGeometry; outShape: number[] } {
  const r = convGeometry(op, xShape, w, opts);
  const cout = r.outShape[1];
  for (const t of [scale, shift]) if (t.rank !== 1 || t.shape[0] !== cout) throw new Error(`${op}: scale and shift must be [${cout}] for weight ${fmt(w.shape)}, got ${fmt(t.shape)}`);
  return r;
}

export interface Conv2dAffineOptions extends Conv2dOptions {
  /** Apply max(·, 0) last (default false). */
  relu?: boolean;
}

/**
 * relu?(conv2d(x, w)·scale + shift), scale and shift [Cout] per output channel: Conv → BatchNorm in
 * eval mode (folded into scale and shift, as is a conv bias) → ReLU as one op. Where no gradient is
 * needed (noGrad, or no input requires one) and the backend has the fused kernel (cpu), the output is
 * written in one pass, with the same bits as the composed ops; otherwise it is composed of conv2d, mul,
 * add and relu, and gradients flow through those.
 * @example noGrad(() => conv2dAffine(x, w, scale, shift, { padding: 1, relu: true }));
 */
export function conv2dAffine(x: Tensor, w: Tensor, scale: Tensor, shift: Tensor, opts: Conv2dAffineOptions = {}): Tensor {
  const { dtype, backend } = checkSame('conv2dAffine', [x, w, scale, shift]);
  const { geo, outShape } = affineGeometry('conv2dAffine', x.shape, w, scale, shift, opts);
  const cout = outShape[1];
  const needsGrad = isGradEnabled() && [x, w, scale, shift].some((t) => t.requiresGrad);
  if (!needsGrad && backend.conv2dAffine) {
    return wrap(backend, backend.conv2dAffine(x.handle, x.shape, w.handle, w.shape, outShape, geo, scale.handle, shift.handle, opts.relu ?? false, dtype), outShape, dtype);
  }
  const cshape = [1, cout, 1, 1];
  const y = add(mul(conv2d(x, w, opts), reshape(scale, cshape)), reshape(shift, cshape));
  return opts.relu ? relu(y) : y;
}

/** One conv2dAffine of conv2dAffinePair: weights [Cout, Cin, kh, kw], scale and shift [Cout], options. */
export interface ConvAffineSpec {
  w: Tensor;
  scale: Tensor;
  shift: Tensor;
  opts?: Conv2dAffineOptions;
}

/**
 * conv2dAffine(conv2dAffine(x, first…), second…): U-Net's double conv in eval mode. Where no gradient is
 * needed and the backend has the fused op (cpu), the first's output is handed to the second in the
 * layout its convolution reads, never written out as a tensor; the same bits as the two calls, which it
 * is otherwise (gradients flow through those).
 * @example noGrad(() => conv2dAffinePair(x, { w: w1, scale: s1, shift: t1, opts: { padding: 1, relu: true } }, { w: w2, scale: s2, shift: t2, opts: { padding: 1, relu: true } }));
 */
export function conv2dAffinePair(x: Tensor, first: ConvAffineSpec, second: ConvAffineSpec): Tensor {
  const parts = [x, first.w, first.scale, first.shift, second.w, second.scale, second.shift];
  const { dtype, backend } = checkSame('conv2dAffinePair', parts);
  const needsGrad = isGradEnabled() && parts.some((t) => t.requiresGrad);
  if (needsGrad || !backend.conv2dAffinePair) {
    const mid = conv2dAffine(x, first.w, first.scale, first.shift, first.opts);
    return conv2dAffine(mid, second.w, second.scale, second.shift, second.opts);
  }
  const args = (s: ConvAffineSpec, input: readonly number[]): ConvAffineArgs => {
    const { geo, outShape } = affineGeometry('conv2dAffinePair', input, s.w, s.scale, s.shift, s.opts ?? {});
    return { w: s.w.handle, wShape: s.w.shape, outShape, g: geo, scale: s.scale.handle, shift: s.shift.handle, relu: s.opts?.relu ?? false };
  };
  const a = args(first, x.shape);
  const b = args(second, a.outShape);
  return wrap(backend, backend.conv2dAffinePair(x.handle, x.shape, a, b, dtype), b.outShape, dtype);
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/**
 * 2-D transposed convolution (the gradient of conv2d w.r.t. its input), as PyTorch's ConvTranspose2d.
 * x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw]; Ho = (H−1)s − 2p + d(kh−1) + outputPadding + 1.
 */
export function convTranspose2d(x: Tensor, w: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  const { dtype, backend } = checkSame('convTranspose2d', [x, w]);
  const { geo, outShape } = convTransposeGeometry('convTranspose2d', x, w, opts);
  const out = wrap(backend, backend.conv2dBackwardInput(x.handle, x.shape, w.handle, w.shape, outShape, geo, dtype), outShape, dtype);
  return record('convTranspose2d', [x, w], out, { geo });
}

/**
 * convTranspose2d(x, w, opts) + bias[c] per output channel (bias [Cout]), as ConvTranspose2d computes
 * it. Where no gradient is needed (noGrad, or no input requires one) and the backend has the fused
 * kernel (cpu), the bias is added as the output is written, with the same bits as the composed ops;
 * otherwise it is convTranspose2d then add, and gradients flow through those.
 * @example noGrad(() => convTranspose2dBias(x, w, bias, { stride: 2 }));
 */
export function convTranspose2dBias(x: Tensor, w: Tensor, bias: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  const { dtype, backend } = checkSame('convTranspose2dBias', [x, w, bias]);
  const { geo, outShape } = convTransposeGeometry('convTranspose2dBias', x, w, opts);
  const cout = outShape[1];
  if (bias.rank !== 1 || bias.shape[0] !== cout) throw new Error(`convTranspose2dBias: bias must be [${cout}] for weight ${fmt(w.shape)}, got ${fmt(bias.shape)}`);
  const needsGrad = isGradEnabled() && [x, w, bias].some((t) => t.requiresGrad);
  if (!needsGrad && backend.convTranspose2dBias) {
    return wrap(backend, backend.convTranspose2dBias(x.handle, x.shape, w.handle, w.shape, outShape, geo, bias.handle, dtype), outShape, dtype);
  }
  return add(convTranspose2d(x, w, opts), reshape(bias, [1, cout, 1, 1]));
}

/** The geometry and output shape of convTranspose2d(x, w, opts), or an error naming `op` and the shapes. */
function convTransposeGeometry(op: string, x: Tensor, w: Tensor, opts: ConvTranspose2dOptions): { geo: Conv2dGeometry; outShape: number[] } {
  checkNCHW(op, x.shape);
  if (w.rank !== 4) throw new Error(`${op}: weight must be [Cin, Cout/groups, kh, kw], got ${fmt(w.shape)}`);
  const groups = opts.groups ?? 1;
  const [n, cin, h, wd] = x.shape;
  const [wcin, cpg, kh, kw] = w.shape;
  if (cin !== wcin || cin % groups !== 0) throw new Error(`${op}: input ${fmt(x.shape)} does not match weight ${fmt(w.shape)} with groups ${groups}`);
  const stride = pair(opts.stride ?? 1);
  const dilation = pair(opts.dilation ?? 1);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [oph, opw] = pair(opts.outputPadding ?? 0);
  if (oph >= Math.max(stride[0], dilation[0]) || opw >= Math.max(stride[1], dilation[1])) throw new Error(`${op}: outputPadding ${fmt([oph, opw])} must be smaller than stride or dilation`);
  const ho = (h - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1;
  const wo = (wd - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1;
  if (ho <= 0 || wo <= 0) throw new Error(`${op}: output would be empty for input ${fmt(x.shape)}`);
  return { geo: { stride, pad: [ph, ph + oph, pw, pw + opw], dilation, groups }, outShape: [n, cpg * groups, ho, wo] };
}

export interface Pool2dOptions {
  kernel: Pair;
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

function poolGeometry(op: string, x: Tensor, opts: Pool2dOptions): { geo: Pool2dGeometry; outShape: number[] } {
  checkNCHW(op, x.shape);
  const kernel = pair(opts.kernel);
  const stride = pair(opts.stride ?? kernel);
  const [ph, pw] = pair(opts.padding ?? 0);
  if (ph * 2 > kernel[0] || pw * 2 > kernel[1]) throw new Error(`${op}: padding ${fmt([ph, pw])} must be at most half the kernel ${fmt(kernel)}`);
  const [n, c, h, w] = x.shape;
  const ho = Math.floor((h + 2 * ph - kernel[0]) / stride[0]) + 1;
  const wo = Math.floor((w + 2 * pw - kernel[1]) / stride[1]) + 1;
  if (ho <= 0 || wo <= 0) throw new Error(`${op}: input ${fmt(x.shape)} is smaller than the kernel ${fmt(kernel)}`);
  return { geo: { kernel, stride, pad: [ph, ph, pw, pw] }, outShape: [n, c, ho, wo] };
}

/** Max pooling over windows; the gradient goes to the first maximum of each window (row-major). */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const { dtype, backend } = checkSame('maxPool2d', [x]);
  const { geo, outShape } = poolGeometry('maxPool2d', x, opts);
  const out = wrap(backend, backend.maxPool2d(x.handle, x.shape, outShape, geo, dtype), outShape, dtype);
  return record('maxPool2d', [x], out, { geo });
}

/** Average pooling over windows; padding cells count as zeros (PyTorch's count_include_pad=True). */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const { dtype, backend } = checkSame('avgPool2d', [x]);
  const { geo, outShape } = poolGeometry('avgPool2d', x, opts);
  const out = wrap(backend, backend.avgPool2d(x.handle, x.shape, outShape, geo, dtype), outShape, dtype);
  return record('avgPool2d', [x], out, { geo });
}

/**
 * Resizes H×W to [outH, outW]. `bilinear` uses half-pixel centres (PyTorch's align_corners=False);
 * `nearest` picks source index ⌊dst·in/out⌋ (PyTorch's 'nearest').
 */
export function resize(x: Tensor, size: readonly [number, number], mode: ResizeMode = 'nearest'): Tensor {
  const { dtype, backend } = checkSame('resize', [x]);
  checkNCHW('resize', x.shape);
  const [oh, ow] = size;
  if (!(oh > 0 && ow > 0 && Number.isInteger(oh) && Number.isInteger(ow))) throw new Error(`resize: invalid output size ${fmt(size)}`);
  if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`resize: unknown mode '${mode}' (nearest | bilinear)`);
  const outShape = [x.shape[0], x.shape[1], oh, ow];
  const out = wrap(backend, backend.resize(x.handle, x.shape, oh, ow, mode, dtype), outShape, dtype);
  return record('resize', [x], out, { mode });
}

export const imageGrads = {
  conv2d: (g, n) => {
    const [x, w] = n.inputs;
    const geo = n.attrs.geo as Conv2dGeometry;
    const b = g.backend;
    return [
      x.requiresGrad ? wrap(b, b.conv2dBackwardInput(g.handle, g.shape, w.handle, w.shape, x.shape, geo, g.dtype), x.shape, g.dtype) : null,
      w.requiresGrad ? wrap(b, b.conv2dBackwardFilter(x.handle, x.shape, g.handle, g.shape, w.shape, geo, g.dtype), w.shape, g.dtype) : null,
    ];
  },
  convTranspose2d: (g, n) => {
    // the transposed conv is conv2d's input-gradient: its gradients are conv2d itself and the filter gradient
    const [x, w] = n.inputs;
    const geo = n.attrs.geo as Conv2dGeometry;
    const b = g.backend;
    return [
      x.requiresGrad ? wrap(b, b.conv2d(g.handle, g.shape, w.handle, w.shape, x.shape, geo, g.dtype), x.shape, g.dtype) : null,
      w.requiresGrad ? wrap(b, b.conv2dBackwardFilter(g.handle, g.shape, x.handle, x.shape, w.shape, geo, g.dtype), w.shape, g.dtype) : null,
    ];
  },
  maxPool2d: (g, n) => {
    const x = n.inputs[0];
    const b = g.backend;
    return [wrap(b, b.maxPool2dBackward(g.handle, x.handle, x.shape, g.shape, n.attrs.geo as Pool2dGeometry, g.dtype), x.shape, g.dtype)];
  },
  avgPool2d: (g, n) => {
    const x = n.inputs[0];
    const b = g.backend;
    return [wrap(b, b.avgPool2dBackward(g.handle, x.shape, g.shape, n.attrs.geo as Pool2dGeometry, g.dtype), x.shape, g.dtype)];
  },
  resize: (g, n) => {
    const x = n.inputs[0];
    const b = g.backend;
    return [wrap(b, b.resizeBackward(g.handle, x.shape, g.shape[2], g.shape[3], n.attrs.mode as ResizeMode, g.dtype), x.shape, g.dtype)];
  },
} satisfies Record<'conv2d' | 'convTranspose2d' | 'maxPool2d' | 'avgPool2d' | 'resize', GradFn>;
