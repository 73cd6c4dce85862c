import { keep } from '../../tensor/engine.js';
import { fmt, sameShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

/** Parameters as `module.namedParameters()` gives them, or a plain list (named by index). */
export type ParamsInput = Iterable<[string, Tensor]> | readonly Tensor[];

/**
 * What an optimiser saves in a checkpoint: moment tensors by name (e.g. `adam.m.enc0.conv1.weight`)
 * and plain numbers (`step`, `lr`). The tensors are the optimiser's own: do not dispose them.
 */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  scalars: Record<string, number>;
}

/** Shared bookkeeping of every optimiser: named parameters, the learning rate, gradients, state. */
export abstract class Optimizer {
  readonly params: [string, Tensor][];
  /** The learning rate; schedulers and users may set it between steps. */
  lr: number;
  /** Number of `step()` calls so far. */
  stepCount = 0;
  protected abstract readonly prefix: string;

  constructor(params: ParamsInput, lr: number) {
    const list = [...(params as Iterable<[string, Tensor] | Tensor>)];
    this.params = list.map((p, i) => (p instanceof Tensor ? [String(i), p] : p));
    if (!(lr >= 0)) throw new Error(`${this.constructor.name}: learning rate must be ≥ 0, got ${lr}`);
    this.lr = lr;
    const seen = new Set<string>();
    for (const [name, p] of this.params) {
      if (seen.has(name)) throw new Error(`${this.constructor.name}: duplicate parameter name '${name}'`);
      seen.add(name);
      if (!p.requiresGrad) throw new Error(`${this.constructor.name}: parameter '${name}' ${fmt(p.shape)} does not require a gradient`);
    }
  }

  /** Applies one update to every parameter that has a gradient. */
  abstract step(): void;

  /** Disposes and clears the gradients of all parameters. */
  zeroGrad(): void {
    for (const [, p] of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Per-parameter state tensors by kind (e.g. { m: Map, v: Map }). */
  protected abstract stateMaps(): Record<string, Map<string, Tensor>>;

  /** Moment tensors and scalars for a checkpoint. */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    for (const [kind, map] of Object.entries(this.stateMaps())) for (const [name, t] of map) tensors[`${this.prefix}.${kind}.${name}`] = t;
    return { tensors, scalars: { step: this.stepCount, lr: this.lr } };
  }

  /** Restores a `stateDict()`; throws naming unknown or mis-shaped entries. The tensors are copied by reference (assign). */
  loadStateDict(state: OptimizerState): void {
    const maps = this.stateMaps();
    const byName = new Map(this.params);
    const problems: string[] = [];
    const plan: [Map<string, Tensor>, string, Tensor][] = [];
    for (const [key, t] of Object.entries(state.tensors)) {
      const m = key.match(/^([^.]+)\.([^.]+)\.(.+)$/);
      const map = m && m[1] === this.prefix ? maps[m[2]] : undefined;
      const p = m ? byName.get(m[3]) : undefined;
      if (!m || !map || !p) problems.push(`unexpected entry '${key}'`);
      else if (!sameShape(p.shape, t.shape)) problems.push(`${key}: expected shape ${fmt(p.shape)}, got ${fmt(t.shape)}`);
      else plan.push([map, m[3], t]);
    }
    if (problems.length) throw new Error(`${this.constructor.name}.loadStateDict: ${problems.join('; ')}`);
    for (const map of Object.values(maps)) {
      for (const t of map.values()) t.dispose();
      map.clear();
    }
    for (const [map, name, t] of plan) {
      map.set(name, keep(t.view(t.shape)));
    }
    if (state.scalars.step !== undefined) this.stepCount = state.scalars.step;
    if (state.scalars.lr !== undefined) this.lr = state.scalars.lr;
  }

  /** Frees the optimiser's state tensors. */
  dispose(): void {
    for (const map of Object.values(this.stateMaps())) {
      for (const t of map.values()) t.dispose();
      map.clear();
    }
  }
}
