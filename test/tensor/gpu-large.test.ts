import { afterAll, describe, expect, it } from 'vitest';
import { avgPool2d, batchNormTrain, concat, conv2d, convTranspose2d, full, keep, matmul, maxPool2d, pad, permute, resize, setBackend, take, tensor, tidy, type Tensor } from '../../src/index.js';
import { gpuModesHere } from './gpu-modes.js';

/**
 * Tensors past 2^24 elements on webgpu, where a float32 index can no longer name every element: the
 * kernels compute their indices as integers there (codegen.ts's indexInts), and each op here must give
 * what the cpu backend gives at every element, the last ones included. A kernel still indexing in
 * floats would be refused (TensorSizeLimitError) or, unguarded, read and write the wrong elements.
 */

const { modes } = await gpuModesHere();
const PAST = 2 ** 24;

/** Deterministic values in [−1, 1). */
function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

/**
 * `f` of inputs of `shapes` on webgpu and on cpu: its outputs, and with `grads` also the gradients of a
 * random linear function of its output (Σ g·f) with respect to every input.
 */
async function onBoth(shapes: number[][], f: (...xs: Tensor[]) => Tensor | Tensor[], opts: { grads?: boolean; data?: (k: number, n: number) => Float32Array } = {}): Promise<{ gpu: Float32Array[]; cpu: Float32Array[] }> {
  const data = shapes.map((s, k) => (opts.data ?? ((kk, n) => values(n, 7 + kk)))(k, s.reduce((a, b) => a * b, 1)));
  const run = async (): Promise<Float32Array[]> => {
    const xs = data.map((d, k) => tensor(d, shapes[k], { requiresGrad: opts.grads }));
    const outs = tidy(() => {
      const out = f(...xs);
      if (!opts.grads) return (Array.isArray(out) ? out : [out]).map(keep);
      const y = out as Tensor;
      y.mul(tensor(values(y.size, 99), y.shape)).sum().backward();
      return [keep(y), ...xs.map((x) => keep(x.grad!))];
    });
    const read: Float32Array[] = [];
    for (const o of outs) {
      read.push((await o.data()) as Float32Array);
      o.dispose();
    }
    for (const x of xs) x.dispose();
    return read;
  };
  setBackend('gpu', { mode: 'webgpu' });
  try {
    const gpu = await run();
    setBackend('cpu');
    return { gpu, cpu: await run() };
  } finally {
    setBackend('cpu');
  }
}

/** Every element within tol·(1 + |cpu|); names the first that is not. */
function expectClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) {
      expect.fail(`${what}: element ${i} of ${want.length} is ${got[i]}, the cpu backend's ${want[i]}`);
    }
  }
}

async function check(shapes: number[][], f: (...xs: Tensor[]) => Tensor | Tensor[], tol: number, opts: Parameters<typeof onBoth>[2] = {}): Promise<void> {
  const { gpu, cpu } = await onBoth(shapes, f, opts);
  cpu.forEach((want, k) => expectClose(gpu[k], want, tol, `output ${k}`));
}

describe.skipIf(!modes.includes('webgpu'))('webgpu past 2^24 elements (integer indices)', () => {
  afterAll(() => void setBackend('cpu'));

  it('elementwise, broadcast, slice, concat, a sum, permute, pad and matmul, at every element', async () => {
    const n = PAST + 4100;
    await check([[n], [n]], (a, b) => a.add(b), 0);
    await check([[n]], (a) => a.sigmoid(), 1e-6);
    // 20.9M: the broadcast's coordinates, the slice's and the concat's offsets all pass 2^24
    await check([[5, 4, 1024, 1024], [1, 4, 1, 1]], (a, b) => a.mul(b), 0);
    await check([[5, 4, 1024, 1024]], (a) => a.slice([0, 1, 0, 0], [5, 2, 1024, 1024]), 0);
    await check([[3, 4, 1024, 1024], [3, 2, 1024, 1024]], (a, b) => concat([a, b], 1), 0);
    await check([[5, 4, 1024, 1024]], (a) => a.sum([0, 2, 3]), 1e-4);
    await check([[5, 4, 1024, 1024]], (a) => permute(a, [1, 3, 2, 0]), 0, { grads: true });
    await check([[5, 4, 1020, 1020]], (a) => pad(a, [[0, 0], [0, 0], [1, 3], [2, 2]], 0.5), 0, { grads: true });
    // a product whose output passes 2^24 (4100 × 4100), and a batched one whose inputs do
    await check([[4100, 3], [3, 4100]], (a, b) => matmul(a, b), 1e-6);
    await check([[2, 4100, 2100], [2, 2100, 2]], (a, b) => matmul(a, b), 1e-4);
    // a gather of more than 2^24 elements from the largest x float32 indices name exactly (2^24)
    const spread = (k: number, n: number): Float32Array => (k === 0 ? values(n, 5) : Float32Array.from({ length: n }, (_, i) => (i * 7919 + 13) % PAST));
    await check([[PAST], [PAST + 4100]], (x, idx) => take(x, idx), 0, { data: spread });
  }, 180_000);

  it('2×2 max and average pooling, forward and backward; overlapping 3×3 windows too', async () => {
    await check([[5, 4, 1024, 1024]], (a) => maxPool2d(a, { kernel: 2 }), 0, { grads: true });
    await check([[5, 4, 1024, 1024]], (a) => avgPool2d(a, { kernel: 2 }), 1e-6, { grads: true });
    // windows that overlap take the backward's gather over every window covering a cell (sums of dy in
    // another order than the cpu's, so within rounding)
    await check([[1, 17, 1000, 1000]], (a) => maxPool2d(a, { kernel: 3, stride: 2, padding: 1 }), 1e-6, { grads: true });
  }, 120_000);

  it('nearest and bilinear resizing up to past 2^24, forward and backward', async () => {
    await check([[1, 17, 512, 512]], (a) => resize(a, [1024, 1024], 'nearest'), 1e-6, { grads: true });
    await check([[1, 17, 512, 512]], (a) => resize(a, [1024, 1024], 'bilinear'), 1e-5, { grads: true });
  }, 240_000);

  it('a 3×3 convolution with its input, then its output, past 2^24: forward, input and filter gradients', async () => {
    await check([[1, 17, 1000, 1000], [2, 17, 3, 3]], (x, w) => conv2d(x, w, { padding: 1 }), 1e-3, { grads: true });
    await check([[1, 2, 1000, 1000], [17, 2, 3, 3]], (x, w) => conv2d(x, w, { padding: 1 }), 1e-3, { grads: true });
  }, 240_000);

  it('a 2×2 up-convolution (stride 2) whose output passes 2^24: forward and both gradients', async () => {
    await check([[2, 8, 725, 725], [8, 4, 2, 2]], (x, w) => convTranspose2d(x, w, { stride: 2 }), 1e-3, { grads: true });
  }, 120_000);

  it('a release past the output pool\'s 1 GiB cap while calls that read it are unsubmitted: the batch goes first', async () => {
    setBackend('gpu', { mode: 'webgpu' });
    try {
      // nine 128 MiB tensors: released, the first eight fill the pool to its cap, so the ninth is destroyed
      // at once, while the add that reads it is still encoded and not submitted (the second round: a
      // kernel's first call runs through gpu.js, which submits it itself)
      const n = 2 ** 25;
      for (let round = 0; round < 2; round++) {
        const xs = Array.from({ length: 9 }, (_, k) => full([n], k));
        const y = xs[8].add(1);
        for (const x of xs) x.dispose();
        const v = (await y.data()) as Float32Array;
        y.dispose();
        expect([round, v[0], v[n - 1], v.every((e) => e === 9)]).toEqual([round, 9, 9, true]);
      }
    } finally {
      setBackend('cpu');
    }
  }, 120_000);

  it('training batch norm with its ReLU, forward and backward', async () => {
    // x = ±1, so the normalised values stay far from the ReLU's kink: a value within float32 rounding of
    // zero would flip the mask between the two backends and its whole gradient with it
    const data = (k: number, n: number): Float32Array => (k === 0 ? values(n, 5).map((v) => (v > 0 ? 1 : -1)) : values(n, 11 + k));
    // 175 planes of 317² (odd, so one element a thread): eight plane boundaries past 2^24, where a float
    // index of an odd element rounds to its neighbour and the channel found would be the next one
    await check([[1, 175, 317, 317], [175], [175]], (x, gamma, beta) => batchNormTrain(x, gamma, beta, 1e-5, { relu: true }).y, 2e-3, { grads: true, data });
  }, 120_000);
});
