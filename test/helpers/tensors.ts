import { tensor, type Tensor } from '../../src/tensor/index.js';
import '../../src/autograd/index.js';
import { sizeOf } from './arbitraries.js';

/** A float64 tensor from plain values. */
export const f64 = (values: readonly number[], shape: readonly number[], requiresGrad = false): Tensor =>
  tensor(Float64Array.from(values), shape, { dtype: 'float64', requiresGrad });

/**
 * Fixed, irregular weights for reducing a non-scalar output to a scalar before a gradient check, so the
 * upstream gradient is not all ones (which would hide transposed or misrouted gradients).
 */
export function weightValues(shape: readonly number[]): number[] {
  return Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(1.7 * i + 0.3) + 0.1 * (i % 3));
}

/** Σ y ⊙ w with `weightValues` — a scalar whose gradient w.r.t. y is w. */
export function weightedSum(y: Tensor): Tensor {
  return y.mul(tensor(Float64Array.from(weightValues(y.shape)), y.shape, { dtype: y.dtype })).sum();
}
