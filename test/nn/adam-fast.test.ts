import { describe, expect, it } from 'vitest';
import { randn, type Tensor } from '../../src/index.js';
import { Adam, AdamW } from '../../src/nn/index.js';
import { adamUpdateF32, useAdamSimd } from '../../src/tensor/backends/cpu/adam.js';

/**
 * The fused float32 Adam/AdamW update of the cpu backend (backends/cpu/adam.ts) against the composed
 * update, which float64 parameters take: the same gradients for several steps, with and without weight
 * decay, give the same parameters and moments to float32 rounding.
 */
function run(make: (p: Tensor) => Adam, dtype: 'float32' | 'float64', steps: number): { p: number[]; m: number[]; v: number[] } {
  const p = randn([37, 29], { seed: 1, dtype });
  p.requiresGrad = true;
  const opt = make(p);
  for (let s = 0; s < steps; s++) {
    p.grad = randn([37, 29], { seed: 10 + s, dtype }).mul(s % 2 ? 3 : 0.01);
    opt.step();
    opt.zeroGrad();
  }
  const st = opt.stateDict().tensors;
  const prefix = opt instanceof AdamW ? 'adamw' : 'adam';
  return { p: Array.from(p.dataSync()), m: Array.from(st[`${prefix}.m.0`].dataSync()), v: Array.from(st[`${prefix}.v.0`].dataSync()) };
}

describe('fused float32 Adam update (cpu) against the composed update', () => {
  const cases: [string, (p: Tensor) => Adam][] = [
    ['Adam', (p) => new Adam([p], { lr: 0.01 })],
    ['Adam with L2 weight decay', (p) => new Adam([p], { lr: 0.003, weightDecay: 0.1, betas: [0.8, 0.99] })],
    ['AdamW', (p) => new AdamW([p], { lr: 0.01, weightDecay: 0.05, eps: 1e-6 })],
  ];
  for (const [name, make] of cases) {
    it(name, () => {
      const fused = run(make, 'float32', 5);
      const composed = run(make, 'float64', 5);
      for (const k of ['p', 'm', 'v'] as const) {
        const scale = Math.max(...composed[k].map(Math.abs));
        fused[k].forEach((x, i) => expect(Math.abs(x - composed[k][i])).toBeLessThan(2e-6 * scale));
      }
    });
  }
});

describe('the WebAssembly Adam loop (cpu) against the JS loop', () => {
  it('the same bits: tails of 1–3 values, several staged runs per chunk, Adam and AdamW', () => {
    // 1.5M values: more than a chunk's slot of the staging area holds, so each chunk stages several runs
    for (const n of [1024, 1027, 4099, 1_500_001]) {
      const rand = (seed: number, scale: number) => randn([n], { seed }).mul(scale).dataSync() as Float32Array;
      const [theta, grad, m] = [rand(1, 1), rand(2, 0.1), rand(3, 0.01)];
      const v = rand(4, 0.01).map(Math.abs);
      for (const decoupled of [false, true]) {
        const s = { b1: 0.9, b2: 0.999, lr: 1e-3, eps: 1e-8, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.999 ** 3, wd: 0.01, decoupled };
        const outs = [true, false].map((on) => {
          useAdamSimd(on);
          const o = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          adamUpdateF32(theta, grad, m, v, o[0], o[1], o[2], s);
          return o;
        });
        useAdamSimd(true);
        for (let k = 0; k < 3; k++) expect(Buffer.from(outs[0][k].buffer).equals(Buffer.from(outs[1][k].buffer)), `n ${n}, output ${k}`).toBe(true);
        // and the update did something
        expect(outs[0][0].some((x, i) => x !== theta[i])).toBe(true);
      }
    }
  });
});
