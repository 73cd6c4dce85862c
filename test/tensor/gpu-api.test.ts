import { afterAll, describe, expect, it, vi } from 'vitest';
import { avgPool2d, backendInfo, conv2d, convTranspose2d, enableProfiling, formatProfile, maxPool2d, memory, profileReport, randn, resetProfile, resize, setBackend, tensor, TensorSizeLimitError, tidy, type Tensor } from '../../src/index.js';
import { availableGpuModes, createGpuBackend } from '../../src/tensor/backends/gpu/index.js';
import { deviceFor, type GpuHandle } from '../../src/tensor/backends/gpu/device.js';
import { countBindGroups, gpuModesHere } from './gpu-modes.js';

/**
 * The gpu backend through the public API: forward and backward agree with the cpu backend, tidy returns
 * the device-buffer count to its baseline, asynchronous modes refuse dataSync, and unavailable modes
 * are clear errors.
 */

const { modes, skipped } = await gpuModesHere();
console.log(`gpu api: modes tested: ${modes.join(', ')}; not available here: ${skipped.join('; ') || 'none'}`);

afterAll(() => {
  setBackend('cpu');
});

/** x·y summed, with the gradients of both, on the current backend. */
async function mulSumGrads(xs: number[][], ys: number[]): Promise<{ loss: number; gx: Float32Array; gy: Float32Array }> {
  const x = tensor(xs, undefined, { requiresGrad: true });
  const y = tensor(ys, undefined, { requiresGrad: true });
  // a broadcast product, an elementwise unary and a reduction: three kinds of backward rule
  const loss = x.mul(y).tanh().sum();
  loss.backward();
  const out = { loss: (await loss.data())[0], gx: (await x.grad!.data()) as Float32Array, gy: (await y.grad!.data()) as Float32Array };
  for (const t of [x, y, loss, x.grad!, y.grad!]) t.dispose();
  return out;
}

/** A small image pipeline through every image primitive, summed, with the gradients of all inputs. */
async function imagePipelineGrads(): Promise<Float32Array[]> {
  const x = randn([2, 2, 7, 6], { seed: 11, requiresGrad: true });
  const w = randn([4, 2, 3, 3], { seed: 12, requiresGrad: true });
  const wt = randn([4, 3, 2, 2], { seed: 13, requiresGrad: true });
  const out = tidy(() => {
    const h = maxPool2d(conv2d(x, w, { padding: 1 }).relu(), { kernel: 2 });
    const up = convTranspose2d(h, wt, { stride: 2 });
    const y = avgPool2d(resize(up, [9, 5], 'bilinear'), { kernel: 3, stride: 2, padding: 1 }).add(resize(up, [4, 3], 'nearest').mean());
    const loss = y.square().sum();
    loss.backward();
    return loss;
  });
  const vals = [await out.data(), await x.grad!.data(), await w.grad!.data(), await wt.grad!.data()] as Float32Array[];
  for (const t of [x, w, wt, out, x.grad!, w.grad!, wt.grad!]) t.dispose();
  return vals;
}

const xs = [
  [0.5, -1.25, 2],
  [1.5, 0.25, -0.75],
];
const ys = [0.3, -0.6, 0.9];

describe.each(modes.map((mode) => ({ mode })))('gpu backend through the API, mode $mode', ({ mode }) => {
  it('reports the mode that runs', () => {
    const info = setBackend('gpu', { mode });
    expect(info).toMatchObject({ backend: 'gpu', mode, synchronous: mode !== 'webgpu', dtypes: ['float32'] });
    expect(backendInfo().mode).toBe(mode);
  });

  it('x·y → tanh → sum: value and gradients match the cpu backend', async () => {
    setBackend('cpu');
    const want = await mulSumGrads(xs, ys);
    setBackend('gpu', { mode });
    const got = await mulSumGrads(xs, ys);
    expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * (1 + Math.abs(want.loss)));
    got.gx.forEach((g, i) => expect(Math.abs(g - want.gx[i])).toBeLessThan(1e-5 * (1 + Math.abs(want.gx[i]))));
    got.gy.forEach((g, i) => expect(Math.abs(g - want.gy[i])).toBeLessThan(1e-5 * (1 + Math.abs(want.gy[i]))));
  });

  it('conv2d → relu → maxPool2d → convTranspose2d → resize → avgPool2d: loss and gradients match the cpu backend', async () => {
    setBackend('cpu');
    const want = await imagePipelineGrads();
    setBackend('gpu', { mode });
    const got = await imagePipelineGrads();
    // up to ~100 float32 terms per output along the chain: 1e-4 relative to the largest gradient
    want.forEach((wv, k) => {
      const scale = Math.max(...Array.from(wv, Math.abs));
      got[k].forEach((g, i) => expect(Math.abs(g - wv[i]), `output ${k} [${i}]`).toBeLessThan(1e-4 * scale));
    });
  });

  it('tidy returns the device-buffer count to its baseline', async () => {
    setBackend('gpu', { mode });
    const before = memory();
    const x = tensor([1, 2, 3, 4], undefined, { requiresGrad: true });
    const kept = tidy(() => {
      const y = x.mul(2).add(1).exp();
      const loss = y.sum();
      loss.backward();
      return loss;
    });
    expect((await kept.data())[0]).toBeCloseTo([3, 5, 7, 9].reduce((a, v) => a + Math.exp(v), 0), 0);
    expect(memory().deviceBuffers).toBeGreaterThan(before.deviceBuffers);
    for (const t of [kept, x, x.grad as Tensor]) t.dispose();
    expect(memory().deviceBuffers).toBe(before.deviceBuffers);
    expect(memory().numTensors).toBe(before.numTensors);
  });

  it('reused output buffers (webgpu pools them) never clobber a result still alive or being read', async () => {
    setBackend('gpu', { mode });
    const x = tensor([1, 2, 3, 4]);
    const reads: Promise<Float32Array>[] = [];
    let prev = x.mul(1);
    for (let k = 0; k < 30; k++) {
      // same size every time: each kernel after the first writes the buffer the last dispose released
      const next = prev.add(1).mul(prev.sub(prev).add(1));
      reads.push(prev.data() as Promise<Float32Array>);
      prev.dispose();
      prev = next;
    }
    const got = await Promise.all(reads);
    got.forEach((g, k) => expect(Array.from(g), `step ${k}`).toEqual([1, 2, 3, 4].map((v) => v + k)));
    expect(Array.from(await prev.data())).toEqual([31, 32, 33, 34]);
    for (const t of [x, prev]) t.dispose();
  });

  it('calls queued together keep their own arguments (webgpu records them into shared submissions)', async () => {
    setBackend('gpu', { mode });
    const x = tensor([1, -2, 3]);
    // the same kernel 150 times with a different constant each: more than one submission's worth
    const ys = Array.from({ length: 150 }, (_, k) => x.mul(k).add(x));
    const got = await Promise.all(ys.map((y) => y.data()));
    got.forEach((g, k) => expect(Array.from(g), `k = ${k}`).toEqual([1, -2, 3].map((v) => v * k + v)));
    for (const t of [x, ...ys]) t.dispose();
    // numbers passed as kernel parameters (uniforms), not as one-value tensors
    const b = createGpuBackend({ mode });
    const h = b.upload(Float32Array.from([1, -2, 3]), 'float32');
    const zs = Array.from({ length: 150 }, (_, k) => b.axpby!(h, k, h, 0.5, 3, 'float32'));
    const zv = await Promise.all(zs.map((z) => b.read(z, 3, 'float32')));
    zv.forEach((z, k) => expect(Array.from(z), `α = ${k}`).toEqual([1, -2, 3].map((v) => v * k + v * 0.5)));
    for (const z of [h, ...zs]) b.dispose(z);
  });

  it('host data larger than a submission holds (uploads of 2^18 and 2^20 values) arrives intact', async () => {
    setBackend('gpu', { mode });
    for (const n of [2 ** 18, 2 ** 20]) {
      const host = Float32Array.from({ length: n }, (_, i) => (i % 1000) - 500);
      // twice: the first call of a kernel is gpu.js's own, later ones are recorded into submissions
      for (let r = 0; r < 2; r++) {
        const x = tensor(host, [n]);
        const y = x.mul(2);
        const got = (await y.data()) as Float32Array;
        let bad = 0;
        for (let i = 0; i < n; i++) if (got[i] !== host[i] * 2) bad++;
        expect(bad, `n = ${n}, round ${r}`).toBe(0);
        for (const t of [x, y]) t.dispose();
      }
    }
  });

  it('float64 tensors are a clear error', () => {
    setBackend('gpu', { mode });
    expect(() => tensor([1, 2], undefined, { dtype: 'float64' })).toThrow(/float64/);
  });

  it('ops never block; dataSync is refused in the async mode and works in the sync ones', async () => {
    setBackend('gpu', { mode });
    // 7 elements: a kernel shape no test here compiles before. In the async mode gpu.js builds it
    // asynchronously, so the op returns with its handle pending, and the op after it waits its turn
    const x = tensor([1, 2, 3, 4, 5, 6, 7]);
    const y = x.mul(x).add(1);
    expect((y.handle as GpuHandle).value === null).toBe(mode === 'webgpu');
    if (mode === 'webgpu') expect(() => y.dataSync()).toThrow(/mode 'webgpu' is asynchronous.*await t\.data\(\)/);
    else expect(Array.from(y.dataSync())).toEqual([2, 5, 10, 17, 26, 37, 50]);
    expect(Array.from(await y.data())).toEqual([2, 5, 10, 17, 26, 37, 50]);
    // built kernels with nothing queued ahead are recorded at once (webgpu: into the open submission),
    // still without waiting for the GPU: the value is there, the data only through data()
    const z = x.mul(x).add(1);
    expect((z.handle as GpuHandle).value).not.toBeNull();
    if (mode === 'webgpu') expect(() => z.dataSync()).toThrow(/asynchronous/);
    expect(Array.from(await z.data())).toEqual([2, 5, 10, 17, 26, 37, 50]);
    [x, y, z].forEach((t) => t.dispose());
  });

  it("take's gradient over many elements: the synchronous modes scatter on the host, webgpu after a sort by index on the device, with the kernel's sums in its order", async () => {
    const b = createGpuBackend({ mode });
    const dev = deviceFor(mode);
    // 8192 outputs × 4100 values: over 2^25 visits for the gather kernel; indices repeat (4100 over 1 …
    // 3000), output 0 gets one value (so output 1's run starts at the second sorted place: a binary search
    // one halving short misses it), the last output two, and 4100 is not a power of two (webgpu pads the sort)
    const size = 8192;
    const count = 4100;
    const idx = Float32Array.from({ length: count }, (_, k) => (k === 5 ? 0 : k >= count - 2 ? size - 1 : 1 + ((k * 37) % 3000)));
    const vals = Float32Array.from({ length: count }, (_, k) => Math.sin(k) * 3);
    const want = new Float32Array(size);
    for (let k = 0; k < count; k++) want[idx[k]] = Math.fround(want[idx[k]] + vals[k]);
    const run = vi.spyOn(dev, 'run');
    const [hi, hv] = [b.upload(idx, 'float32'), b.upload(vals, 'float32')];
    const out = b.scatterAdd(hi, hv, count, size, 'float32');
    const kernels = run.mock.calls.filter((c) => c[0] === 'scatterAdd').length;
    run.mockRestore();
    // webgpu: the pairs, the bitonic sort of 8192 = 2^13 (35 passes of up to three steps), the sums
    expect(kernels).toBe(mode === 'webgpu' ? 37 : 0);
    expect(Array.from((await b.read(out, size, 'float32')) as Float32Array)).toEqual(Array.from(want));
    for (const x of [hi, hv, out]) b.dispose(x);
  });
});

describe.each(modes.filter((m) => m === 'webgpu').map((mode) => ({ mode })))('device timing, mode $mode', ({ mode }) => {
  it('times each kernel call alone on the device (a long kernel longer than a short one) and keeps the results', async () => {
    setBackend('gpu', { mode });
    const a = randn([256, 256], { seed: 1 });
    const b = randn([256, 256], { seed: 2 });
    const small = tensor([1, 2, 3]);
    const step = async (): Promise<Float32Array[]> => {
      const [c, d] = [a.matmul(b), small.add(1)];
      const out = [(await c.data()) as Float32Array, (await d.data()) as Float32Array];
      c.dispose();
      d.dispose();
      return out;
    };
    await step(); // the kernels' first calls are gpu.js's own (built there, not timed)
    const expected = await step();
    enableProfiling(true, { deviceTime: true });
    resetProfile();
    let got: Float32Array[];
    try {
      got = await step();
    } finally {
      enableProfiling(false);
    }
    expect(got).toEqual(expected);
    const device = Object.fromEntries(profileReport('device').map((r) => [r.op, r]));
    const queued = Object.fromEntries(profileReport('queued').map((r) => [r.op, r.calls]));
    expect(Object.fromEntries(Object.entries(device).map(([k, r]) => [k, r.calls]))).toEqual(queued);
    expect(Object.keys(device).sort()).toEqual(['add', 'matmul']);
    expect(device.matmul.meanMs).toBeGreaterThan(device.add.meanMs);
    expect(formatProfile(undefined, ['device'])).toMatch(/device time of each, run alone .*empty submission \(\d+\.\d{3} ms\):\n\n\| kernel \|/);
    resetProfile();
    for (const t of [a, b, small]) t.dispose();
  });
});

describe.each(modes.filter((m) => m === 'webgpu').map((mode) => ({ mode })))('bind groups kept across steps, mode $mode', ({ mode }) => {
  it('a loop repeating its calls binds kept groups once its buffers settle and computes what it did before', async () => {
    const groups = await countBindGroups();
    const b = createGpuBackend({ mode });
    const n = 5;
    const xs = Float32Array.from([1, -2, 3, 0.5, -4]);
    const x = b.upload(xs, 'float32');
    try {
      // a value replaced every step (s ← s/2 + x) beside a call whose scalar changes every step (k·s)
      let s = b.upload(new Float32Array(n), 'float32');
      let host = new Float32Array(n);
      const perStep: number[] = [];
      for (let k = 0; k < 9; k++) {
        const before = groups.made();
        const next = b.axpby!(s, 0.5, x, 1, n, 'float32');
        const scaled = b.axpby!(next, k, x, 0, n, 'float32');
        b.dispose(s);
        s = next;
        host = host.map((v, i) => Math.fround(Math.fround(v * 0.5) + xs[i]));
        expect(Array.from(await b.read(s, n, 'float32')), `s, step ${k}`).toEqual(Array.from(host));
        expect(Array.from(await b.read(scaled, n, 'float32')), `k·s, step ${k}`).toEqual(Array.from(host, (v) => Math.fround(v * k)));
        b.dispose(scaled);
        perStep.push(groups.made() - before);
      }
      // the first steps build the kernels and settle the buffers (s alternates between two, so each of its
      // two calls is seen twice by step 5); then only k·s binds a group of its own
      expect(perStep.slice(5), `bind groups made a step: ${perStep}`).toEqual([1, 1, 1, 1]);
      b.dispose(s);
    } finally {
      groups.stop();
      b.dispose(x);
    }
  });
});

describe.each(modes.filter((m) => m !== 'cpu').map((mode) => ({ mode })))('gpu backend size limit, mode $mode', ({ mode }) => {
  it('refuses tensors past 2^23 elements instead of mis-indexing them, but for webgpu kernels with integer indices', () => {
    const b = createGpuBackend({ mode });
    const live = b.liveBuffers();
    const sizeError = (f: () => unknown): TensorSizeLimitError => {
      try {
        f();
      } catch (err) {
        return err as TensorSizeLimitError;
      }
      throw new Error('no error');
    };
    // a kernel written without integer indices: refused in every mode
    const dev = deviceFor(mode);
    const floatOnly = sizeError(() => dev.run('floatKernel', 'function() { let i = this.thread.x; return i; }', 2 ** 23 + 1, []));
    expect(floatOnly).toBeInstanceOf(TensorSizeLimitError);
    expect([floatOnly.op, floatOnly.elements, floatOnly.limit]).toEqual(['floatKernel', 2 ** 23 + 1, 2 ** 23]);
    expect(floatOnly.message).toMatch(/floatKernel \(gpu backend, mode '\w+'\): a tensor of 8388609 elements exceeds the 8388608-element limit of float32 index arithmetic/);
    if (mode === 'webgpu') {
      expect(floatOnly.message).toContain('(this kernel has no integer form)');
      // fill's kernel indexes by the thread's integer index: webgpu runs it past 2^23, up to 2^31 − 1
      const big = b.fill(2 ** 23 + 1, 0, 'float32');
      b.dispose(big);
      const past = sizeError(() => b.fill(2 ** 31, 0, 'float32'));
      expect([past.op, past.elements, past.limit]).toEqual(['fill', 2 ** 31, 2 ** 31 - 1]);
      expect(past.message).toMatch(/limit of 32-bit integer index arithmetic/);
    } else {
      const fill = sizeError(() => b.fill(2 ** 23 + 1, 0, 'float32'));
      expect([fill.op, fill.elements, fill.limit]).toEqual(['fill', 2 ** 23 + 1, 2 ** 23]);
      // concat names its inputs in the message, and the error stays a TensorSizeLimitError
      const half = b.fill(2 ** 22 + 1, 0, 'float32');
      const joined = sizeError(() => b.concat([half, half], [[2 ** 22 + 1], [2 ** 22 + 1]], 0, 'float32'));
      b.dispose(half);
      expect(joined).toBeInstanceOf(TensorSizeLimitError);
      expect([joined.op, joined.elements]).toEqual(['concat', 2 ** 23 + 2]);
      expect(joined.message).toMatch(/^concat of 2 inputs \[4194305\] \[4194305\] along axis 0: concat \(gpu backend/);
    }
    expect(b.liveBuffers()).toBe(live);
  });
});

describe.each(modes.map((mode) => ({ mode })))('a failing kernel call, mode $mode', ({ mode }) => {
  it('is an error naming its op: thrown by the op in the sync modes, kept for the read in webgpu (run at once or queued), and the device goes on', async () => {
    const dev = deviceFor(mode);
    // gpu.js cannot compile a call of a function it does not know
    const bad = 'function(a) { return noSuchFunction(a[this.thread.x]); }';
    const x = dev.upload(new Float32Array([1, 2, 3]));
    const doubled = (): Promise<Float32Array> => dev.read(dev.run('double', 'function(a) { return a[this.thread.x] * 2; }', 3, [x]), 3);
    if (dev.synchronous) {
      expect(() => dev.run('badOp', bad, 3, [x])).toThrow(new RegExp(`^badOp \\(gpu backend, mode '${mode}'\\): `));
    } else {
      expect(Array.from(await doubled())).toEqual([2, 4, 6]); // nothing queued now: the next call runs at once
      const atOnce = dev.run('badOp', bad, 3, [x]);
      await expect(dev.read(atOnce, 3)).rejects.toThrow(new RegExp(`^badOp \\(gpu backend, mode '${mode}'\\): `));
      const reading = dev.read(x, 3); // a read in flight: the next call is queued behind it
      const queued = dev.run('badQueuedOp', bad, 3, [x]);
      await expect(dev.read(queued, 3)).rejects.toThrow(new RegExp(`^badQueuedOp \\(gpu backend, mode '${mode}'\\): `));
      expect(Array.from(await reading)).toEqual([1, 2, 3]);
      for (const h of [atOnce, queued]) dev.release(h);
    }
    expect(Array.from(await doubled())).toEqual([2, 4, 6]);
    dev.release(x);
  });
});

describe('gpu backend mode selection', () => {
  it('an unavailable mode is an error naming the mode and why', () => {
    const missing = (['webgl2', 'webgl', 'headlessgl'] as const).find((m) => !availableGpuModes().includes(m));
    expect(missing, 'every GL mode is available here: nothing unavailable to test').toBeDefined();
    expect(() => setBackend('gpu', { mode: missing })).toThrow(new RegExp(`mode '${missing}' is unavailable: .+`));
  });

  it('an unknown mode is an error listing the modes', () => {
    expect(() => setBackend('gpu', { mode: 'cuda' })).toThrow(/unknown gpu.js mode 'cuda'; expected one of webgpu, webgl2/);
  });

  it('without a mode it picks the best available and says which', () => {
    const info = setBackend('gpu');
    expect(info.mode).toBe(availableGpuModes()[0]);
    expect(info.synchronous).toBe(info.mode !== 'webgpu');
  });
});
