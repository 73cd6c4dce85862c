import fc from 'fast-check';
import { Rng, tensor, type Tensor } from '../../src/index.js';

/** Foreground fractions from 0.5 % to 50 %, plus the empty and the full mask. */
export const FRACTIONS = [0, 0.005, 0.05, 0.2, 0.5, 1] as const;

export interface Case {
  n: number;
  c: number;
  h: number;
  w: number;
  fraction: number;
  seed: number;
  /** Multi-class targets as class indices [N, 1, H, W] (else one-hot). */
  indexTarget: boolean;
}

export const caseArb = (opts: { classes?: number[]; maxSide?: number } = {}): fc.Arbitrary<Case> =>
  fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.constantFrom(...(opts.classes ?? [1, 3])),
    h: fc.integer({ min: 2, max: opts.maxSide ?? 4 }),
    w: fc.integer({ min: 2, max: opts.maxSide ?? 4 }),
    fraction: fc.constantFrom(...FRACTIONS),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    indexTarget: fc.boolean(),
  });

/** Class per pixel: round(fraction·pixels) foreground pixels (at least one when fraction > 0), the rest class 0. */
export function labels(k: Case): number[] {
  const rng = new Rng(k.seed);
  const pixels = k.n * k.h * k.w;
  const fg = k.fraction === 0 ? 0 : Math.max(1, Math.round(k.fraction * pixels));
  const order = rng.shuffle([...Array(pixels).keys()]);
  const out = new Array<number>(pixels).fill(0);
  for (let i = 0; i < fg; i++) out[order[i]] = k.c === 1 ? 1 : 1 + rng.int(0, k.c - 1);
  return out;
}

/** The target tensor (float64): the mask [N,1,H,W] for C = 1, else one-hot [N,C,H,W] or indices [N,1,H,W]. */
export function target(k: Case, cls = labels(k)): Tensor {
  if (k.c === 1 || k.indexTarget) return tensor(cls, [k.n, 1, k.h, k.w], { dtype: 'float64' });
  return tensor(oneHot(k, cls), [k.n, k.c, k.h, k.w], { dtype: 'float64' });
}

/** One-hot [N, C, H, W] as a flat array (for C = 1: the mask itself). */
export function oneHot(k: Case, cls = labels(k)): number[] {
  if (k.c === 1) return cls;
  const out: number[] = [];
  const hw = k.h * k.w;
  for (let b = 0; b < k.n; b++) for (let c = 0; c < k.c; c++) for (let i = 0; i < hw; i++) out.push(cls[b * hw + i] === c ? 1 : 0);
  return out;
}

/** Random logits (normal, σ = 2) shaped [N, C, H, W]. */
export function logits(k: Case, seed = k.seed + 7): Tensor {
  const rng = new Rng(seed);
  return tensor(Array.from({ length: k.n * k.c * k.h * k.w }, () => 2 * rng.normal()), [k.n, k.c, k.h, k.w], { dtype: 'float64' });
}

/** Random probabilities in [0.02, 0.98] shaped [N, C, H, W] (not normalised: the losses do not need it). */
export function probabilities(k: Case, seed = k.seed + 11): Tensor {
  const rng = new Rng(seed);
  return tensor(Array.from({ length: k.n * k.c * k.h * k.w }, () => 0.02 + 0.96 * rng.uniform()), [k.n, k.c, k.h, k.w], { dtype: 'float64' });
}
