import { describe, expect, it } from 'vitest';
import { memory, tensor, tidy, type Tensor } from '../../src/index.js';
import { Adam, AdamW, CosineAnnealingLR, PolynomialLR, ReduceLROnPlateau, SGD, StepLR } from '../../src/nn/index.js';
import { UNet } from '../../src/nn/models/index.js';

// loss(θ) = Σ cᵢ θᵢ², so ∂loss/∂θᵢ = 2 cᵢ θᵢ: the reference updates below use that closed form.
const c = [0.5, 3, -1];
const start = [1, -2, 0.25];
const lossOf = (p: Tensor): Tensor => p.square().mul(tensor(c, [3], { dtype: 'float64' })).sum();
const grad = (p: number[]): number[] => p.map((v, i) => 2 * c[i] * v);

function run(make: (p: Tensor) => { step(): void; zeroGrad(): void }, steps: number): number[] {
  const p = tensor(start, [3], { dtype: 'float64', requiresGrad: true });
  const opt = make(p);
  for (let s = 0; s < steps; s++) {
    tidy(() => lossOf(p).backward());
    opt.step();
    opt.zeroGrad();
  }
  return Array.from(p.dataSync());
}

describe('Adam', () => {
  it('matches the bias-corrected update θ ← θ − lr·m̂/(√v̂ + eps) with L2 weight decay in the gradient, for 3 steps', () => {
    const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05;
    const p = [...start];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = grad(p).map((gi, i) => gi + wd * p[i]);
      for (let i = 0; i < 3; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const mh = m[i] / (1 - b1 ** t);
        const vh = v[i] / (1 - b2 ** t);
        p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
      }
    }
    const got = run((q) => new Adam([q], { lr, weightDecay: wd }), 3);
    got.forEach((x, i) => expect(x).toBeCloseTo(p[i], 12));
  });

  it('AdamW decays the weights directly: θ ← θ(1 − lr·λ) − lr·m̂/(√v̂ + eps)', () => {
    const lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    const p = [...start];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = grad(p);
      for (let i = 0; i < 3; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] = p[i] * (1 - lr * wd) - (lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
      }
    }
    const got = run((q) => new AdamW([q], { lr, weightDecay: wd }), 3);
    got.forEach((x, i) => expect(x).toBeCloseTo(p[i], 12));
  });

  it('the first step moves every coordinate by lr (sign of the gradient): a property of bias correction', () => {
    const got = run((q) => new Adam([q], { lr: 0.01 }), 1);
    got.forEach((x, i) => expect(x).toBeCloseTo(start[i] - 0.01 * Math.sign(grad(start)[i]), 6));
  });

  it('state_dict round trip continues identically; names are adam.m.<param>/adam.v.<param>', () => {
    const p1 = tensor(start, [3], { dtype: 'float64', requiresGrad: true });
    const o1 = new Adam([['w', p1]], { lr: 0.1 });
    const stepOnce = (p: Tensor, o: Adam): void => {
      tidy(() => lossOf(p).backward());
      o.step();
      o.zeroGrad();
    };
    stepOnce(p1, o1);
    const state = o1.stateDict();
    expect(Object.keys(state.tensors).sort()).toEqual(['adam.m.w', 'adam.v.w']);
    expect(state.scalars).toEqual({ step: 1, lr: 0.1 });
    const p2 = tensor(Array.from(p1.dataSync()), [3], { dtype: 'float64', requiresGrad: true });
    const o2 = new Adam([['w', p2]], { lr: 0.5 });
    o2.loadStateDict(state);
    expect(o2.lr).toBe(0.1);
    stepOnce(p1, o1);
    stepOnce(p2, o2);
    expect(Array.from(p2.dataSync())).toEqual(Array.from(p1.dataSync()));
    expect(() => o2.loadStateDict({ tensors: { 'adam.m.nope': tensor([1]) }, scalars: {} })).toThrow(/Adam\.loadStateDict: unexpected entry 'adam\.m\.nope'/);
    expect(() => o2.loadStateDict({ tensors: { 'adam.m.w': tensor([1]) }, scalars: {} })).toThrow(/adam\.m\.w: expected shape \[3\], got \[1\]/);
  });

  it('memory stays flat across training steps of a model', () => {
    const model = new UNet({ widths: [2, 4], dropout: 0, seed: 1 });
    const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
    const x = tensor(Array.from({ length: 2 * 16 }, (_, i) => Math.sin(i)), [2, 1, 4, 4]);
    const step = (): void => {
      tidy(() => model.forward(x).sigmoid().mean().backward());
      opt.step();
      opt.zeroGrad();
    };
    step();
    const after1 = memory();
    step();
    step();
    expect(memory().numTensors).toBe(after1.numTensors);
    expect(memory().numBytes).toBe(after1.numBytes);
  });
});

describe('SGD', () => {
  it('plain: θ ← θ − lr·(g + λθ)', () => {
    const p = [...start];
    for (let t = 0; t < 3; t++) {
      const g = grad(p);
      for (let i = 0; i < 3; i++) p[i] -= 0.1 * (g[i] + 0.01 * p[i]);
    }
    run((q) => new SGD([q], { lr: 0.1, weightDecay: 0.01 }), 3).forEach((x, i) => expect(x).toBeCloseTo(p[i], 12));
  });

  it('momentum with dampening: b ← g first, then μb + (1−τ)g; θ ← θ − lr·b', () => {
    const p = [...start];
    let b: number[] | null = null;
    for (let t = 0; t < 3; t++) {
      const g = grad(p);
      b = b ? b.map((bi, i) => 0.9 * bi + (1 - 0.3) * g[i]) : g;
      for (let i = 0; i < 3; i++) p[i] -= 0.05 * b[i];
    }
    run((q) => new SGD([q], { lr: 0.05, momentum: 0.9, dampening: 0.3 }), 3).forEach((x, i) => expect(x).toBeCloseTo(p[i], 12));
  });

  it('Nesterov: θ ← θ − lr·(g + μb)', () => {
    const p = [...start];
    let b: number[] | null = null;
    for (let t = 0; t < 3; t++) {
      const g = grad(p);
      b = b ? b.map((bi, i) => 0.9 * bi + g[i]) : g;
      for (let i = 0; i < 3; i++) p[i] -= 0.05 * (g[i] + 0.9 * b[i]);
    }
    run((q) => new SGD([q], { lr: 0.05, momentum: 0.9, nesterov: true }), 3).forEach((x, i) => expect(x).toBeCloseTo(p[i], 12));
    expect(() => new SGD([tensor([1], [1], { requiresGrad: true })], { nesterov: true })).toThrow(/Nesterov momentum needs momentum > 0/);
  });
});

describe('schedulers', () => {
  const opt = (lr: number): SGD => new SGD([tensor([1], [1], { requiresGrad: true })], { lr });

  it('StepLR: lr = base·γ^⌊epoch/stepSize⌋', () => {
    const o = opt(0.1);
    const s = new StepLR(o, { stepSize: 3, gamma: 0.5 });
    const lrs = Array.from({ length: 7 }, () => s.step());
    expect(lrs.map((v) => +v.toPrecision(12))).toEqual([0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]);
  });

  it('CosineAnnealingLR: η_min + (base − η_min)(1 + cos(π t/T))/2', () => {
    const o = opt(1);
    const s = new CosineAnnealingLR(o, { tMax: 4, etaMin: 0.2 });
    const lrs = Array.from({ length: 4 }, () => s.step());
    const expected = [1, 2, 3, 4].map((t) => 0.2 + 0.8 * (1 + Math.cos((Math.PI * t) / 4)) / 2);
    lrs.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 14));
    expect(lrs[1]).toBeCloseTo(0.6, 14);
    expect(lrs[3]).toBeCloseTo(0.2, 14);
    expect(o.lr).toBe(lrs[3]);
  });

  it('PolynomialLR: base·(1 − t/T)^0.9 down to 0 at T, and 0 after', () => {
    const o = opt(2);
    const s = new PolynomialLR(o, { total: 4 });
    const lrs = Array.from({ length: 5 }, () => s.step());
    [0.75, 0.5, 0.25, 0, 0].forEach((left, i) => expect(lrs[i]).toBeCloseTo(2 * left ** 0.9, 14));
    expect(new PolynomialLR(opt(1), { total: 2, power: 2 }).step()).toBeCloseTo(0.25, 14);
    expect(() => new PolynomialLR(opt(1), { total: 0 })).toThrow(/total must be a positive integer/);
  });

  it('ReduceLROnPlateau: reduces after more than `patience` bad epochs, with the relative threshold', () => {
    const o = opt(1);
    const s = new ReduceLROnPlateau(o, { factor: 0.5, patience: 2 });
    // 0.89995 is not below 0.9·(1 − 1e-4) = 0.89991, so it counts as a bad epoch
    const metrics = [1, 0.9, 0.89995, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8];
    expect(metrics.map((m) => s.step(m))).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]);
  });

  it('ReduceLROnPlateau: cooldown, minLr and max mode', () => {
    const o = opt(1);
    const s = new ReduceLROnPlateau(o, { factor: 0.1, patience: 0, cooldown: 1, minLr: 0.05 });
    // patience 0: every bad epoch reduces, except the one cooldown epoch after each reduction
    expect([1, 2, 2, 2, 2].map((m) => s.step(m))).toEqual([1, 0.1, 0.1, 0.05, 0.05]);
    const o2 = opt(1);
    const s2 = new ReduceLROnPlateau(o2, { mode: 'max', patience: 1, factor: 0.5, thresholdMode: 'abs', threshold: 0.1 });
    expect([0.5, 0.55, 0.58, 0.7].map((m) => s2.step(m))).toEqual([1, 1, 0.5, 0.5]);
  });
});
