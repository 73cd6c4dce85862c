/**
 * Everything the playground uses from segrad. The public API (src/index.ts) provides all of it except
 * two pieces that it does not export yet, imported here from their modules so that the rest of the page
 * only ever imports this file:
 * - `prepareGpu`: WebGPU adapters are requested asynchronously, so the gpu backend cannot select mode
 *   'webgpu' until this probe has run;
 * - `encodeHost`: safetensors from host arrays, because `encodeSafetensors` reads tensors synchronously
 *   and the webgpu mode only reads asynchronously.
 */
export * from '../src/index.js';
export { prepareGpu, type GpuMode } from '../src/tensor/backends/gpu/index.js';
export { encodeHost, type HostTensor } from '../src/nn/safetensors.js';
