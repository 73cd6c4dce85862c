import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gradcheck, Rng, tensor, tidy, valueAndGrad, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';
import { caseArb, oneHot, target, type Case } from './helpers.js';

// The ALL formula as the spec writes it, for the checks below (independent of src/losses).
const W = 10, E = 0.5, D = 0.1;
const slope = (x: number, w = W, e = E, d = D): number => (x < d ? w / (e + x) : 1);

/** A "loss" that returns the sum of its input: ALL of it is ALL of the number itself. */
const identity: L.Loss = Object.assign((x: Tensor) => x.sum(), { lossName: 'identity', takes: 'probabilities' as const });

/** Probabilities near the target, at a distance `a` (small a: Dice below δ; large: above). */
function nearTarget(k: Case, a: number): Tensor {
  const rng = new Rng(k.seed + 13);
  return tensor(oneHot(k).map((g) => (g === 1 ? 1 - a : a) * (0.8 + 0.4 * rng.uniform())), [k.n, k.c, k.h, k.w], { dtype: 'float64' });
}

describe('adaptiveLog (ALL)', () => {
  it('exposes base and options; all() wraps Dice with s = 1 and the defaults', () => {
    const loss = L.all();
    expect(loss.lossName).toBe('all');
    expect(loss.takes).toBe('probabilities');
    expect(loss.base.lossName).toBe('dice');
    expect(loss.options).toEqual({ omega: 10, epsilon: 0.5, delta: 0.1 });
    const custom = L.adaptiveLog(L.focal(), { omega: 6, epsilon: 1, delta: 0.2 });
    expect(custom.takes).toBe('logits');
    expect(custom.options).toEqual({ omega: 6, epsilon: 1, delta: 0.2 });
  });

  it('values follow the formula on both sides of δ and agree with adaptiveLogValue', () => {
    for (const x of [0, 0.01, 0.05, 0.0999, 0.1, 0.1001, 0.5, 2]) {
      const expected = x < D ? W * Math.log(1 + x / E) : x - (D - W * Math.log(1 + D / E));
      const got = L.adaptiveLog(identity)(tensor([x], [1], { dtype: 'float64' }), tensor([0], [1], { dtype: 'float64' })).item();
      expect(got).toBeCloseTo(expected, 13);
      expect(L.adaptiveLogValue(x)).toBeCloseTo(expected, 13);
    }
  });

  it('is continuous at δ, with one-sided slopes ω/(ε+δ) on the left and 1 on the right', () => {
    for (const [w, e, d] of [[10, 0.5, 0.1], [6, 0.3, 0.08], [16, 2, 0.3]]) {
      const f = (x: number) => L.adaptiveLog(identity, { omega: w, epsilon: e, delta: d })(tensor([x], [1], { dtype: 'float64' }), tensor([0], [1], { dtype: 'float64' })).item();
      const h = 1e-7;
      expect(f(d)).toBeCloseTo(w * Math.log(1 + d / e), 12);
      expect(Math.abs(f(d) - f(d - 1e-13))).toBeLessThan(1e-11);
      expect((f(d) - f(d - h)) / h).toBeCloseTo(w / (e + d), 5);
      expect((f(d + h) - f(d)) / h).toBeCloseTo(1, 6);
      // the tape at exactly δ reports the right-hand derivative; just below, the log slope
      const at = (x: number) => valueAndGrad((t: Tensor) => L.adaptiveLog(identity, { omega: w, epsilon: e, delta: d })(t, t))(tensor([x], [1], { dtype: 'float64' })).grads[0].item();
      expect(at(d)).toBe(1);
      expect(at(d - 1e-9)).toBeCloseTo(w / (e + d - 1e-9), 10);
    }
    expect(L.adaptiveLogSlope(D)).toBe(1);
  });

  it('gradient = ω/(ε+x)·base gradient below δ and = base gradient above (Dice base, many inputs)', () => {
    let below = 0;
    let above = 0;
    fc.assert(fc.property(caseArb(), fc.double({ min: 0.001, max: 0.45, noNaN: true }), fc.boolean(), (k, a, batch) => tidy(() => {
      const base = L.dice({ batch });
      const loss = L.adaptiveLog(base);
      const p = nearTarget(k, a);
      const t = target(k);
      const b = valueAndGrad((x: Tensor) => base(x, t))(p);
      const w = valueAndGrad((x: Tensor) => loss(x, t))(p);
      const x = b.value.item();
      if (Math.abs(x - D) < 1e-4) return; // the switch itself is tested above
      x < D ? below++ : above++;
      const s = slope(x);
      const gb = b.grads[0].dataSync();
      const gw = w.grads[0].dataSync();
      gb.forEach((v, i) => expect(gw[i]).toBeCloseTo(s * v, 10));
      expect(w.value.item()).toBeCloseTo(x < D ? W * Math.log(1 + x / E) : x - D + W * Math.log(1 + D / E), 12);
      gradcheck((q: Tensor) => loss(q, t), [p]);
    })), { numRuns: 40 });
    expect(below).toBeGreaterThan(3);
    expect(above).toBeGreaterThan(3);
  });

  it('wraps any base: ALL over focal (logits) has the base gradient times the slope', () => {
    const k: Case = { n: 2, c: 3, h: 3, w: 2, fraction: 0.2, seed: 9, indexTarget: true };
    const z = tensor(Array.from({ length: 36 }, (_, i) => Math.sin(i) * 3), [2, 3, 3, 2], { dtype: 'float64' });
    const t = target(k);
    const base = L.focal();
    const b = valueAndGrad((x: Tensor) => base(x, t))(z);
    const w = valueAndGrad((x: Tensor) => L.adaptiveLog(base)(x, t))(z);
    const s = slope(b.value.item());
    w.grads[0].dataSync().forEach((v, i) => expect(v).toBeCloseTo(s * b.grads[0].dataSync()[i], 10));
  });

  it('withBase gives ALL and its base value from one evaluation of the base, with ALL\'s gradient', () => {
    fc.assert(fc.property(caseArb(), fc.double({ min: 0.001, max: 0.45, noNaN: true }), (k, a) => tidy(() => {
      let calls = 0;
      const dice = L.dice();
      const counted: L.Loss = Object.assign((x: Tensor, t: Tensor) => (calls++, dice(x, t)), { lossName: 'dice', takes: 'probabilities' as const });
      const loss = L.adaptiveLog(counted);
      const p = nearTarget(k, a);
      const t = target(k);
      const whole = valueAndGrad((x: Tensor) => loss(x, t))(p);
      calls = 0;
      let base = NaN;
      const split = valueAndGrad((x: Tensor) => {
        const r = loss.withBase(x, t);
        base = r.base.item();
        return r.loss;
      })(p);
      expect(calls).toBe(1);
      expect(base).toBe(dice(p, t).item());
      expect(split.value.item()).toBe(whole.value.item());
      const gw = whole.grads[0].dataSync();
      split.grads[0].dataSync().forEach((v, i) => expect(v).toBe(gw[i]));
    })), { numRuns: 15 });
  });

  it('rejects invalid options and bases', () => {
    expect(() => L.adaptiveLog(L.dice(), { delta: 0 })).toThrow(/delta/);
    expect(() => L.adaptiveLog(L.dice(), { epsilon: -1 })).toThrow(/epsilon/);
    expect(() => L.adaptiveLog({} as L.Loss)).toThrow(/adaptiveLog: base must be a Loss/);
  });
});
