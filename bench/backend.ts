import { existsSync } from 'node:fs';
import { prepareGpu, setBackend } from '../src/index.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Selects the backend a bench runs on from `cpu` or `gpu:MODE`, requesting the WebGPU adapter first for
 * `gpu:webgpu`; throws why it is unavailable. With `softwareVulkan`, Dawn gets Chromium's SwiftShader
 * driver where no Vulkan driver is set (correctness, not speed: for suites that run every mode here).
 */
export async function useBackend(spec: string, opts: { softwareVulkan?: boolean } = {}): Promise<void> {
  const [backend, mode] = spec.split(':') as ['cpu' | 'gpu', string | undefined];
  if (backend === 'gpu' && mode === 'webgpu') {
    if (opts.softwareVulkan && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const probe = await prepareGpu('webgpu');
    if (!probe.ok) throw new Error(probe.reason);
  }
  setBackend(backend, mode ? { mode } : {});
}
