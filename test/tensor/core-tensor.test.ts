import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backward, detach, grad, valueAndGrad } from '../../src/autograd/index.js';
import {
  arange, eye, full, linspace, noGrad, ones, onesLike, rand, randint, randn, tensor, zeros, zerosLike, type Tensor,
} from '../../src/tensor/index.js';
import { shapedValuesArb, shapeArb, unravel } from '../helpers/arbitraries.js';
import { f64 } from '../helpers/tensors.js';

const vals = (t: Tensor): number[] => Array.from(t.dataSync());

describe('creation', () => {
  it('tensor from nested arrays infers shape; float32 by default', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.dataSync()).toBeInstanceOf(Float32Array);
    expect(vals(t)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensor(7).shape).toEqual([]);
    expect(tensor([[[true, false]]]).toArray()).toEqual([[[1, 0]]]);
    expect(tensor([]).shape).toEqual([0]);
  });

  it('tensor from a flat array plus shape, and from typed arrays (Float64Array → float64)', () => {
    expect(tensor([1, 2, 3, 4, 5, 6], [3, 2]).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    const d = tensor(new Float64Array([0.1, 0.2]));
    expect(d.dtype).toBe('float64');
    expect(vals(d)).toEqual([0.1, 0.2]);
    const f = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([[1, 2], [3, 4]]);
    // an explicit dtype converts, rounding to float32 where asked
    expect(vals(tensor(new Float64Array([0.1]), [1], { dtype: 'float32' }))).toEqual([Math.fround(0.1)]);
    expect(tensor([0.1], [1], { dtype: 'float64' }).item()).toBe(0.1);
  });

  it('tensor copies its input: later writes to the source array do not leak in', () => {
    const src = new Float64Array([1, 2, 3]);
    const t = tensor(src);
    src[0] = 99;
    expect(vals(t)).toEqual([1, 2, 3]);
    const out = t.dataSync();
    out[1] = 42;
    expect(vals(t)).toEqual([1, 2, 3]);
  });

  it('cast rounds to float32 and widens back exactly', () => {
    const x = f64([0.1, 1 / 3, -1e-40, 3e38 * 10], [4]);
    const y = x.cast('float32');
    expect(y.dtype).toBe('float32');
    expect(vals(y)).toEqual([0.1, 1 / 3, -1e-40, 3e39].map(Math.fround));
    expect(vals(y.cast('float64'))).toEqual([0.1, 1 / 3, -1e-40, 3e39].map(Math.fround));
  });

  it('zeros, ones, full, zerosLike, onesLike', () => {
    expect(zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(ones([3], { dtype: 'float64' }).dtype).toBe('float64');
    expect(vals(ones([3]))).toEqual([1, 1, 1]);
    expect(full([2, 1], 2.5).toArray()).toEqual([[2.5], [2.5]]);
    const ref = f64([1, 2, 3, 4], [2, 2]);
    const z = zerosLike(ref);
    expect([z.shape, z.dtype, vals(z)]).toEqual([[2, 2], 'float64', [0, 0, 0, 0]]);
    expect(vals(onesLike(ref))).toEqual([1, 1, 1, 1]);
    expect(zeros([]).item()).toBe(0);
  });

  it('arange, linspace, eye match their definitions', () => {
    expect(vals(arange(5))).toEqual([0, 1, 2, 3, 4]);
    expect(vals(arange(2, 8, 3))).toEqual([2, 5]);
    expect(vals(arange(5, 0, -2))).toEqual([5, 3, 1]);
    expect(arange(3, 3).shape).toEqual([0]);
    expect(vals(arange(0, 1, 0.25, { dtype: 'float64' }))).toEqual([0, 0.25, 0.5, 0.75]);
    expect(vals(linspace(0, 1, 5, { dtype: 'float64' }))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(vals(linspace(3, 3, 1))).toEqual([3]);
    expect(vals(linspace(-1, 1, 3))).toEqual([-1, 0, 1]);
    expect(eye(3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
  });

  it('randn, rand, randint are deterministic per seed and differ across seeds', () => {
    for (const f of [(s: number) => randn([50], { seed: s }), (s: number) => rand([50], { seed: s }), (s: number) => randint([50], 0, 1000, { seed: s })]) {
      expect(vals(f(7))).toEqual(vals(f(7)));
      expect(vals(f(7))).not.toEqual(vals(f(8)));
    }
    const r = vals(rand([2000], { seed: 3, low: -2, high: 5 }));
    expect(Math.min(...r)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...r)).toBeLessThan(5);
    const ri = vals(randint([2000], -3, 4, { seed: 5 }));
    expect(ri.every((v) => Number.isInteger(v) && v >= -3 && v < 4)).toBe(true);
    expect(new Set(ri).size).toBe(7);
    expect(randn([2, 3], { seed: 1, dtype: 'float64' }).dtype).toBe('float64');
  });

  it('randn has approximately the requested moments (mean, std, skew, kurtosis)', () => {
    const n = 40000;
    const v = vals(randn([n], { seed: 11, dtype: 'float64', mean: 2, std: 3 }));
    const m = v.reduce((a, b) => a + b, 0) / n;
    const c = v.map((x) => x - m);
    const s2 = c.reduce((a, x) => a + x * x, 0) / n;
    const skew = c.reduce((a, x) => a + x ** 3, 0) / n / s2 ** 1.5;
    const kurt = c.reduce((a, x) => a + x ** 4, 0) / n / s2 ** 2;
    // standard errors at n = 40000: mean 3/200, std ≈ 0.011, skew ≈ 0.012, kurtosis ≈ 0.025 — bounds are ~5σ
    expect(Math.abs(m - 2)).toBeLessThan(0.08);
    expect(Math.abs(Math.sqrt(s2) - 3)).toBeLessThan(0.06);
    expect(Math.abs(skew)).toBeLessThan(0.06);
    expect(Math.abs(kurt - 3)).toBeLessThan(0.13);
    // and it is not a uniform in disguise: about 68.3% within one std
    const within = v.filter((x) => Math.abs(x - 2) < 3).length / n;
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.012);
  });
});

describe('reading values', () => {
  it('toArray nests like the shape (property), item reads one-element tensors', () => {
    fc.assert(
      fc.property(shapedValuesArb(shapeArb({ maxSize: 60 })), ({ shape, values }) => {
        const a = f64(values, shape).toArray();
        for (let i = 0; i < values.length; i++) {
          let cur: unknown = a;
          for (const k of unravel(i, shape)) cur = (cur as unknown[])[k];
          expect(cur).toBe(values[i]);
        }
      }),
      { numRuns: 30 },
    );
    expect(tensor([[5]]).item()).toBe(5);
    expect(tensor(3).toArray()).toBe(3);
    expect(() => tensor([1, 2]).item()).toThrow(/item: expected a tensor with one element, got shape \[2\]/);
  });

  it('data() and dataSync() give equal copies', async () => {
    const t = f64([1.5, -2, 3], [3]);
    const a = await t.data();
    expect(a).toBeInstanceOf(Float64Array);
    expect(Array.from(a)).toEqual(vals(t));
    a[0] = 9;
    expect(vals(t)[0]).toBe(1.5);
  });

  it('toString shows shape, dtype, requiresGrad and values, eliding long axes', () => {
    const s = tensor([[1, 2.5], [3, 4]]).toString();
    expect(s).toContain('shape=[2,2]');
    expect(s).toContain('dtype=float32');
    expect(s).toContain('2.5000');
    expect(s).toMatch(/\[1, 2\.5000\]/);
    expect(tensor([1], [1], { requiresGrad: true }).toString()).toContain('requiresGrad');
    const long = arange(100).toString();
    expect(long).toContain('…');
    expect(long).toContain('99');
    expect(long).not.toContain('50');
    expect(tensor(0.5).toString()).toMatch(/shape=\[\].*\n0\.5000$/);
  });
});

describe('gradients API', () => {
  it('grad(f) and valueAndGrad(f) give the analytic gradient and leave the inputs untouched', () => {
    const x = f64([1, -2, 3], [3]);
    const y = f64([0.5, 2, -1], [3]);
    // f = Σ x²·y ⇒ ∂f/∂x = 2xy, ∂f/∂y = x²
    const f = (a: Tensor, b: Tensor) => a.square().mul(b).sum();
    const [gx, gy] = grad(f)(x, y);
    expect(vals(gx)).toEqual([1, -8, -6]);
    expect(vals(gy)).toEqual([1, 4, 9]);
    const { value, grads } = valueAndGrad(f)(x, y);
    expect(value.item()).toBe(0.5 + 8 - 9);
    expect(vals(grads[1])).toEqual([1, 4, 9]);
    expect(x.grad).toBeNull();
    expect(x.requiresGrad).toBe(false);
  });

  it('grad of an argument that f does not use is zeros of its shape', () => {
    const [, g] = grad((a: Tensor) => a.sum())(f64([1, 2], [2]), f64([1, 2, 3], [3]));
    expect(g.shape).toEqual([3]);
    expect(vals(g)).toEqual([0, 0, 0]);
  });

  it('grad rejects a non-scalar function', () => {
    expect(() => grad((a: Tensor) => a.mul(2))(f64([1, 2], [2]))).toThrow(/grad: the function must return a scalar, got shape \[2\]/);
  });

  it('valueAndGrad of a function returning one of its arguments keeps the value alive', () => {
    const { value, grads } = valueAndGrad((a: Tensor) => a)(f64([4], []));
    expect(value.item()).toBe(4);
    expect(vals(grads[0])).toEqual([1]);
  });

  it('noGrad records nothing; detach cuts the graph', () => {
    const x = f64([1, 2], [2], true);
    const y = noGrad(() => x.mul(3));
    expect(y.requiresGrad).toBe(false);
    expect(() => y.sum().backward()).toThrow(/backward: .*does not require a gradient/);
    // f = Σ x·detach(x) ⇒ ∂f/∂x = detach(x) only (not 2x)
    const d = detach(x);
    expect(d.requiresGrad).toBe(false);
    x.mul(d).sum().backward();
    expect(vals(x.grad!)).toEqual([1, 2]);
    expect(x.detach().requiresGrad).toBe(false);
  });

  it('two backward() calls accumulate into .grad', () => {
    const x = f64([1, 2, 3], [3], true);
    x.square().sum().backward();
    expect(vals(x.grad!)).toEqual([2, 4, 6]);
    x.mul(f64([1, 1, 2], [3])).sum().backward();
    expect(vals(x.grad!)).toEqual([3, 5, 8]);
  });

  it('backward with an explicit output gradient (vector-Jacobian product)', () => {
    const x = f64([1, 2], [2], true);
    const y = x.mul(x); // J = diag(2x)
    backward(y, f64([3, -1], [2]));
    expect(vals(x.grad!)).toEqual([6, -4]);
    expect(() => y.backward()).toThrow(/backward: the root has shape \[2\]/);
    expect(() => y.backward(f64([1], [1]))).toThrow(/backward: gradient shape \[1\] does not match the root \[2\]/);
  });

  it('only leaves that require a gradient receive one; a shared intermediate gets both paths', () => {
    const x = f64([2], [1], true);
    const c = f64([5], [1]);
    const h = x.mul(c); // used twice below
    h.mul(h).add(h).sum().backward(); // f = (5x)² + 5x ⇒ f' = 50x + 5
    expect(vals(x.grad!)).toEqual([105]);
    expect(c.grad).toBeNull();
    expect(h.grad).toBeNull();
  });
});
