import { describe, expect, it } from 'vitest';
import { add, div, grad, mul, neg, noGrad, randn, relu, sqrt, square, step, sub, tensor, type Tensor } from '../../src/index.js';
import { useSimdKernel } from '../../src/tensor/backends/cpu/gemm.js';

/**
 * The WebAssembly SIMD elementwise loops (elementwise-simd.ts) against the JS loops of elementwise.ts
 * (selected with useSimdKernel(false)): bit for bit, for runs shorter and longer than a chunk, lengths
 * that are not multiples of 4, broadcasts along every side, and special values.
 */
function bothPaths(f: () => Tensor): [number[], number[]] {
  const simd = Array.from(f().dataSync());
  useSimdKernel(false);
  try {
    return [simd, Array.from(f().dataSync())];
  } finally {
    useSimdKernel(true);
  }
}

const same = (f: () => Tensor): void => {
  const [simd, js] = bothPaths(f);
  expect(simd.length).toBe(js.length);
  for (let i = 0; i < js.length; i++) if (!Object.is(simd[i], js[i])) expect([i, simd[i]]).toEqual([i, js[i]]);
};

describe('cpu float32 elementwise SIMD loops', () => {
  const special = [NaN, 0, -0, Infinity, -Infinity, 1e-40, -1e-40, 3.5, -2.25, 1e30, -1e30];
  const withSpecials = (shape: number[], seed: number): Tensor => {
    const v = randn(shape, { seed }).dataSync().slice();
    special.forEach((s, i) => (v[(i * 7919) % v.length] = s));
    return tensor(v, shape);
  };

  it('unary relu, step, neg, square, sqrt agree bit for bit, specials included', () => {
    for (const shape of [[3, 5, 7], [8, 16, 64, 64], [40000], [16387]]) {
      const x = withSpecials(shape, 1);
      for (const op of [relu, step, neg, square, sqrt]) same(() => op(x));
    }
  });

  it('binary add, sub, mul, div agree for same shapes and every kind of broadcast', () => {
    const cases: [number[], number[]][] = [
      [[8, 16, 32, 32], [8, 16, 32, 32]],
      [[8, 16, 32, 32], [1, 16, 1, 1]],
      [[1, 16, 1, 1], [8, 16, 32, 32]],
      [[4, 3, 9, 9], [4, 3, 9, 9]],
      [[70001], []],
      [[], [70001]],
      [[2, 3, 130], [2, 1, 130]],
      [[2, 3, 130], [1, 3, 1]],
      [[5, 67], [67]],
    ];
    for (const [sa, sb] of cases) {
      const a = withSpecials(sa.length ? sa : [1], 2).reshape(sa);
      const b = withSpecials(sb.length ? sb : [1], 3).reshape(sb);
      for (const op of [add, sub, mul, div]) same(() => op(a, b));
    }
  });

  it("relu's gradient (dy·step(x) in one pass) has the bits of mul(dy, step(x)), −0 from negative dy included", () => {
    for (const shape of [[3, 5, 7], [8, 16, 64, 64], [16387]]) {
      const x = withSpecials(shape, 4);
      // dy's specials one place on, so they meet ordinary x and x's zeros meet ordinary dy
      const d = withSpecials(shape, 5).dataSync();
      const dy = tensor(d.map((_, i) => d[(i + d.length - 1) % d.length]), shape);
      // grad of Σ relu(x)·dy is dy·step(x); the backward runs without recording, so the fused pass
      const fused = Array.from(grad((t: Tensor) => relu(t).mul(dy).sum())(x)[0].dataSync());
      const composed = Array.from(noGrad(() => mul(dy, step(x))).dataSync());
      expect(fused.length).toBe(composed.length);
      expect(fused.filter((v, i) => !Object.is(v, composed[i])).length).toBe(0);
      // and the JS loop of the fused op agrees too
      same(() => grad((t: Tensor) => relu(t).mul(dy).sum())(x)[0]);
    }
  });
});
