import { describe, expect, it } from 'vitest';
import { losses, Rng } from '../../src/index.js';
import { synthetic } from '../../src/data/index.js';
import { gradientNormAt, gradientProfile } from '../../src/train/index.js';

describe('gradientProfile', () => {
  const profile = gradientProfile({ losses: ['dice', 'all', 'bce'], foregrounds: [0.05, 0.3], size: 32, points: 25, margins: [-1, 9], seed: 2 });
  const walk = (loss: string, k: number) => profile.filter((p) => p.loss === loss).slice(k * 25, (k + 1) * 25);

  it('walks each mask from wrong to right: the Dice loss falls from near 1 towards 0, and is Dice\'s own value', () => {
    expect(profile).toHaveLength(2 * 25 * 3);
    for (const k of [0, 1]) {
      const d = walk('dice', k);
      expect(d[0].margin).toBe(-1);
      expect(d[24].margin).toBe(9);
      for (let i = 1; i < 25; i++) expect(d[i].diceLoss).toBeLessThan(d[i - 1].diceLoss);
      expect(d[0].diceLoss).toBeGreaterThan(0.7);
      expect(d[24].diceLoss).toBeLessThan(0.01);
      // the x is the Dice loss the dice loss itself reports
      d.forEach((p) => expect(p.value).toBeCloseTo(p.diceLoss, 12));
    }
    // the masks' foreground is what was asked for, as synthetic blobs draw it
    expect(walk('dice', 0)[0].foreground).toBeCloseTo(synthetic({ kind: 'blobs', count: 1, size: 32, foreground: 0.05, seed: 2 }).getSync(0).mask.reduce((a, v) => a + v, 0) / 1024, 12);
    expect(Math.abs(walk('dice', 1)[0].foreground - 0.3)).toBeLessThan(0.02);
  });

  it("ALL's gradient is Dice's times ω/(ε + x) below δ and Dice's above it (the chain rule through the transform)", () => {
    const [all, dice] = [walk('all', 0), walk('dice', 0)];
    let below = 0;
    all.forEach((p, i) => {
      const x = dice[i].diceLoss;
      const factor = x < 0.1 ? 10 / (0.5 + x) : 1;
      if (x < 0.1) below++;
      expect(p.grad).toBeCloseTo(dice[i].grad * factor, 12);
      expect(p.value).toBeCloseTo(losses.adaptiveLogValue(x), 12);
    });
    expect(below).toBeGreaterThan(3);
  });

  it('splits each norm into its foreground and background parts, and is repeatable from the seed', () => {
    for (const p of profile) expect(p.gradForeground ** 2 + p.gradBackground ** 2).toBeCloseTo(p.grad ** 2, 14);
    // BCE's gradient is (σ(z) − y)/n per pixel: recomputed from the logits z = (2y − 1)(m + n_q), n from Rng(seed)
    const y = synthetic({ kind: 'blobs', count: 1, size: 32, foreground: 0.05, seed: 2 }).getSync(0).mask;
    const rng = new Rng(2);
    const noise = Array.from(y, () => rng.normal());
    walk('bce', 0).forEach((p) => {
      const norm = Math.sqrt(Array.from(y).reduce((a, v, q) => a + ((1 / (1 + Math.exp(-(2 * v - 1) * (p.margin + noise[q]))) - v) / 1024) ** 2, 0));
      expect(p.grad).toBeCloseTo(norm, 12);
    });
    const again = gradientProfile({ losses: ['bce'], foregrounds: [0.05], size: 32, points: 25, margins: [-1, 9], seed: 2 });
    expect(again.map((p) => p.grad)).toEqual(walk('bce', 0).map((p) => p.grad));
    expect(gradientProfile({ losses: ['bce'], foregrounds: [0.05], size: 32, points: 25, margins: [-1, 9], seed: 3 })[0].grad).not.toBe(again[0].grad);
  });

  it('takes built losses too, and names bad options', () => {
    const [p] = gradientProfile({ losses: [losses.tversky({ alphaFN: 0.9, betaFP: 0.1 })], foregrounds: [0.2], size: 16, points: 2 });
    expect(p.loss).toBe('tversky');
    expect(() => gradientProfile({ foregrounds: [1] })).toThrow(/foreground fractions must lie in \(0, 1\), got 1/);
    expect(() => gradientProfile({ margins: [3, 1] })).toThrow(/margins must be two numbers, the first smaller/);
    expect(() => gradientProfile({ points: 1 })).toThrow(/points must be an integer ≥ 2/);
  });

  it('gradientNormAt interpolates between the two steps around the Dice loss, n/a outside the walk', () => {
    const p = (diceLoss: number, grad: number) => ({ loss: 'dice', foreground: 0.1, margin: 0, diceLoss, value: diceLoss, grad, gradForeground: 0, gradBackground: 0 });
    const walk = [p(0.9, 1), p(0.5, 3), p(0.1, 5)];
    expect(gradientNormAt(walk, 0.5)).toBe(3);
    expect(gradientNormAt(walk, 0.3)).toBeCloseTo(4, 12);
    expect(gradientNormAt(walk, 0.05)).toBeNaN();
  });
});
