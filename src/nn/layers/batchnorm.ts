import { batchNormEvalAffine, batchNormRunningAverages, batchNormTrain } from '../../autograd/ops/batchnorm.js';
import { add, mul, relu } from '../../autograd/ops/elementwise.js';
import { reshape } from '../../autograd/ops/layout.js';
import { full } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import { isGradEnabled, keep, noGrad, tidy } from '../../tensor/engine.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

export interface BatchNorm2dOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch statistic in the running averages (default 0.1, PyTorch's convention). */
  momentum?: number;
  /** Learn a per-channel scale `weight` (γ, init 1) and shift `bias` (β, init 0) (default true). */
  affine?: boolean;
  dtype?: DType;
}

/**
 * Batch normalisation over (N, H, W) per channel (Ioffe & Szegedy 2015), x [N, C, H, W]:
 * y = (x − μ)/√(σ² + eps)·γ + β. Training uses the batch mean and biased variance and updates
 * running = (1 − momentum)·running + momentum·batch, with the unbiased variance for running_var;
 * evaluation uses running_mean (init 0) and running_var (init 1). PyTorch names and semantics.
 */
export class BatchNorm2d extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  running_mean: Tensor;
  running_var: Tensor;
  readonly eps: number;
  readonly momentum: number;
  /** evalAffine's last result and the storage it came from (each tensor's data, which assign() replaces). */
  private kept: { from: unknown[]; scale: Tensor; shift: Tensor } | null = null;

  constructor(readonly numFeatures: number, opts: BatchNorm2dOptions = {}) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.param(full([numFeatures], 1, { dtype })) : null;
    this.bias = affine ? this.param(full([numFeatures], 0, { dtype })) : null;
    this.running_mean = this.buffer(full([numFeatures], 0, { dtype }));
    this.running_var = this.buffer(full([numFeatures], 1, { dtype }));
  }

  forward(x: Tensor): Tensor {
    return this.normalise(x, false);
  }

  /**
   * relu(forward(x)), the Conv → BatchNorm → ReLU of most blocks: in training one fused op where the
   * backend has the kernels (one pass over x and one kernel call fewer each way), the same values.
   */
  forwardRelu(x: Tensor): Tensor {
    return this.normalise(x, true);
  }

  private normalise(x: Tensor, withRelu: boolean): Tensor {
    const c = this.numFeatures;
    if (x.rank !== 4 || x.shape[1] !== c) throw new Error(`BatchNorm2d(${c}): expected input [N, ${c}, H, W], got ${fmt(x.shape)}`);
    if (!this.training) {
      // eval: one scale and one shift per channel, so only two passes over x
      const { scale, shift } = this.evalAffine();
      const cshape = [1, c, 1, 1];
      const y = add(mul(x, reshape(scale, cshape)), reshape(shift, cshape));
      return withRelu ? relu(y) : y;
    }
    this.dropAffine();
    const count = x.shape[0] * x.shape[2] * x.shape[3];
    if (count < 2) throw new Error(`BatchNorm2d(${c}): training needs more than one value per channel, got input ${fmt(x.shape)}`);
    // fused on backends that have the kernels (cpu and gpu, float32), composed from primitives otherwise;
    // gpu webgpu also updates the running statistics in the same kernels
    const running = { mean: this.running_mean, variance: this.running_var, momentum: this.momentum, varFactor: (this.momentum * count) / (count - 1) };
    const r = batchNormTrain(x, this.weight, this.bias, this.eps, { relu: withRelu, running });
    noGrad(() =>
      tidy(() => {
        const next = r.running ?? batchNormRunningAverages(running.mean, running.variance, r.mean, r.variance, running.momentum, running.varFactor);
        this.running_mean.assign(next.mean);
        this.running_var.assign(next.variance);
        // the backend's new statistics were made outside this tidy: the running buffers hold them now
        if (r.running) for (const t of [r.running.mean, r.running.variance]) t.dispose();
      }),
    );
    return r.y;
  }

  /**
   * Eval mode as one scale and shift per channel ([C] each): y = x·scale + shift with
   * scale = γ/√(running_var + eps), shift = β − running_mean·scale (conv2dAffine folds them into a conv).
   * Where no gradient is needed (under noGrad, or with frozen parameters) the pair is kept and handed out
   * again until one of the four tensors is assigned anew (training, loadStateDict); it belongs to the layer.
   */
  evalAffine(): { scale: Tensor; shift: Tensor } {
    const sources = [this.running_mean, this.running_var, this.weight, this.bias];
    const compute = (): { scale: Tensor; shift: Tensor } => batchNormEvalAffine(this.running_mean, this.running_var, this.weight, this.bias, this.eps);
    // with a gradient to carry, a fresh graph each call; without, the last result while nothing it came
    // from was assigned anew (inference reuses it: two to seven small ops, or kernel calls, less per layer)
    if (isGradEnabled() && sources.some((t) => t?.requiresGrad)) return compute();
    const from = sources.map((t) => t?._ref ?? null);
    const k = this.kept;
    if (k && !k.scale.isDisposed && !k.shift.isDisposed && k.from.every((r, i) => r === from[i])) return { scale: k.scale, shift: k.shift };
    this.dropAffine();
    const { scale, shift } = noGrad(compute);
    this.kept = { from, scale: keep(scale), shift: keep(shift) };
    return { scale, shift };
  }

  /** Frees evalAffine's kept result (training replaces the statistics it came from). */
  private dropAffine(): void {
    if (!this.kept) return;
    for (const t of [this.kept.scale, this.kept.shift]) if (!t.isDisposed) t.dispose();
    this.kept = null;
  }
}
