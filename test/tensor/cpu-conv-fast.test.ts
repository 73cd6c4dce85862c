import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { conv2d, conv2dAffine, conv2dAffinePair, convTranspose2d, convTranspose2dBias, matmul, maxPool2d, noGrad, randn, valueAndGrad, type Tensor } from '../../src/index.js';
import { useDenseColumns, useZipScatter } from '../../src/tensor/backends/cpu/conv.js';
import { gemmThreadChunks, stagingArea, useGemmThreads, useSimdKernel } from '../../src/tensor/backends/cpu/gemm.js';
import { batchNormTrain } from '../../src/autograd/index.js';
import { recycle } from '../../src/tensor/backends/cpu/buffers.js';

/**
 * The float32 convolution fast paths of the cpu backend (conv.ts) against the float64 reference loops:
 * forward values and both gradients, at shapes that reach each branch: the direct layout of stride-1
 * convolutions (gemmRowsF32 and dotsF32 on a padded copy of each image: images narrower than the kernel,
 * K > KC = 256, grids wider than NC = 2048), non-overlapping patches (stride = kernel: the 2×2 stride-2
 * transposed convolution and its gradients), the im2col path they fall back to (the contiguous rows of
 * 'same' convolutions, the scalar kernel, images too large to stage), pointwise convolutions and the
 * 2×2 stride-2 transposed convolution; and the worker thread on the direct kernels.
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
    // 8 rows: one depth block of 288 (few rows take up to 2·KC at once); the input gradient has 32
    // rows and K = 72
    agree([2, 32, 48, 48], [8, 32, 3, 3], { padding: 1 }, 31);
    // 24 rows, and 8 rows with K = 64·9 > 2·KC: depth blocks added into the result region
    agree([2, 32, 20, 20], [24, 32, 3, 3], { padding: 1 }, 32);
    agree([2, 64, 12, 12], [8, 64, 3, 3], { padding: 1 }, 35);
  });

  it('outputs are written in full: recycled arrays full of NaN never show through', () => {
    // the outputs of the convolutions below (forward, and the patch path's forward and input gradient), pre-filled with NaN
    const poison = (...sizes: number[]) => sizes.forEach((n) => recycle(new Float32Array(n).fill(Number.NaN)));
    poison(2 * 6 * 48 * 48, 2 * 6 * 48 * 48);
    agree([2, 4, 48, 48], [6, 4, 3, 3], { padding: 1 }, 33);
    poison(2 * 6 * 32 * 32, 2 * 6 * 32 * 32, 2 * 4 * 64 * 64, 2 * 4 * 64 * 64);
    agree([2, 4, 64, 64], [6, 4, 2, 2], { stride: 2 }, 34);
    // an odd last row and column the patches miss: their input gradient must still be 0
    poison(2 * 4 * 65 * 63, 2 * 4 * 65 * 63);
    agree([2, 4, 65, 63], [6, 4, 2, 2], { stride: 2 }, 35);
  });

  it('outputs of whole tiles a row (Wo a multiple of 8) are computed without the grid\'s padding, with the grid\'s bits', () => {
    const cases: [number[], number[]][] = [
      [[3, 4, 7, 8], [5, 4, 3, 3]], // one tile a row
      [[2, 3, 16, 24], [4, 3, 3, 3]], // three
      [[3, 2, 30, 48], [520, 2, 3, 3]], // 520 rows: column blocks of 4040 pixels, which end inside a row
      [[5, 16, 130, 128], [2, 16, 3, 3]], // too large to stage at once: runs of 4 + 1 images
    ];
    for (const [i, [xShape, wShape]] of cases.entries()) {
      const x = randn(xShape, { seed: 120 + i });
      const w = randn(wShape, { seed: 130 + i });
      const c = wShape[0];
      const affine = { w, scale: randn([c], { seed: 140 + i }), shift: randn([c], { seed: 150 + i }), opts: { padding: 1, relu: true } };
      const second = { w: randn([3, c, 3, 3], { seed: 160 + i }), scale: randn([3], { seed: 170 + i }), shift: randn([3], { seed: 180 + i }), opts: { padding: 1 } };
      const f = (p: Tensor, q: Tensor) => conv2d(p, q, { padding: 1 }).square().sum();
      const run = (dense: boolean) => {
        useDenseColumns(dense);
        // NaN wherever a stale value could be read: the double conv must zero the padding it stages
        stagingArea()!.fill(Number.NaN);
        const pair = noGrad(() => conv2dAffinePair(x, affine, second));
        return [conv2d(x, w, { padding: 1 }), ...valueAndGrad(f)(x, w).grads, noGrad(() => conv2dAffine(x, w, affine.scale, affine.shift, affine.opts)), pair].map((t) => Array.from(t.dataSync()));
      };
      try {
        const grid = run(false);
        expect(grid.flat().every(Number.isFinite)).toBe(true);
        expect(run(true)).toEqual(grid);
      } finally {
        useDenseColumns(true);
      }
    }
  });

  it('few output channels take column blocks as wide as the result region holds; more channels split them', () => {
    // Cout = 64: blocks of about 2^15 grid positions, so the 2·131² grid of this batch needs two
    agree([2, 3, 130, 130], [64, 3, 3, 3], { padding: 1 }, 32);
  });

  it("'same' convolutions with even kernels, dilation and asymmetric padding keep the output width", () => {
    agree([2, 3, 7, 6], [4, 3, 2, 2], { padding: 'same' }, 41);
    agree([2, 3, 9, 8], [4, 3, 3, 3], { padding: 2, dilation: 2 }, 42);
    agree([1, 2, 6, 5], [3, 2, 5, 3], { padding: [1, 3, 1, 1] }, 43);
    agree([2, 4, 6, 6], [6, 2, 3, 3], { padding: 1, groups: 2 }, 44);
  });

  it('non-overlapping patches (stride = kernel) as one GEMM over the batch, inputs with uncovered edges', () => {
    agree([2, 3, 7, 9], [4, 3, 2, 2], { stride: 2 }, 45);
    agree([3, 5, 9, 10], [2, 5, 3, 3], { stride: 3 }, 46);
    agree([2, 4, 8, 6], [3, 4, 2, 3], { stride: [2, 3] }, 47);
    // 120·3·3 filter rows: more than a result block holds (1024), so a (ci, ky) row group is split between blocks
    agree([2, 120, 10, 7], [4, 120, 3, 3], { stride: 3 }, 48);
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

  it('2×2 patches with Wo a multiple of 4 are scattered as whole dx rows (zip2) with the per-element scatter\'s bits', () => {
    // outputs land in recycled arrays full of NaN, so a cell the scatter misses shows (shared, as the
    // backend's own large arrays are, so that both threads scatter)
    const poison = (n: number) => [0, 1].forEach(() => recycle(new Float32Array(new SharedArrayBuffer(4 * n)).fill(Number.NaN)));
    const up = (xShape: number[], cout: number, seed: number) => {
      const x = randn(xShape, { seed });
      const w = randn([xShape[1], cout, 2, 2], { seed: seed + 1 });
      const b = randn([cout], { seed: seed + 2 });
      poison(xShape[0] * cout * 4 * xShape[2] * xShape[3]);
      return noGrad(() => [convTranspose2dBias(x, w, b, { stride: 2 }), convTranspose2d(x, w, { stride: 2 })]);
    };
    const run = () => {
      const outs = [
        // U-Net's up-convolution at inference, with its bias and without
        ...up([3, 12, 5, 8], 6, 201),
        // 300·4 result rows: two row blocks; column blocks of 2048 end inside an image and inside a row (Wo 12)
        ...up([20, 3, 10, 12], 300, 204),
        // 60 staged dY rows leave each of 32 chunks a slot of 3888 output rows (Wo 4), fewer than a
        // column block's 4110: each plane in runs the slot bounds
        ...up([1, 60, 9000, 4], 32, 207),
      ];
      // the input gradient of a 2×2 stride-2 conv (no bias) takes the same scatter
      const f = (p: Tensor, q: Tensor) => conv2d(p, q, { stride: 2 }).square().sum();
      poison(2 * 6 * 16 * 16);
      outs.push(valueAndGrad(f)(randn([2, 6, 16, 16], { seed: 210 }), randn([5, 6, 2, 2], { seed: 211 })).grads[0]);
      return outs.map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer));
    };
    useZipScatter(false);
    const plain = run();
    useZipScatter(true);
    const zipped = run();
    // the first float whose bits differ, per output (−1: none)
    expect(zipped.map((o, i) => (o.length === plain[i].length ? o.findIndex((v, j) => v !== plain[i][j]) : -2))).toEqual(plain.map(() => -1));
  });

  it('the im2col path (scalar kernel: no staging area) agrees on the same shapes', () => {
    useSimdKernel(false);
    try {
      for (let hw = 1; hw <= 5; hw++) agree([2, 3, hw, hw + 1], [4, 3, 3, 3], { padding: 1 }, 70 + hw);
      agree([2, 3, 7, 6], [4, 3, 2, 2], { padding: 'same' }, 76);
    } finally {
      useSimdKernel(true);
    }
  });

  it('a batch too large to stage at once runs in shorter runs of images (here 2 + 2 + 1)', () => {
    agree([5, 16, 260, 260], [2, 16, 3, 3], { padding: 1 }, 79);
  });

  it('an image too large for the staging area falls back to im2col', () => {
    const x = randn([1, 1, 2100, 2050], { seed: 81, dtype: 'float64' });
    const w = randn([2, 1, 3, 3], { seed: 82, dtype: 'float64' });
    expect(rel(conv2d(x.cast('float32'), w.cast('float32'), { padding: 1 }).dataSync(), conv2d(x, w, { padding: 1 }).dataSync())).toBeLessThan(1e-5);
  });

  it('matmul with more rows than the result region (R_ROWS = 1024) agrees', () => {
    const a = randn([1030, 37], { seed: 83, dtype: 'float64' });
    const b = randn([37, 21], { seed: 84, dtype: 'float64' });
    expect(rel(matmul(a.cast('float32'), b.cast('float32')).dataSync(), matmul(a, b).dataSync())).toBeLessThan(1e-5);
    expect(rel(matmul(a.cast('float32').transpose(), a.cast('float32')).dataSync(), matmul(a.transpose(), a).dataSync())).toBeLessThan(1e-5);
  });
});

describe('cpu GEMM worker thread on the direct convolution kernels', () => {
  it('forward, input and filter gradients are bit-for-bit the same with and without the worker', async () => {
    if (availableParallelism() < 2 || process.env.SEGRAD_CPU_THREADS === '1') return;
    const x = randn([2, 24, 36, 36], { seed: 91 });
    const w = randn([32, 24, 3, 3], { seed: 92 });
    const f = (p: Tensor, q: Tensor) => conv2d(p, q, { padding: 1 }).square().sum();
    const run = () => [conv2d(x, w, { padding: 1 }), ...valueAndGrad(f)(x, w).grads].map((t) => Array.from(t.dataSync()));
    useGemmThreads(false);
    const single = run();
    useGemmThreads(true);
    const before = gemmThreadChunks().worker;
    let both = run();
    for (let i = 0; i < 50 && gemmThreadChunks().worker === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      useGemmThreads(true);
      both = run();
    }
    expect(gemmThreadChunks().worker).toBeGreaterThan(before);
    expect(both).toEqual(single);
  });

  it('the JS loops split between the threads (conv staging and copy-out, the double conv hand-over, batch norm, elementwise, pooling, patches) give the same bits as one thread', async () => {
    if (availableParallelism() < 2 || process.env.SEGRAD_CPU_THREADS === '1') return;
    // a first conv starts the worker; from then on op outputs live in shared memory the worker can read
    conv2d(randn([2, 24, 36, 36], { seed: 93 }), randn([32, 24, 3, 3], { seed: 94 }), { padding: 1 }).dataSync();
    const x = randn([4, 16, 32, 32], { seed: 95 }).mul(1.5).add(0.25);
    const w = randn([16, 16, 3, 3], { seed: 96 }).mul(0.2);
    const gamma = randn([16], { seed: 97 });
    const beta = randn([16], { seed: 98 });
    const f = (p: Tensor, q: Tensor, gm: Tensor, bt: Tensor) => batchNormTrain(conv2d(p, q, { padding: 1 }), gm, bt, 1e-5).y.square().sum();
    // elementwise ops over 8 chunks: same shapes, a channel broadcast, a scalar, a unary op
    const z = randn([8, 16, 64, 64], { seed: 99 }).mul(1);
    const z2 = randn([8, 16, 64, 64], { seed: 100 }).mul(1);
    const wt = randn([16, 8, 2, 2], { seed: 101 }).mul(1);
    const run = () => {
      const { y, mean, variance } = batchNormTrain(x, gamma, beta, 1e-5);
      const ew = [z.mul(z2), z.add(gamma.reshape([1, 16, 1, 1])), z.sub(0.5), z.relu()];
      // a double conv at inference: the first's output written into the second's staging area
      const conv = { w, scale: gamma, shift: beta, opts: { padding: 1, relu: true } };
      ew.push(noGrad(() => conv2dAffinePair(x, conv, conv)));
      // 2×2 max pooling and the 2×2 stride-2 transposed convolution (patch staging and scattering)
      const g = (p: Tensor, q: Tensor) => convTranspose2d(maxPool2d(p, { kernel: 2, stride: 2 }), q, { stride: 2 }).square().sum();
      return [y, mean, variance, ...ew, ...valueAndGrad(f)(x, w, gamma, beta).grads, ...valueAndGrad(g)(z, wt).grads].map((t) => Array.from(t.dataSync()));
    };
    useGemmThreads(false);
    const single = run();
    useGemmThreads(true);
    // batch norm alone runs no GEMM: the worker's chunks then come from the loops
    const before = gemmThreadChunks().worker;
    for (let i = 0; i < 50 && gemmThreadChunks().worker === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      useGemmThreads(true);
      batchNormTrain(x, gamma, beta, 1e-5).y.dataSync();
    }
    expect(gemmThreadChunks().worker).toBeGreaterThan(before);
    expect(run()).toEqual(single);
  });
});
