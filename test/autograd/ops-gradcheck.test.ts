import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../src/autograd/index.js';
import type { Tensor } from '../../src/tensor/index.js';
import { shapeArb, shapedValuesArb, valuesArb } from '../helpers/arbitraries.js';
import { f64, weightedSum } from '../helpers/tensors.js';

// gradcheck is the oracle of every gradient test, so it must itself be shown to fail on wrong gradients.

/** f(x) = Σ x·detach(x): the value is Σx², the true gradient 2x, but the tape sees only x. */
const halfGradient = (x: Tensor) => x.mul(x.detach()).sum();

describe('gradcheck rejects wrong gradients', () => {
  it('element-wise: throws naming the mode and the worst input/index with both values', () => {
    const x = f64([0.1, -0.5, 3, 1], [4]);
    expect(() => gradcheck(halfGradient, [x], { mode: 'elementwise' })).toThrow(
      /gradcheck failed \(elementwise, 4 checks\): max abs error 3\.000e\+0, worst at input 0 index 2: analytic 3 vs numeric 6\.0000\d* \(atol 0\.00001, rtol 0\.0001\)/,
    );
  });

  it('noThrow returns the failing report', () => {
    const r = gradcheck(halfGradient, [f64([0.1, -0.5, 3, 1], [4])], { mode: 'elementwise', noThrow: true });
    expect(r.ok).toBe(false);
    expect(r.mode).toBe('elementwise');
    expect(r.worst!.input).toBe(0);
    expect(r.worst!.index).toBe(2);
    expect(r.worst!.analytic).toBe(3);
    expect(r.worst!.numeric).toBeCloseTo(6, 6);
    expect(r.maxAbsError).toBeCloseTo(3, 6);
  });

  it('names the second input when only its gradient is wrong', () => {
    const f = (a: Tensor, b: Tensor) => a.square().sum().add(halfGradient(b));
    expect(() => gradcheck(f, [f64([1, 2], [2]), f64([0.5, -2, 1], [3])], { mode: 'elementwise' })).toThrow(/worst at input 1 index 1:/);
  });

  it('directional: throws for a wrong gradient too', () => {
    const x = f64(Array.from({ length: 600 }, (_, i) => Math.cos(i)), [20, 30]);
    expect(() => gradcheck(halfGradient, [x], { mode: 'directional' })).toThrow(/gradcheck failed \(directional, 4 checks\).*worst at input -1 index \d/);
    // 'auto' switches to directions above maxElements
    const r = gradcheck(halfGradient, [x], { noThrow: true });
    expect(r.mode).toBe('directional');
    expect(r.ok).toBe(false);
  });

  it('a gradient off by 0.1% fails (the tolerances are tight enough to matter)', () => {
    // value x, tape gradient 1.001
    const f = (x: Tensor) => x.mul(1.001).sub(x.detach().mul(0.001)).sum();
    expect(gradcheck(f, [f64([1, 2, 3], [3])], { mode: 'elementwise', noThrow: true }).ok).toBe(false);
    expect(gradcheck(f, [f64([1, 2, 3], [3])], { mode: 'directional', noThrow: true }).ok).toBe(false);
  });
});

describe('gradcheck accepts correct gradients in both modes', () => {
  const f = (x: Tensor, y: Tensor) => weightedSum(x.tanh().mul(y.sigmoid()).add(x.square().mul(0.1)));

  it('element-wise and directional on random inputs', () => {
    fc.assert(
      fc.property(shapedValuesArb(shapeArb({ maxSize: 24 })).chain((sv) => fc.tuple(fc.constant(sv), valuesArb(sv.values.length))), ([{ shape, values }, v2]) => {
        const x = f64(values, shape);
        const y = f64(v2, shape);
        const e = gradcheck(f, [x, y], { mode: 'elementwise' });
        expect([e.ok, e.mode, e.checks]).toEqual([true, 'elementwise', 2 * values.length]);
        const d = gradcheck(f, [x, y], { mode: 'directional', directions: 6, seed: values.length });
        expect([d.ok, d.mode, d.checks]).toEqual([true, 'directional', 6]);
      }),
      { numRuns: 20 },
    );
  });

  it("'auto' checks every element of small inputs and directions for large ones", () => {
    const small = gradcheck((x) => x.exp().sum(), [f64([0.1, 0.2], [2])]);
    expect([small.mode, small.checks]).toEqual(['elementwise', 2]);
    const big = gradcheck((x) => x.exp().sum(), [f64(Array.from({ length: 1000 }, (_, i) => Math.sin(i)), [1000])]);
    expect([big.ok, big.mode, big.checks]).toEqual([true, 'directional', 4]);
    const forced = gradcheck((x) => x.exp().sum(), [f64([0.1, 0.2, 0.3], [3])], { maxElements: 2 });
    expect(forced.mode).toBe('directional');
  });

  it('leaves the inputs and their .grad untouched', () => {
    const x = f64([0.3, 0.4], [2], true);
    gradcheck((t) => t.square().sum(), [x]);
    expect(x.grad).toBeNull();
    expect(Array.from(x.dataSync())).toEqual([0.3, 0.4]);
  });
});
