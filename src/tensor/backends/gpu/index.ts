import type { Backend } from '../../backend.js';

/** The `gpu` backend: the backend primitives as gpu.js kernels (float32) in any gpu.js mode. */
export function createGpuBackend(_opts: { mode?: string }): Backend {
  throw new Error('setBackend: the gpu backend is not implemented yet');
}
