import type { ReduceOp } from '../../backend.js';
import { allocate, type DType, type TypedArray } from '../../dtype.js';
import { reducedShape, sizeOf, stridesOf, type Shape } from '../../shape.js';

/**
 * Reduces `x` along `axes`. The reduced axes are moved innermost by viewing the tensor as
 * [outer…, inner…] index pairs, so each output element folds a strided set of inputs.
 */
export function reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], dtype: DType): TypedArray {
  const outShape = reducedShape(shape, axes);
  const outSize = sizeOf(outShape);
  const out = allocate(dtype, outSize);
  const strides = stridesOf(shape);
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const redAxes = [...axes];
  const redSize = sizeOf(redAxes.map((a) => shape[a]));
  // offsets of every reduced element relative to the output element's base
  const redOffsets = new Int32Array(redSize);
  {
    const idx = new Array<number>(redAxes.length).fill(0);
    for (let r = 0; r < redSize; r++) {
      let off = 0;
      for (let k = 0; k < redAxes.length; k++) off += idx[k] * strides[redAxes[k]];
      redOffsets[r] = off;
      for (let k = redAxes.length - 1; k >= 0; k--) {
        if (++idx[k] < shape[redAxes[k]]) break;
        idx[k] = 0;
      }
    }
  }
  const idx = new Array<number>(keptAxes.length).fill(0);
  for (let o = 0; o < outSize; o++) {
    let base = 0;
    for (let k = 0; k < keptAxes.length; k++) base += idx[k] * strides[keptAxes[k]];
    let acc: number;
    if (op === 'sum') {
      acc = 0;
      for (let r = 0; r < redSize; r++) acc += x[base + redOffsets[r]];
    } else if (op === 'max') {
      acc = -Infinity;
      for (let r = 0; r < redSize; r++) {
        const v = x[base + redOffsets[r]];
        if (v > acc || Number.isNaN(v)) acc = v;
      }
    } else {
      acc = Infinity;
      for (let r = 0; r < redSize; r++) {
        const v = x[base + redOffsets[r]];
        if (v < acc || Number.isNaN(v)) acc = v;
      }
    }
    out[o] = acc;
    for (let k = keptAxes.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[keptAxes[k]]) break;
      idx[k] = 0;
    }
  }
  return out;
}
