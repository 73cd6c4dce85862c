import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gradcheck, Rng, tensor, tidy, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';
import { caseArb, labels, oneHot, target, type Case } from './helpers.js';

// The Lovász losses are piecewise linear in the sorted order: the gradient test draws distinct errors
// (no ties in the sort) that stay away from the hinge at 0.

/** Hinge logits whose errors 1 − z·s are distinct, ±(0.05 + 0.1k + jitter) with |jitter| ≤ 0.015. */
function hingeLogits(k: Case): Tensor {
  const rng = new Rng(k.seed + 3);
  const g = oneHot(k);
  const order = rng.shuffle([...g.keys()]);
  const z = new Array<number>(g.length);
  order.forEach((i, rank) => {
    const e = (rng.uniform() < 0.5 ? -1 : 1) * (0.05 + 0.1 * rank + 0.03 * (rng.uniform() - 0.5));
    z[i] = (1 - e) * (2 * g[i] - 1);
  });
  return tensor(z, [k.n, 1, k.h, k.w], { dtype: 'float64' });
}

/** Probabilities whose errors |fg − p| are distinct within every class, spread over [0.02, 0.98]. */
function lovaszProbabilities(k: Case): Tensor {
  const rng = new Rng(k.seed + 5);
  const g = oneHot(k);
  const hw = k.h * k.w;
  const m = k.n * hw;
  const p = new Array<number>(g.length);
  for (let c = 0; c < k.c; c++) {
    const order = rng.shuffle([...Array(m).keys()]);
    order.forEach((pix, rank) => {
      const i = Math.floor(pix / hw) * k.c * hw + c * hw + (pix % hw);
      const e = 0.02 + (0.96 * (rank + 0.5 + 0.3 * (rng.uniform() - 0.5))) / m;
      p[i] = g[i] === 1 ? 1 - e : e;
    });
  }
  return tensor(p, [k.n, k.c, k.h, k.w], { dtype: 'float64' });
}

describe('Lovász losses', () => {
  it('hinge gradient matches finite differences (distinct errors, away from the hinge)', () => {
    fc.assert(fc.property(caseArb({ classes: [1] }), fc.boolean(), (k, batch) => tidy(() => {
      const loss = L.lovaszHinge({ batch });
      const t = target(k);
      gradcheck((z: Tensor) => loss(z, t), [hingeLogits(k)]);
    })), { numRuns: 20 });
  });

  it('softmax gradient matches finite differences (distinct errors per class)', () => {
    fc.assert(fc.property(caseArb(), fc.boolean(), fc.constantFrom('present' as const, 'all' as const), (k, batch, classes) => tidy(() => {
      const loss = L.lovaszSoftmax({ batch, classes });
      const t = target(k);
      gradcheck((p: Tensor) => loss(p, t), [lovaszProbabilities(k)]);
    })), { numRuns: 20 });
  });

  it('hinge equals 1 − IoU-like values on hand-worked cases', () => {
    // one positive pixel predicted with margin: all errors ≤ 0 → loss 0
    const z = tensor([3, -3], [1, 1, 1, 2], { dtype: 'float64' });
    const g = tensor([1, 0], [1, 1, 1, 2], { dtype: 'float64' });
    expect(L.lovaszHinge()(z, g).item()).toBe(0);
    // z = 0 everywhere: every error is 1; Σ of the weights is the final Jaccard loss, 1
    expect(L.lovaszHinge()(tensor([0, 0], [1, 1, 1, 2], { dtype: 'float64' }), g).item()).toBeCloseTo(1, 12);
  });

  it('softmax: a perfect prediction scores 0, classes absent from the target are skipped by default', () => {
    const k: Case = { n: 1, c: 3, h: 2, w: 2, fraction: 0.5, seed: 4, indexTarget: false };
    const cls = labels(k);
    const t = tensor(oneHot(k, cls), [1, 3, 2, 2], { dtype: 'float64' });
    expect(L.lovaszSoftmax()(t, t).item()).toBe(0);
    // all mass on class 0 against an all-class-0 target: only class 0 is present and it is perfect
    const bg = tensor([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 3, 2, 2], { dtype: 'float64' });
    const wrong = tensor([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], [1, 3, 2, 2], { dtype: 'float64' });
    expect(L.lovaszSoftmax()(bg, bg).item()).toBe(0);
    expect(L.lovaszSoftmax()(wrong, bg).item()).toBeCloseTo(1, 12); // class 0 entirely missed: IoU 0
    expect(L.lovaszSoftmax({ classes: 'all' })(wrong, bg).item()).toBeCloseTo(2 / 3, 12); // class 1 all false positives too
  });

  it('hinge rejects a multi-channel input with a message naming the shape', () => {
    expect(() => L.lovaszHinge()(tensor(new Array(8).fill(0), [1, 2, 2, 2]), tensor(new Array(8).fill(0), [1, 2, 2, 2]))).toThrow(/lovasz-hinge.*\[1, ?2, ?2, ?2\]/);
  });
});
