import { backendInfo, conv2d, prepareGpu, randn, setBackend, sum, tidy, valueAndGrad, type BackendInfo, type GpuMode } from './lib.js';

/** What the page asked for: the best available, one gpu.js mode, or the cpu backend. */
export type BackendChoice = 'auto' | 'webgpu' | 'webgl2' | 'webasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'webgl2', 'webasm', 'cpu'];

/** The backend that runs and why the ones tried before it did not. Never a silent fallback. */
export interface BackendState {
  info: BackendInfo;
  /** One line per mode tried and rejected, e.g. "webgpu: this browser has no navigator.gpu". */
  rejected: string[];
  /** True when the gpu backend was wanted but the cpu backend runs. */
  fellBack: boolean;
}

/** A one-line description of what runs, e.g. "gpu · webgl2 · SwiftShader". */
export function describe(info: BackendInfo): string {
  return [info.backend, info.mode, info.adapter].filter((s) => s !== undefined && s !== '').join(' · ');
}

/**
 * Checks one gpu.js mode before training on it: a 3×3 convolution and its gradient on the device must
 * agree with the cpu backend's. Catches a mode that loads but computes nonsense.
 */
async function smokeTest(mode: GpuMode): Promise<string> {
  const run = (): Promise<number[]> => {
    const [y, g] = tidy(() => {
      const x = randn([1, 2, 6, 6], { seed: 1 });
      const w = randn([3, 2, 3, 3], { seed: 2 });
      const { value, grads } = valueAndGrad((a) => sum(conv2d(a, w, { padding: 1 }).square()))(x);
      return [value, grads[0]];
    });
    return Promise.all([y.data(), g.data()]).then(([a, b]) => {
      y.dispose();
      g.dispose();
      return [a[0], b[0], b[17], b[71]];
    });
  };
  setBackend('cpu');
  const want = await run();
  setBackend('gpu', { mode });
  const got = await run();
  const bad = want.findIndex((v, i) => !(Math.abs(v - got[i]) <= 1e-3 * Math.max(1, Math.abs(v))));
  return bad < 0 ? '' : `a test convolution gave ${got[bad]} instead of ${want[bad]}`;
}

/** Adapters that are CPU emulations of a GPU: measured here, 40–50× slower per step than the cpu backend. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

/**
 * Selects the backend. 'auto': the gpu backend in webgpu, else webgl2, when the browser has a hardware
 * adapter that passes the smoke test; else the cpu backend. Software adapters (SwiftShader, llvmpipe) and
 * gpu.js's webasm mode run on the CPU, far slower than the cpu backend's kernels, so 'auto' passes them
 * over and says so; choosing a mode by name uses it anyway. A mode that fails falls back to the cpu backend.
 */
export async function chooseBackend(choice: BackendChoice): Promise<BackendState> {
  const modes: GpuMode[] = choice === 'auto' ? ['webgpu', 'webgl2', 'webasm'] : choice === 'cpu' ? [] : [choice];
  const rejected: string[] = [];
  for (const mode of modes) {
    try {
      if (choice === 'auto' && mode === 'webasm') {
        rejected.push('webasm: gpu.js on WebAssembly is slower than the cpu backend (choose it by name to try it)');
        continue;
      }
      const probe = await prepareGpu(mode);
      if (!probe.ok) {
        rejected.push(`${mode}: ${probe.reason}`);
        continue;
      }
      if (choice === 'auto' && probe.adapter && SOFTWARE_ADAPTER.test(probe.adapter)) {
        rejected.push(`${mode}: the adapter is a software renderer (${probe.adapter.slice(0, 60)}), slower than the cpu backend (choose ${mode} by name to try it)`);
        continue;
      }
      const why = await smokeTest(mode);
      if (why) {
        rejected.push(`${mode}: ${why}`);
        continue;
      }
      return { info: backendInfo(), rejected, fellBack: false };
    } catch (e) {
      rejected.push(`${mode}: ${(e as Error).message}`);
    }
  }
  setBackend('cpu');
  return { info: backendInfo(), rejected, fellBack: modes.length > 0 };
}
