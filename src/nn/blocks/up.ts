import { relu } from '../../autograd/ops/elementwise.js';
import { resize } from '../../autograd/ops/image.js';
import { concat } from '../../autograd/ops/layout.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Conv2d } from '../layers/conv.js';
import { Module } from '../module.js';
import type { BlockOptions } from './conv-bn-relu.js';
import { ResidualFirst } from './residual.js';

/**
 * Up(f) decoder block: nearest upsample ×2 → Conv2×2(f, 'same') → ReLU → concat [up, skip] along
 * channels → RB_first(outChannels, default f). forward(x [N, Cin, H, W], skip [N, Cs, 2H, 2W]) →
 * [N, outChannels, 2H, 2W]. Parameters `conv.*`, `block.*`.
 */
export class Up extends Module {
  conv: Conv2d;
  block: ResidualFirst;
  constructor(readonly inChannels: number, readonly skipChannels: number, readonly channels: number, opts: BlockOptions & { outChannels?: number } = {}) {
    super();
    const s = opts.seed ?? 0;
    this.conv = new Conv2d(inChannels, channels, { kernel: 2, padding: 'same', bias: opts.bias ?? true, seed: s, dtype: opts.dtype });
    this.block = new ResidualFirst(channels + skipChannels, opts.outChannels ?? channels, { ...opts, seed: s + 1 });
  }
  forward(x: Tensor, skip: Tensor): Tensor {
    if (!skip || skip.rank !== 4 || x.rank !== 4 || skip.shape[2] !== 2 * x.shape[2] || skip.shape[3] !== 2 * x.shape[3] || skip.shape[1] !== this.skipChannels) {
      throw new Error(`Up: expected x [N, ${this.inChannels}, H, W] and skip [N, ${this.skipChannels}, 2H, 2W], got ${fmt(x.shape)} and ${skip ? fmt(skip.shape) : 'none'}`);
    }
    const up = relu(this.conv.forward(resize(x, [2 * x.shape[2], 2 * x.shape[3]], 'nearest')));
    return this.block.forward(concat([up, skip], 1));
  }
}
