import { describe, expect, it } from 'vitest';
import { abs, clamp, leakyRelu, max, maximum, min, minimum, pow, relu } from '../../src/autograd/index.js';
import type { Tensor } from '../../src/tensor/index.js';
import { f64 } from '../helpers/tensors.js';

// The documented (sub)gradient choices at non-differentiable points, each tested on its own because the
// finite-difference property tests keep their inputs away from these points.

const gradOf = (x: Tensor): number[] => Array.from(x.grad!.dataSync());

describe('kinks of unary ops', () => {
  it("relu'(0) = 0, and 1 / 0 on either side", () => {
    const x = f64([0, 1e-12, -1e-12, 2, -2], [5], true);
    relu(x).sum().backward();
    expect(gradOf(x)).toEqual([0, 1, 0, 1, 0]);
  });

  it("abs'(0) = 0, and ±1 on either side", () => {
    const x = f64([0, 1e-12, -1e-12, 3, -3], [5], true);
    abs(x).sum().backward();
    expect(gradOf(x)).toEqual([0, 1, -1, 1, -1]);
  });

  it("leakyRelu'(0) = slope (the negative-side slope), 1 above", () => {
    const x = f64([0, 1e-12, -1e-12, 0], [4], true);
    leakyRelu(x, 0.2).sum().backward();
    expect(gradOf(x)).toEqual([0.2, 1, 0.2, 0.2]);
    const y = f64([0], [1], true);
    y.leakyRelu().sum().backward();
    expect(gradOf(y)).toEqual([0.01]);
  });

  it('clamp at the bounds passes the gradient (1 at x = low and x = high, as PyTorch), 0 strictly outside', () => {
    const x = f64([-1, 1, -1.5, 1.5, 0], [5], true);
    clamp(x, -1, 1).sum().backward();
    expect(gradOf(x)).toEqual([1, 1, 0, 0, 1]);
  });
});

describe('ties of binary extrema', () => {
  it('maximum at ties gives the whole gradient to the first operand', () => {
    const a = f64([1, 2, 3], [3], true);
    const b = f64([1, 5, 3], [3], true);
    maximum(a, b).mul(f64([2, 3, 4], [3])).sum().backward();
    expect(gradOf(a)).toEqual([2, 0, 4]);
    expect(gradOf(b)).toEqual([0, 3, 0]);
  });

  it('minimum at ties gives the whole gradient to the first operand', () => {
    const a = f64([1, 2, 3], [3], true);
    const b = f64([1, 0, 3], [3], true);
    minimum(a, b).mul(f64([2, 3, 4], [3])).sum().backward();
    expect(gradOf(a)).toEqual([2, 0, 4]);
    expect(gradOf(b)).toEqual([0, 3, 0]);
  });

  it('maximum at a tie with a broadcast operand: the first operand keeps it, the broadcast one sums the rest', () => {
    const a = f64([0, 1, 2, 1], [2, 2], true);
    const b = f64([1], [1], true);
    maximum(a, b).sum().backward();
    expect(gradOf(a)).toEqual([0, 1, 1, 1]);
    expect(gradOf(b)).toEqual([1]);
  });
});

describe('ties of max/min reductions: the gradient is shared equally among the tied elements', () => {
  it('max over all axes with three tied maxima gives 1/3 each', () => {
    const x = f64([3, 1, 3, 3], [4], true);
    max(x).backward();
    expect(gradOf(x)).toEqual([1 / 3, 0, 1 / 3, 1 / 3]);
  });

  it('min along an axis (keepDims) splits each row’s upstream gradient among its ties', () => {
    const x = f64([2, 2, 5, 0, 1, 0], [2, 3], true);
    min(x, 1, { keepDims: true }).mul(f64([6, 4], [2, 1])).sum().backward();
    expect(gradOf(x)).toEqual([3, 3, 0, 2, 0, 2]);
  });

  it('max along axis 0 without keepDims, with and without ties per column', () => {
    const x = f64([1, 4, 7, 1, 2, 7], [2, 3], true);
    x.max(0).mul(f64([1, 2, 3], [3])).sum().backward();
    expect(gradOf(x)).toEqual([0.5, 2, 1.5, 0.5, 0, 1.5]);
  });
});

describe('pow outside the positive-base domain', () => {
  it('a non-positive base still gets b·aᵇ⁻¹; the exponent gets 0 there (ln a is undefined), aᵇ·ln a elsewhere', () => {
    const a = f64([-2, 0, 3], [3], true);
    const b = f64([2, 3, 2], [3], true);
    pow(a, b).sum().backward();
    expect(gradOf(a)).toEqual([-4, 0, 6]);
    expect(gradOf(b)).toEqual([0, 0, 9 * Math.log(3)]);
  });
});
