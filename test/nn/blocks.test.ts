import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noGrad, randn, relu, tensor, type Tensor } from '../../src/index.js';
import { AttentionGate, ConvBNReLU, DoubleConv, GatingSignal, ResidualDown, ResidualFirst, SqueezeExcitation, Up } from '../../src/nn/index.js';
import { FocusGate } from '../../src/nn/models/index.js';
import { checkModule, rnd } from './helpers.js';

const f64 = { dtype: 'float64' } as const;
const runs = { numRuns: 3 };

describe('blocks: float64 gradient checks (weights and inputs) and shapes', () => {
  it('ConvBNReLU(f, k, s)', () => {
    fc.assert(fc.property(fc.constantFrom(1, 3), fc.constantFrom(1, 2), fc.nat(500), (k, s, seed) => {
      const b = new ConvBNReLU(2, 3, { kernel: k, stride: s, seed, ...f64 });
      const x = rnd([2, 2, 6, 5], seed);
      expect(noGrad(() => b.forward(x)).shape).toEqual([2, 3, Math.ceil(6 / s), Math.ceil(5 / s)]);
      checkModule(b, [x]);
    }), runs);
  });

  it('DoubleConv (the U-Net level block), with and without conv bias', () => {
    for (const bias of [false, true]) checkModule(new DoubleConv(2, 3, { bias, seed: 3, ...f64 }), [rnd([2, 2, 4, 4], 1)]);
  });

  it('RB_first: identity shortcut when widths match, Conv1×1 otherwise', () => {
    const same = new ResidualFirst(3, 3, { seed: 1, ...f64 });
    expect(same.shortcut).toBeNull();
    const wider = new ResidualFirst(2, 4, { seed: 2, ...f64 });
    expect(wider.shortcut!.weight.shape).toEqual([4, 2, 1, 1]);
    checkModule(same, [rnd([2, 3, 4, 4], 3)]);
    checkModule(wider, [rnd([2, 2, 4, 4], 4)]);
  });

  it('RB_first adds the identity: zero convolutions give out = x', () => {
    const b = new ResidualFirst(2, 2, f64);
    for (const [, p] of b.namedParameters()) if (p.rank === 4) p.assign(p.mul(0));
    const x = rnd([1, 2, 3, 3], 5);
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(x.dataSync()));
  });

  it('RB_down halves the size (Conv1×1 stride 2 shortcut)', () => {
    const b = new ResidualDown(2, 3, { seed: 1, ...f64 });
    const x = rnd([2, 2, 6, 4], 2);
    expect(noGrad(() => b.forward(x)).shape).toEqual([2, 3, 3, 2]);
    checkModule(b, [x]);
  });

  it('SqueezeExcitation (r = 16, hidden ≥ 1) scales channels by σ(W2 ReLU(W1 GAP(x)))', () => {
    const se = new SqueezeExcitation(32, f64);
    expect(se.fc1.weight.shape).toEqual([2, 32]);
    expect(se.fc2.weight.shape).toEqual([32, 2]);
    expect(se.fc1.bias).toBeNull();
    const small = new SqueezeExcitation(3, { seed: 4, ...f64 });
    checkModule(small, [rnd([2, 3, 3, 3], 1)]);
    // with W1 = 0 every channel is scaled by σ(0) = 1/2
    const z = new SqueezeExcitation(2, f64);
    z.fc1.weight.assign(z.fc1.weight.mul(0));
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2], f64);
    expect(Array.from(z.forward(x).dataSync())).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
  });

  it('AttentionGate (Oktay) with a same-size gate and with a transposed-conv ×2 gate', () => {
    const g1 = new AttentionGate(2, 3, 2, { seed: 1, ...f64 });
    const x = rnd([2, 2, 4, 4], 2);
    const g = rnd([2, 3, 2, 2], 3);
    expect(noGrad(() => g1.forward(x, g)).shape).toEqual([2, 2, 4, 4]);
    const psi = noGrad(() => g1.coefficients(x, g));
    expect(psi.shape).toEqual([2, 1, 4, 4]);
    for (const v of psi.dataSync()) expect(v > 0 && v < 1).toBe(true);
    checkModule(g1, [x, g]);
    const g2 = new AttentionGate(2, 3, 2, { gUpsample: 2, seed: 4, ...f64 });
    checkModule(g2, [rnd([2, 2, 8, 8], 5), rnd([2, 3, 2, 2], 6)]);
    expect(() => g1.forward(x, rnd([2, 3, 4, 4], 7))).toThrow(/AttentionGate: θx \[2,2,2,2\] .* and φg \[2,2,4,4\]/);
  });

  it('GatingSignal and FocusGate', () => {
    checkModule(new GatingSignal(3, 2, { seed: 1, ...f64 }), [rnd([2, 3, 3, 3], 1)]);
    checkModule(new FocusGate(3, { seed: 2, ...f64 }), [rnd([2, 3, 3, 3], 2), rnd([2, 3, 3, 3], 3)]);
  });

  it('Up(f): nearest ×2 → Conv2×2 ReLU → concat skip → RB_first', () => {
    const up = new Up(3, 2, 2, { seed: 1, ...f64 });
    const x = rnd([2, 3, 2, 2], 1);
    const skip = rnd([2, 2, 4, 4], 2);
    expect(noGrad(() => up.forward(x, skip)).shape).toEqual([2, 2, 4, 4]);
    checkModule(up, [x, skip]);
    expect(() => up.forward(x, rnd([2, 2, 3, 4], 3))).toThrow(/Up: expected x \[N, 3, H, W\] and skip \[N, 2, 2H, 2W\], got \[2,3,2,2\] and \[2,2,3,4\]/);
  });
});

describe('blocks in eval mode: Conv → BatchNorm → ReLU as one conv2dAffine', () => {
  // the fused op (noGrad, cpu) against the layers one by one: conv (+ bias), the eval batch norm, relu
  const stats = (bn: ConvBNReLU['bn'], seed: number): void => {
    const c = bn.numFeatures;
    bn.running_mean.assign(randn([c], { seed, dtype: bn.running_mean.dtype }));
    bn.running_var.assign(randn([c], { seed: seed + 1, dtype: bn.running_var.dtype }).square().add(0.5));
    bn.weight!.assign(randn([c], { seed: seed + 2, dtype: bn.running_var.dtype }));
    bn.bias!.assign(randn([c], { seed: seed + 3, dtype: bn.running_var.dtype }));
  };
  const layered = (conv: ConvBNReLU['conv'], bn: ConvBNReLU['bn'], x: Tensor): Tensor => relu(bn.forward(conv.forward(x)));
  const maxDiff = (a: Tensor, b: Tensor): number => {
    const [p, q] = [Array.from(a.dataSync()), Array.from(b.dataSync())];
    return p.reduce((m, v, i) => Math.max(m, Math.abs(v - q[i])), 0);
  };

  it('DoubleConv without conv bias (the U-Net block): the same bits; with bias, within float32 rounding', () => {
    for (const bias of [false, true]) {
      const b = new DoubleConv(3, 8, { bias, seed: 5 });
      stats(b.bn1, 10);
      stats(b.bn2, 20);
      if (bias) for (const conv of [b.conv1, b.conv2]) conv.bias!.assign(randn([8], { seed: 30 }));
      b.eval();
      const x = randn([2, 3, 12, 12], { seed: 6 });
      const fused = noGrad(() => b.forward(x));
      const want = noGrad(() => layered(b.conv2, b.bn2, layered(b.conv1, b.bn1, x)));
      if (bias) expect(maxDiff(fused, want)).toBeLessThan(1e-5 * Math.max(...want.dataSync()));
      else expect(Array.from(fused.dataSync())).toEqual(Array.from(want.dataSync()));
      expect(fused.dataSync().some((v) => v === 0) && fused.dataSync().some((v) => v > 0)).toBe(true);
      // with gradients on, the composed path runs and agrees
      expect(maxDiff(b.forward(x), want)).toBeLessThan(1e-5 * Math.max(...want.dataSync()));
    }
  });

  it('ConvBNReLU (strided) and GatingSignal (1×1) match their layers within float32 rounding', () => {
    const blocks = [new ConvBNReLU(3, 4, { stride: 2, seed: 7 }), new GatingSignal(3, 4, { seed: 8 })];
    for (const [i, b] of blocks.entries()) {
      stats(b.bn, 40 + 10 * i);
      b.conv.bias?.assign(randn([4], { seed: 60 + i }));
      b.eval();
      const x = randn([2, 3, 9, 9], { seed: 9 });
      const want = noGrad(() => layered(b.conv, b.bn, x));
      expect(maxDiff(noGrad(() => b.forward(x)), want)).toBeLessThan(1e-5 * Math.max(...want.dataSync()));
    }
  });
});
