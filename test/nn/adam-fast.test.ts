import { describe, expect, it } from 'vitest';
import { randn, type Tensor } from '../../src/index.js';
import { Adam, AdamW } from '../../src/nn/index.js';

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
