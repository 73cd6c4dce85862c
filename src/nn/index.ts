/**
 * segrad's neural-network layer: Module (named parameters and buffers, PyTorch state-dict names,
 * safetensors save/load), layers, initialisers, optimisers, schedulers and blocks. Models are in
 * `models` (src/nn/models).
 */
export { Module, functionalCall, type LoadOptions } from './module.js';
export * as init from './init.js';
export { glorotNormal, glorotUniform, heNormal, heUniform, initialize, onesInit, seedStream, zerosInit, type Initializer, type InitOptions } from './init.js';
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from './layers/conv.js';
export { BatchNorm2d, type BatchNorm2dOptions } from './layers/batchnorm.js';
export { Dropout, Dropout2d } from './layers/dropout.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { AvgPool2d, GlobalAvgPool, Identity, LeakyReLU, MaxPool2d, ReLU, Sequential, Sigmoid, Softmax, Upsample } from './layers/simple.js';
export { ConvBNReLU, DoubleConv, type BlockOptions } from './blocks/conv-bn-relu.js';
export { ResidualDown, ResidualFirst } from './blocks/residual.js';
export { SqueezeExcitation } from './blocks/squeeze-excitation.js';
export { AttentionGate, GatingSignal, type AttentionGateOptions } from './blocks/attention-gate.js';
export { Up } from './blocks/up.js';
export * from './optim/index.js';
export { decodeHost, decodeSafetensors, encodeHost, encodeSafetensors, loadSafetensors, saveSafetensors, type DecodedSafetensors, type HostTensor } from './safetensors.js';
