/**
 * MONAI- and segmentation_models_pytorch-compatible option sets: the peers' own keyword names and
 * numbers, quirks included (spec/compat.md). Native segrad losses live in `src/losses`.
 * @example compat.monai.DiceLoss({ include_background: false, to_onehot_y: true, softmax: true })(logits, labels)
 */
export * as monai from './monai.js';
export * as smp from './smp.js';
export { CompatAssertionError, CompatIndexError, CompatTypeError, CompatValueError, type CompatLoss, type TargetDtype } from './common.js';
