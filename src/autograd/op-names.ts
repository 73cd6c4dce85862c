/**
 * Every op that records itself on the tape. The gradient table in gradients.ts is a mapped type over
 * this list, so adding a name here without its backward rule does not compile, and `record()` accepts
 * only these names.
 */
export const OP_NAMES = [
  // elementwise unary
  'neg', 'exp', 'log', 'log1p', 'sqrt', 'abs', 'sigmoid', 'tanh', 'relu', 'softplus', 'logSigmoid', 'square', 'reciprocal',
  // elementwise binary and selection
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'where', 'cast',
  // reductions and matmul
  'sum', 'max', 'min', 'matmul',
  // layout
  'reshape', 'permute', 'broadcastTo', 'slice', 'concat', 'pad', 'take',
  // images
  'conv2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d', 'resize',
  // fused fast paths (tested against their composed versions)
  'batchNormTrain',
] as const;

export type OpName = (typeof OP_NAMES)[number];
