import type { DType, TypedArray } from './dtype.js';
import type { Shape } from './shape.js';

/**
 * The backend interface: the small, fixed set of primitive kernels every op is built from.
 * A backend owns its storage (`Handle`): typed arrays on `cpu`, device buffers on `gpu`.
 * Every primitive takes contiguous row-major inputs and returns a new handle; none mutates its inputs.
 * Shapes are passed explicitly so a backend needs no tensor object. Callers (src/autograd) have already
 * validated shapes, so backends only compute.
 */
export type Handle = unknown;

/**
 * A tensor too large for a backend's kernels (the gpu backend's index arithmetic: float32 below 2^23
 * elements, webgpu's integer kernels below 2^31). It names the op, the tensor's elements and the limit,
 * so a caller that knows what the tensor grows with can say what would fit (fit() and evaluateModel name
 * the largest batch).
 */
export class TensorSizeLimitError extends Error {
  constructor(
    readonly op: string,
    readonly elements: number,
    readonly limit: number,
    message: string,
  ) {
    super(message);
    this.name = 'TensorSizeLimitError';
  }
}

/** Elementwise unary primitives. `step` is 1 where x > 0 else 0; `sign` is -1, 0 or 1. */
export const UNARY_OPS = [
  'neg', 'exp', 'log', 'log1p', 'sqrt', 'abs', 'sign', 'step', 'sigmoid', 'tanh', 'relu', 'softplus',
  'logSigmoid', 'square', 'reciprocal',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Elementwise binary primitives with NumPy broadcasting. Comparisons return 1 or 0. */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const REDUCE_OPS = ['sum', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** 2-D convolution geometry (NCHW). `pad` is [top, bottom, left, right]. */
export interface Conv2dGeometry {
  stride: [number, number];
  pad: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/** One conv2dAffine of Backend.conv2dAffinePair: weights [Cout, Cin, kh, kw], output shape, geometry, epilogue. */
export interface ConvAffineArgs {
  w: Handle;
  wShape: Shape;
  outShape: Shape;
  g: Conv2dGeometry;
  scale: Handle;
  shift: Handle;
  relu: boolean;
}

/** 2-D pooling geometry (NCHW). `pad` is [top, bottom, left, right]; padded cells never win a max. */
export interface Pool2dGeometry {
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number, number, number];
}

export type ResizeMode = 'nearest' | 'bilinear';

/** Running statistics ([C] each) to update as batchNormRunningUpdate does: (1 − momentum)·r + momentum·mean, (1 − momentum)·r + varFactor·variance. */
export interface BatchNormRunning {
  mean: Handle;
  variance: Handle;
  momentum: number;
  varFactor: number;
}

/** What runs, as reported by `backendInfo()`. */
export interface BackendInfo {
  backend: 'cpu' | 'gpu';
  /** gpu.js mode for `gpu` (`cpu`, `webasm`, `headlessgl`, `webgl2`, `webgpu`…); `typed-arrays` for `cpu`. */
  mode: string;
  /** Adapter or device description where the backend knows one. */
  adapter?: string;
  dtypes: DType[];
  synchronous: boolean;
  threads?: number;
}

export interface Backend {
  readonly name: 'cpu' | 'gpu';
  info(): BackendInfo;
  supports(dtype: DType): boolean;

  upload(data: TypedArray, dtype: DType): Handle;
  read(h: Handle, size: number, dtype: DType): Promise<TypedArray>;
  /** Present only when the backend can read synchronously. */
  readSync?(h: Handle, size: number, dtype: DType): TypedArray;
  dispose(h: Handle): void;
  /** Device buffers this backend holds now (for `memory()`). */
  liveBuffers(): number;

  fill(size: number, value: number, dtype: DType): Handle;
  cast(x: Handle, size: number, from: DType, to: DType): Handle;
  unary(op: UnaryOp, x: Handle, size: number, dtype: DType): Handle;
  binary(op: BinaryOp, a: Handle, aShape: Shape, b: Handle, bShape: Shape, outShape: Shape, dtype: DType): Handle;
  /** out = cond != 0 ? a : b, all three broadcast to outShape. */
  where(c: Handle, cShape: Shape, a: Handle, aShape: Shape, b: Handle, bShape: Shape, outShape: Shape, dtype: DType): Handle;
  /** Reduces along sorted `axes`; the output has `shape` with those axes set to 1. */
  reduce(op: ReduceOp, x: Handle, shape: Shape, axes: readonly number[], dtype: DType): Handle;
  /**
   * Batched matmul: a is [batch, m, k] ([batch, k, m] when transA), b is [batch, k, n] ([batch, n, k] when
   * transB), out is [batch, m, n]. A batch of 1 on either side is broadcast.
   */
  matmul(a: Handle, b: Handle, batchA: number, batchB: number, m: number, k: number, n: number, transA: boolean, transB: boolean, dtype: DType): Handle;

  permute(x: Handle, shape: Shape, perm: readonly number[], dtype: DType): Handle;
  broadcastTo(x: Handle, shape: Shape, outShape: Shape, dtype: DType): Handle;
  /** Copies the box starting at `begin` with extent `size`. */
  slice(x: Handle, shape: Shape, begin: readonly number[], size: readonly number[], dtype: DType): Handle;
  concat(xs: readonly Handle[], shapes: readonly Shape[], axis: number, dtype: DType): Handle;
  pad(x: Handle, shape: Shape, before: readonly number[], after: readonly number[], value: number, dtype: DType): Handle;
  /** out[i] = x[indices[i]] over flat indices (indices hold integers stored as floats). */
  take(x: Handle, indices: Handle, count: number, dtype: DType): Handle;
  /** out = zeros(size); out[indices[i]] += values[i]. */
  scatterAdd(indices: Handle, values: Handle, count: number, size: number, dtype: DType): Handle;

  // Image primitives (NCHW). Output shapes are computed by the caller and passed in.
  conv2d(x: Handle, xShape: Shape, w: Handle, wShape: Shape, outShape: Shape, g: Conv2dGeometry, dtype: DType): Handle;
  conv2dBackwardInput(dy: Handle, dyShape: Shape, w: Handle, wShape: Shape, xShape: Shape, g: Conv2dGeometry, dtype: DType): Handle;
  conv2dBackwardFilter(x: Handle, xShape: Shape, dy: Handle, dyShape: Shape, wShape: Shape, g: Conv2dGeometry, dtype: DType): Handle;
  maxPool2d(x: Handle, xShape: Shape, outShape: Shape, g: Pool2dGeometry, dtype: DType): Handle;
  /** Routes dy to the first maximum of each window (row-major order within the window). */
  maxPool2dBackward(dy: Handle, x: Handle, xShape: Shape, outShape: Shape, g: Pool2dGeometry, dtype: DType): Handle;
  /** Average over the window including padding cells (PyTorch's count_include_pad=True). */
  avgPool2d(x: Handle, xShape: Shape, outShape: Shape, g: Pool2dGeometry, dtype: DType): Handle;
  avgPool2dBackward(dy: Handle, xShape: Shape, outShape: Shape, g: Pool2dGeometry, dtype: DType): Handle;
  /** Resize H and W; bilinear uses half-pixel centres (align_corners=False), nearest uses floor(dst·in/out). */
  resize(x: Handle, xShape: Shape, outH: number, outW: number, mode: ResizeMode, dtype: DType): Handle;
  resizeBackward(dy: Handle, xShape: Shape, outH: number, outW: number, mode: ResizeMode, dtype: DType): Handle;

  // Optional fused fast paths; ops compose the primitives above where a backend lacks them.
  /**
   * Batch-norm training forward over x [N, C, H, W]: y, batch mean and biased variance ([C]); γ, β [C] or
   * null. With `relu`, y = max(·, 0) (the bits of a separate relu). With `running`, a backend may also
   * return the new running statistics (batchNormRunningUpdate's values) from the same kernels (gpu
   * webgpu: one call fewer); where it returns none, the caller updates them itself.
   */
  batchNormForward?(x: Handle, xShape: Shape, gamma: Handle | null, beta: Handle | null, eps: number, dtype: DType, relu?: boolean, running?: BatchNormRunning): { y: Handle; mean: Handle; variance: Handle; running?: { mean: Handle; variance: Handle } };
  /**
   * Gradients of batchNormForward: dx [N, C, H, W], dγ and dβ [C]. `reluOut`: the forward's output where
   * it ended in a ReLU; dy then counts only where it is > 0 (the bits of reluGrad first).
   */
  batchNormBackward?(dy: Handle, x: Handle, xShape: Shape, mean: Handle, variance: Handle, gamma: Handle | null, eps: number, dtype: DType, reluOut?: Handle | null): { dx: Handle; dgamma: Handle; dbeta: Handle };
  /**
   * conv2d, then y·scale[c] + shift[c] per output channel (scale, shift [Cout]) and, with `relu`,
   * max(·, 0), written in one pass: the inference form of Conv → BatchNorm → ReLU. Not differentiated.
   */
  conv2dAffine?(x: Handle, xShape: Shape, w: Handle, wShape: Shape, outShape: Shape, g: Conv2dGeometry, scale: Handle, shift: Handle, relu: boolean, dtype: DType): Handle;
  /**
   * conv2dAffine twice, the second on the first's output (`first.outShape`), without materialising that
   * output where the backend need not: the inference form of U-Net's double conv. Not differentiated.
   */
  conv2dAffinePair?(x: Handle, xShape: Shape, first: ConvAffineArgs, second: ConvAffineArgs, dtype: DType): Handle;
  /**
   * A transposed convolution (conv2dBackwardInput with x [N, Cin, H, W] in the place of dy, output
   * outShape) plus bias[c] per output channel (bias [C]), written in one pass. Not differentiated.
   */
  convTranspose2dBias?(x: Handle, xShape: Shape, w: Handle, wShape: Shape, outShape: Shape, g: Conv2dGeometry, bias: Handle, dtype: DType): Handle;
  /** dy·step(x) elementwise (dy and x of `size` elements): the gradient of relu in one pass. Not differentiated. */
  reluGrad?(dy: Handle, x: Handle, size: number, dtype: DType): Handle;
  /**
   * Eval batch norm as one scale and shift per channel ([C] each): scale = γ/√(variance + eps),
   * shift = β − mean·scale (γ = 1, β = 0 where null). Not differentiated.
   */
  batchNormEvalAffine?(mean: Handle, variance: Handle, gamma: Handle | null, beta: Handle | null, eps: number, c: number, dtype: DType): { scale: Handle; shift: Handle };
  /** α·a + β·b elementwise over `size` elements of same-shape a and b (running averages). Not differentiated. */
  axpby?(a: Handle, alpha: number, b: Handle, beta: number, size: number, dtype: DType): Handle;
  /**
   * Batch norm's running statistics ([C] each) in one call: mean′ = (1 − m)·runMean + m·mean and
   * var′ = (1 − m)·runVar + varFactor·variance, the values of two axpby calls. Not differentiated.
   */
  batchNormRunningUpdate?(runMean: Handle, runVar: Handle, mean: Handle, variance: Handle, momentum: number, varFactor: number, c: number, dtype: DType): { mean: Handle; variance: Handle };
  /**
   * One Adam/AdamW update of a float32 parameter θ with gradient g and moments m, v (each `size`
   * elements; the formula is src/nn/optim/adam.ts's): new θ', m', v' in fresh storage (gpu webgpu: three
   * views of one buffer). Not differentiated.
   */
  adamUpdate?(theta: Handle, grad: Handle, m: Handle, v: Handle, size: number, s: AdamScalars): { theta: Handle; m: Handle; v: Handle };
  /**
   * adamUpdate of several parameters in one call, the same values (gpu webgpu: the parameters in groups
   * whose state lives in one buffer, a kernel call a group instead of one a parameter).
   */
  adamUpdateMany?(items: readonly AdamItem[], s: AdamScalars): { theta: Handle; m: Handle; v: Handle }[];
  /**
   * Σx² of each of several arrays (xs[k] of sizes[k] elements), as one array of xs.length values: the
   * squared gradient norms of a training step in a few passes (gpu: a few kernel calls for all of them,
   * where a square and a sum each took one or more). Not differentiated.
   */
  sumSquaresMany?(xs: readonly Handle[], sizes: readonly number[], dtype: DType): Handle;
  /**
   * The Lovász weights (Berman's lovasz_grad) of each row of the labels `fg` [rows, len] (0 or 1) in the
   * order that sorts the same row of `errors` (≥ 0) decreasingly, ties by position, each put back at its
   * error's place: [rows, len]. For a backend that cannot read synchronously, whose errors the Lovász
   * losses cannot sort on the host (gpu webgpu: a sort on the device). Not differentiated.
   */
  lovaszWeights?(errors: Handle, fg: Handle, rows: number, len: number, dtype: DType): Handle;
}

/** One parameter of `Backend.adamUpdateMany`: θ, its gradient and moments, `size` elements each. */
export interface AdamItem {
  theta: Handle; grad: Handle; m: Handle; v: Handle;
  size: number;
}

/** The numbers of one Adam/AdamW step (`Backend.adamUpdate`). */
export interface AdamScalars {
  b1: number; b2: number; lr: number; eps: number;
  /** 1 − β1ᵗ and 1 − β2ᵗ. */
  bc1: number; bc2: number;
  /** Weight decay λ, added to the gradient (Adam) or applied to θ (AdamW, `decoupled`). */
  wd: number; decoupled: boolean;
}

/**
 * The Adam update in the form the fused kernels compute it (m̂/(√v̂ + eps)·lr = m'/(√v' + eps·√bc2)·
 * (lr·√bc2/bc1): one division an element, not two): g ← g + l2·θ; m' = β1·m + c1·g; v' = β2·v + c2·g²;
 * θ' = θ·decay − m'/(√v' + epsScaled)·stepScaled.
 */
export function adamCoefficients(s: AdamScalars): { b1: number; b2: number; c1: number; c2: number; l2: number; decay: number; epsScaled: number; stepScaled: number } {
  const rootBc2 = Math.sqrt(s.bc2);
  return {
    b1: s.b1, b2: s.b2, c1: 1 - s.b1, c2: 1 - s.b2,
    l2: s.decoupled ? 0 : s.wd,
    decay: s.decoupled ? 1 - s.lr * s.wd : 1,
    epsScaled: s.eps * rootBc2,
    stepScaled: (s.lr / s.bc1) * rootBc2,
  };
}
