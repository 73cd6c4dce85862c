import { full, rand, randn } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Rng } from '../tensor/random.js';
import { fmt } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Seeded weight initialisers. Fans follow PyTorch's `_calculate_fan_in_and_fan_out`: for a weight of
 * shape [d0, d1, …], fan_in = d1·∏rest and fan_out = d0·∏rest (conv [Cout, Cin/g, kh, kw]: fan_in =
 * Cin/g·kh·kw; Linear [out, in]: fan_in = in).
 */

export interface InitOptions {
  seed: number;
  dtype?: DType;
}

/** [fan_in, fan_out] of a weight shape (rank ≥ 2). */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2) throw new Error(`init: fan in/out need a weight of rank ≥ 2, got shape ${fmt(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1] * receptive, shape[0] * receptive];
}

/** Kaiming/He normal (He et al. 2015), ReLU gain √2, fan_in mode: N(0, 2/fan_in). */
export function heNormal(shape: readonly number[], opts: InitOptions): Tensor {
  const [fanIn] = fans(shape);
  return randn(shape, { seed: opts.seed, dtype: opts.dtype ?? 'float32', std: Math.sqrt(2 / fanIn) });
}

/** Kaiming/He uniform, ReLU gain, fan_in mode: U(−b, b) with b = √(6/fan_in). */
export function heUniform(shape: readonly number[], opts: InitOptions): Tensor {
  const [fanIn] = fans(shape);
  const b = Math.sqrt(6 / fanIn);
  return rand(shape, { seed: opts.seed, dtype: opts.dtype ?? 'float32', low: -b, high: b });
}

/** Glorot/Xavier normal (Glorot & Bengio 2010): N(0, 2/(fan_in + fan_out)). */
export function glorotNormal(shape: readonly number[], opts: InitOptions): Tensor {
  const [fanIn, fanOut] = fans(shape);
  return randn(shape, { seed: opts.seed, dtype: opts.dtype ?? 'float32', std: Math.sqrt(2 / (fanIn + fanOut)) });
}

/** Glorot/Xavier uniform: U(−b, b) with b = √(6/(fan_in + fan_out)). */
export function glorotUniform(shape: readonly number[], opts: InitOptions): Tensor {
  const [fanIn, fanOut] = fans(shape);
  const b = Math.sqrt(6 / (fanIn + fanOut));
  return rand(shape, { seed: opts.seed, dtype: opts.dtype ?? 'float32', low: -b, high: b });
}

export function zerosInit(shape: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  return full(shape, 0, { dtype: opts.dtype ?? 'float32' });
}

export function onesInit(shape: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  return full(shape, 1, { dtype: opts.dtype ?? 'float32' });
}

export type Initializer = 'heNormal' | 'heUniform' | 'glorotNormal' | 'glorotUniform' | 'zeros' | 'ones';

/** Creates a tensor with the named initialiser. */
export function initialize(kind: Initializer, shape: readonly number[], opts: InitOptions): Tensor {
  switch (kind) {
    case 'heNormal': return heNormal(shape, opts);
    case 'heUniform': return heUniform(shape, opts);
    case 'glorotNormal': return glorotNormal(shape, opts);
    case 'glorotUniform': return glorotUniform(shape, opts);
    case 'zeros': return zerosInit(shape, opts);
    case 'ones': return onesInit(shape, opts);
    default: throw new Error(`init: unknown initialiser '${kind as string}'`);
  }
}

/**
 * A deterministic stream of layer seeds from one model seed: models call it once per layer in
 * construction order, so the same model seed always gives the same weights.
 */
export function seedStream(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.nextUint32();
}
