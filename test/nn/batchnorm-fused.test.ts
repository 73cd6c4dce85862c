import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchNormTrain, batchNormTrainComposed, gradcheck, grad } from '../../src/autograd/index.js';
import { BatchNorm2d, DoubleConv } from '../../src/nn/index.js';
import { enableProfiling, getBackend, memory, profileReport, randn, resetProfile, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { weightValues, weightedSum } from '../helpers/tensors.js';
import { useSimdKernel } from '../../src/tensor/backends/cpu/gemm.js';

// The fused batch-norm kernels (cpu, float32) are an optional fast path: every test holds them to the
// composed version, and their backward formula to float64 finite differences of the composed forward.

const EPS = 1e-5;
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void => {
  const scale = Math.max(1, ...Array.from(b, Math.abs));
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol * scale);
};

/** Smallest per-channel biased variance of x [N, C, H, W] (float64 arithmetic). */
function minVariance(x: Float64Array, [n, c, h, w]: number[]): number {
  let min = Infinity;
  for (let ch = 0; ch < c; ch++) {
    const vals: number[] = [];
    for (let b = 0; b < n; b++) for (let i = 0; i < h * w; i++) vals.push(x[(b * c + ch) * h * w + i]);
    const m = vals.reduce((s, v) => s + v, 0) / vals.length;
    min = Math.min(min, vals.reduce((s, v) => s + (v - m) ** 2, 0) / vals.length);
  }
  return min;
}

const caseArb = fc.record({
  shape: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
  seed: fc.integer({ min: 0, max: 1 << 20 }),
  offset: fc.double({ min: -20, max: 20, noNaN: true }),
  gamma: fc.boolean(),
  beta: fc.boolean(),
});

describe('batchNormTrain (fused float32 on cpu) against the composed version', () => {
  it('forward y, mean and variance and backward dx, dγ, dβ agree within float32 tolerance (incl. N·H·W = 1)', () => {
    fc.assert(
      fc.property(caseArb, ({ shape, seed, offset, gamma: hasGamma, beta: hasBeta }) => {
        const c = shape[1];
        const count = shape[0] * shape[2] * shape[3];
        const x = randn(shape, { seed, std: 2 }).add(offset);
        fc.pre(count === 1 || minVariance(Float64Array.from(x.dataSync()), shape) > 0.05);
        const gamma = hasGamma ? randn([c], { seed: seed + 1 }) : null;
        const beta = hasBeta ? randn([c], { seed: seed + 2 }) : null;
        const fused = batchNormTrain(x, gamma, beta, EPS);
        expect((fused.y._node as { op: string } | null)?.op ?? 'batchNormTrain').toBe('batchNormTrain');
        const ref = batchNormTrainComposed(x, gamma, beta, EPS);
        close(fused.y.dataSync(), ref.y.dataSync(), 1e-4);
        close(fused.mean.dataSync(), ref.mean.dataSync(), 1e-5);
        close(fused.variance.dataSync(), ref.variance.dataSync(), 1e-4);
        const params = [gamma, beta].filter((t): t is Tensor => t !== null);
        const loss = (op: typeof batchNormTrain) => (...xs: Tensor[]) => weightedSum(op(xs[0], hasGamma ? xs[1] : null, hasBeta ? xs[hasGamma ? 2 : 1] : null, EPS).y);
        const gFused = grad(loss(batchNormTrain))(x, ...params);
        const gRef = grad(loss(batchNormTrainComposed))(x, ...params);
        gRef.forEach((g, i) => close(gFused[i].dataSync(), g.dataSync(), 2e-3));
      }),
      { numRuns: 60 },
    );
  });

  it('frees every intermediate: the live-tensor count returns to where it was', () => {
    const x = randn([2, 3, 4, 4], { seed: 3 });
    const gamma = randn([3], { seed: 4 });
    const beta = randn([3], { seed: 5 });
    const before = memory().numTensors;
    tidy(() => {
      grad((a, g, b) => weightedSum(batchNormTrain(a, g, b, EPS).y))(x, gamma, beta);
    });
    expect(memory().numTensors).toBe(before);
  });
});

describe('batchNormTrain in float64', () => {
  it('goes through the composed path and passes gradcheck, with and without γ, β', () => {
    const x = randn([2, 3, 3, 2], { seed: 11, dtype: 'float64', std: 1.5 }).add(0.7);
    const gamma = randn([3], { seed: 12, dtype: 'float64' });
    const beta = randn([3], { seed: 13, dtype: 'float64' });
    expect(batchNormTrain(x, gamma, beta, EPS).y.dtype).toBe('float64');
    gradcheck((a, g, b) => weightedSum(batchNormTrain(a, g, b, EPS).y), [x, gamma, beta]);
    gradcheck((a) => weightedSum(batchNormTrain(a, null, null, EPS).y), [x]);
  });

  it("the fused kernels' backward formula matches finite differences of the composed float64 forward", () => {
    const b = getBackend();
    if (!b.batchNormForward || !b.batchNormBackward) throw new Error('the cpu backend should have the fused batch-norm kernels');
    for (const [shape, seed] of [[[2, 3, 3, 2], 21], [[1, 2, 1, 3], 22], [[3, 1, 2, 2], 23]] as [number[], number][]) {
      const c = shape[1];
      const x = randn(shape, { seed, dtype: 'float64', std: 1.5 }).add(3);
      const gamma = randn([c], { seed: seed + 1, dtype: 'float64' });
      const beta = randn([c], { seed: seed + 2, dtype: 'float64' });
      const fwd = b.batchNormForward(x.handle, shape, gamma.handle, beta.handle, EPS, 'float64');
      const ref = batchNormTrainComposed(x, gamma, beta, EPS);
      close(b.readSync!(fwd.y, x.size, 'float64'), ref.y.dataSync(), 1e-12);
      const dy = tensor(Float64Array.from(weightValues(shape)), shape, { dtype: 'float64' });
      const r = b.batchNormBackward(dy.handle, x.handle, shape, fwd.mean, fwd.variance, gamma.handle, EPS, 'float64');
      const analytic = [b.readSync!(r.dx, x.size, 'float64'), b.readSync!(r.dgamma, c, 'float64'), b.readSync!(r.dbeta, c, 'float64')];
      for (const h of [fwd.y, fwd.mean, fwd.variance, r.dx, r.dgamma, r.dbeta]) b.dispose(h);
      // central differences of f(x, γ, β) = Σ composed_y ⊙ dy
      const inputs = [x, gamma, beta].map((t) => Float64Array.from(t.dataSync()));
      const f = (vals: Float64Array[]): number =>
        tidy(() => weightedSum(batchNormTrainComposed(tensor(vals[0], shape, { dtype: 'float64' }), tensor(vals[1], [c], { dtype: 'float64' }), tensor(vals[2], [c], { dtype: 'float64' }), EPS).y).item());
      const h = 1e-6;
      inputs.forEach((vals, k) => {
        const numeric = Array.from(vals, (v, i) => {
          vals[i] = v + h;
          const up = f(inputs);
          vals[i] = v - h;
          const down = f(inputs);
          vals[i] = v;
          return (up - down) / (2 * h);
        });
        close(analytic[k], numeric, 1e-6);
      });
    }
  });
});

describe('BatchNorm2d uses the fused op in float32 training', () => {
  it('output and running statistics match the float64 (composed) layer; N·H·W = 1 still throws', () => {
    const shape = [4, 3, 5, 5];
    const x64 = randn(shape, { seed: 31, dtype: 'float64', std: 2 }).add(1.5);
    const bn32 = new BatchNorm2d(3);
    const bn64 = new BatchNorm2d(3, { dtype: 'float64' });
    const w = randn([3], { seed: 32, dtype: 'float64' });
    const bias = randn([3], { seed: 33, dtype: 'float64' });
    bn64.weight!.assign(w);
    bn64.bias!.assign(bias);
    bn32.weight!.assign(w.cast('float32'));
    bn32.bias!.assign(bias.cast('float32'));
    for (let step = 0; step < 2; step++) {
      const y32 = bn32.forward(x64.cast('float32'));
      expect((y32._node as { op: string } | null)?.op ?? 'batchNormTrain').toBe('batchNormTrain');
      close(y32.dataSync(), bn64.forward(x64).dataSync(), 1e-5);
    }
    close(bn32.running_mean.dataSync(), bn64.running_mean.dataSync(), 1e-6);
    close(bn32.running_var.dataSync(), bn64.running_var.dataSync(), 1e-6);
    expect(() => bn32.forward(randn([1, 3, 1, 1], { seed: 1 }))).toThrow(/training needs more than one value per channel/);
  });
});

describe('the fused batch-norm kernels in WebAssembly (float32) against their JS loops', () => {
  // the WebAssembly loops sum in float64 by lane in the JS loop's order and round once, so every output
  // has the JS loop's bits; useSimdKernel(false) selects the JS loops
  const bitsOf = (shape: number[], seed: number): number[][] => {
    const b = getBackend();
    const c = shape[1];
    const x = randn(shape, { seed, std: 2 }).add(3);
    const gamma = randn([c], { seed: seed + 1 });
    const beta = randn([c], { seed: seed + 2 });
    const dy = randn(shape, { seed: seed + 3 });
    const fwd = b.batchNormForward!(x.handle, shape, gamma.handle, beta.handle, EPS, 'float32');
    const r = b.batchNormBackward!(dy.handle, x.handle, shape, fwd.mean, fwd.variance, gamma.handle, EPS, 'float32');
    const size = x.size;
    const out = [[fwd.y, size], [fwd.mean, c], [fwd.variance, c], [r.dx, size], [r.dgamma, c], [r.dbeta, c]].map(([h, n]) => Array.from(b.readSync!(h, n as number, 'float32')));
    for (const h of [fwd.y, fwd.mean, fwd.variance, r.dx, r.dgamma, r.dbeta]) b.dispose(h);
    return out;
  };
  // planes (of at least SIMD_PLANE = 256 values, below which both are the JS loops) whose length is a
  // multiple of 4 or leaves 2 or 3 over, a batch large enough for both threads, and planes longer than
  // a chunk's slot of the staging area
  for (const shape of [[2, 3, 16, 16], [2, 2, 15, 18], [3, 4, 17, 19], [8, 16, 64, 66], [1, 32, 400, 400]]) {
    it(`[${shape.join(', ')}]: y, mean, variance, dx, dγ, dβ bit for bit`, () => {
      const simd = bitsOf(shape, 41);
      useSimdKernel(false);
      let js: number[][];
      try {
        js = bitsOf(shape, 41);
      } finally {
        useSimdKernel(true);
      }
      simd.forEach((got, i) => {
        expect(got.length).toBe(js[i].length);
        expect(got.filter((v, j) => !Object.is(v, js[i][j])).length).toBe(0);
      });
    });
  }
});

describe('batchNormTrain with relu (Conv → BatchNorm → ReLU in one op)', () => {
  // relu(y) where y ≤ 0 is 0, so a case where no value is near 0 has no kink for finite differences
  it('float64 (composed): values of relu(batchNormTrain) and gradients against finite differences', () => {
    const x = randn([2, 3, 3, 2], { seed: 51, dtype: 'float64', std: 1.5 }).add(0.7);
    const gamma = randn([3], { seed: 52, dtype: 'float64' });
    const beta = randn([3], { seed: 53, dtype: 'float64' });
    const y = batchNormTrain(x, gamma, beta, EPS, { relu: true }).y.dataSync();
    const ref = batchNormTrain(x, gamma, beta, EPS).y.dataSync();
    expect(Array.from(y)).toEqual(Array.from(ref, (v) => (v > 0 ? v : 0)));
    expect(Math.min(...Array.from(ref, Math.abs))).toBeGreaterThan(1e-3);
    expect(Array.from(ref).some((v) => v < 0) && Array.from(ref).some((v) => v > 0)).toBe(true);
    gradcheck((a, g, b) => weightedSum(batchNormTrain(a, g, b, EPS, { relu: true }).y), [x, gamma, beta]);
  });

  it('float32 fused (cpu, JS and WebAssembly loops): the bits of relu after batchNormTrain, forward and backward', () => {
    fc.assert(
      fc.property(fc.constantFrom([2, 3, 4, 5], [2, 2, 16, 17], [1, 3, 20, 20]), fc.integer({ min: 0, max: 1 << 20 }), fc.boolean(), fc.boolean(), (shape, seed, hasGamma, simd) => {
        const c = shape[1];
        const x = randn(shape, { seed, std: 2 }).add(0.3);
        const gamma = hasGamma ? randn([c], { seed: seed + 1 }) : null;
        const beta = randn([c], { seed: seed + 2 });
        useSimdKernel(simd);
        try {
          const fusedY = batchNormTrain(x, gamma, beta, EPS, { relu: true }).y;
          expect((fusedY._node as { op: string } | null)?.op ?? 'batchNormTrain').toBe('batchNormTrain');
          const apart = batchNormTrain(x, gamma, beta, EPS).y.relu();
          expect(Array.from(fusedY.dataSync())).toEqual(Array.from(apart.dataSync()));
          const params = [gamma, beta].filter((t): t is Tensor => t !== null);
          const loss = (relu: boolean) => (...xs: Tensor[]) => {
            const [g, b] = hasGamma ? [xs[1], xs[2]] : [null, xs[1]];
            return weightedSum(relu ? batchNormTrain(xs[0], g, b, EPS, { relu: true }).y : batchNormTrain(xs[0], g, b, EPS).y.relu());
          };
          const gf = grad(loss(true))(x, ...params);
          const ga = grad(loss(false))(x, ...params);
          ga.forEach((g, i) => expect(Array.from(gf[i].dataSync())).toEqual(Array.from(g.dataSync())));
        } finally {
          useSimdKernel(true);
        }
      }),
      { numRuns: 24 },
    );
  });

  it('a training DoubleConv runs no separate relu or reluGrad', () => {
    const block = new DoubleConv(2, 4, { seed: 3 });
    const x = randn([2, 2, 6, 6], { seed: 4 });
    enableProfiling(true);
    resetProfile();
    try {
      tidy(() => weightedSum(block.forward(x)).backward());
      const ops = profileReport().map((r) => r.op);
      expect(ops).toContain('batchNormForward');
      expect(ops).toContain('batchNormBackward');
      expect(ops.filter((op) => op === 'unary:relu' || op === 'reluGrad')).toEqual([]);
    } finally {
      enableProfiling(false);
      resetProfile();
    }
  });
});
