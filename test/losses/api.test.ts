import { describe, expect, it } from 'vitest';
import { tensor, tidy, valueAndGrad, type Tensor } from '../../src/index.js';
import * as L from '../../src/losses/index.js';
import { labels, logits, oneHot, probabilities, type Case } from './helpers.js';

const f64 = (data: number[], shape: number[]) => tensor(data, shape, { dtype: 'float64' });

describe('loss registry', () => {
  it('every name builds a loss with that name, and the table lists the same names and input kinds', () => {
    expect(L.lossTable.map((r) => r.name)).toEqual([...L.LOSS_NAMES]);
    for (const row of L.lossTable) {
      const loss = L.lossByName(row.name);
      expect(loss.lossName).toBe(row.name);
      expect(loss.takes).toBe(row.takes);
      expect(row.paper.length).toBeGreaterThan(0);
    }
  });

  it('unknown names and options fail with the accepted ones listed', () => {
    expect(() => L.lossByName('dicee')).toThrow(/unknown loss 'dicee'.*bce, ce, dice, jaccard, tversky, focal, combo, focal-tversky, generalized-dice, gce, lovasz-hinge, lovasz-softmax, wing, mcc, all/);
    expect(() => L.lossByName('tversky', { alpha: 0.3 })).toThrow(/'tversky' has no option 'alpha'.*alphaFN.*betaFP/);
    expect(() => L.lossByName('dice', { smooth: 'abc' })).toThrow(/'smooth' of 'dice' must be a number/);
    expect(() => L.lossByName('dice', { batch: 'yes' })).toThrow(/'batch' of 'dice' must be true or false/);
    expect(() => L.lossByName('all', { base: 'nope' })).toThrow(/unknown base 'nope'/);
    expect(() => L.dice({ smooth: -1 })).toThrow(/dice: option smooth/);
  });

  it("'all' forwards ω, ε, δ to ALL and the rest to the named base", () => {
    const loss = L.lossByName('all', { base: 'tversky', alphaFN: '0.9', betaFP: 0.1, delta: '0.2', batch: 'false' }) as L.AdaptiveLogLoss;
    expect(loss.base.lossName).toBe('tversky');
    expect(loss.options).toEqual({ omega: 10, epsilon: 0.5, delta: 0.2 });
    const k: Case = { n: 2, c: 1, h: 3, w: 3, fraction: 0.2, seed: 3, indexTarget: false };
    const p = probabilities(k);
    const t = f64(labels(k), [2, 1, 3, 3]);
    expect(loss.base(p, t).item()).toBeCloseTo(L.tversky({ alphaFN: 0.9, betaFP: 0.1, batch: false })(p, t).item(), 14);
    expect(L.lossByName('all').takes).toBe('probabilities');
  });
});

describe('targets and shapes', () => {
  const k: Case = { n: 2, c: 3, h: 3, w: 2, fraction: 0.5, seed: 21, indexTarget: true };
  const cls = labels(k);
  const forms = (): Tensor[] => [f64(oneHot(k, cls), [2, 3, 3, 2]), f64(cls, [2, 1, 3, 2]), f64(cls, [2, 3, 2])];

  it('one-hot, [N,1,H,W] and [N,H,W] class indices give the same value for every loss', () => {
    for (const name of L.LOSS_NAMES) {
      if (name === 'lovasz-hinge') continue;
      const loss = L.lossByName(name);
      const x = loss.takes === 'logits' ? logits(k) : probabilities(k);
      const [a, b, c] = forms().map((t) => loss(x, t).item());
      expect(b).toBeCloseTo(a, 13);
      expect(c).toBeCloseTo(a, 13);
    }
  });

  it('a binary mask may be [N,H,W]', () => {
    const kb: Case = { ...k, c: 1 };
    const m = labels(kb);
    const p = probabilities(kb);
    expect(L.dice()(p, f64(m, [2, 3, 2])).item()).toBeCloseTo(L.dice()(p, f64(m, [2, 1, 3, 2])).item(), 14);
  });

  it('mismatched targets fail naming the loss, both shapes and what was expected', () => {
    const p = probabilities(k);
    expect(() => L.dice()(p, f64(new Array(12).fill(0), [2, 2, 3]))).toThrow(/dice: target \[2, ?2, ?3\] does not match input \[2, ?3, ?3, ?2\]; expected .*class indices \[2, ?1, ?3, ?2\]/);
    expect(() => L.tversky()(tensor([1, 2, 3]), tensor([1, 2, 3]))).toThrow(/tversky: expected a non-empty input \[N, C, H, W\]/);
    expect(() => L.crossEntropy({ classWeights: [1, 2] })(logits(k), forms()[1])).toThrow(/ce: option classWeights has 2 values .* expected 3/);
  });

  it("reduction 'none' gives per-image values for overlap losses (batch false) and per-pixel values for pixel losses", () => {
    const p = probabilities(k);
    const t = forms()[0];
    const perImage = L.dice({ batch: false, reduction: 'none' })(p, t);
    expect(perImage.shape).toEqual([2]);
    expect(L.dice({ batch: false, reduction: 'sum' })(p, t).item()).toBeCloseTo(perImage.dataSync()[0] + perImage.dataSync()[1], 14);
    expect(L.dice({ reduction: 'none' })(p, t).shape).toEqual([1]);
    expect(L.crossEntropy({ reduction: 'none' })(logits(k), t).shape).toEqual([2, 1, 3, 2]);
    expect(L.bce({ reduction: 'none' })(logits(k), t).shape).toEqual([2, 3, 3, 2]);
  });

  it('a perfect prediction scores 0 on the overlap losses (s = 0) and 1 − MCC = 0 for a balanced mask', () => {
    const t = forms()[0];
    for (const loss of [L.dice({ smooth: 0 }), L.jaccard({ smooth: 0 }), L.tversky({ smooth: 0 }), L.generalizedDice({ smooth: 0 })]) {
      expect(loss(t, t).item()).toBeCloseTo(0, 14);
    }
    const half = f64([1, 0, 1, 0], [1, 1, 2, 2]);
    expect(L.mcc({ smooth: 0 })(half, half).item()).toBeCloseTo(0, 14);
    expect(L.mcc({ smooth: 0 })(half.neg().add(1), half).item()).toBeCloseTo(2, 14);
  });
});

describe('deepSupervision', () => {
  // Nearest resizing by hand: output pixel (y, x) of an h×w map reads source (⌊y·H/h⌋, ⌊x·W/w⌋).
  const downsample = (mask: number[], n: number, H: number, W: number, h: number, w: number): number[] => {
    const out: number[] = [];
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.push(mask[(b * H + Math.floor((y * H) / h)) * W + Math.floor((x * W) / w)]);
    return out;
  };

  it('sums weight·loss over outputs against the target resized (nearest) to each size', () => tidy(() => {
    const k: Case = { n: 2, c: 1, h: 8, w: 6, fraction: 0.3, seed: 5, indexTarget: false };
    const mask = labels(k);
    const sizes: [number, number][] = [[8, 6], [4, 3], [2, 3]];
    const outs = sizes.map(([h, w], i) => probabilities({ ...k, h, w }, 100 + i));
    const weights = [1, 0.5, 0.25];
    const target = f64(mask, [2, 1, 8, 6]);
    const expected = sizes.reduce((acc, [h, w], i) => acc + weights[i] * L.dice()(outs[i], f64(downsample(mask, 2, 8, 6, h, w), [2, 1, h, w])).item(), 0);
    expect(L.deepSupervision(L.dice(), { weights })(outs, target).item()).toBeCloseTo(expected, 13);
    const mean = sizes.reduce((acc, [h, w], i) => acc + L.dice()(outs[i], f64(downsample(mask, 2, 8, 6, h, w), [2, 1, h, w])).item() / 3, 0);
    expect(L.deepSupervision(L.dice())(outs, f64(mask, [2, 8, 6])).item()).toBeCloseTo(mean, 13);
    // gradients reach every output
    const grads = valueAndGrad((a: Tensor, b: Tensor, c: Tensor) => L.deepSupervision(L.all(), { weights })([a, b, c], target))(...outs).grads;
    grads.forEach((g) => expect(Array.from(g.dataSync()).some((v) => v !== 0)).toBe(true));
  }));

  it('rejects a weight count that does not match the outputs', () => {
    const p = f64([0.5, 0.5, 0.5, 0.5], [1, 1, 2, 2]);
    expect(() => L.deepSupervision(L.dice(), { weights: [1, 2] })([p], p)).toThrow(/deepSupervision\(dice\): 2 weights for 1 outputs/);
  });
});

describe('memory', () => {
  it('a loss step inside tidy leaves no live tensors behind', async () => {
    const { memory } = await import('../../src/index.js');
    const k: Case = { n: 2, c: 3, h: 3, w: 2, fraction: 0.3, seed: 8, indexTarget: true };
    const x = probabilities(k);
    const z = logits(k);
    const t = f64(labels(k), [2, 1, 3, 2]);
    const before = memory().numTensors;
    for (const name of L.LOSS_NAMES) {
      if (name === 'lovasz-hinge') continue;
      const loss = L.lossByName(name);
      tidy(() => void valueAndGrad((input: Tensor) => loss(input, t))(loss.takes === 'logits' ? z : x));
      expect(memory().numTensors, name).toBe(before);
    }
  });
});
