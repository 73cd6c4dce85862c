import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor, tidy, valueAndGrad, type DType, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';
import { caseArb, target } from './helpers.js';

// Extreme inputs: logits up to ±1e4, probabilities exactly 0 and 1, empty and full masks.
// Value and gradient must stay finite in float64 and float32.

const LOSSES: (() => L.Loss)[] = [
  ...L.LOSS_NAMES.map((name) => () => L.lossByName(name)),
  ...L.LOSS_NAMES.filter((n) => !['combo', 'bce', 'ce', 'focal', 'gce', 'wing'].includes(n)).map((name) => () => L.lossByName(name, { batch: false })),
  () => L.focal({ gamma: 0.5 }),
  () => L.focal({ gamma: 0 }),
  () => L.generalizedDice({ weight: 'simple' }),
  () => L.adaptiveLog(L.tversky()),
];

const extremeLogits = fc.constantFrom(1e4, -1e4, 1e3, -1e3, 50, -50, 0, 0.5);
const extremeProbs = fc.constantFrom(0, 1, 0, 1, 0.5, 1e-12, 1 - 1e-12);

function finite(t: Tensor): boolean {
  return Array.from(t.dataSync()).every(Number.isFinite);
}

describe('stability', () => {
  for (const dtype of ['float64', 'float32'] as DType[]) {
    it(`no NaN/Inf in value or gradient (${dtype})`, () => {
      fc.assert(fc.property(caseArb({ maxSide: 3 }), fc.array(extremeLogits, { minLength: 54, maxLength: 54 }), fc.array(extremeProbs, { minLength: 54, maxLength: 54 }), fc.constantFrom('random', 'empty', 'full', 'perfect'), (k, zs, ps, mask) => tidy(() => {
        const size = k.n * k.c * k.h * k.w;
        let t = target(k).cast(dtype);
        if (mask === 'empty') t = tensor(new Array(k.n * k.h * k.w).fill(0), [k.n, 1, k.h, k.w], { dtype });
        if (mask === 'full') t = tensor(new Array(k.n * k.h * k.w).fill(k.c === 1 ? 1 : k.c - 1), [k.n, 1, k.h, k.w], { dtype });
        for (const make of LOSSES) {
          const loss = make();
          if (loss.lossName === 'lovasz-hinge' && k.c > 1) continue; // binary only (it throws, tested elsewhere)
          let x: Tensor;
          if (mask === 'perfect' && k.c === 1) x = loss.takes === 'logits' ? t.mul(2e4).sub(1e4) : t; // exactly right, saturated
          else x = tensor(loss.takes === 'logits' ? zs.slice(0, size) : ps.slice(0, size), [k.n, k.c, k.h, k.w], { dtype });
          const { value, grads } = valueAndGrad((input: Tensor) => loss(input, t))(x);
          if (!finite(value) || !finite(grads[0])) {
            throw new Error(`${loss.lossName} (${dtype}, ${mask}) gave value ${value.item()} / gradient ${Array.from(grads[0].dataSync())} for input ${Array.from(x.dataSync())} target ${Array.from(t.dataSync())}`);
          }
        }
      })), { numRuns: 25 });
    });
  }

  it('saturated correct logits give (near) zero cross-entropy-type losses, wrong ones large but finite', () => {
    const t = tensor([1, 0, 1, 0], [1, 1, 2, 2], { dtype: 'float64' });
    const right = tensor([1e4, -1e4, 1e4, -1e4], [1, 1, 2, 2], { dtype: 'float64' });
    const wrong = right.neg();
    expect(L.bce()(right, t).item()).toBe(0);
    expect(L.bce()(wrong, t).item()).toBe(1e4);
    expect(L.crossEntropy()(wrong, t).item()).toBe(1e4);
    expect(L.focal()(wrong, t).item()).toBeCloseTo(0.5 * (0.25 + 0.75) * 1e4, 6); // α_t (1−p_t)^γ·1e4 with p_t = 0
    expect(L.lovaszHinge()(right, t).item()).toBe(0);
  });
});
