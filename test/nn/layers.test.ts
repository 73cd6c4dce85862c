import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d, noGrad, tensor, type Tensor } from '../../src/index.js';
import {
  AvgPool2d, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, Dropout2d, GlobalAvgPool, Identity, LeakyReLU, Linear,
  MaxPool2d, ReLU, Sequential, Sigmoid, Softmax, Upsample,
} from '../../src/nn/index.js';
import { checkModule, rnd } from './helpers.js';

const runs = { numRuns: 6 };

describe('Conv2d', () => {
  it('gradients match finite differences for weights, bias and input (shapes, stride, padding, dilation, groups)', () => {
    fc.assert(
      fc.property(
        fc.record({
          groups: fc.constantFrom(1, 2), cpg: fc.integer({ min: 1, max: 2 }), opg: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 4, max: 6 }), w: fc.integer({ min: 4, max: 6 }), k: fc.constantFrom(1, 2, 3),
          stride: fc.constantFrom(1, 2), dilation: fc.constantFrom(1, 2), bias: fc.boolean(), same: fc.boolean(), seed: fc.nat(1000),
        }),
        (c) => {
          const conv = new Conv2d(c.cpg * c.groups, c.opg * c.groups, { kernel: c.k, stride: c.stride, dilation: c.dilation, groups: c.groups, bias: c.bias, padding: c.same ? 'same' : 1, seed: c.seed, dtype: 'float64' });
          checkModule(conv, [rnd([2, c.cpg * c.groups, c.h, c.w], c.seed + 1)]);
        },
      ),
      runs,
    );
  });

  it("'same' with stride 2 follows TensorFlow: output ⌈H/2⌉, the extra row/column of padding at the bottom/right", () => {
    const conv = new Conv2d(1, 1, { kernel: 3, stride: 2, bias: false, dtype: 'float64' });
    const x = rnd([1, 1, 6, 5], 3);
    const y = conv.forward(x);
    expect(y.shape).toEqual([1, 1, 3, 3]);
    // H = 6: total padding (3−1)·2 + 3 − 6 = 1 → [0, 1]; W = 5: (3−1)·2 + 3 − 5 = 2 → [1, 1]
    const ref = conv2d(x, conv.weight, { stride: 2, padding: [0, 1, 1, 1] });
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
  });

  it('adds the bias per output channel', () => {
    const conv = new Conv2d(1, 2, { kernel: 1, dtype: 'float64' });
    conv.loadStateDict({ weight: tensor([1, 2], [2, 1, 1, 1], { dtype: 'float64' }), bias: tensor([10, 20], [2], { dtype: 'float64' }) });
    const y = conv.forward(tensor([1, 2, 3, 4], [1, 1, 2, 2], { dtype: 'float64' }));
    expect(Array.from(y.dataSync())).toEqual([11, 12, 13, 14, 22, 24, 26, 28]);
  });

  it('names the layer and the shapes when the input has the wrong channels', () => {
    expect(() => new Conv2d(3, 4).forward(rnd([1, 2, 4, 4], 1).cast('float32'))).toThrow(/Conv2d\(3→4\): expected input \[N, 3, H, W\], got \[1,2,4,4\]/);
  });
});

describe('ConvTranspose2d', () => {
  it('gradients match finite differences (kernel, stride, padding, groups, bias)', () => {
    fc.assert(
      fc.property(
        fc.record({ groups: fc.constantFrom(1, 2), cpg: fc.integer({ min: 1, max: 2 }), opg: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 2, max: 4 }), k: fc.constantFrom(2, 3), stride: fc.constantFrom(1, 2), bias: fc.boolean(), seed: fc.nat(1000) }),
        (c) => {
          const t = new ConvTranspose2d(c.cpg * c.groups, c.opg * c.groups, { kernel: c.k, stride: c.stride, groups: c.groups, bias: c.bias, padding: c.stride === 1 ? 0 : 'same', seed: c.seed, dtype: 'float64' });
          checkModule(t, [rnd([2, c.cpg * c.groups, c.h, c.h + 1], c.seed + 1)]);
        },
      ),
      runs,
    );
  });

  it("'same' padding gives exactly stride × the input size", () => {
    for (const [k, s] of [[2, 2], [3, 2], [3, 4], [3, 1]] as const) {
      const t = new ConvTranspose2d(2, 3, { kernel: k, stride: s, seed: 1 });
      expect(t.forward(rnd([1, 2, 3, 5], 2).cast('float32')).shape).toEqual([1, 3, 3 * s, 5 * s]);
    }
    expect(() => new ConvTranspose2d(1, 1, { kernel: 2, stride: 1 })).toThrow(/ConvTranspose2d: padding 'same' cannot give stride × input for kernel \[2,2\] and stride \[1,1\]/);
  });

  it('kernel 2 stride 2 writes each input pixel into its own 2×2 output block', () => {
    const t = new ConvTranspose2d(1, 1, { dtype: 'float64' });
    t.loadStateDict({ weight: tensor([1, 2, 3, 4], [1, 1, 2, 2], { dtype: 'float64' }), bias: tensor([0.5], [1], { dtype: 'float64' }) });
    const y = t.forward(tensor([1, 10], [1, 1, 1, 2], { dtype: 'float64' }));
    expect(Array.from(y.dataSync())).toEqual([1.5, 2.5, 10.5, 20.5, 3.5, 4.5, 30.5, 40.5]);
    const ref = convTranspose2d(tensor([1, 10], [1, 1, 1, 2], { dtype: 'float64' }), t.weight, { stride: 2 });
    expect(Array.from(ref.dataSync()).map((v) => v + 0.5)).toEqual(Array.from(y.dataSync()));
  });
});

describe('BatchNorm2d', () => {
  const data = [1, 2, 3, 4, 5, 6, 7, 9, -1, 0, 2, 2, 3, 5, 8, 13];

  it('training normalises with batch mean and biased variance and updates the running statistics (unbiased var, momentum 0.1)', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64' });
    const x = tensor(data, [2, 2, 2, 2], { dtype: 'float64' });
    const y = bn.forward(x).dataSync();
    // channel c takes elements n·8 + c·4 + k
    for (let c = 0; c < 2; c++) {
      const vals = [0, 1].flatMap((n) => data.slice(n * 8 + c * 4, n * 8 + c * 4 + 4));
      const mu = vals.reduce((a, b) => a + b, 0) / 8;
      const biased = vals.reduce((a, b) => a + (b - mu) ** 2, 0) / 8;
      const unbiased = (biased * 8) / 7;
      [0, 1].forEach((n) => [0, 1, 2, 3].forEach((k) => {
        const i = n * 8 + c * 4 + k;
        expect(y[i]).toBeCloseTo((data[i] - mu) / Math.sqrt(biased + 1e-5), 12);
      }));
      expect(bn.running_mean.dataSync()[c]).toBeCloseTo(0.1 * mu, 12);
      expect(bn.running_var.dataSync()[c]).toBeCloseTo(0.9 + 0.1 * unbiased, 12);
    }
  });

  it('eval mode uses the running statistics and does not update them', () => {
    const bn = new BatchNorm2d(1, { dtype: 'float64' });
    bn.loadStateDict({
      weight: tensor([2], [1], { dtype: 'float64' }), bias: tensor([1], [1], { dtype: 'float64' }),
      running_mean: tensor([3], [1], { dtype: 'float64' }), running_var: tensor([4], [1], { dtype: 'float64' }),
    });
    bn.eval();
    const y = bn.forward(tensor([3, 5, 7, 1], [1, 1, 2, 2], { dtype: 'float64' })).dataSync();
    const s = Math.sqrt(4 + 1e-5);
    [3, 5, 7, 1].forEach((v, i) => expect(y[i]).toBeCloseTo(((v - 3) / s) * 2 + 1, 12));
    expect(bn.running_mean.dataSync()[0]).toBe(3);
    expect(bn.running_var.dataSync()[0]).toBe(4);
  });

  it("eval mode keeps its scale and shift while nothing they come from changes, and recomputes them when something does", () => {
    const bn = new BatchNorm2d(2);
    bn.loadStateDict({ weight: tensor([2, 3], [2]), bias: tensor([1, -1], [2]), running_mean: tensor([0.5, -2], [2]), running_var: tensor([4, 0.25], [2]) });
    bn.eval();
    /** scale = γ/√(var + eps), shift = β − mean·scale, from the module's current tensors (float64 reference). */
    const expected = (): number[][] => {
      const [g, b, m, v] = [bn.weight!, bn.bias!, bn.running_mean, bn.running_var].map((t) => Array.from(t.dataSync()));
      const scale = g.map((gi, i) => gi / Math.sqrt(v[i] + 1e-5));
      return [scale, b.map((bi, i) => bi - m[i] * scale[i])];
    };
    const values = (a: { scale: { dataSync(): ArrayLike<number> }; shift: { dataSync(): ArrayLike<number> } }): number[][] => [Array.from(a.scale.dataSync()), Array.from(a.shift.dataSync())];
    const close = (got: number[][], want: number[][]): void => got.flat().forEach((v, i) => expect(v).toBeCloseTo(want.flat()[i], 5));

    const first = noGrad(() => bn.evalAffine());
    close(values(first), expected());
    // inference again: the same tensors, not recomputed
    const again = noGrad(() => bn.evalAffine());
    expect(again.scale).toBe(first.scale);
    expect(again.shift).toBe(first.shift);
    // a training step assigns new running statistics: recomputed, and the old pair freed
    bn.train();
    bn.forward(tensor([1, 2, 3, 4, 5, 6, 7, 9], [2, 2, 2, 1]));
    expect(first.scale.isDisposed).toBe(true);
    bn.eval();
    const trained = noGrad(() => bn.evalAffine());
    expect(trained.scale).not.toBe(first.scale);
    close(values(trained), expected());
    // a loaded state too
    bn.loadStateDict({ ...bn.stateDict(), bias: tensor([5, 6], [2]) });
    const loaded = noGrad(() => bn.evalAffine());
    close(values(loaded), expected());
    // disposed by a caller: recomputed
    loaded.scale.dispose();
    close(values(noGrad(() => bn.evalAffine())), expected());
    // where a gradient must flow (grad on, γ and β trainable), a fresh graph each call: γ gets its gradient
    const withGrad = bn.evalAffine();
    expect(withGrad.scale).not.toBe(bn.evalAffine().scale);
    withGrad.scale.sum().backward();
    expect(bn.weight!.grad).not.toBeNull();
  });

  it('gradients match finite differences in training mode (through the batch statistics) and in eval mode', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.nat(1000), fc.boolean(), (c, seed, train) => {
        const bn = new BatchNorm2d(c, { dtype: 'float64' });
        // non-trivial affine and running statistics so every path is exercised
        bn.loadStateDict({ weight: rnd([c], seed + 1), bias: rnd([c], seed + 2), running_mean: rnd([c], seed + 3), running_var: rnd([c], seed + 4).abs().add(0.5) });
        bn.train(train);
        checkModule(bn, [rnd([2, c, 3, 2], seed)]);
      }),
      runs,
    );
  });

  it('has the PyTorch state names and no num_batches_tracked', () => {
    expect(Object.keys(new BatchNorm2d(3).stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
  });
});

describe('Dropout', () => {
  it('zeroes about p of the elements, scales the rest by 1/(1−p), and is the identity in eval mode', () => {
    const d = new Dropout(0.3, 5);
    const x = tensor(new Float32Array(20000).fill(1), [20000]);
    const y = d.forward(x).dataSync();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / 20000).toBeGreaterThan(0.28);
    expect(zeros / 20000).toBeLessThan(0.32);
    for (const v of y) if (v !== 0) expect(v).toBeCloseTo(1 / 0.7, 6);
    d.eval();
    expect(d.forward(x)).toBe(x);
  });

  it('is reproducible from its seed, advances per call, and reseed() restarts the sequence', () => {
    const x = tensor(new Float32Array(64).fill(1), [64]);
    const a = new Dropout(0.5, 11);
    const b = new Dropout(0.5, 11);
    const a1 = Array.from(a.forward(x).dataSync());
    const a2 = Array.from(a.forward(x).dataSync());
    expect(Array.from(b.forward(x).dataSync())).toEqual(a1);
    expect(a2).not.toEqual(a1);
    a.reseed();
    expect(Array.from(a.forward(x).dataSync())).toEqual(a1);
  });

  it('gradient is the mask: finite differences agree when the mask is re-seeded for every evaluation', () => {
    const d = new Dropout(0.4, 3);
    checkModule(d, [rnd([3, 5], 1)], { before: () => d.reseed(3) });
    // and the gradient is exactly the (reseeded) mask
    d.reseed(3);
    const mask = d.forward(tensor(new Float64Array(15).fill(1), [3, 5], { dtype: 'float64' })).dataSync();
    d.reseed(3);
    const x = rnd([3, 5], 1);
    x.requiresGrad = true;
    d.forward(x).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(mask));
  });

  it('Dropout2d drops whole channels', () => {
    const d = new Dropout2d(0.5, 2);
    const y = d.forward(tensor(new Float32Array(4 * 8 * 9).fill(1), [4, 8, 3, 3])).dataSync();
    let dropped = 0;
    for (let ch = 0; ch < 32; ch++) {
      const vals = Array.from(y.slice(ch * 9, ch * 9 + 9));
      expect(new Set(vals).size).toBe(1);
      expect([0, 2]).toContain(vals[0]);
      if (vals[0] === 0) dropped++;
    }
    expect(dropped).toBeGreaterThan(4);
    expect(dropped).toBeLessThan(28);
    checkModule(d, [rnd([2, 3, 2, 2], 4)], { before: () => d.reseed(2) });
  });

  it('rejects p outside [0, 1)', () => {
    expect(() => new Dropout(1)).toThrow(/Dropout: drop probability must be in \[0, 1\), got 1/);
  });
});

describe('Linear', () => {
  it('computes x·Wᵀ + b and its gradients match finite differences', () => {
    const lin = new Linear(3, 2, { dtype: 'float64' });
    lin.loadStateDict({ weight: tensor([[1, 2, 3], [4, 5, 6]], undefined, { dtype: 'float64' }), bias: tensor([1, -1], [2], { dtype: 'float64' }) });
    expect(Array.from(lin.forward(tensor([[1, 0, 2]], undefined, { dtype: 'float64' })).dataSync())).toEqual([8, 15]);
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.nat(99), (i, o, bias, seed) => {
      checkModule(new Linear(i, o, { bias, seed, dtype: 'float64' }), [rnd([3, i], seed)]);
    }), runs);
  });
});

describe('parameter-free layers', () => {
  const x = (): Tensor => rnd([2, 2, 4, 4], 7);
  it('activations match their definitions and finite differences', () => {
    const v = tensor([-2, -0.5, 0.5, 3], [1, 1, 2, 2], { dtype: 'float64' });
    expect(Array.from(new ReLU().forward(v).dataSync())).toEqual([0, 0, 0.5, 3]);
    expect(Array.from(new LeakyReLU(0.3).forward(v).dataSync()).map((a) => +a.toFixed(12))).toEqual([-0.6, -0.15, 0.5, 3]);
    expect(new Sigmoid().forward(v).dataSync()[3]).toBeCloseTo(1 / (1 + Math.exp(-3)), 12);
    const sm = new Softmax(1).forward(tensor([1, 2, 3, 4], [1, 2, 1, 2], { dtype: 'float64' })).dataSync();
    expect(sm[0]).toBeCloseTo(Math.exp(1) / (Math.exp(1) + Math.exp(3)), 12);
    for (const m of [new ReLU(), new LeakyReLU(0.3), new Sigmoid(), new Softmax(1), new Identity()]) checkModule(m, [x()]);
  });

  it('pooling, global pooling and upsampling give the expected shapes and gradients', () => {
    expect(new MaxPool2d().forward(x()).shape).toEqual([2, 2, 2, 2]);
    expect(new AvgPool2d({ kernel: 2 }).forward(x()).shape).toEqual([2, 2, 2, 2]);
    const g = new GlobalAvgPool().forward(tensor([1, 2, 3, 6, 0, 0, 0, 4], [1, 2, 2, 2], { dtype: 'float64' }));
    expect(g.shape).toEqual([1, 2, 1, 1]);
    expect(Array.from(g.dataSync())).toEqual([3, 1]);
    expect(new Upsample(2).forward(x()).shape).toEqual([2, 2, 8, 8]);
    expect(Array.from(new Upsample(2).forward(tensor([1, 2], [1, 1, 1, 2])).dataSync())).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    for (const m of [new MaxPool2d(), new AvgPool2d(), new GlobalAvgPool(), new Upsample(2, 'nearest'), new Upsample(2, 'bilinear')]) checkModule(m, [x()]);
  });

  it('Sequential applies in order and names parameters by index, as PyTorch', () => {
    const s = new Sequential(new Conv2d(1, 2, { kernel: 3, bias: false }), new BatchNorm2d(2), new ReLU());
    expect(s.namedParameters().map(([n]) => n)).toEqual(['0.weight', '1.weight', '1.bias']);
    expect(s.namedBuffers().map(([n]) => n)).toEqual(['1.running_mean', '1.running_var']);
    const seq = new Sequential(new Conv2d(1, 2, { kernel: 3, seed: 1, dtype: 'float64' }), new BatchNorm2d(2, { dtype: 'float64' }), new LeakyReLU(0.2));
    checkModule(seq, [rnd([2, 1, 4, 4], 3)]);
    noGrad(() => expect(seq.forward(rnd([1, 1, 4, 4], 2)).shape).toEqual([1, 2, 4, 4]));
  });
});
