export { Optimizer, type OptimizerState, type ParamsInput } from './optimizer.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { SGD, type SGDOptions } from './sgd.js';
export { CosineAnnealingLR, PolynomialLR, ReduceLROnPlateau, StepLR, type ReduceLROnPlateauOptions } from './schedulers.js';
