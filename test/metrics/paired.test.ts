import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairedStats, signedRank } from '../../src/metrics/index.js';

describe('signedRank (Wilcoxon, two-sided)', () => {
  it('exact for untied differences: the share of sign patterns with a rank sum at least as extreme', () => {
    expect(signedRank([1, 2, 3, 4, 5])).toEqual({ statistic: 0, p: 2 / 32, method: 'exact' });
    // ranks 1…5, rank 2 negative: W− = 2; sign patterns with a sum ≤ 2: {}, {1}, {2}
    expect(signedRank([1, -2, 3, 4, 5])).toEqual({ statistic: 2, p: (2 * 3) / 32, method: 'exact' });
    // zeros are dropped: two pairs left, both positive
    expect(signedRank([0, 0, 1, 2])).toEqual({ statistic: 0, p: 2 / 4, method: 'exact' });
    expect(signedRank([0, 0]).p).toBeNaN();
  });

  it('the exact p matches brute force over every sign pattern', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 10 }), fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }), (mags, signs) => {
        const d = mags.map((m, i) => (signs[i] ? m : -m));
        const n = d.length;
        const ranks = [...mags].sort((x, y) => x - y);
        const rankOf = (m: number) => ranks.indexOf(m) + 1;
        const plus = d.reduce((s, x) => s + (x > 0 ? rankOf(x) : 0), 0);
        const stat = Math.min(plus, (n * (n + 1)) / 2 - plus);
        let atMost = 0;
        for (let mask = 0; mask < 2 ** n; mask++) {
          let sum = 0;
          for (let r = 1; r <= n; r++) if (mask & (1 << (r - 1))) sum += r;
          if (sum <= stat) atMost++;
        }
        const got = signedRank(d);
        expect(got.method).toBe('exact');
        expect(got.statistic).toBe(stat);
        expect(got.p).toBeCloseTo(Math.min(1, (2 * atMost) / 2 ** n), 12);
      }),
      { numRuns: 150, seed: 4 },
    );
  });

  it('ties (or more than 50 pairs): the normal approximation with the tie correction', () => {
    // |d| 1, 1, 2, 3 → ranks 1.5, 1.5, 3, 4 (the 3 negative): W+ = 6, W− = 4; variance 4·5·9/24 − (2³ − 2)/48
    const r = signedRank([1, 1, 2, -3]);
    expect(r.method).toBe('normal');
    expect(r.statistic).toBe(4);
    const z = (4 - 5) / Math.sqrt(7.5 - 6 / 48);
    // Φ from its series (erf) here, independent of the implementation's polynomial
    const erf = (x: number) => {
      let sum = 0;
      let term = x;
      for (let k = 0; k < 60; k++) {
        sum += term / (2 * k + 1);
        term *= (-x * x) / (k + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    expect(r.p).toBeCloseTo(2 * 0.5 * (1 + erf(z / Math.SQRT2)), 6);
    const many = signedRank(Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? -(i + 1) : i + 1)));
    expect(many.method).toBe('normal');
    expect(many.p).toBeGreaterThan(0);
    expect(many.p).toBeLessThan(0.05);
  });
});

describe('pairedStats', () => {
  it('pairs finite values only and counts which side is higher', () => {
    const s = pairedStats([0.8, 0.7, 0.9, NaN, 0.5], [0.85, 0.72, 0.91, 0.4, 0.5]);
    expect(s).toMatchObject({ n: 4, higher: 3, lower: 0, equal: 1 });
    expect(s.meanA).toBeCloseTo((0.8 + 0.7 + 0.9 + 0.5) / 4, 12);
    expect(s.meanDiff).toBeCloseTo((0.05 + 0.02 + 0.01 + 0) / 4, 12);
    expect(s.wilcoxon.p).toBeCloseTo(0.25, 12); // the equal pair is dropped: 3 pairs, all higher
    expect(() => pairedStats([1], [1, 2])).toThrow(/1 values against 2/);
  });
});
