import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aucRoc, rocCurve } from '../../src/metrics/index.js';

/** Brute force over every (positive, negative) pair, ties counted ½. */
function pairAuc(scores: number[], labels: number[]): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

function trapezoid(x: number[], y: number[]): number {
  let a = 0;
  for (let i = 1; i < x.length; i++) a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return a;
}

// Scores from a small set so that ties are frequent; both classes present.
const sample = fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }).map((k) => k / 6), fc.constantFrom(0, 1)), { minLength: 2, maxLength: 60 })
  .filter((rows) => rows.some((r) => r[1] === 1) && rows.some((r) => r[1] === 0));

describe('aucRoc', () => {
  it('equals the brute-force pair count with ties as ½ (property)', () => {
    fc.assert(fc.property(sample, (rows) => {
      const s = rows.map((r) => r[0]), l = rows.map((r) => r[1]);
      expect(aucRoc(s, l)).toBeCloseTo(pairAuc(s, l), 12);
      expect(aucRoc(Float32Array.from(s), Float64Array.from(l))).toBeCloseTo(pairAuc(Array.from(Float32Array.from(s)), l), 12);
    }), { numRuns: 300 });
  });

  it('hand examples: perfect, reversed, all tied, and the documented one', () => {
    expect(aucRoc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(aucRoc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(aucRoc([0.5, 0.5, 0.5], [0, 1, 1])).toBe(0.5);
    // pairs: 0.35>0.1 yes, 0.35>0.4 no, 0.8 beats both: 3/4
    expect(aucRoc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it('the mask drops pixels before pairing (property)', () => {
    fc.assert(fc.property(sample, fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }), (rows, keepBits) => {
      const keep = rows.map((_, i) => keepBits[i]);
      const kept = rows.filter((_, i) => keep[i]);
      const s = rows.map((r) => r[0]), l = rows.map((r) => r[1]);
      const got = aucRoc(s, l, { mask: keep.map(Number) });
      const hasBoth = kept.some((r) => r[1] === 1) && kept.some((r) => r[1] === 0);
      if (!hasBoth) expect(got).toBeNaN();
      else expect(got).toBeCloseTo(pairAuc(kept.map((r) => r[0]), kept.map((r) => r[1])), 12);
    }), { numRuns: 200 });
  });

  it('is NaN with one class, and rejects NaN scores', () => {
    expect(aucRoc([0.2, 0.9], [1, 1])).toBeNaN();
    expect(aucRoc([0.2, 0.9], [0, 0])).toBeNaN();
    expect(() => aucRoc([0.2, NaN], [0, 1])).toThrow(/aucRoc: score 1 is NaN/);
    expect(() => aucRoc([0.2], [0, 1])).toThrow(/aucRoc/);
  });
});

describe('rocCurve', () => {
  it('runs from (0,0) to (1,1), monotone, with the trapezoid area equal to the pair count (property)', () => {
    fc.assert(fc.property(sample, fc.boolean(), (rows, drop) => {
      const s = rows.map((r) => r[0]), l = rows.map((r) => r[1]);
      const { fpr, tpr, thresholds } = rocCurve(s, l, { dropIntermediate: drop });
      expect([fpr[0], tpr[0]]).toEqual([0, 0]);
      expect(thresholds[0]).toBe(Infinity);
      expect([fpr.at(-1), tpr.at(-1)]).toEqual([1, 1]);
      expect(thresholds.at(-1)).toBe(Math.min(...s));
      for (let i = 1; i < fpr.length; i++) {
        expect(fpr[i]).toBeGreaterThanOrEqual(fpr[i - 1]);
        expect(tpr[i]).toBeGreaterThanOrEqual(tpr[i - 1]);
        expect(thresholds[i]).toBeLessThan(thresholds[i - 1]);
      }
      expect(trapezoid(fpr, tpr)).toBeCloseTo(pairAuc(s, l), 12);
    }), { numRuns: 300 });
  });

  it('without dropping, one point per distinct score, each at the brute-force rates of score >= t', () => {
    const s = [0.1, 0.4, 0.4, 0.35, 0.8, 0.1];
    const l = [0, 0, 1, 1, 1, 0];
    const { fpr, tpr, thresholds } = rocCurve(s, l, { dropIntermediate: false });
    expect(thresholds).toEqual([Infinity, 0.8, 0.4, 0.35, 0.1]);
    const P = 3, N = 3;
    thresholds.forEach((t, i) => {
      expect(tpr[i]).toBe(s.filter((v, j) => v >= t && l[j] === 1).length / P);
      expect(fpr[i]).toBe(s.filter((v, j) => v >= t && l[j] === 0).length / N);
    });
  });

  it('drops collinear points: a perfect separation is three corners', () => {
    const r = rocCurve([0.9, 0.8, 0.7, 0.3, 0.2, 0.1], [1, 1, 1, 0, 0, 0]);
    expect(r.fpr).toEqual([0, 0, 1]);
    expect(r.tpr).toEqual([0, 1, 1]);
    expect(r.thresholds).toEqual([Infinity, 0.7, 0.1]);
  });

  it('has NaN rates for a missing class', () => {
    expect(rocCurve([0.3, 0.6], [1, 1]).fpr.every(Number.isNaN)).toBe(true);
  });
});
