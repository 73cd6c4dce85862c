import { add, div, mul, sqrt, square, sub } from '../../autograd/ops/elementwise.js';
import { zerosLike } from '../../tensor/creation.js';
import type { AdamScalars } from '../../tensor/backend.js';
import { keep, noGrad, tidy } from '../../tensor/engine.js';
import { Tensor } from '../../tensor/tensor.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** [β1, β2] (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to √v̂ (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (Adam) or decoupled decay (AdamW). */
  weightDecay?: number;
}

/**
 * Adam (Kingma & Ba 2015) with PyTorch's semantics. Per parameter, at step t:
 * g ← g + λθ; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; m̂ = m/(1−β1ᵗ); v̂ = v/(1−β2ᵗ);
 * θ ← θ − lr·m̂/(√v̂ + eps). Parameters without a gradient are skipped; t counts `step()` calls.
 * State: `adam.m.<name>`, `adam.v.<name>`, scalar `step`.
 * @example const opt = new Adam(model.namedParameters(), { lr: 1e-4 }); loss.backward(); opt.step(); opt.zeroGrad();
 */
export class Adam extends Optimizer {
  protected readonly prefix: string = 'adam';
  readonly betas: readonly [number, number];
  readonly eps: number;
  weightDecay: number;
  protected readonly m = new Map<string, Tensor>();
  protected readonly v = new Map<string, Tensor>();

  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`${this.constructor.name}: betas must lie in [0, 1), got [${b1}, ${b2}]`);
  }

  protected stateMaps(): Record<string, Map<string, Tensor>> {
    return { m: this.m, v: this.v };
  }

  /** The decoupled decay hook (AdamW); Adam folds decay into the gradient instead. */
  protected decoupled(): boolean {
    return false;
  }

  step(): void {
    this.stepCount++;
    const t = this.stepCount;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const wd = this.weightDecay;
    const scalars: AdamScalars = { b1, b2, lr: this.lr, eps: this.eps, bc1, bc2, wd, decoupled: this.decoupled() };
    noGrad(() => {
      const fused: [string, Tensor, Tensor][] = [];
      for (const [name, p] of this.params) {
        if (!p.grad) continue;
        if (fusable(p, p.grad)) {
          fused.push([name, p, p.grad]);
          continue;
        }
        tidy(() => {
          let g: Tensor = p.grad!;
          let theta = p;
          if (wd !== 0 && this.decoupled()) theta = mul(p, 1 - this.lr * wd);
          else if (wd !== 0) g = add(g, mul(p, wd));
          const m = this.moment(this.m, name, p);
          const v = this.moment(this.v, name, p);
          const m1 = add(mul(m, b1), mul(g, 1 - b1));
          const v1 = add(mul(v, b2), mul(square(g), 1 - b2));
          const denom = add(div(sqrt(v1), Math.sqrt(bc2)), this.eps);
          const next = sub(theta, mul(div(m1, denom), this.lr / bc1));
          m.assign(m1);
          v.assign(v1);
          p.assign(next);
        });
      }
      this.fusedSteps(fused, scalars);
    });
  }

  /**
   * The fast path for float32 parameters on backends with a fused update (`Backend.adamUpdate`: one
   * loop on cpu, one kernel on gpu webgpu, three in the other gpu modes) instead of a dozen elementwise
   * passes; all of them in one `adamUpdateMany` where the backend has it (gpu webgpu: a kernel call for
   * several parameters).
   */
  private fusedSteps(list: readonly [string, Tensor, Tensor][], s: AdamScalars): void {
    if (list.length === 0) return;
    const b = list[0][1].backend;
    const items = list.map(([name, p, g]) => ({ theta: p.handle, grad: g.handle, m: this.moment(this.m, name, p).handle, v: this.moment(this.v, name, p).handle, size: p.size }));
    const results = b.adamUpdateMany && list.every(([, p]) => p.backend === b)
      ? b.adamUpdateMany(items, s)
      : items.map((it, k) => list[k][1].backend.adamUpdate!(it.theta, it.grad, it.m, it.v, it.size, s));
    list.forEach(([name, p], k) => {
      const [pOut, mOut, vOut] = [results[k].theta, results[k].m, results[k].v].map((h) => Tensor.fromHandle(p.backend, h, p.shape, 'float32'));
      this.m.get(name)!.assign(mOut);
      this.v.get(name)!.assign(vOut);
      p.assign(pOut);
      for (const t of [pOut, mOut, vOut]) t.dispose();
    });
  }

  /** Moment `map` of parameter `name`, zeros at first. */
  private moment(map: Map<string, Tensor>, name: string, p: Tensor): Tensor {
    let t = map.get(name);
    if (!t) map.set(name, (t = keep(zerosLike(p))));
    return t;
  }
}

/** Whether a parameter and its gradient take the backend's fused update (float32, one backend, one size). */
function fusable(p: Tensor, g: Tensor): boolean {
  return !!p.backend.adamUpdate && p.dtype === 'float32' && g.dtype === 'float32' && g.backend === p.backend && g.size === p.size;
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay θ ← θ·(1 − lr·λ) before the Adam
 * step; default λ = 0.01 as in PyTorch. State names `adamw.m.<name>`, `adamw.v.<name>`.
 */
export class AdamW extends Adam {
  protected override readonly prefix: string = 'adamw';
  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 0.01 });
  }
  protected override decoupled(): boolean {
    return true;
  }
}
