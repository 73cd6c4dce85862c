import { describe, expect, it } from 'vitest';
import { gradcheck, grad, valueAndGrad } from '../../src/autograd/index.js';
import { keep, memory, randn, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { f64 } from '../helpers/tensors.js';

// Live-tensor and buffer accounting: what tidy/keep/dispose promise in DESIGN.md ("a test asserts that
// the live-tensor count returns to its baseline after a training step").

const counts = () => {
  const m = memory();
  return { numTensors: m.numTensors, numBuffers: m.numBuffers, numBytes: m.numBytes, deviceBuffers: m.deviceBuffers };
};

describe('memory accounting', () => {
  it('forward + backward inside tidy returns to baseline, plus exactly the kept .grad tensors', () => {
    const x = randn([4, 3], { seed: 1, requiresGrad: true });
    const w = randn([3, 5], { seed: 2, requiresGrad: true });
    const base = counts();
    tidy(() => {
      const h = x.matmul(w).relu();
      const loss = h.softmax(1).log().mean().add(h.square().sum().mul(0.01));
      loss.backward();
    });
    const after = counts();
    // one tensor and one buffer per gradient, float32 = 4 bytes each
    expect(after.numTensors).toBe(base.numTensors + 2);
    expect(after.numBuffers).toBe(base.numBuffers + 2);
    expect(after.deviceBuffers).toBe(base.deviceBuffers + 2);
    expect(after.numBytes).toBe(base.numBytes + 4 * (x.size + w.size));
    expect(x.grad!.shape).toEqual([4, 3]);
    expect(w.grad!.isDisposed).toBe(false);

    // a second step accumulates into the same number of gradient tensors
    tidy(() => x.matmul(w).sum().backward());
    expect(counts()).toEqual(after);

    x.grad!.dispose();
    w.grad!.dispose();
    expect(counts()).toEqual(base);
  });

  it('tidy frees everything but its result; nested tidies hand results outward', () => {
    const base = counts();
    const out = tidy(() => {
      const a = tensor([1, 2, 3]);
      const inner = tidy(() => a.mul(2).add(1));
      return { y: inner.mul(inner), extra: [a.sum()] };
    });
    expect(Array.from(out.y.dataSync())).toEqual([9, 25, 49]);
    expect(counts().numTensors).toBe(base.numTensors + 2);
    out.y.dispose();
    out.extra[0].dispose();
    expect(counts()).toEqual(base);
  });

  it('keep() survives tidy (nested too) and is then the caller’s to dispose', () => {
    const base = counts();
    let kept: Tensor | null = null;
    tidy(() => {
      tidy(() => {
        kept = keep(tensor([1, 2]).add(1));
      });
    });
    expect(kept!.isDisposed).toBe(false);
    expect(Array.from(kept!.dataSync())).toEqual([2, 3]);
    expect(counts().numTensors).toBe(base.numTensors + 1);
    kept!.dispose();
    expect(counts()).toEqual(base);
  });

  it('grad(f) inside tidy frees the gradients it does not return', () => {
    const x = f64([1, 2, 3], [3]);
    const base = counts();
    const total = tidy(() => {
      const [g] = grad((t: Tensor) => t.square().sum())(x);
      return g.sum();
    });
    expect(total.item()).toBe(12);
    expect(counts().numTensors).toBe(base.numTensors + 1);
    total.dispose();
    tidy(() => {
      valueAndGrad((t: Tensor) => t.exp().sum())(x);
    });
    expect(counts()).toEqual(base);
  });

  it('gradcheck leaves no tensors behind', () => {
    const x = f64([0.3, -0.2, 0.9], [3]);
    const base = counts();
    gradcheck((t) => t.tanh().mul(t).sum(), [x]);
    gradcheck((t) => t.tanh().mul(t).sum(), [x], { mode: 'directional' });
    expect(counts()).toEqual(base);
  });

  it('dispose() twice is harmless and counts once; views keep shared storage alive', () => {
    const base = counts();
    const a = tensor([1, 2, 3, 4]);
    const v = a.reshape([2, 2]);
    expect(counts().numTensors).toBe(base.numTensors + 2);
    expect(counts().numBuffers).toBe(base.numBuffers + 1);
    a.dispose();
    a.dispose();
    expect(counts().numTensors).toBe(base.numTensors + 1);
    expect(v.toArray()).toEqual([[1, 2], [3, 4]]);
    v.dispose();
    v.dispose();
    expect(counts()).toEqual(base);
  });

  it('using a disposed tensor is a clear error naming the operation and the shape', async () => {
    const a = tensor([[1, 2]]);
    a.dispose();
    expect(a.isDisposed).toBe(true);
    expect(() => a.dataSync()).toThrow('dataSync: tensor [1,2] was disposed');
    await expect(a.data()).rejects.toThrow('data: tensor [1,2] was disposed');
    expect(() => a.add(1)).toThrow('add: an input tensor [1,2] was disposed');
    expect(() => tensor([1]).mul(a)).toThrow('mul: an input tensor [1,2] was disposed');
    expect(() => a.reshape([2])).toThrow(/reshape: .*\[1,2\].*disposed/);
    expect(() => a.matmul(tensor([[1], [2]]))).toThrow(/matmul: .*\[1,2\].*disposed/);
    expect(a.toString()).toContain('disposed');
  });

  it('a tidy whose function throws frees what it created (and what a failing backward created)', () => {
    const x = f64([1, 2], [2], true);
    const base = counts();
    expect(() =>
      tidy(() => {
        tidy(() => x.mul(3).exp());
        x.square();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(counts()).toEqual(base);
    expect(() => tidy(() => x.mul(x).backward(f64([1], [1])))).toThrow(/backward: gradient shape/);
    expect(counts()).toEqual(base);
  });

  it('tidy refuses an async function (it would escape the scope)', () => {
    expect(() => tidy((async () => 1) as unknown as () => number)).toThrow(/tidy: the function must be synchronous/);
  });
});
