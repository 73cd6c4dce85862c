import { isGradEnabled } from '../../tensor/engine.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkSame, record, wrap, type GradFn } from '../graph.js';
import { add, axpby, div, mul, relu as reluOp, sqrt, square, sub } from './elementwise.js';
import { reshape } from './layout.js';
import { sum } from './reduce.js';

/** The normalised output and the batch statistics (per channel, [C]) that feed the running averages. */
export interface BatchNormTrainResult {
  y: Tensor;
  mean: Tensor;
  /** Biased variance (divided by N·H·W). */
  variance: Tensor;
  /** The new running statistics, where `running` was given and the backend computed them with the rest. */
  running?: { mean: Tensor; variance: Tensor };
}

/**
 * Batch normalisation in training mode (Ioffe & Szegedy 2015), x [N, C, H, W], γ and β [C] or null:
 * μ, σ² = mean and biased variance over (N, H, W); y = γ·(x − μ)/√(σ² + eps) + β, and with `relu`
 * max(y, 0) (Conv → BatchNorm → ReLU: the same values as relu(y), one pass less).
 * Backward: dx = γ/σ̂·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ g·x̂, dβ = Σ g, with σ̂ = √(σ² + eps) (with
 * `relu`, g·step(y) in g's place).
 * Runs the backend's fused kernels in float32 where it has them (cpu, gpu); float64 and other backends
 * compose primitives (`batchNormTrainComposed`, the reference). `mean` and `variance` carry no gradient.
 * With `running` (the running statistics and batchNormRunningAverages's momentum and varFactor), a backend
 * that can (gpu webgpu) also returns their new values as batchNormRunningAverages computes them, in the
 * same kernels; otherwise `running` is absent from the result and the caller calls batchNormRunningAverages.
 * @example const { y, mean, variance } = batchNormTrain(randn([2, 3, 4, 4]), null, null, 1e-5, { relu: true });
 */
export function batchNormTrain(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number, opts: { relu?: boolean; running?: { mean: Tensor; variance: Tensor; momentum: number; varFactor: number } } = {}): BatchNormTrainResult {
  const relu = opts.relu ?? false;
  const params = [gamma, beta].filter((t): t is Tensor => t !== null);
  const { dtype, backend } = checkSame('batchNormTrain', [x, ...params]);
  if (x.rank !== 4) throw new Error(`batchNormTrain: expected x [N, C, H, W], got ${fmt(x.shape)}`);
  const c = x.shape[1];
  for (const p of params) if (p.rank !== 1 || p.shape[0] !== c) throw new Error(`batchNormTrain: γ and β must be [${c}] for x ${fmt(x.shape)}, got ${fmt(p.shape)}`);
  if (dtype !== 'float32' || !backend.batchNormForward || !backend.batchNormBackward) {
    const r = batchNormTrainComposed(x, gamma, beta, eps);
    return relu ? { ...r, y: reluOp(r.y) } : r;
  }
  const rs = opts.running;
  const running = rs ? { mean: rs.mean.handle, variance: rs.variance.handle, momentum: rs.momentum, varFactor: rs.varFactor } : undefined;
  const r = backend.batchNormForward(x.handle, x.shape, gamma?.handle ?? null, beta?.handle ?? null, eps, dtype, relu, running);
  const mean = wrap(backend, r.mean, [c], dtype);
  const variance = wrap(backend, r.variance, [c], dtype);
  const y = record('batchNormTrain', [x, ...params], wrap(backend, r.y, x.shape, dtype), { gamma, hasBeta: beta !== null, mean, variance, eps, relu });
  if (!r.running) return { y, mean, variance };
  return { y, mean, variance, running: { mean: wrap(backend, r.running.mean, [c], dtype), variance: wrap(backend, r.running.variance, [c], dtype) } };
}

/** batchNormTrain composed from elementwise and reduce primitives: the reference for the fused path. */
export function batchNormTrainComposed(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number): BatchNormTrainResult {
  const c = x.shape[1];
  const cshape = [1, c, 1, 1];
  const count = x.shape[0] * x.shape[2] * x.shape[3];
  // the centred input is shared by the variance and the output (fewer full-size passes than mean + variance)
  const mu = div(sum(x, [0, 2, 3], { keepDims: true }), count);
  const centered = sub(x, mu);
  const v = div(sum(square(centered), [0, 2, 3], { keepDims: true }), count);
  let scale = div(1, sqrt(add(v, eps)));
  if (gamma) scale = mul(scale, reshape(gamma, cshape));
  const y = mul(centered, scale);
  return { y: beta ? add(y, reshape(beta, cshape)) : y, mean: mu.view([c]), variance: v.view([c]) };
}

/**
 * Eval-mode batch norm as y = x·scale + shift per channel: scale = γ/√(running_var + eps) and
 * shift = β − running_mean·scale, [C] each (γ = 1, β = 0 where null). Composed from primitives (the
 * reference, and wherever γ or β needs a gradient); without gradients, one backend call where the
 * backend has it (gpu: two kernels, not seven).
 * @example const { scale, shift } = noGrad(() => batchNormEvalAffine(runningMean, runningVar, gamma, beta, 1e-5));
 */
export function batchNormEvalAffine(mean: Tensor, variance: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number): { scale: Tensor; shift: Tensor } {
  const params = [gamma, beta].filter((t): t is Tensor => t !== null);
  const { dtype, backend } = checkSame('batchNormEvalAffine', [mean, variance, ...params]);
  const c = mean.size;
  const needsGrad = isGradEnabled() && [mean, variance, ...params].some((t) => t.requiresGrad);
  if (backend.batchNormEvalAffine && !needsGrad) {
    const r = backend.batchNormEvalAffine(mean.handle, variance.handle, gamma?.handle ?? null, beta?.handle ?? null, eps, c, dtype);
    return { scale: wrap(backend, r.scale, mean.shape, dtype), shift: wrap(backend, r.shift, mean.shape, dtype) };
  }
  let scale = div(1, sqrt(add(variance, eps)));
  if (gamma) scale = mul(scale, gamma);
  let shift = mul(mean, scale).neg();
  if (beta) shift = add(shift, beta);
  return { scale, shift };
}

/**
 * Batch norm's new running statistics: (1 − m)·runMean + m·mean and (1 − m)·runVar + varFactor·variance,
 * as two axpby, or in one backend call where the backend has it (gpu webgpu: one kernel). No gradient.
 */
export function batchNormRunningAverages(runMean: Tensor, runVar: Tensor, mean: Tensor, variance: Tensor, momentum: number, varFactor: number): { mean: Tensor; variance: Tensor } {
  const { dtype, backend } = checkSame('batchNormRunningAverages', [runMean, runVar, mean, variance]);
  if (backend.batchNormRunningUpdate && dtype === 'float32') {
    const r = backend.batchNormRunningUpdate(runMean.handle, runVar.handle, mean.handle, variance.handle, momentum, varFactor, runMean.size, dtype);
    return { mean: wrap(backend, r.mean, runMean.shape, dtype), variance: wrap(backend, r.variance, runVar.shape, dtype) };
  }
  return { mean: axpby(runMean, 1 - momentum, mean, momentum), variance: axpby(runVar, 1 - momentum, variance, varFactor) };
}

export const batchNormGrads = {
  batchNormTrain: (g, n) => {
    const [x] = n.inputs;
    const { gamma, hasBeta, mean, variance, eps, relu } = n.attrs as { gamma: Tensor | null; hasBeta: boolean; mean: Tensor; variance: Tensor; eps: number; relu: boolean };
    const b = g.backend;
    if (!b.batchNormBackward) throw new Error(`batchNormTrain: the ${b.name} backend has no batchNormBackward`);
    const r = b.batchNormBackward(g.handle, x.handle, x.shape, mean.handle, variance.handle, gamma?.handle ?? null, eps, g.dtype, relu ? n.output.handle : null);
    const c = [x.shape[1]];
    const dx = wrap(b, r.dx, x.shape, g.dtype);
    const dgamma = wrap(b, r.dgamma, c, g.dtype);
    const dbeta = wrap(b, r.dbeta, c, g.dtype);
    const grads = [dx];
    if (gamma) grads.push(dgamma);
    else dgamma.dispose();
    if (hasBeta) grads.push(dbeta);
    else dbeta.dispose();
    return grads;
  },
} satisfies Record<'batchNormTrain', GradFn>;
