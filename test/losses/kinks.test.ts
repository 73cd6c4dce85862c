import { describe, expect, it } from 'vitest';
import { tensor, valueAndGrad, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';

// The points the gradient property tests stay away from, checked one by one.
const one = (v: number) => tensor([v], [1, 1, 1, 1], { dtype: 'float64' });
const at = (loss: L.Loss, p: number, g: number) => loss(one(p), one(g)).item();
const gradAt = (loss: L.Loss, p: number, g: number) => valueAndGrad((x: Tensor) => loss(x, one(g)))(one(p)).grads[0].item();

describe('kinks', () => {
  it('wing at x = 0: one-sided slopes ±w/ε, tape subgradient 0', () => {
    const loss = L.wing({ width: 0.5, epsilon: 0.1 });
    const h = 1e-7;
    expect((at(loss, 0.3 + h, 0.3) - at(loss, 0.3, 0.3)) / h).toBeCloseTo(0.5 / 0.1, 4);
    expect((at(loss, 0.3, 0.3) - at(loss, 0.3 - h, 0.3)) / h).toBeCloseTo(-0.5 / 0.1, 4);
    expect(gradAt(loss, 0.3, 0.3)).toBe(0);
  });

  it('wing at |x| = w: continuous, slope w/(ε+w) inside and 1 outside', () => {
    const loss = L.wing({ width: 0.5, epsilon: 0.1 });
    const h = 1e-7;
    expect(at(loss, 0.5, 0)).toBeCloseTo(0.5 * Math.log(1 + 0.5 / 0.1), 12);
    expect(Math.abs(at(loss, 0.5 - 1e-13, 0) - at(loss, 0.5, 0))).toBeLessThan(1e-11);
    expect((at(loss, 0.5, 0) - at(loss, 0.5 - h, 0)) / h).toBeCloseTo(0.5 / 0.6, 5);
    expect((at(loss, 0.5 + h, 0) - at(loss, 0.5, 0)) / h).toBeCloseTo(1, 5);
    expect(gradAt(loss, 0.5, 0)).toBe(1);
  });

  it('focal Tversky at a perfect prediction: value 0 and a finite (zero) gradient', () => {
    const p = tensor([1, 0, 1, 0], [1, 1, 2, 2], { dtype: 'float64' });
    const loss = L.focalTversky({ smooth: 1 });
    const { value, grads } = valueAndGrad((x: Tensor) => loss(x, p))(p);
    expect(value.item()).toBeCloseTo(Math.pow(1e-12, 0.75), 20);
    expect(Array.from(grads[0].dataSync())).toEqual([0, 0, 0, 0]);
  });

  it('combo clips p to [1e-7, 1 − 1e-7] in the cross-entropy: finite at 0 and 1, no cross-entropy gradient there', () => {
    const loss = L.combo({ alpha: 1 }); // cross-entropy only
    expect(at(loss, 0, 1)).toBeCloseTo(-0.5 * Math.log(1e-7), 10);
    expect(at(loss, 1, 0)).toBeCloseTo(-0.5 * Math.log(1e-7), 6);
    expect(gradAt(loss, 0, 1)).toBe(0);
  });

  it('Lovász hinge at a zero error: the relu gives gradient 0 from the tape', () => {
    // z = 1 on a positive pixel: error 1 − z = 0
    expect(Math.abs(gradAt(L.lovaszHinge(), 1, 1))).toBe(0);
    expect(gradAt(L.lovaszHinge(), 0.9, 1)).toBeCloseTo(-1, 12);
  });
});
