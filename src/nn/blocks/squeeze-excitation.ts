import { mul, relu, sigmoid } from '../../autograd/ops/elementwise.js';
import { mean } from '../../autograd/ops/composite.js';
import { reshape } from '../../autograd/ops/layout.js';
import type { DType } from '../../tensor/dtype.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Linear } from '../layers/linear.js';
import { Module } from '../module.js';

/**
 * Squeeze-and-excitation (Hu et al. 2018): s = σ(W2·ReLU(W1·GAP(x))), out = x ⊙ s per channel.
 * W1 [max(1, ⌊C/r⌋), C] and W2 [C, max(1, ⌊C/r⌋)] without bias (`fc1.weight`, `fc2.weight`);
 * r = 16 by default. x [N, C, H, W] → same shape.
 */
export class SqueezeExcitation extends Module {
  fc1: Linear;
  fc2: Linear;
  constructor(readonly channels: number, opts: { ratio?: number; seed?: number; dtype?: DType } = {}) {
    super();
    const hidden = Math.max(1, Math.floor(channels / (opts.ratio ?? 16)));
    const seed = opts.seed ?? 0;
    this.fc1 = new Linear(channels, hidden, { bias: false, init: 'heNormal', seed, dtype: opts.dtype });
    this.fc2 = new Linear(hidden, channels, { bias: false, init: 'glorotUniform', seed: seed + 1, dtype: opts.dtype });
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.channels) throw new Error(`SqueezeExcitation(${this.channels}): expected input [N, ${this.channels}, H, W], got ${fmt(x.shape)}`);
    const [n, c] = x.shape;
    const squeezed = reshape(mean(x, [2, 3]), [n, c]);
    const s = sigmoid(this.fc2.forward(relu(this.fc1.forward(squeezed))));
    return mul(x, reshape(s, [n, c, 1, 1]));
  }
}
