/**
 * Paired comparison of two models on the same images: the differences of one metric image by image, and
 * the Wilcoxon signed-rank test papers report for them (as scipy.stats.wilcoxon computes it by default:
 * zero differences dropped; the exact distribution for up to 50 pairs without ties, else the normal
 * approximation with the tie correction and no continuity correction).
 */

export interface PairedStats {
  /** Pairs where both values are finite (the others are left out). */
  n: number;
  meanA: number;
  meanB: number;
  /** Mean and sample standard deviation of b − a. */
  meanDiff: number;
  stdDiff: number;
  /** Pairs where b is higher, lower, equal. */
  higher: number;
  lower: number;
  equal: number;
  /** Two-sided Wilcoxon signed-rank test of b − a: the smaller rank sum, its p-value and how it was found; NaN without a non-zero difference. */
  wilcoxon: { statistic: number; p: number; method: 'exact' | 'normal' };
}

/**
 * Compares paired values (`a[i]` and `b[i]` from one image): mean difference, counts and the Wilcoxon
 * signed-rank test.
 * @example pairedStats([0.80, 0.70, 0.90], [0.85, 0.72, 0.91]).wilcoxon.p // 0.25: 3 pairs, all higher (exact)
 */
export function pairedStats(a: readonly number[], b: readonly number[]): PairedStats {
  if (a.length !== b.length) throw new Error(`pairedStats: ${a.length} values against ${b.length}; they must pair up`);
  const pairs = a.map((x, i) => [x, b[i]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const n = pairs.length;
  const d = pairs.map(([x, y]) => y - x);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
  const meanDiff = mean(d);
  const stdDiff = n > 1 ? Math.sqrt(d.reduce((s, x) => s + (x - meanDiff) ** 2, 0) / (n - 1)) : NaN;
  return {
    n,
    meanA: mean(pairs.map(([x]) => x)),
    meanB: mean(pairs.map(([, y]) => y)),
    meanDiff,
    stdDiff,
    higher: d.filter((x) => x > 0).length,
    lower: d.filter((x) => x < 0).length,
    equal: d.filter((x) => x === 0).length,
    wilcoxon: signedRank(d),
  };
}

/** The two-sided Wilcoxon signed-rank test of differences `d` (zeros dropped). */
export function signedRank(d: readonly number[]): PairedStats['wilcoxon'] {
  const nonzero = d.filter((x) => x !== 0);
  const n = nonzero.length;
  if (n === 0) return { statistic: NaN, p: NaN, method: 'exact' };
  // ranks of |d|, ties given their average rank
  const order = nonzero.map((x, i) => ({ abs: Math.abs(x), positive: x > 0, i })).sort((p, q) => p.abs - q.abs);
  const ranks = new Array<number>(n);
  const tieSizes: number[] = [];
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && order[e + 1].abs === order[s].abs) e++;
    for (let k = s; k <= e; k++) ranks[k] = (s + e) / 2 + 1;
    if (e > s) tieSizes.push(e - s + 1);
    s = e + 1;
  }
  const plus = order.reduce((sum, o, k) => sum + (o.positive ? ranks[k] : 0), 0);
  const total = (n * (n + 1)) / 2;
  const statistic = Math.min(plus, total - plus);
  if (n <= 50 && tieSizes.length === 0) {
    // exact: the number of sign assignments whose positive rank sum is each value 0…total
    const ways = new Float64Array(total + 1);
    ways[0] = 1;
    for (let r = 1; r <= n; r++) for (let sum = total; sum >= r; sum--) ways[sum] += ways[sum - r];
    let below = 0;
    for (let sum = 0; sum <= statistic; sum++) below += ways[sum];
    return { statistic, p: Math.min(1, (2 * below) / 2 ** n), method: 'exact' };
  }
  const mean = total / 2;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieSizes.reduce((s, t) => s + (t ** 3 - t), 0) / 48;
  const z = (statistic - mean) / Math.sqrt(variance);
  return { statistic, p: Math.min(1, 2 * normalCdf(z)), method: 'normal' };
}

/** Φ(z), the standard normal distribution function (Abramowitz and Stegun 26.2.17, |error| < 7.5e-8). */
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return z >= 0 ? 1 - tail : tail;
}
