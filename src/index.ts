/**
 * segrad: a reverse-mode autodiff tensor engine for medical image segmentation.
 * This file is the public API; the CLI and the browser bundle import only from here.
 */
export * from './tensor/index.js';
export * from './autograd/index.js';
export { VERSION } from './version.js';
export * as losses from './losses/index.js';
export * as compat from './losses/compat/index.js';
export * as metrics from './metrics/index.js';
export * as nn from './nn/index.js';
export * as models from './nn/models/index.js';
export * as plot from './plot/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
