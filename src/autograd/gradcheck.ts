import { fromTyped } from '../tensor/creation.js';
import { noGrad, tidy } from '../tensor/engine.js';
import { Rng } from '../tensor/random.js';
import { fmt } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { valueAndGrad } from './backward.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** 'auto' (default): element-wise up to `maxElements` inputs in total, random directions beyond. */
  mode?: 'auto' | 'elementwise' | 'directional';
  /** Inputs (total elements) up to which 'auto' checks every element (default 512). */
  maxElements?: number;
  /** Random directions for the directional check (default 4). */
  directions?: number;
  /** Seed for the random directions (default 0). */
  seed?: number;
  /** Return the report instead of throwing on failure. */
  noThrow?: boolean;
}

export interface GradcheckReport {
  ok: boolean;
  mode: 'elementwise' | 'directional';
  /** Number of comparisons made (elements, or directions). */
  checks: number;
  maxAbsError: number;
  maxRelError: number;
  /** Where the worst error occurred: input index and flat element index (directional: direction index). */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Checks the tape's gradient of scalar `f` against central finite differences in float64.
 * Inputs must be float64 tensors (on the cpu backend). Element-wise it compares every ∂f/∂xᵢ; in the
 * directional mode it compares ∇f·u with (f(x+εu) − f(x−εu))/2ε for random unit directions u.
 * Throws with the report on failure unless `noThrow`.
 * @example gradcheck((x) => x.mul(x).sum(), [randn([3], { seed: 1, dtype: 'float64' })]);
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-4, maxElements = 512, directions = 4, seed = 0 } = opts;
  for (const x of inputs) {
    if (x.dtype !== 'float64') throw new Error(`gradcheck: inputs must be float64 (finite differences in float32 are not a gradient test), got ${x.dtype} ${fmt(x.shape)}`);
  }
  const total = inputs.reduce((n, x) => n + x.size, 0);
  const mode = opts.mode === 'elementwise' || (opts.mode !== 'directional' && total <= maxElements) ? 'elementwise' : 'directional';
  const base = inputs.map((x) => x.dataSync() as Float64Array);
  const evalAt = (vals: Float64Array[]): number =>
    tidy(() => noGrad(() => f(...vals.map((v, i) => fromTyped(v, inputs[i].shape, { dtype: 'float64' }))).item()));
  const analytic = tidy(() => {
    const { grads } = valueAndGrad(f)(...inputs);
    const out = grads.map((g) => g.dataSync() as Float64Array);
    grads.forEach((g) => g.dispose());
    return out;
  });

  const report: GradcheckReport = { ok: true, mode, checks: 0, maxAbsError: 0, maxRelError: 0, worst: null };
  let worstScore = -Infinity;
  const compare = (input: number, index: number, a: number, n: number): void => {
    report.checks++;
    const absErr = Math.abs(a - n);
    const relErr = absErr / Math.max(Math.abs(a), Math.abs(n), 1e-12);
    report.maxAbsError = Math.max(report.maxAbsError, absErr);
    if (absErr > atol) report.maxRelError = Math.max(report.maxRelError, relErr);
    const score = absErr - (atol + rtol * Math.abs(n));
    if (score > worstScore || !Number.isFinite(a) || !Number.isFinite(n)) {
      worstScore = Number.isFinite(score) ? score : Infinity;
      report.worst = { input, index, analytic: a, numeric: n };
    }
    if (!(absErr <= atol + rtol * Math.abs(n))) report.ok = false;
  };

  if (mode === 'elementwise') {
    base.forEach((v, i) => {
      for (let j = 0; j < v.length; j++) {
        const plus = base.map((b) => b.slice());
        const minus = base.map((b) => b.slice());
        plus[i][j] += eps;
        minus[i][j] -= eps;
        compare(i, j, analytic[i][j], (evalAt(plus) - evalAt(minus)) / (2 * eps));
      }
    });
  } else {
    const rng = new Rng(seed);
    for (let d = 0; d < directions; d++) {
      const u = base.map((v) => Float64Array.from(v, () => rng.normal()));
      const norm = Math.sqrt(u.reduce((s, v) => s + v.reduce((a, x) => a + x * x, 0), 0)) || 1;
      u.forEach((v) => v.forEach((x, k) => (v[k] = x / norm)));
      const plus = base.map((b, i) => b.map((x, k) => x + eps * u[i][k]));
      const minus = base.map((b, i) => b.map((x, k) => x - eps * u[i][k]));
      const numeric = (evalAt(plus) - evalAt(minus)) / (2 * eps);
      const dot = analytic.reduce((s, g, i) => s + g.reduce((a, x, k) => a + x * u[i][k], 0), 0);
      compare(-1, d, dot, numeric);
    }
  }
  if (!report.ok && !opts.noThrow) {
    const w = report.worst!;
    throw new Error(
      `gradcheck failed (${report.mode}, ${report.checks} checks): max abs error ${report.maxAbsError.toExponential(3)}, ` +
        `worst at input ${w.input} index ${w.index}: analytic ${w.analytic} vs numeric ${w.numeric} (atol ${atol}, rtol ${rtol})`,
    );
  }
  return report;
}
