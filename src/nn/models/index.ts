/** segrad's segmentation models. Every model returns logits; apply sigmoid (K = 1) or softmax (K > 1). */
export { UNet, UpsampleConv, type UNetOptions } from './unet.js';
export { FocusNet, FocusGate, type FocusNetOptions } from './focusnet.js';
export { AttentionUNet, type AttentionUNetOptions } from './attention-unet.js';
