import { describe, expect, it } from 'vitest';
import { fans, glorotNormal, glorotUniform, heNormal, heUniform, seedStream } from '../../src/nn/init.js';
import '../../src/index.js';
import { Conv2d } from '../../src/nn/index.js';
import { UNet } from '../../src/nn/models/index.js';

const stats = (a: ArrayLike<number>): { mean: number; std: number; min: number; max: number } => {
  const xs = Array.from(a);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
  return { mean, std, min: Math.min(...xs), max: Math.max(...xs) };
};

describe('initialisers', () => {
  it('fans follow PyTorch: conv [Cout, Cin, kh, kw] → (Cin·kh·kw, Cout·kh·kw)', () => {
    expect(fans([16, 8, 3, 3])).toEqual([72, 144]);
    expect(fans([10, 4])).toEqual([4, 10]);
    expect(() => fans([3])).toThrow(/rank ≥ 2/);
  });

  it('He normal has std √(2/fan_in), Glorot normal √(2/(fan_in+fan_out)); uniform bounds hold', () => {
    const shape = [64, 32, 3, 3];
    const he = stats(heNormal(shape, { seed: 1 }).dataSync());
    expect(Math.abs(he.mean)).toBeLessThan(0.005);
    expect(he.std / Math.sqrt(2 / 288)).toBeGreaterThan(0.97);
    expect(he.std / Math.sqrt(2 / 288)).toBeLessThan(1.03);
    const gl = stats(glorotNormal(shape, { seed: 2 }).dataSync());
    expect(gl.std / Math.sqrt(2 / (288 + 576))).toBeGreaterThan(0.97);
    expect(gl.std / Math.sqrt(2 / (288 + 576))).toBeLessThan(1.03);
    const hu = stats(heUniform(shape, { seed: 3 }).dataSync());
    const b = Math.sqrt(6 / 288);
    expect(hu.max).toBeLessThan(b);
    expect(hu.min).toBeGreaterThanOrEqual(-b);
    expect(hu.max).toBeGreaterThan(0.98 * b);
    const gu = stats(glorotUniform(shape, { seed: 4 }).dataSync());
    expect(gu.max).toBeLessThan(Math.sqrt(6 / 864));
    expect(gu.std / (Math.sqrt(6 / 864) / Math.sqrt(3))).toBeGreaterThan(0.97);
  });

  it('is deterministic from the seed, and models derive every layer seed from the model seed', () => {
    expect(Array.from(heNormal([4, 4], { seed: 9 }).dataSync())).toEqual(Array.from(heNormal([4, 4], { seed: 9 }).dataSync()));
    expect(Array.from(heNormal([4, 4], { seed: 9 }).dataSync())).not.toEqual(Array.from(heNormal([4, 4], { seed: 10 }).dataSync()));
    const s1 = seedStream(5);
    const s2 = seedStream(5);
    expect([s1(), s1(), s1()]).toEqual([s2(), s2(), s2()]);
    const a = new UNet({ widths: [2, 4], seed: 7 });
    const b = new UNet({ widths: [2, 4], seed: 7 });
    const c = new UNet({ widths: [2, 4], seed: 8 });
    expect(Array.from(a.enc[1].conv2.weight.dataSync())).toEqual(Array.from(b.enc[1].conv2.weight.dataSync()));
    expect(Array.from(a.enc[1].conv2.weight.dataSync())).not.toEqual(Array.from(c.enc[1].conv2.weight.dataSync()));
    // two layers of one model get different weights
    expect(Array.from(a.enc[1].conv1.weight.dataSync()).slice(0, 4)).not.toEqual(Array.from(a.enc[1].conv2.weight.dataSync()).slice(0, 4));
    expect(Array.from(new Conv2d(2, 2, { bias: true }).bias!.dataSync())).toEqual([0, 0]);
  });
});
