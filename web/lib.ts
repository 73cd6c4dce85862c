/**
 * Everything the playground uses from segrad: the public API (src/index.ts), plus `encodeHost`
 * (safetensors from host arrays), which the public API does not export yet: `encodeSafetensors` reads
 * tensors synchronously, and the webgpu mode only reads asynchronously. The rest of the page imports
 * only this file.
 */
export * from '../src/index.js';
export { encodeHost, type HostTensor } from '../src/nn/safetensors.js';
