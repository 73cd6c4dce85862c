/**
 * The Adaptive Logarithmic Loss (ALL) of Kaul et al. as a scalar transform of a base loss value x ≥ 0:
 *
 *   ALL(x) = ω·ln(1 + x/ε)   if x < δ
 *          = x − C           if x ≥ δ,   C = δ − ω·ln(1 + δ/ε)  (continuous at δ)
 *
 * Reconstruction note: the paper's printed equation did not survive in our copy; this is the Wing-loss
 * form (Feng et al. 2018) the paper says ALL is built on, with the switch at δ. It matches every sweep
 * range and the stated behaviour. Defaults ω = 10, ε = 0.5, δ = 0.1.
 */
export interface AdaptiveLogOptions {
  /** ω, the log branch's scale (default 10). */
  omega?: number;
  /** ε, the log branch's curvature (default 0.5). */
  epsilon?: number;
  /** δ, the switch point (default 0.1). */
  delta?: number;
}

/** Resolves and validates ALL's options. */
export function adaptiveLogParams(opts: AdaptiveLogOptions = {}): { omega: number; epsilon: number; delta: number; C: number } {
  const { omega = 10, epsilon = 0.5, delta = 0.1 } = opts;
  if (!(omega > 0)) throw new Error(`adaptiveLog: omega must be > 0, got ${omega}`);
  if (!(epsilon > 0)) throw new Error(`adaptiveLog: epsilon must be > 0, got ${epsilon}`);
  if (!(delta > 0)) throw new Error(`adaptiveLog: delta must be > 0, got ${delta}`);
  return { omega, epsilon, delta, C: delta - omega * Math.log1p(delta / epsilon) };
}

/**
 * ALL(x) for a scalar base-loss value.
 * @example adaptiveLogValue(0.05) // 10·ln(1.1) ≈ 0.953
 */
export function adaptiveLogValue(x: number, opts: AdaptiveLogOptions = {}): number {
  const { omega, epsilon, delta, C } = adaptiveLogParams(opts);
  return x < delta ? omega * Math.log1p(x / epsilon) : x - C;
}

/**
 * dALL/dx: ω/(ε + x) below δ, 1 at and above δ (the right-hand value at x = δ).
 * @example adaptiveLogSlope(0) // ω/ε = 20
 */
export function adaptiveLogSlope(x: number, opts: AdaptiveLogOptions = {}): number {
  const { omega, epsilon, delta } = adaptiveLogParams(opts);
  return x < delta ? omega / (epsilon + x) : 1;
}
