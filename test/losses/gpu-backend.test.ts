import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, tensor, tidy, valueAndGrad, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';
import { labels, oneHot, type Case } from './helpers.js';

// The losses are composed from backend primitives: on the gpu backend (gpu.js's always-available 'cpu'
// mode, float32) value and gradient must match the cpu backend to float32 precision.

const cases: Case[] = [
  { n: 2, c: 1, h: 3, w: 4, fraction: 0.2, seed: 31, indexTarget: false },
  { n: 2, c: 3, h: 3, w: 3, fraction: 0.5, seed: 32, indexTarget: true },
];

function run(name: string, k: Case, backend: string): { value: number; grad: number[] } {
  return tidy(() => {
    const loss = L.lossByName(name);
    const size = k.n * k.c * k.h * k.w;
    const raw = Array.from({ length: size }, (_, i) => Math.sin(1.7 * i + k.seed));
    const x = tensor(loss.takes === 'logits' ? raw.map((v) => 3 * v) : raw.map((v) => 0.5 + 0.45 * v), [k.n, k.c, k.h, k.w]);
    const t = k.c === 1 ? tensor(labels(k), [k.n, 1, k.h, k.w]) : tensor(oneHot(k), [k.n, k.c, k.h, k.w]);
    expect(x.backend.name).toBe(backend);
    const { value, grads } = valueAndGrad((input: Tensor) => loss(input, t))(x);
    return { value: value.item(), grad: Array.from(grads[0].dataSync()) };
  });
}

describe('losses on the gpu backend (gpu.js cpu mode) agree with the cpu backend', () => {
  afterAll(() => void setBackend('cpu'));
  for (const k of cases) {
    it(`every loss, C = ${k.c}`, () => {
      const names = L.LOSS_NAMES.filter((n) => !(n === 'lovasz-hinge' && k.c > 1));
      setBackend('cpu');
      const reference = names.map((n) => run(n, k, 'cpu'));
      setBackend('gpu', { mode: 'cpu' });
      try {
        names.forEach((n, i) => {
          const got = run(n, k, 'gpu');
          const ref = reference[i];
          expect(Math.abs(got.value - ref.value), n).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.value)));
          got.grad.forEach((g, j) => expect(Math.abs(g - ref.grad[j]), `${n} grad ${j}`).toBeLessThan(1e-4 * Math.max(1e-2, Math.abs(ref.grad[j]))));
        });
      } finally {
        setBackend('cpu');
      }
    });
  }
});
