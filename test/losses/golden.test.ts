import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';

// Expected values come from scripts/golden/losses.py (numpy float64, written from the spec), not from segrad.
interface Arr { shape: number[]; data: number[] }
interface Golden {
  cases: Record<string, { logits?: Arr; probabilities: Arr; target: Arr }>;
  results: { loss: string; takes: 'logits' | 'probabilities'; options: Record<string, any>; case: string; expected: number | number[] }[];
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/golden-losses.json', import.meta.url), 'utf8')) as Golden;

const factories: Record<string, (o: any) => L.Loss> = {
  bce: L.bce, ce: L.crossEntropy, dice: L.dice, jaccard: L.jaccard, tversky: L.tversky, 'focal-tversky': L.focalTversky,
  focal: L.focal, combo: L.combo, 'generalized-dice': L.generalizedDice, gce: L.generalizedCrossEntropy,
  'lovasz-hinge': L.lovaszHinge, 'lovasz-softmax': L.lovaszSoftmax, wing: L.wing, mcc: L.mcc, all: L.all,
};
const f64 = (a: Arr) => tensor(a.data, a.shape, { dtype: 'float64' });

describe('losses against independent golden values (numpy, float64)', () => {
  it('covers every loss name', () => {
    expect(new Set(golden.results.map((r) => r.loss))).toEqual(new Set(L.LOSS_NAMES));
  });
  for (const r of golden.results) {
    it(`${r.loss} ${JSON.stringify(r.options)} on ${r.case}`, () => {
      const c = golden.cases[r.case];
      const loss = factories[r.loss](r.options);
      expect(loss.takes).toBe(r.takes);
      const out = loss(f64(r.takes === 'logits' ? c.logits! : c.probabilities), f64(c.target));
      const expected = Array.isArray(r.expected) ? r.expected : [r.expected];
      const got = Array.from(out.dataSync());
      expect(got.length).toBe(expected.length);
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 10));
    });
  }
  it('lossByName builds the same losses from CLI options', () => {
    const c = golden.cases.binary;
    for (const r of golden.results.filter((x) => x.case === 'binary' && !Object.values(x.options).some(Array.isArray))) {
      const opts = Object.fromEntries(Object.entries(r.options).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]));
      const out = L.lossByName(r.loss, opts)(f64(r.takes === 'logits' ? c.logits! : c.probabilities), f64(c.target));
      const expected = Array.isArray(r.expected) ? r.expected : [r.expected];
      Array.from(out.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 10));
    }
  });
  it('float32 agrees with the golden values to float32 precision', () => {
    const c = golden.cases.multi;
    for (const r of golden.results.filter((x) => x.case === 'multi' && !Array.isArray(x.expected))) {
      const a = r.takes === 'logits' ? c.logits! : c.probabilities;
      const out = factories[r.loss](r.options)(tensor(a.data, a.shape), tensor(c.target.data, c.target.shape)).item();
      expect(Math.abs(out - (r.expected as number))).toBeLessThan(1e-5 * Math.max(1, Math.abs(r.expected as number)));
    }
  });
});
