import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad, gradcheck, Rng, tensor, tidy, type Tensor } from '../../src/index.js';
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

describe('Lovász past 2^24 pooled elements (float32)', () => {
  // a pooled batch of 17 images of 1024² holds 17.8M errors: float32 indices name only every other one
  // past 2^24, so a gather by them would read some errors twice and others never. With every label 1
  // each weight is 1/L, and errors 1 − z, z rising, are already in order (the sort is quick).
  it('lovaszHinge: every logit gets the gradient −1/L', () => {
    const shape = [17, 1, 1024, 1024];
    const L0 = shape.reduce((a, b) => a * b, 1);
    expect(L0).toBeGreaterThan(2 ** 24);
    const z = tensor(Float32Array.from({ length: L0 }, (_, i) => (0.5 * i) / L0), shape);
    const g = tensor(new Float32Array(L0).fill(1), shape);
    const [dz] = grad((z: Tensor) => L.lovaszHinge()(z, g))(z);
    const d = dz.dataSync();
    const want = Math.fround(-1 / L0);
    let off = 0;
    for (let i = 0; i < L0; i++) if (Math.abs(d[i] - want) > 1e-6 * Math.abs(want)) off++;
    expect(off).toBe(0);
  });
});
