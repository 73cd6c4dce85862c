import { gradcheck, randn, type GradcheckOptions, type Tensor } from '../../src/index.js';
import { functionalCall, type Module } from '../../src/nn/index.js';

/**
 * Gradient check of a module with respect to its inputs and all its parameters, in float64: the scalar
 * is Σ out ⊙ R for a fixed random R (a plain sum would hide errors, e.g. BatchNorm's output sums to a
 * constant). `before` runs ahead of every evaluation (e.g. to reseed a Dropout).
 */
export function checkModule(module: Module, inputs: Tensor[], opts: GradcheckOptions & { before?: () => void; seed?: number; randomBiases?: boolean } = {}): void {
  if (opts.randomBiases) randomizeBiases(module, 77);
  const names = module.namedParameters().map(([n]) => n);
  const params = module.namedParameters().map(([, t]) => t.view(t.shape));
  const probeSeed = opts.seed ?? 99;
  const f = (...xs: Tensor[]): Tensor => {
    opts.before?.();
    const ins = xs.slice(0, inputs.length);
    const ws = xs.slice(inputs.length);
    const out = functionalCall(module, Object.fromEntries(names.map((n, i) => [n, ws[i]])), ...ins);
    return out.mul(randn(out.shape, { seed: probeSeed, dtype: 'float64' })).sum();
  };
  gradcheck(f, [...inputs, ...params], opts);
}

/** float64 standard-normal input. */
export const rnd = (shape: number[], seed: number, std = 1): Tensor => randn(shape, { seed, dtype: 'float64', std });

/**
 * Gives every bias a random value. Zero-initialised biases put a ReLU exactly on its kink wherever a
 * convolution sees an all-zero neighbourhood (e.g. after an earlier ReLU in a 2-channel network); the
 * finite difference then takes a one-sided slope there, which is not a gradient error.
 */
export function randomizeBiases(module: Module, seed: number): void {
  module.namedParameters().forEach(([name, p], i) => {
    if (name.endsWith('.bias') || name === 'bias') p.assign(randn(p.shape, { seed: seed + i, dtype: p.dtype, std: 0.3 }));
  });
}
