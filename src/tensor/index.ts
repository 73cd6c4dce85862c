import { createCpuBackend } from './backends/cpu/index.js';
import { createGpuBackend } from './backends/gpu/index.js';
import { registerBackend } from './engine.js';

registerBackend('cpu', () => createCpuBackend());
registerBackend('gpu', (opts) => createGpuBackend(opts as { mode?: string }));

export { availableGpuModes, GPU_MODES, prepareGpu, type GpuMode } from './backends/gpu/index.js';
export type { Backend, BackendInfo, BinaryOp, Conv2dGeometry, ConvAffineArgs, Pool2dGeometry, ReduceOp, ResizeMode, UnaryOp } from './backend.js';
export { TensorSizeLimitError } from './backend.js';
export { arange, eye, full, linspace, ones, onesLike, rand, randint, randn, tensor, zeros, zerosLike, type RandomOptions, type TensorOptions } from './creation.js';
export type { DType, TypedArray } from './dtype.js';
export { backendInfo, getBackend, keep, memory, noGrad, registerBackend, setBackend, tidy } from './engine.js';
export { Rng } from './random.js';
export { broadcastShapes, fmt as formatShape, sizeOf, type Shape } from './shape.js';
export { Tensor, type NestedArray } from './tensor.js';
export { enableProfiling, formatProfile, isDeviceTiming, isProfiling, profileBackend, profileReport, resetProfile, type ProfileRow, type ProfileTable } from './profile.js';
