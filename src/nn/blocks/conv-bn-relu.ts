import { add, mul } from '../../autograd/ops/elementwise.js';
import { conv2dAffine, conv2dAffinePair, type ConvAffineSpec } from '../../autograd/ops/image.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Module } from '../module.js';

export interface BlockOptions {
  /** Convolutions carry a bias (default true, as Keras). */
  bias?: boolean;
  seed?: number;
  dtype?: DType;
}

/**
 * ConvBNReLU(f, k, s): Conv k×k stride s, 'same' padding, He-normal init → BatchNorm → ReLU.
 * x [N, Cin, H, W] → [N, f, ⌈H/s⌉, ⌈W/s⌉]. Parameters `conv.*`, `bn.*`.
 */
export class ConvBNReLU extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  constructor(inChannels: number, outChannels: number, opts: BlockOptions & { kernel?: number; stride?: number } = {}) {
    super();
    const seed = opts.seed ?? 0;
    this.conv = new Conv2d(inChannels, outChannels, { kernel: opts.kernel ?? 3, stride: opts.stride ?? 1, padding: 'same', bias: opts.bias ?? true, seed, dtype: opts.dtype });
    this.bn = new BatchNorm2d(outChannels, { dtype: opts.dtype });
  }
  forward(x: Tensor): Tensor {
    if (!this.bn.training) return convBNReLUEval(this.conv, this.bn, x);
    return this.bn.forwardRelu(this.conv.forward(x));
  }
}

/**
 * relu(bn(conv(·))) in eval mode as the arguments of one conv2dAffine, for an input of shape `xShape`:
 * the batch norm's scale and shift, with the conv bias folded in ((y + b)·s + t = y·s + (b·s + t)),
 * applied as the conv's output is written.
 */
function evalSpec(conv: Conv2d, bn: BatchNorm2d, xShape: readonly number[]): ConvAffineSpec {
  const { scale, shift } = bn.evalAffine();
  const t = conv.bias ? add(mul(conv.bias, scale), shift) : shift;
  return { w: conv.weight, scale, shift: t, opts: { ...conv.geometry(xShape), relu: true } };
}

/** relu(bn(conv(x))) in eval mode as one conv2dAffine (see evalSpec). */
export function convBNReLUEval(conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor {
  const s = evalSpec(conv, bn, x.shape);
  return conv2dAffine(x, s.w, s.scale, s.shift, s.opts);
}

/**
 * The U-Net level block: [Conv3×3 (padding 1) → BatchNorm → ReLU] ×2, x [N, Cin, H, W] → [N, C, H, W].
 * Parameters `conv1.weight` [C, Cin, 3, 3], `bn1.*`, `conv2.weight` [C, C, 3, 3], `bn2.*` (and
 * `convK.bias` when `bias`), the names of the benchmark U-Net.
 */
export class DoubleConv extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  constructor(inChannels: number, outChannels: number, opts: BlockOptions = {}) {
    super();
    const seed = opts.seed ?? 0;
    const common = { kernel: 3, padding: 1, bias: opts.bias ?? false, dtype: opts.dtype } as const;
    this.conv1 = new Conv2d(inChannels, outChannels, { ...common, seed });
    this.bn1 = new BatchNorm2d(outChannels, { dtype: opts.dtype });
    this.conv2 = new Conv2d(outChannels, outChannels, { ...common, seed: seed + 1 });
    this.bn2 = new BatchNorm2d(outChannels, { dtype: opts.dtype });
  }
  forward(x: Tensor): Tensor {
    if (!this.bn1.training) {
      const [n, , h, w] = x.shape; // padding 1 keeps H × W
      return conv2dAffinePair(x, evalSpec(this.conv1, this.bn1, x.shape), evalSpec(this.conv2, this.bn2, [n, this.conv2.inChannels, h, w]));
    }
    const h = this.bn1.forwardRelu(this.conv1.forward(x));
    return this.bn2.forwardRelu(this.conv2.forward(h));
  }
}
