import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { backward, detach } from './backward.js';
import type { TensorLike } from './graph.js';
import * as C from './ops/composite.js';
import * as E from './ops/elementwise.js';
import * as I from './ops/image.js';
import * as L from './ops/layout.js';
import { matmul } from './ops/matmul.js';
import * as R from './ops/reduce.js';

type Axes = number | readonly number[];

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    maximum(b: TensorLike): Tensor;
    minimum(b: TensorLike): Tensor;
    equal(b: TensorLike): Tensor;
    notEqual(b: TensorLike): Tensor;
    less(b: TensorLike): Tensor;
    lessEqual(b: TensorLike): Tensor;
    greater(b: TensorLike): Tensor;
    greaterEqual(b: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    relu(): Tensor;
    leakyRelu(slope?: number): Tensor;
    softplus(): Tensor;
    logSigmoid(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    clamp(low?: number, high?: number): Tensor;
    cast(dtype: DType): Tensor;
    sum(axes?: Axes, opts?: R.ReduceOptions): Tensor;
    mean(axes?: Axes, opts?: R.ReduceOptions): Tensor;
    max(axes?: Axes, opts?: R.ReduceOptions): Tensor;
    min(axes?: Axes, opts?: R.ReduceOptions): Tensor;
    variance(axes?: Axes, opts?: R.ReduceOptions & { correction?: number }): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    matmul(b: Tensor): Tensor;
    reshape(shape: readonly number[]): Tensor;
    permute(perm?: readonly number[]): Tensor;
    transpose(axis0?: number, axis1?: number): Tensor;
    broadcastTo(shape: Shape): Tensor;
    expand(shape: Shape): Tensor;
    slice(begin: readonly number[], size?: readonly number[]): Tensor;
    pad(widths: readonly (readonly [number, number])[], value?: number): Tensor;
    squeeze(axes?: Axes): Tensor;
    unsqueeze(axis: number): Tensor;
    flatten(startAxis?: number): Tensor;
    flip(axes: number | readonly number[]): Tensor;
    conv2d(w: Tensor, opts?: I.Conv2dOptions): Tensor;
    /** Back-propagates from this tensor into `.grad` of the leaves. */
    backward(gradOutput?: Tensor): void;
    /** Cut from the graph; shares storage. */
    detach(): Tensor;
  }
}

const P = Tensor.prototype;
const binaries = { add: E.add, sub: E.sub, mul: E.mul, div: E.div, pow: E.pow, maximum: E.maximum, minimum: E.minimum, equal: E.equal, notEqual: E.notEqual, less: E.less, lessEqual: E.lessEqual, greater: E.greater, greaterEqual: E.greaterEqual };
for (const [name, f] of Object.entries(binaries)) (P as any)[name] = function (this: Tensor, b: TensorLike) { return f(this, b); };
const unaries = { neg: E.neg, exp: E.exp, log: E.log, log1p: E.log1p, sqrt: E.sqrt, abs: E.abs, sign: E.sign, sigmoid: E.sigmoid, tanh: E.tanh, relu: E.relu, softplus: E.softplus, logSigmoid: E.logSigmoid, square: E.square, reciprocal: E.reciprocal, detach };
for (const [name, f] of Object.entries(unaries)) (P as any)[name] = function (this: Tensor) { return f(this); };

P.leakyRelu = function (slope) { return C.leakyRelu(this, slope); };
P.clamp = function (low, high) { return C.clamp(this, low, high); };
P.cast = function (dtype) { return E.cast(this, dtype); };
P.sum = function (axes, opts) { return R.sum(this, axes, opts); };
P.max = function (axes, opts) { return R.max(this, axes, opts); };
P.min = function (axes, opts) { return R.min(this, axes, opts); };
P.mean = function (axes, opts) { return C.mean(this, axes, opts); };
P.variance = function (axes, opts) { return C.variance(this, axes, opts); };
P.softmax = function (axis) { return C.softmax(this, axis); };
P.logSoftmax = function (axis) { return C.logSoftmax(this, axis); };
P.matmul = function (b) { return matmul(this, b); };
P.reshape = function (shape) { return L.reshape(this, shape); };
P.permute = function (perm) { return L.permute(this, perm); };
P.transpose = function (a0, a1) { return L.transpose(this, a0, a1); };
P.broadcastTo = function (shape) { return L.broadcastTo(this, shape); };
P.expand = P.broadcastTo;
P.slice = function (begin, size) { return L.slice(this, begin, size); };
P.pad = function (widths, value) { return L.pad(this, widths, value); };
P.squeeze = function (axes) { return L.squeeze(this, axes); };
P.unsqueeze = function (axis) { return L.unsqueeze(this, axis); };
P.flatten = function (start) { return L.flatten(this, start); };
P.flip = function (axes) { return C.flip(this, axes); };
P.conv2d = function (w, opts) { return I.conv2d(this, w, opts); };
P.backward = function (g) { backward(this, g); };
