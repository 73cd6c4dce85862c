import { mean, softmax } from '../../autograd/ops/composite.js';
import { leakyRelu } from '../../autograd/ops/composite.js';
import { relu, sigmoid } from '../../autograd/ops/elementwise.js';
import { avgPool2d, maxPool2d, resize, type Pool2dOptions } from '../../autograd/ops/image.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** Parameter-free layers: activations, pooling, resampling, identity. */

/** max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** x for x > 0, slope·x otherwise (default slope 0.01; FocusNet uses 0.3). */
export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.slope);
  }
}

/** σ(x) = 1/(1 + e⁻ˣ). */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** Softmax along `axis` (default 1, the channel axis of NCHW). */
export class Softmax extends Module {
  constructor(readonly axis = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.axis);
  }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Max pooling, x [N, C, H, W]; kernel 2 stride 2 by default. */
export class MaxPool2d extends Module {
  readonly opts: Pool2dOptions;
  constructor(opts: Partial<Pool2dOptions> = {}) {
    super();
    this.opts = { kernel: opts.kernel ?? 2, stride: opts.stride, padding: opts.padding };
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.opts);
  }
}

/** Average pooling (padding counts as zeros), x [N, C, H, W]; kernel 2 stride 2 by default. */
export class AvgPool2d extends Module {
  readonly opts: Pool2dOptions;
  constructor(opts: Partial<Pool2dOptions> = {}) {
    super();
    this.opts = { kernel: opts.kernel ?? 2, stride: opts.stride, padding: opts.padding };
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.opts);
  }
}

/** Global average pooling: [N, C, H, W] → [N, C, 1, 1]. */
export class GlobalAvgPool extends Module {
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`GlobalAvgPool: expected input [N, C, H, W], got ${fmt(x.shape)}`);
    return mean(x, [2, 3], { keepDims: true });
  }
}

/** Resamples H×W by an integer or fractional scale factor (default 2), 'nearest' (default) or 'bilinear' (half-pixel centres). */
export class Upsample extends Module {
  constructor(readonly scale: number | readonly [number, number] = 2, readonly mode: 'nearest' | 'bilinear' = 'nearest') {
    super();
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`Upsample: expected input [N, C, H, W], got ${fmt(x.shape)}`);
    const [sh, sw] = typeof this.scale === 'number' ? [this.scale, this.scale] : this.scale;
    return resize(x, [Math.floor(x.shape[2] * sh), Math.floor(x.shape[3] * sw)], this.mode);
  }
}

/** Applies its modules in order; parameters are named by index (`0.weight`), as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }
  override namedChildren(): [string, Module][] {
    return this.layers.map((m, i) => [String(i), m]);
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((y, m) => m.forward(y), x);
  }
}
