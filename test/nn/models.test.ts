import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { concat, noGrad, randn, tensor, tidy, type Tensor } from '../../src/index.js';
import { Adam, Module } from '../../src/nn/index.js';
import { AttentionUNet, FocusNet, UNet } from '../../src/nn/models/index.js';
import { checkModule, rnd } from './helpers.js';

const anchor = JSON.parse(readFileSync(new URL('../fixtures/unet-anchor.json', import.meta.url), 'utf8')) as {
  param_count: number;
  batchnorm: { buffers: { count: number } };
  params: { name: string; shape: number[] }[];
};

/** Independent count of the U-Net's parameters from its definition (spec/models-and-data.md). */
function unetCount(w: number[], cin: number, k: number, o: { strided: boolean; convBias: boolean }): number {
  const conv3 = (a: number, b: number): number => 9 * a * b + (o.convBias ? b : 0);
  const block = (a: number, b: number): number => conv3(a, b) + conv3(b, b) + 4 * b;
  let n = 0;
  for (let l = 0; l < w.length; l++) n += block(l ? w[l - 1] : cin, w[l]);
  for (let l = 0; l < w.length - 1; l++) {
    if (o.strided) n += conv3(w[l], w[l]);
    n += 4 * w[l + 1] * w[l] + w[l] + block(2 * w[l], w[l]);
  }
  return n + w[0] * k + k;
}

describe('UNet', () => {
  it('builds exactly the benchmark network of unet-anchor.json: every name and shape, 1,942,289 parameters, 2,944 BN buffer values', () => {
    const m = new UNet({ widths: [16, 32, 64, 128, 256], down: 'maxpool', up: 'transpose', convBias: false, dropout: 0, inChannels: 1, outChannels: 1 });
    expect(m.namedParameters().map(([n, t]) => [n, [...t.shape]])).toEqual(anchor.params.map((p) => [p.name, p.shape]));
    expect(m.parameterCount()).toBe(1942289);
    expect(m.parameterCount()).toBe(anchor.param_count);
    const buffers = m.namedBuffers();
    expect(buffers.reduce((n, [, t]) => n + t.size, 0)).toBe(2944);
    expect(buffers.reduce((n, [, t]) => n + t.size, 0)).toBe(anchor.batchnorm.buffers.count);
    expect(buffers.every(([n]) => /\.bn[12]\.running_(mean|var)$/.test(n))).toBe(true);
  });

  it("the paper's default (strided down, transposed up, 32…512) has the parameter count of its definition", () => {
    const m = new UNet();
    expect(m.parameterCount()).toBe(unetCount([32, 64, 128, 256, 512], 1, 1, { strided: true, convBias: false }));
    expect(m.namedParameters().some(([n]) => n === 'down3.weight')).toBe(true);
    const b = new UNet({ widths: [4, 8, 16], inChannels: 3, outChannels: 2, convBias: true, up: 'upsample' });
    // nearest + Conv2×2 with bias has as many parameters as ConvTranspose 2×2 with bias
    expect(b.parameterCount()).toBe(unetCount([4, 8, 16], 3, 2, { strided: true, convBias: true }));
    expect(b.namedParameters().some(([n]) => n === 'up0.conv.weight')).toBe(true);
  });

  it('keeps odd sizes that divide (48×80 at depth 4) and names the problem for sizes that do not', () => {
    for (const [down, up] of [['strided', 'transpose'], ['maxpool', 'upsample']] as const) {
      const m = new UNet({ widths: [2, 2, 4, 4, 4], down, up, outChannels: 3, seed: 1 });
      expect(noGrad(() => m.forward(randn([1, 1, 48, 80], { seed: 2 }))).shape).toEqual([1, 3, 48, 80]);
    }
    const m = new UNet({ widths: [2, 2, 4, 4, 4] });
    expect(() => m.forward(randn([1, 1, 100, 100], { seed: 2 }))).toThrow('UNet: input 100x100 is not divisible by 16');
    expect(() => m.forward(randn([1, 3, 32, 32], { seed: 2 }))).toThrow(/UNet: expected input \[N, 1, H, W\], got \[1,3,32,32\]/);
  });

  it('float64 gradient check of a tiny U-Net (16×16, base width 2) in training mode, dropout mask fixed by reseeding', () => {
    for (const [down, up] of [['strided', 'transpose'], ['maxpool', 'upsample']] as const) {
      const m = new UNet({ widths: [2, 4, 4], down, up, dropout: 0.5, seed: 3, dtype: 'float64' });
      checkModule(m, [rnd([2, 1, 16, 16], 4)], { before: () => m.dropouts().forEach((d, i) => d.reseed(10 + i)), mode: 'directional', randomBiases: true });
    }
  });

  it('a few Adam steps on one batch lower a soft Dice loss; eval mode then uses the running statistics', () => {
    const m = new UNet({ widths: [4, 8, 8], dropout: 0, seed: 5 });
    const x = tensor(Array.from({ length: 2 * 256 }, (_, i) => 0.5 + 0.5 * Math.sin(0.3 * ((i >> 4) & 15) + 0.7 * (i >> 8)) * Math.cos(0.2 * (i & 15))), [2, 1, 16, 16]);
    const t = noGrad(() => x.greater(0.5));
    // soft Dice, global over the batch, smooth 1 (as the benchmark's loss)
    const dice = (logits: Tensor): Tensor => {
      const p = logits.sigmoid();
      return tensor(1).sub(p.mul(t).sum().mul(2).add(1).div(p.sum().add(t.sum()).add(1)));
    };
    const opt = new Adam(m.namedParameters(), { lr: 1e-2 });
    const losses: number[] = [];
    for (let s = 0; s < 12; s++) {
      losses.push(tidy(() => {
        const loss = dice(m.forward(x));
        loss.backward();
        return loss.item();
      }));
      opt.step();
      opt.zeroGrad();
    }
    expect(losses[11]).toBeLessThan(losses[0] * 0.8);
    const trainOut = noGrad(() => m.forward(x)).dataSync();
    m.eval();
    const evalOut = noGrad(() => m.forward(x)).dataSync();
    expect(Array.from(evalOut)).not.toEqual(Array.from(trainOut));
  });
});

describe('FocusNet', () => {
  it('forward keeps the size (divisible by 16) and rejects other sizes; fusion head adds side outputs', () => {
    const m = new FocusNet({ inChannels: 3, widthScale: 1 / 16, seed: 1 });
    expect(noGrad(() => m.forward(randn([1, 3, 16, 48], { seed: 1 }))).shape).toEqual([1, 1, 16, 48]);
    expect(() => m.forward(randn([1, 3, 24, 32], { seed: 1 }))).toThrow('FocusNet: input 24x32 is not divisible by 16');
    const f = new FocusNet({ inChannels: 3, outChannels: 2, fusionHead: true, widthScale: 1 / 16, seed: 1 });
    expect(noGrad(() => f.forward(randn([1, 3, 32, 16], { seed: 1 }))).shape).toEqual([1, 2, 32, 16]);
    expect(f.parameterCount()).toBeGreaterThan(new FocusNet({ inChannels: 3, outChannels: 2, widthScale: 1 / 16 }).parameterCount());
    const names = new Set(f.namedParameters().map(([n]) => n));
    for (const n of ['conv1.weight', 'aDown1.shortcut.weight', 'conv7.block.conv2.weight', 'conv1r.conv.weight', 'gate1.se2.fc1.weight', 'se4.fc2.weight', 'up4.conv.weight', 'final2.conv2.bias', 'head.weight', 'fuse.out.weight']) expect(names.has(n)).toBe(true);
    expect(names.has('conv1.bias')).toBe(false);
  });

  it('float64 gradient check of a tiny FocusNet (16×16, widths ÷16) with the fusion head, dropout reseeded', () => {
    const m = new FocusNet({ inChannels: 1, fusionHead: true, widthScale: 1 / 16, seed: 2, dtype: 'float64' });
    checkModule(m, [rnd([2, 1, 16, 16], 3)], { before: () => m.dropouts().forEach((d) => d.reseed(4)), mode: 'directional', randomBiases: true });
  });
});

class AllOutputs extends Module {
  constructor(readonly m: AttentionUNet) {
    super();
  }
  forward(x: Tensor): Tensor {
    return concat(this.m.forwardWithSideOutputs(x).map((o) => o.reshape([-1])), 0);
  }
}

describe('AttentionUNet', () => {
  it('returns side outputs at ⅛, ¼, ½ and the final output; forward is the final one', () => {
    const m = new AttentionUNet({ inChannels: 3, outChannels: 2, widthScale: 1 / 16, seed: 1 });
    const x = randn([2, 3, 16, 32], { seed: 1 });
    const outs = noGrad(() => m.forwardWithSideOutputs(x));
    expect(outs.map((o) => o.shape)).toEqual([[2, 2, 2, 4], [2, 2, 4, 8], [2, 2, 8, 16], [2, 2, 16, 32]]);
    m.eval();
    expect(Array.from(noGrad(() => m.forward(x)).dataSync())).toEqual(Array.from(noGrad(() => m.forwardWithSideOutputs(x))[3].dataSync()));
    expect(() => m.forward(randn([1, 3, 8, 8], { seed: 1 }))).toThrow('AttentionUNet: input 8x8 is not divisible by 16');
    const names = new Set(m.namedParameters().map(([n]) => n));
    for (const n of ['scale2.weight', 'conv4.conv2.weight', 'center.bn1.weight', 'attn1.theta.weight', 'attn3.psi.weight', 'gating2.conv.weight', 'upconv4.weight', 'side1.weight', 'final.bias']) expect(names.has(n)).toBe(true);
    // encoder level 4 keeps the reference's 64 (÷16 → 4) and the multi-scale inputs concatenate before levels 2–4
    expect(m.conv4.conv2.weight.shape).toEqual([4, 4, 3, 3]);
    expect(m.conv2.conv1.weight.shape).toEqual([4, 4 + 2, 3, 3]);
  });

  it('float64 gradient check of a tiny Attention U-Net through all four outputs', () => {
    const m = new AttentionUNet({ inChannels: 1, widthScale: 1 / 16, seed: 2, dtype: 'float64' });
    for (const train of [true, false]) checkModule(new AllOutputs(m.train(train)), [rnd([2, 1, 16, 16], 5)], { mode: 'directional', randomBiases: true });
  });
});

describe('models: state round trip', () => {
  it('each model loads another instance’s state and then computes the same output', () => {
    let seed = 100;
    const makers: [() => Module, number[]][] = [
      [() => new UNet({ widths: [2, 4, 4], seed: seed++ }), [1, 1, 16, 16]],
      [() => new FocusNet({ widthScale: 1 / 16, fusionHead: true, seed: seed++ }), [1, 3, 16, 16]],
      [() => new AttentionUNet({ widthScale: 1 / 16, seed: seed++ }), [1, 3, 16, 16]],
    ];
    for (const [make, shape] of makers) {
      const a = make().eval();
      const b = make().eval();
      const x = randn(shape, { seed: 9 });
      b.loadStateDict(a.stateDict());
      expect(Array.from(noGrad(() => b.forward(x)).dataSync())).toEqual(Array.from(noGrad(() => a.forward(x)).dataSync()));
    }
  });
});
