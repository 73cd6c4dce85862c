/** Element types a tensor can hold. `float64` exists for gradient checks on the `cpu` backend. */
export type DType = 'float32' | 'float64';

/** The typed array behind a tensor of each dtype. */
export type TypedArray = Float32Array | Float64Array;

/** Allocates a zeroed typed array of `size` elements for `dtype`. */
export function allocate(dtype: DType, size: number): TypedArray {
  return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

/** Copies `data` into a typed array of `dtype` (rounding to float32 where needed). */
export function toTyped(data: ArrayLike<number>, dtype: DType): TypedArray {
  return dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data);
}

/** Bytes per element of `dtype`. */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

export function assertDType(dtype: string): asserts dtype is DType {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new Error(`unknown dtype '${dtype}': expected 'float32' or 'float64'`);
  }
}
