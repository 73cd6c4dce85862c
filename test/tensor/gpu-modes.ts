import { availableGpuModes, prepareGpu, type GpuMode } from '../../src/tensor/backends/gpu/index.js';

/**
 * The gpu.js modes the gpu tests run in on this machine: every mode available synchronously, plus
 * webgpu when an adapter answers. Node's WebGPU needs a Vulkan driver; without a GPU, Chromium's
 * SwiftShader ICD serves, so point the loader at it when it is installed and nothing else is set.
 */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Points Dawn at SwiftShader where no Vulkan driver is set; true when one is set now. Requests no adapter. */
export async function useSwiftShaderIfNoDriver(): Promise<boolean> {
  if (typeof process === 'undefined') return false;
  if (!process.env.VK_ICD_FILENAMES) {
    const { existsSync } = await import('node:fs');
    if (existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  return !!process.env.VK_ICD_FILENAMES;
}

export async function gpuModesHere(): Promise<{ modes: GpuMode[]; skipped: string[] }> {
  const skipped: string[] = [];
  await useSwiftShaderIfNoDriver();
  const webgpu = await prepareGpu('webgpu');
  if (!webgpu.ok) skipped.push(`webgpu (${webgpu.reason})`);
  const modes = availableGpuModes();
  for (const m of ['webgl2', 'webgl', 'headlessgl'] as const) if (!modes.includes(m)) skipped.push(m);
  return { modes, skipped };
}

/** Counts the bind groups Dawn creates from now until `stop()` (every GPUDevice shares one prototype); webgpu only. */
export async function countBindGroups(): Promise<{ made(): number; stop(): void }> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<{ requestDevice(): Promise<object> } | null> } } }).navigator?.gpu;
  const device = await (await gpu!.requestAdapter())!.requestDevice();
  const proto = Object.getPrototypeOf(device) as { createBindGroup(...a: unknown[]): unknown };
  const create = proto.createBindGroup;
  let made = 0;
  proto.createBindGroup = function (this: unknown, ...a: unknown[]) {
    made++;
    return create.apply(this, a);
  };
  return { made: () => made, stop: () => void (proto.createBindGroup = create) };
}
