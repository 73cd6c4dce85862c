import type { GradFn } from './graph.js';
import type { OpName } from './op-names.js';
import { batchNormGrads } from './ops/batchnorm.js';
import { elementwiseGrads } from './ops/elementwise.js';
import { imageGrads } from './ops/image.js';
import { layoutGrads } from './ops/layout.js';
import { matmulGrads } from './ops/matmul.js';
import { reduceGrads } from './ops/reduce.js';

/** Every op's backward rule. A name in OP_NAMES without a rule here is a compile error. */
export const gradients: { readonly [K in OpName]: GradFn } = {
  ...elementwiseGrads,
  ...reduceGrads,
  ...matmulGrads,
  ...layoutGrads,
  ...imageGrads,
  ...batchNormGrads,
};
