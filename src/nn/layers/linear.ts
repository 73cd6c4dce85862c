import { add } from '../../autograd/ops/elementwise.js';
import { transpose } from '../../autograd/ops/layout.js';
import { matmul } from '../../autograd/ops/matmul.js';
import type { DType } from '../../tensor/dtype.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { initialize, zerosInit, type Initializer } from '../init.js';
import { Module } from '../module.js';

export interface LinearOptions {
  bias?: boolean;
  /** Weight initialiser (default Glorot uniform, as Keras' Dense). */
  init?: Initializer;
  seed?: number;
  dtype?: DType;
}

/** Fully connected layer: y = x·Wᵀ + b, x [N, in] → [N, out]; weight [out, in] (PyTorch layout). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.param(initialize(opts.init ?? 'glorotUniform', [outFeatures, inFeatures], { seed: opts.seed ?? 0, dtype }));
    this.bias = opts.bias ?? true ? this.param(zerosInit([outFeatures], { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) throw new Error(`Linear(${this.inFeatures}→${this.outFeatures}): expected input [N, ${this.inFeatures}], got ${fmt(x.shape)}`);
    const y = matmul(x, transpose(this.weight));
    return this.bias ? add(y, this.bias) : y;
  }
}
