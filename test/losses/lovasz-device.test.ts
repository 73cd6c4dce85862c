import { afterAll, describe, expect, it } from 'vitest';
import { compat, prepareGpu, setBackend, tensor, TensorSizeLimitError, valueAndGrad, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';
import { useSwiftShaderIfNoDriver } from '../tensor/gpu-modes.js';
import { labels, type Case } from './helpers.js';

/**
 * On an asynchronous backend (gpu webgpu) the Lovász losses sort on the device (Backend.lovaszWeights):
 * value and gradient as on the cpu backend, which sorts on the host. Without a GPU, Dawn runs on
 * Chromium's SwiftShader.
 */

const vulkan = await useSwiftShaderIfNoDriver();
const webgpu = vulkan && (await prepareGpu('webgpu')).ok;
if (!webgpu) console.log('Lovász losses on gpu:webgpu: not run (no WebGPU adapter: install chromium for SwiftShader or set VK_ICD_FILENAMES)');
afterAll(() => void setBackend('cpu'));

const cases: (Case & { loss: L.Loss; what: string })[] = [
  { what: 'hinge, pooled', loss: L.lovaszHinge(), n: 2, c: 1, h: 5, w: 7, fraction: 0.3, seed: 11, indexTarget: false },
  { what: 'hinge, per image', loss: L.lovaszHinge({ batch: false, reduction: 'none' }), n: 3, c: 1, h: 4, w: 4, fraction: 0.4, seed: 12, indexTarget: false },
  { what: 'softmax, one sigmoid channel', loss: L.lovaszSoftmax(), n: 2, c: 1, h: 6, w: 5, fraction: 0.2, seed: 13, indexTarget: false },
  { what: 'softmax, 3 classes, present', loss: L.lovaszSoftmax(), n: 2, c: 3, h: 4, w: 6, fraction: 0.5, seed: 14, indexTarget: false },
  { what: 'softmax, 4 classes per image, one absent', loss: L.lovaszSoftmax({ batch: false, reduction: 'none' }), n: 2, c: 4, h: 3, w: 3, fraction: 0.5, seed: 15, indexTarget: false },
  { what: 'softmax, 3 classes, all', loss: L.lovaszSoftmax({ classes: 'all' }), n: 2, c: 3, h: 3, w: 5, fraction: 0.5, seed: 16, indexTarget: false },
];

/** Value and gradient of the case's loss on the current backend; inputs on a quarter grid, so errors tie. */
async function run(k: (typeof cases)[number]): Promise<{ value: number[]; grad: Float32Array | Float64Array }> {
  const size = k.n * k.c * k.h * k.w;
  const raw = Array.from({ length: size }, (_, i) => Math.round(4 * Math.sin(1.3 * i + k.seed)) / 4);
  const x = tensor(k.loss.takes === 'logits' ? raw.map((v) => 2 * v) : raw.map((v) => 0.5 + 0.4 * v), [k.n, k.c, k.h, k.w]);
  const g = k.c === 1 ? labels(k) : oneHotOf(k, k.c === 4 ? 3 : k.c);
  const t = tensor(g, [k.n, k.c, k.h, k.w]);
  const value = k.loss(x, t);
  // per-image values ('none') weighted 1, 2, 3, … so each image's gradient counts apart
  const weights = tensor(Array.from({ length: value.size }, (_, i) => i + 1), value.shape);
  const { value: total, grads } = valueAndGrad((input: Tensor) => k.loss(input, t).mul(weights).sum())(x);
  const out = { value: Array.from(await value.data()), grad: (await grads[0].data()) as Float32Array };
  for (const v of [x, t, value, weights, total, ...grads]) v.dispose();
  return out;
}

/** A one-hot target [n, c, h, w] whose pixels take only the first `used` classes (the rest absent). */
function oneHotOf(k: Case, used: number): number[] {
  const hw = k.h * k.w;
  const g = new Array<number>(k.n * k.c * hw).fill(0);
  for (let n = 0; n < k.n; n++) for (let p = 0; p < hw; p++) g[(n * k.c + ((p * 5 + n + k.seed) % used)) * hw + p] = 1;
  return g;
}

describe.skipIf(!webgpu)('Lovász losses on gpu:webgpu (sorted on the device)', () => {
  for (const k of cases) {
    it(`${k.what}: value and gradient as on the cpu backend`, async () => {
      setBackend('cpu');
      const want = await run(k);
      setBackend('gpu', { mode: 'webgpu' });
      const got = await run(k);
      setBackend('cpu');
      expect(got.value).toHaveLength(want.value.length);
      got.value.forEach((v, i) => expect(Math.abs(v - want.value[i]), `value ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.value[i]))));
      want.grad.forEach((w, i) => expect(Math.abs(got.grad[i] - w), `grad ${i}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(w)));
      expect(want.grad.some((w) => w !== 0)).toBe(true);
    });
  }
});

describe.skipIf(!webgpu)('compat losses on gpu:webgpu', () => {
  it("smp's Lovász (which reads its targets on the host, as smp does) says where it runs instead of failing in dataSync", () => {
    setBackend('gpu', { mode: 'webgpu' });
    try {
      const logits = tensor([0.5, -1, 2, 0.1], [1, 1, 2, 2]);
      const target = tensor([1, 0, 1, 0], [1, 1, 2, 2]);
      expect(() => compat.smp.LovaszLoss({ mode: 'binary' })(logits, target)).toThrow(/compat losses read targets and masks on the host.*gpu:webgpu reads asynchronously \(use the cpu backend or gpu:webasm/);
      for (const t of [logits, target]) t.dispose();
    } finally {
      setBackend('cpu');
    }
  });
});

describe('the device sort refuses rows past the float32 index limit', () => {
  it('a pooled row of 2^22 + 1 errors (padded to 2^23 pairs of floats) is a TensorSizeLimitError in webasm', () => {
    setBackend('gpu', { mode: 'webasm' });
    try {
      const len = 2 ** 22 + 1;
      const e = tensor(new Float32Array(len), [1, len]);
      expect(() => e.backend.lovaszWeights!(e.handle, e.handle, 1, len, 'float32')).toThrow(TensorSizeLimitError);
      e.dispose();
    } finally {
      setBackend('cpu');
    }
  });
});
