import { add } from '../../autograd/ops/elementwise.js';
import { conv2d, convTranspose2d, convTranspose2dBias, type Conv2dOptions as ConvOpOptions } from '../../autograd/ops/image.js';
import { reshape } from '../../autograd/ops/layout.js';
import type { DType } from '../../tensor/dtype.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { initialize, zerosInit, type Initializer } from '../init.js';
import { Module } from '../module.js';

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface Conv2dOptions {
  /** Kernel size (default 3). */
  kernel?: Pair;
  stride?: Pair;
  /**
   * A number, [h, w], [top, bottom, left, right], 'valid', or 'same' (default). With stride > 1, 'same'
   * follows TensorFlow/Keras: output ⌈H/s⌉, total padding max((⌈H/s⌉−1)s + d(k−1) + 1 − H, 0), the odd
   * pixel at the bottom/right.
   */
  padding?: Pair | readonly [number, number, number, number] | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  /** Add a learned bias (default true). */
  bias?: boolean;
  /** Weight initialiser (default He normal); biases start at zero. */
  init?: Initializer;
  seed?: number;
  dtype?: DType;
}

/** TF 'same' padding of one axis for stride s: output ⌈n/s⌉. */
function samePad(n: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + d * (k - 1) + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * 2-D convolution layer: y = conv2d(x, weight) + bias, x [N, Cin, H, W] → [N, Cout, Ho, Wo].
 * weight [Cout, Cin/groups, kh, kw] (PyTorch layout), bias [Cout].
 * @example const conv = new Conv2d(1, 16, { kernel: 3, bias: false, seed: 1 }); conv.forward(x);
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly padding: NonNullable<Conv2dOptions['padding']>;

  constructor(readonly inChannels: number, readonly outChannels: number, opts: Conv2dOptions = {}) {
    super();
    this.kernel = pair(opts.kernel ?? 3);
    this.stride = pair(opts.stride ?? 1);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    this.padding = opts.padding ?? 'same';
    if (inChannels % this.groups || outChannels % this.groups) throw new Error(`Conv2d: channels ${inChannels} → ${outChannels} are not divisible by groups ${this.groups}`);
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.param(initialize(opts.init ?? 'heNormal', [outChannels, inChannels / this.groups, ...this.kernel], { seed: opts.seed ?? 0, dtype }));
    this.bias = opts.bias ?? true ? this.param(zerosInit([outChannels], { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    const y = conv2d(x, this.weight, this.geometry(x));
    return this.bias ? add(y, reshape(this.bias, [1, this.outChannels, 1, 1])) : y;
  }

  /** The conv2d options for input x, or an input of that shape (checked): 'same' with a stride becomes explicit padding for its size. */
  geometry(x: Tensor | readonly number[]): ConvOpOptions {
    const xShape = 'shape' in x ? x.shape : x;
    if (xShape.length !== 4 || xShape[1] !== this.inChannels) throw new Error(`Conv2d(${this.inChannels}→${this.outChannels}): expected input [N, ${this.inChannels}, H, W], got ${fmt(xShape)}`);
    let padding = this.padding;
    if (padding === 'same' && (this.stride[0] > 1 || this.stride[1] > 1)) {
      padding = [...samePad(xShape[2], this.kernel[0], this.stride[0], this.dilation[0]), ...samePad(xShape[3], this.kernel[1], this.stride[1], this.dilation[1])];
    }
    return { stride: this.stride, padding, dilation: this.dilation, groups: this.groups };
  }
}

export interface ConvTranspose2dOptions {
  /** Kernel size (default 2). */
  kernel?: Pair;
  /** Stride (default 2). */
  stride?: Pair;
  /**
   * A number or [h, w] (PyTorch's padding), or 'same' (default): output exactly stride × input, with
   * p = max(0, ⌈(k − s)/2⌉) and outputPadding = s + 2p − k (as Keras' Conv2DTranspose 'same').
   */
  padding?: Pair | 'same';
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Add a learned bias (default true). */
  bias?: boolean;
  init?: Initializer;
  seed?: number;
  dtype?: DType;
}

/**
 * 2-D transposed convolution (PyTorch's ConvTranspose2d): x [N, Cin, H, W] → [N, Cout, Ho, Wo] with
 * Ho = (H−1)s − 2p + d(kh−1) + outputPadding + 1. weight [Cin, Cout/groups, kh, kw], bias [Cout].
 * The default (kernel 2, stride 2) doubles H and W, as in U-Net's up-convolution.
 */
export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly pad: [number, number];
  readonly outputPadding: [number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, opts: ConvTranspose2dOptions = {}) {
    super();
    this.kernel = pair(opts.kernel ?? 2);
    this.stride = pair(opts.stride ?? 2);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) throw new Error(`ConvTranspose2d: channels ${inChannels} → ${outChannels} are not divisible by groups ${this.groups}`);
    const padding = opts.padding ?? 'same';
    if (padding === 'same') {
      if (this.dilation[0] !== 1 || this.dilation[1] !== 1) throw new Error("ConvTranspose2d: padding 'same' needs dilation 1");
      const p = [0, 1].map((i) => Math.max(0, Math.ceil((this.kernel[i] - this.stride[i]) / 2)));
      this.pad = [p[0], p[1]];
      this.outputPadding = [0, 1].map((i) => this.stride[i] + 2 * p[i] - this.kernel[i]) as [number, number];
      if (this.outputPadding.some((op, i) => op >= this.stride[i])) {
        throw new Error(`ConvTranspose2d: padding 'same' cannot give stride × input for kernel ${fmt(this.kernel)} and stride ${fmt(this.stride)} (kernel − stride is odd with stride 1); pass a numeric padding`);
      }
    } else {
      this.pad = pair(padding);
      this.outputPadding = pair(opts.outputPadding ?? 0);
    }
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.param(initialize(opts.init ?? 'heNormal', [inChannels, outChannels / this.groups, ...this.kernel], { seed: opts.seed ?? 0, dtype }));
    this.bias = opts.bias ?? true ? this.param(zerosInit([outChannels], { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) throw new Error(`ConvTranspose2d(${this.inChannels}→${this.outChannels}): expected input [N, ${this.inChannels}, H, W], got ${fmt(x.shape)}`);
    const opts = { stride: this.stride, padding: this.pad, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups };
    return this.bias ? convTranspose2dBias(x, this.weight, this.bias, opts) : convTranspose2d(x, this.weight, opts);
  }
}
