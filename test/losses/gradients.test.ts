import fc from 'fast-check';
import { describe, it } from 'vitest';
import { gradcheck, tidy, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';
import { caseArb, logits, probabilities, target, type Case } from './helpers.js';

// Float64 central differences (gradcheck) on random inputs, masks from empty through 0.5 %–50 % to full,
// binary and multi-class, pooled and per image. Inputs stay away from kinks (probabilities in [0.02, 0.98]
// against hard labels); the Lovász losses have their own generators without ties.

const runs = { numRuns: 12 };

function check(make: (batch: boolean) => L.Loss, arb: fc.Arbitrary<Case> = caseArb()): void {
  fc.assert(
    fc.property(arb, fc.boolean(), (k, batch) =>
      tidy(() => {
        const loss = make(batch);
        const x = loss.takes === 'logits' ? logits(k) : probabilities(k);
        const t = target(k);
        gradcheck((input: Tensor) => loss(input, t), [x]);
      }),
    ),
    runs,
  );
}

describe('loss gradients match float64 finite differences', () => {
  it('bce', () => check(() => L.bce()));
  it('bce with posWeight and a weight', () => check(() => L.bce({ posWeight: 3, weight: 0.5, reduction: 'sum' })));
  it('ce', () => check(() => L.crossEntropy()));
  it('ce with class weights', () => check(() => L.crossEntropy({ classWeights: [0.3, 1, 2] }), caseArb({ classes: [3] })));
  it('dice', () => check((batch) => L.dice({ batch })));
  it('jaccard', () => check((batch) => L.jaccard({ batch })));
  it('tversky', () => check((batch) => L.tversky({ batch, alphaFN: 0.8, betaFP: 0.2 })));
  it('focal tversky', () => check((batch) => L.focalTversky({ batch })));
  it('focal', () => check(() => L.focal()));
  it('focal with γ = 0.5 and per-class α', () => check(() => L.focal({ gamma: 0.5, alpha: [0.2, 0.3, 0.5] }), caseArb({ classes: [3] })));
  it('combo', () => check((batch) => L.combo({ batch })));
  it('generalized dice', () => check((batch) => L.generalizedDice({ batch })));
  it('generalized dice, simple weights', () => check((batch) => L.generalizedDice({ batch, weight: 'simple' })));
  it('generalized cross entropy', () => check(() => L.generalizedCrossEntropy()));
  it('wing', () => check(() => L.wing()));
  it('wing across both zones (w = 0.5)', () => check(() => L.wing({ width: 0.5, epsilon: 0.1 })));
  it('mcc', () => check((batch) => L.mcc({ batch })));
  it('all (ALL over Dice), away from δ', () => check((batch) => L.all({ base: L.dice({ batch }) })));
  it('losses on a 20×10 image (0.5 % = one pixel), directional check', () => {
    const big = caseArb({ classes: [1, 3] }).map((k) => ({ ...k, n: 1, h: 20, w: 10 }));
    for (const make of [() => L.dice(), () => L.tversky(), () => L.generalizedDice(), () => L.focal(), () => L.mcc(), () => L.all()]) {
      fc.assert(fc.property(big, (k) => tidy(() => {
        const loss = make();
        const t = target(k);
        gradcheck((input: Tensor) => loss(input, t), [loss.takes === 'logits' ? logits(k) : probabilities(k)], { mode: 'directional', directions: 6 });
      })), { numRuns: 4 });
    }
  });
});
