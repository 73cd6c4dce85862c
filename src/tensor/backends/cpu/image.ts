/**
 * The cpu backend's image primitives (NCHW), gathered for backends/cpu/index.ts.
 * Convolution lives in conv.ts (fast float32 path) over conv-reference.ts (direct loops, both dtypes);
 * pooling in pool.ts; resizing in resize.ts.
 */
export { conv2d, conv2dAffine, conv2dAffinePair, conv2dBackwardFilter, conv2dBackwardInput, convTranspose2dBias } from './conv.js';
export { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';
export { resize, resizeBackward } from './resize.js';
