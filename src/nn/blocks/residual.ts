import { add } from '../../autograd/ops/elementwise.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Module } from '../module.js';
import type { BlockOptions } from './conv-bn-relu.js';

/**
 * RB_first(f), the first pre-activation residual block of a level (He et al. 2016, "Identity mappings"):
 * c1 = Conv3×3(f)(x); r = Conv3×3(f)(ReLU(BN(c1))); out = shortcut(x) + r, with shortcut the identity
 * when Cin = f, else Conv1×1(f). No activation after the sum. x [N, Cin, H, W] → [N, f, H, W].
 * Parameters `conv1.*`, `bn.*`, `conv2.*`, `shortcut.*` (when Cin ≠ f).
 */
export class ResidualFirst extends Module {
  conv1: Conv2d;
  bn: BatchNorm2d;
  conv2: Conv2d;
  shortcut: Conv2d | null;
  constructor(readonly inChannels: number, readonly outChannels: number, opts: BlockOptions = {}) {
    super();
    const s = opts.seed ?? 0;
    const c = { bias: opts.bias ?? true, dtype: opts.dtype, padding: 'same' } as const;
    this.conv1 = new Conv2d(inChannels, outChannels, { ...c, kernel: 3, seed: s });
    this.bn = new BatchNorm2d(outChannels, { dtype: opts.dtype });
    this.conv2 = new Conv2d(outChannels, outChannels, { ...c, kernel: 3, seed: s + 1 });
    this.shortcut = inChannels === outChannels ? null : new Conv2d(inChannels, outChannels, { ...c, kernel: 1, seed: s + 2 });
  }
  forward(x: Tensor): Tensor {
    const c1 = this.conv1.forward(x);
    const r = this.conv2.forward(this.bn.forwardRelu(c1));
    return add(this.shortcut ? this.shortcut.forward(x) : x, r);
  }
}

/**
 * RB_down(f), the down-sampling pre-activation residual block: c1 = Conv3×3(f, stride 2)(ReLU(BN(x)));
 * r = Conv3×3(f)(ReLU(BN(c1))); out = Conv1×1(f, stride 2)(x) + r. x [N, Cin, H, W] →
 * [N, f, ⌈H/2⌉, ⌈W/2⌉] ('same' padding as Keras). Parameters `bn1.*`, `conv1.*`, `bn2.*`, `conv2.*`,
 * `shortcut.*`.
 */
export class ResidualDown extends Module {
  bn1: BatchNorm2d;
  conv1: Conv2d;
  bn2: BatchNorm2d;
  conv2: Conv2d;
  shortcut: Conv2d;
  constructor(readonly inChannels: number, readonly outChannels: number, opts: BlockOptions = {}) {
    super();
    const s = opts.seed ?? 0;
    const c = { bias: opts.bias ?? true, dtype: opts.dtype, padding: 'same' } as const;
    this.bn1 = new BatchNorm2d(inChannels, { dtype: opts.dtype });
    this.conv1 = new Conv2d(inChannels, outChannels, { ...c, kernel: 3, stride: 2, seed: s });
    this.bn2 = new BatchNorm2d(outChannels, { dtype: opts.dtype });
    this.conv2 = new Conv2d(outChannels, outChannels, { ...c, kernel: 3, seed: s + 1 });
    this.shortcut = new Conv2d(inChannels, outChannels, { ...c, kernel: 1, stride: 2, seed: s + 2 });
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) throw new Error(`ResidualDown(${this.inChannels}→${this.outChannels}): expected input [N, ${this.inChannels}, H, W], got ${fmt(x.shape)}`);
    const c1 = this.conv1.forward(this.bn1.forwardRelu(x));
    const r = this.conv2.forward(this.bn2.forwardRelu(c1));
    return add(this.shortcut.forward(x), r);
  }
}
