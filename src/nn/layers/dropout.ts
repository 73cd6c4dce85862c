import { mul } from '../../autograd/ops/elementwise.js';
import { fromTyped } from '../../tensor/creation.js';
import { Rng } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

function checkP(layer: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new Error(`${layer}: drop probability must be in [0, 1), got ${p}`);
}

/** A host-side mask of `size` values: 0 with probability p, else 1/(1 − p) (PyTorch's inverted dropout). */
function drawMask(rng: Rng, size: number, p: number, dtype: Tensor['dtype']): Float32Array | Float64Array {
  const m = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
  const keepScale = 1 / (1 - p);
  for (let i = 0; i < size; i++) m[i] = rng.uniform() < p ? 0 : keepScale;
  return m;
}

/**
 * Dropout (Srivastava et al. 2014): in training, zeroes each element with probability p and scales the
 * rest by 1/(1 − p); the identity in eval mode. Seeded: the layer owns an Rng that advances on every
 * call, so a run is reproducible from its seed; `reseed()` restarts the sequence.
 */
export class Dropout extends Module {
  private _rng: Rng;

  constructor(readonly p = 0.5, private readonly _seed = 0) {
    super();
    checkP('Dropout', p);
    this._rng = new Rng(_seed);
  }

  /** Restarts the mask sequence (from `seed`, or the constructor's seed). */
  reseed(seed = this._seed): void {
    this._rng = new Rng(seed);
  }

  /** The mask the next call would use, as a fresh tensor shaped like the input (advances the Rng). */
  protected mask(shape: readonly number[], dtype: Tensor['dtype']): Tensor {
    return fromTyped(drawMask(this._rng, shape.reduce((a, b) => a * b, 1), this.p, dtype), shape, { dtype });
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return mul(x, this.mask(x.shape, x.dtype));
  }
}

/**
 * Channel dropout (Tompson et al. 2015): in training, zeroes whole channels of x [N, C, H, W] with
 * probability p (one draw per (n, c)) and scales the rest by 1/(1 − p); identity in eval mode. Seeded as
 * `Dropout`.
 */
export class Dropout2d extends Dropout {
  constructor(p = 0.5, seed = 0) {
    super(p, seed);
  }

  override forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (x.rank !== 4) throw new Error(`Dropout2d: expected input [N, C, H, W], got [${x.shape.join(',')}]`);
    return mul(x, this.mask([x.shape[0], x.shape[1], 1, 1], x.dtype));
  }
}
