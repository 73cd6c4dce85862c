import { describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d, randn, valueAndGrad, type Tensor } from '../../src/index.js';

/**
 * The float32 convolution fast paths of the cpu backend (conv.ts) against the float64 reference loops:
 * forward values and both gradients, at shapes that reach each branch: the contiguous im2col rows of
 * stride-1 'same' convolutions (first and last planes of the batch, images narrower than the kernel,
 * K > KC = 256, P > NC = 2048), pointwise convolutions and the 2×2 stride-2 transposed convolution.
 */
const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
};

type Opts = Parameters<typeof conv2d>[2];

function agree(xShape: number[], wShape: number[], opts: Opts, seed: number): void {
  const x = randn(xShape, { seed, dtype: 'float64' });
  const w = randn(wShape, { seed: seed + 1, dtype: 'float64' });
  const f = (p: Tensor, q: Tensor) => {
    const y = conv2d(p, q, opts);
    return y.mul(y.detach().tanh()).sum();
  };
  const r64 = valueAndGrad(f)(x, w);
  const r32 = valueAndGrad(f)(x.cast('float32'), w.cast('float32'));
  expect(rel(conv2d(x.cast('float32'), w.cast('float32'), opts).dataSync(), conv2d(x, w, opts).dataSync())).toBeLessThan(1e-5);
  expect(rel(r32.grads[0].dataSync(), r64.grads[0].dataSync())).toBeLessThan(1e-4);
  expect(rel(r32.grads[1].dataSync(), r64.grads[1].dataSync())).toBeLessThan(1e-4);
}

describe('cpu float32 convolution fast paths against the float64 reference', () => {
  it('3×3 padding 1 (the U-Net block conv) at every image width from 1 to 9 and batch 3', () => {
    for (let hw = 1; hw <= 9; hw++) agree([3, 4, hw, hw + (hw % 3)], [5, 4, 3, 3], { padding: 1 }, 10 + hw);
  });

  it('3×3 padding 1 with K = 32·9 > KC and P = 48² > NC', () => {
    agree([2, 32, 48, 48], [8, 32, 3, 3], { padding: 1 }, 31);
  });

  it("'same' convolutions with even kernels, dilation and asymmetric padding keep the output width", () => {
    agree([2, 3, 7, 6], [4, 3, 2, 2], { padding: 'same' }, 41);
    agree([2, 3, 9, 8], [4, 3, 3, 3], { padding: 2, dilation: 2 }, 42);
    agree([1, 2, 6, 5], [3, 2, 5, 3], { padding: [1, 3, 1, 1] }, 43);
    agree([2, 4, 6, 6], [6, 2, 3, 3], { padding: 1, groups: 2 }, 44);
  });

  it('pointwise (1×1) convolution, the U-Net head', () => {
    agree([3, 16, 12, 10], [1, 16, 1, 1], {}, 51);
    agree([2, 7, 5, 5], [9, 7, 1, 1], {}, 52);
  });

  it('2×2 stride-2 transposed convolution (the U-Net up-sampling) and its gradients', () => {
    const x = randn([3, 12, 5, 7], { seed: 61, dtype: 'float64' });
    const w = randn([12, 6, 2, 2], { seed: 62, dtype: 'float64' });
    const f = (p: Tensor, q: Tensor) => {
      const y = convTranspose2d(p, q, { stride: 2 });
      return y.mul(y.detach().tanh()).sum();
    };
    expect(rel(convTranspose2d(x.cast('float32'), w.cast('float32'), { stride: 2 }).dataSync(), convTranspose2d(x, w, { stride: 2 }).dataSync())).toBeLessThan(1e-5);
    const r64 = valueAndGrad(f)(x, w);
    const r32 = valueAndGrad(f)(x.cast('float32'), w.cast('float32'));
    expect(rel(r32.grads[0].dataSync(), r64.grads[0].dataSync())).toBeLessThan(1e-4);
    expect(rel(r32.grads[1].dataSync(), r64.grads[1].dataSync())).toBeLessThan(1e-4);
  });
});
