import './methods.js';

export { backward, detach, grad, valueAndGrad } from './backward.js';
export { gradcheck, type GradcheckOptions, type GradcheckReport } from './gradcheck.js';
export type { TensorLike } from './graph.js';
export { OP_NAMES, type OpName } from './op-names.js';
export { batchNormEvalAffine, batchNormRunningAverages, batchNormTrain, batchNormTrainComposed, type BatchNormTrainResult } from './ops/batchnorm.js';
export * from './ops/composite.js';
export * from './ops/elementwise.js';
export * from './ops/image.js';
export * from './ops/layout.js';
export { matmul } from './ops/matmul.js';
export { max, min, sum, type ReduceOptions } from './ops/reduce.js';
