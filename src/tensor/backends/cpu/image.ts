// Placeholder: conv/pool/resize kernels land in conv.ts, pool.ts and resize.ts.
import type { Conv2dGeometry, Pool2dGeometry, ResizeMode } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';

const todo = (name: string): never => {
  throw new Error(`${name}: not implemented on the cpu backend yet`);
};
export const conv2d = (_x: TypedArray, _xs: Shape, _w: TypedArray, _ws: Shape, _os: Shape, _g: Conv2dGeometry, _d: DType): TypedArray => todo('conv2d');
export const conv2dBackwardInput = (_dy: TypedArray, _dys: Shape, _w: TypedArray, _ws: Shape, _xs: Shape, _g: Conv2dGeometry, _d: DType): TypedArray => todo('conv2dBackwardInput');
export const conv2dBackwardFilter = (_x: TypedArray, _xs: Shape, _dy: TypedArray, _dys: Shape, _ws: Shape, _g: Conv2dGeometry, _d: DType): TypedArray => todo('conv2dBackwardFilter');
export const maxPool2d = (_x: TypedArray, _xs: Shape, _os: Shape, _g: Pool2dGeometry, _d: DType): TypedArray => todo('maxPool2d');
export const maxPool2dBackward = (_dy: TypedArray, _x: TypedArray, _xs: Shape, _os: Shape, _g: Pool2dGeometry, _d: DType): TypedArray => todo('maxPool2dBackward');
export const avgPool2d = (_x: TypedArray, _xs: Shape, _os: Shape, _g: Pool2dGeometry, _d: DType): TypedArray => todo('avgPool2d');
export const avgPool2dBackward = (_dy: TypedArray, _xs: Shape, _os: Shape, _g: Pool2dGeometry, _d: DType): TypedArray => todo('avgPool2dBackward');
export const resize = (_x: TypedArray, _xs: Shape, _h: number, _w: number, _m: ResizeMode, _d: DType): TypedArray => todo('resize');
export const resizeBackward = (_dy: TypedArray, _xs: Shape, _h: number, _w: number, _m: ResizeMode, _d: DType): TypedArray => todo('resizeBackward');
