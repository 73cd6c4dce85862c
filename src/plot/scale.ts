/**
 * "Nice" step for about `span / step` ticks: 1, 2 or 5 times a power of ten (Heckbert, "Nice numbers for
 * graph labels", Graphics Gems 1990).
 */
export function niceStep(rawStep: number): number {
  const exp = Math.floor(Math.log10(rawStep));
  const base = 10 ** exp;
  const f = rawStep / base;
  const m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return m * base;
}

export interface Ticks {
  /** The tick values, ascending. */
  values: number[];
  /** Their labels. */
  labels: string[];
}

/**
 * Ticks at the multiples of a nice step inside [lo, hi]: `step` if given, else one aiming at about `count`
 * ticks. Labels share one number of decimals (0.0, 0.5, 1.0).
 */
export function linearTicks(lo: number, hi: number, count: number, step = niceStep((hi - lo) / Math.max(1, count))): Ticks {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values: number[] = [];
  const labels: string[] = [];
  // Multiply the index (not accumulate) so 0.1·3 prints as 0.3, and tolerate domain ends a rounding off.
  const tol = 1e-9;
  for (let i = Math.ceil(lo / step - tol); i <= Math.floor(hi / step + tol); i++) {
    const v = Number((i * step).toPrecision(12));
    values.push(v);
    labels.push(formatTick(v, step, decimals));
  }
  return { values, labels };
}

function formatTick(v: number, step: number, decimals: number): string {
  if (v === 0) return (0).toFixed(step < 1e-4 ? 0 : decimals);
  if (step < 1e-4 || Math.abs(v) >= 1e6) return v.toExponential(Math.max(0, Math.round(-Math.log10(step / Math.abs(v)))));
  return v.toFixed(decimals);
}

/**
 * The auto domain: the data extent widened to multiples of a nice step. Returns the step too, so the
 * ticks use that same step (recomputing it from the widened span can give another one).
 */
export function niceLinearDomain(min: number, max: number, count: number): { domain: [number, number]; step: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceLinearDomain(0, 1, count);
  // A (nearly) constant series gets a band around its value: ticks finer than float resolution are noise.
  if (max - min <= 1e-9 * Math.max(Math.abs(min), Math.abs(max)) || max - min < 1e-300) {
    const c = (min + max) / 2;
    const pad = Math.abs(c) > 1e-300 ? Math.abs(c) * 0.1 : 1;
    [min, max] = [c - pad, c + pad];
  }
  const step = niceStep((max - min) / Math.max(1, count));
  return { domain: [Math.floor(min / step + 1e-9) * step, Math.ceil(max / step - 1e-9) * step], step };
}

/** The auto log domain: the positive data extent widened to powers of ten (at least one decade). */
export function niceLogDomain(min: number, max: number): [number, number] {
  if (!(min > 0 && max > 0)) return [1, 10];
  const lo = Math.floor(Math.log10(min) + 1e-9);
  let hi = Math.ceil(Math.log10(max) - 1e-9);
  if (hi <= lo) hi = lo + 1;
  return [10 ** lo, 10 ** hi];
}

/** Log ticks: the powers of ten inside [lo, hi], plus 2× and 5× when the domain spans at most two decades. */
export function logTicks(lo: number, hi: number): Ticks {
  const kLo = Math.floor(Math.log10(lo) + 1e-9);
  const kHi = Math.ceil(Math.log10(hi) - 1e-9);
  const mults = kHi - kLo <= 2 ? [1, 2, 5] : [1];
  const values: number[] = [];
  const labels: string[] = [];
  for (let k = kLo; k <= kHi; k++) {
    for (const m of mults) {
      // `${m}e${k}` parses to the exact decimal (no 10**-3 = 0.0010000000000000002).
      const v = Number(`${m}e${k}`);
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      values.push(v);
      labels.push(String(v));
    }
  }
  return { values, labels };
}
