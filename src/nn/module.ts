import { cast } from '../autograd/ops/elementwise.js';
import { keep, noGrad } from '../tensor/engine.js';
import { fmt, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';

// Membership is by tensor identity: a parameter stays the same object for its whole life (optimisers
// and loadStateDict update it in place with `assign`), so the sets never go stale.
const PARAMETERS = new WeakSet<Tensor>();
const BUFFERS = new WeakSet<Tensor>();

export interface LoadOptions {
  /** Fail on missing or unexpected entries (default true). Shape mismatches always fail. */
  strict?: boolean;
}

/**
 * The base of every layer, block and model: a tree of modules holding parameters (trained) and
 * buffers (state such as BatchNorm's running statistics).
 *
 * A subclass declares parameters with `this.weight = this.param(t)`, buffers with `this.buffer(t)`,
 * and submodules simply as properties (or arrays of modules). Names follow PyTorch: the dotted path of
 * property names, e.g. `enc0.conv1.weight`, a module's own tensors before its children's, in
 * declaration order. Properties starting with `_` are private and not traversed.
 *
 * `stateDict()` holds parameters and buffers; BatchNorm's `num_batches_tracked` counter is not kept
 * (segrad uses a fixed momentum), and entries of that name are ignored on load.
 */
export abstract class Module {
  /** Training mode (BatchNorm uses batch statistics, Dropout is active); see `train()` / `eval()`. */
  training = true;

  /** The module's computation. Most take one NCHW tensor; blocks with a skip or gate take two. */
  abstract forward(x: Tensor, ...rest: Tensor[]): Tensor;

  /** Registers `t` as a trained parameter (sets requiresGrad and keeps it out of tidy scopes). */
  protected param(t: Tensor): Tensor {
    t.requiresGrad = true;
    PARAMETERS.add(t);
    return keep(t);
  }

  /** Registers `t` as a buffer: saved and loaded with the parameters, not trained. */
  protected buffer(t: Tensor): Tensor {
    BUFFERS.add(t);
    return keep(t);
  }

  /** Direct submodules with their property names (array elements as `name.i`). */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, v] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      if (v instanceof Module) out.push([key, v]);
      else if (Array.isArray(v)) v.forEach((m, i) => m instanceof Module && out.push([`${key}.${i}`, m]));
    }
    return out;
  }

  private ownTensors(set: WeakSet<Tensor>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [key, v] of Object.entries(this)) if (!key.startsWith('_') && v instanceof Tensor && set.has(v)) out.push([key, v]);
    return out;
  }

  private collect(set: WeakSet<Tensor>, prefix: string, out: [string, Tensor][]): [string, Tensor][] {
    for (const [k, t] of this.ownTensors(set)) out.push([prefix + k, t]);
    for (const [k, m] of this.namedChildren()) m.collect(set, `${prefix}${k}.`, out);
    return out;
  }

  /** Every trained parameter with its dotted name. */
  namedParameters(): [string, Tensor][] {
    return this.collect(PARAMETERS, '', []);
  }

  /** Every buffer (e.g. `bn1.running_mean`) with its dotted name. */
  namedBuffers(): [string, Tensor][] {
    return this.collect(BUFFERS, '', []);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** This module and every descendant, depth first. */
  *modules(): Generator<Module> {
    yield this;
    for (const [, m] of this.namedChildren()) yield* m.modules();
  }

  /** Number of trained values (buffers excluded). */
  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Sets training mode here and below; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Inference mode: BatchNorm uses running statistics, Dropout is the identity. */
  eval(): this {
    return this.train(false);
  }

  /** Disposes and clears the gradients of all parameters. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Parameters and buffers by PyTorch name. The tensors are the module's own (not copies): do not dispose them. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into the parameters and buffers, casting to each one's dtype. Throws naming every
   * missing, unexpected (strict mode) and mis-shaped entry with both shapes; nothing is changed then.
   */
  loadStateDict(dict: Record<string, Tensor>, opts: LoadOptions = {}): void {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const problems: string[] = [];
    const given = Object.keys(dict).filter((k) => !k.endsWith('num_batches_tracked'));
    const missing = Object.keys(own).filter((k) => !(k in dict));
    const unexpected = given.filter((k) => !(k in own));
    if (strict && missing.length) problems.push(`missing: ${missing.join(', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected: ${unexpected.join(', ')}`);
    for (const k of given) {
      if (k in own && !sameShape(own[k].shape, dict[k].shape)) problems.push(`${k}: expected shape ${fmt(own[k].shape)}, got ${fmt(dict[k].shape)}`);
    }
    if (problems.length) throw new Error(`${this.constructor.name}.loadStateDict: ${problems.join('; ')}`);
    noGrad(() => {
      for (const k of given) {
        if (!(k in own)) continue;
        const target = own[k];
        const src = dict[k];
        if (src.dtype === target.dtype) target.assign(src);
        else {
          const c = cast(src, target.dtype);
          target.assign(c);
          c.dispose();
        }
      }
    });
  }

  /** Saves parameters and buffers as safetensors (PyTorch names), atomically. */
  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    await saveSafetensors(path, this.stateDict(), { format: 'pt', ...metadata });
  }

  /** Loads parameters and buffers from a safetensors file written by `save` (or by PyTorch). */
  async load(path: string, opts: LoadOptions = {}): Promise<Record<string, string>> {
    const { tensors, metadata } = await loadSafetensors(path);
    try {
      this.loadStateDict(tensors, opts);
    } catch (e) {
      throw new Error(`${(e as Error).message} (loading ${path})`);
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
    return metadata;
  }

  /** @internal Finds the module owning dotted `name` and the property key. */
  _locate(name: string): { owner: Module; key: string } {
    const parts = name.split('.');
    let owner: Module = this;
    let i = 0;
    while (i < parts.length - 1) {
      const children = new Map(owner.namedChildren());
      // array children are named `key.i`: try the two-part name first
      const two = `${parts[i]}.${parts[i + 1]}`;
      const next = i + 2 < parts.length ? children.get(two) : undefined;
      if (next) {
        owner = next;
        i += 2;
        continue;
      }
      const one = children.get(parts[i]);
      if (!one) throw new Error(`${this.constructor.name}: no submodule for '${name}'`);
      owner = one;
      i++;
    }
    return { owner, key: parts[parts.length - 1] };
  }
}

/**
 * Runs `module.forward(...args)` with some parameters (or buffers) replaced by the given tensors, then
 * restores them: the functional form used to differentiate with respect to weights (as
 * torch.func.functional_call).
 * @example gradcheck((x, w) => functionalCall(conv, { weight: w }, x).sum(), [x, conv.weight]);
 */
export function functionalCall(module: Module, replacements: Record<string, Tensor>, ...args: Tensor[]): Tensor {
  const own = module.stateDict();
  const swaps: { owner: Module; key: string; old: unknown }[] = [];
  try {
    for (const [name, t] of Object.entries(replacements)) {
      if (!(name in own)) throw new Error(`functionalCall: ${module.constructor.name} has no parameter or buffer '${name}'`);
      if (!sameShape(own[name].shape, t.shape)) throw new Error(`functionalCall: '${name}' expects shape ${fmt(own[name].shape)}, got ${fmt(t.shape)}`);
      const { owner, key } = module._locate(name);
      swaps.push({ owner, key, old: (owner as any)[key] });
      (owner as any)[key] = t;
    }
    return module.forward(args[0], ...args.slice(1));
  } finally {
    for (const s of swaps.reverse()) (s.owner as any)[s.key] = s.old;
  }
}
