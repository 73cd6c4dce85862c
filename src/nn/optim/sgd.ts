import { add, mul, sub } from '../../autograd/ops/elementwise.js';
import { keep, noGrad, tidy } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (required in PyTorch; default 0.01 here). */
  lr?: number;
  /** Momentum factor μ (default 0). */
  momentum?: number;
  /** Dampening τ of the momentum (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty λ added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * Stochastic gradient descent with PyTorch's momentum: g ← g + λθ; b ← g on the first step, else
 * b ← μ·b + (1−τ)·g; g ← g + μ·b (Nesterov) or b; θ ← θ − lr·g. State: `sgd.momentum_buffer.<name>`.
 */
export class SGD extends Optimizer {
  protected readonly prefix = 'sgd';
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  weightDecay: number;
  private readonly buffers = new Map<string, Tensor>();

  constructor(params: ParamsInput, opts: SGDOptions = {}) {
    super(params, opts.lr ?? 0.01);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected stateMaps(): Record<string, Map<string, Tensor>> {
    return { momentum_buffer: this.buffers };
  }

  step(): void {
    this.stepCount++;
    const { momentum: mu, dampening, weightDecay: wd } = this;
    noGrad(() => {
      for (const [name, p] of this.params) {
        if (!p.grad) continue;
        tidy(() => {
          let g: Tensor = p.grad!;
          if (wd !== 0) g = add(g, mul(p, wd));
          if (mu !== 0) {
            const buf = this.buffers.get(name);
            let next: Tensor;
            if (!buf) {
              next = keep(mul(g, 1));
              this.buffers.set(name, next);
            } else {
              next = add(mul(buf, mu), mul(g, 1 - dampening));
              buf.assign(next);
            }
            g = this.nesterov ? add(g, mul(next, mu)) : next;
          }
          p.assign(sub(p, mul(g, this.lr)));
        });
      }
    });
  }
}
