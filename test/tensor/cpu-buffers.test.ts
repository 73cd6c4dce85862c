import { describe, expect, it } from 'vitest';
import { concat, pad, randn, slice, tidy, zeros } from '../../src/index.js';
import { allocate, allocateUninitialized, clearRecycled, recycle, shareLargeArrays } from '../../src/tensor/backends/cpu/buffers.js';
import { scatterAdd } from '../../src/tensor/backends/cpu/layout.js';

/** scatterAdd into a recycled array that held non-zeros: every 7th of 7000 cells gets 1. */
function scatterAddForTest(): Float32Array {
  const dirty = new Float32Array(7000).fill(5);
  recycle(dirty);
  const idx = Float32Array.from({ length: 1000 }, (_, i) => i * 7);
  const ones = new Float32Array(1000).fill(1);
  return scatterAdd(idx, ones, 1000, 7000, 'float32') as Float32Array;
}

describe('cpu backend recycled output arrays (buffers.ts)', () => {
  it('slice (whole trailing axes copied as one run), concat and permute write every element of a recycled array', () => {
    const x = randn([2, 6, 40, 40], { seed: 5 });
    const xv = x.dataSync();
    const poison = (n: number) => recycle(new Float32Array(n).fill(Number.NaN));
    // channels 1..4 of each image: runs of 3·40·40 elements
    poison(2 * 3 * 40 * 40);
    const s = slice(x, [0, 1, 0, 0], [2, 3, 40, 40]).dataSync();
    for (let b = 0; b < 2; b++) for (let i = 0; i < 3 * 1600; i++) expect(s[b * 4800 + i]).toBe(xv[(b * 6 + 1) * 1600 + i]);
    // rows 3..36 of every channel: runs of 34·40
    poison(2 * 6 * 34 * 40);
    const r = slice(x, [0, 0, 3, 0], [2, 6, 34, 40]).dataSync();
    for (let p = 0; p < 12; p++) for (let i = 0; i < 34 * 40; i++) expect(r[p * 1360 + i]).toBe(xv[p * 1600 + 120 + i]);
    poison(2 * 12 * 40 * 40);
    expect(concat([x, x], 1).dataSync().some(Number.isNaN)).toBe(false);
    poison(2 * 6 * 40 * 40);
    expect(x.permute([0, 2, 3, 1]).dataSync().some(Number.isNaN)).toBe(false);
  });

  it('with sharing on, large arrays live on SharedArrayBuffers, small ones do not, and shared ones always return to the pool', () => {
    const isShared = (x: ArrayLike<number> & { buffer: ArrayBufferLike }) => x.buffer instanceof SharedArrayBuffer;
    shareLargeArrays(true);
    try {
      clearRecycled();
      const big = allocate('float32', 1 << 15);
      expect(isShared(big)).toBe(true);
      expect(isShared(allocate('float64', 1 << 15))).toBe(true);
      expect(isShared(allocate('float32', 5000))).toBe(false);
      big[7] = 3;
      recycle(big);
      // the same array comes back, zeroed by allocate
      const again = allocate('float32', 1 << 15);
      expect(again).toBe(big);
      expect(again[7]).toBe(0);
      // 300 MB of shared arrays exceed the plain pool's 256 MB bound, yet all of them are kept for reuse
      const many = Array.from({ length: 10 }, () => allocateUninitialized('float32', 30 << 18));
      many.forEach((x) => recycle(x));
      const back = Array.from({ length: 10 }, () => allocateUninitialized('float32', 30 << 18));
      expect(back.every((x) => many.includes(x))).toBe(true);
    } finally {
      shareLargeArrays(false);
      clearRecycled();
    }
  });

  it('data() and dataSync() of a tensor on shared memory give plain copies of its values, of its dtype', async () => {
    shareLargeArrays(true);
    try {
      for (const dtype of ['float32', 'float64'] as const) {
        const x = randn([1 << 15], { seed: 3, dtype });
        const y = x.mul(2);
        expect((y.handle as Float32Array).buffer).toBeInstanceOf(SharedArrayBuffer);
        for (const got of [y.dataSync(), await y.data()]) {
          expect(got.buffer).not.toBeInstanceOf(SharedArrayBuffer);
          expect(got).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array);
          expect(got).toEqual(y.handle);
          expect(got).not.toBe(y.handle);
        }
        const before = y.dataSync()[5];
        (y.dataSync() as Float32Array)[5] = 99;
        expect(y.dataSync()[5]).toBe(before);
        [x, y].forEach((t) => t.dispose());
      }
    } finally {
      shareLargeArrays(false);
      clearRecycled();
    }
  });

  it('an array freed by dispose is reused, zeroed where the kernel needs zeros', () => {
    const a = randn([64, 80], { seed: 1 });
    const before = Array.from(a.dataSync());
    const doomed = a.mul(3);
    doomed.dispose();
    // pad relies on a zero-filled output; a reused array must not leak the old values into it
    const p = pad(randn([64, 78], { seed: 2 }), [[0, 0], [1, 1]]);
    const pv = p.dataSync();
    for (let r = 0; r < 64; r++) {
      expect(pv[r * 80]).toBe(0);
      expect(pv[r * 80 + 79]).toBe(0);
    }
    expect(Array.from(a.dataSync())).toEqual(before);
    expect(Array.from(scatterAddForTest()).every((v, i) => v === (i % 7 === 0 ? 1 : 0))).toBe(true);
  });

  it('storage shared by a view survives the disposal of the original until the view goes too', () => {
    const a = randn([100, 50], { seed: 3 });
    const v = a.reshape([50, 100]);
    const values = Array.from(v.dataSync());
    a.dispose();
    tidy(() => {
      for (let i = 0; i < 5; i++) randn([100, 50], { seed: 10 + i }).mul(2);
    });
    expect(Array.from(v.dataSync())).toEqual(values);
    v.dispose();
    expect(Array.from(zeros([100, 50]).add(1).dataSync()).every((x) => x === 1)).toBe(true);
  });
});
