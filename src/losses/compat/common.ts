import { cast, logSigmoid, mul, neg, add, softplus, sub, take } from '../../autograd/index.js';
import { formatShape, tensor, type Tensor, type TypedArray } from '../../tensor/index.js';

/**
 * Shared plumbing of the MONAI/smp-compatible option sets: Python-style keyword checking, errors
 * shaped like the peers' own, integer-target handling, and the boolean-indexing and gather steps the
 * peers use, done with `take` so gradients still flow.
 */

/** A compatible loss: `(input, target, extra?) => loss`; `extra` is MONAI MaskedDiceLoss's mask. */
export type CompatLoss = (input: Tensor, target: Tensor, extra?: Tensor) => Tensor;

/**
 * How PyTorch would have typed the target. Only matters where the peer branches on it (smp
 * SoftBCEWithLogitsLoss rejects integer targets without smoothing, smp index targets must be int64).
 */
export type TargetDtype = 'int64' | 'float32';

/** Error classes mirroring the Python exception the peer raises, so callers can tell them apart. */
export class CompatValueError extends Error {
  override name = 'ValueError';
}
export class CompatTypeError extends Error {
  override name = 'TypeError';
}
export class CompatAssertionError extends Error {
  override name = 'AssertionError';
}
export class CompatIndexError extends Error {
  override name = 'IndexError';
}

/**
 * Merges Python-style keyword arguments over `defaults`. A key missing from `defaults` raises the same
 * TypeError Python would (`X.__init__() got an unexpected keyword argument 'k'`); `undefined` values
 * fall back to the default, as leaving a kwarg out does in Python.
 */
export function parseKwargs<T extends object>(cls: string, kwargs: object | undefined, defaults: T): T {
  const out = { ...defaults } as Record<string, unknown>;
  if (kwargs === undefined || kwargs === null) return out as T;
  if (typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new CompatTypeError(`${cls}: keyword arguments must be an object, got ${Array.isArray(kwargs) ? 'an array' : typeof kwargs}`);
  for (const [k, v] of Object.entries(kwargs)) {
    if (!Object.prototype.hasOwnProperty.call(defaults, k)) {
      const callee = cls.includes('.functional.') ? `${cls}()` : `${cls}.__init__()`;
      throw new CompatTypeError(`${callee} got an unexpected keyword argument '${k}' (accepted: ${Object.keys(defaults).join(', ')})`);
    }
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

/** Checks that `value` is one of `options`; the message names the class, the option and the choices. */
export function checkChoice<T extends string>(cls: string, option: string, value: unknown, options: readonly T[], err: new (m: string) => Error = CompatValueError): T {
  if (!options.includes(value as T)) throw new err(`${cls}: unsupported ${option}=${JSON.stringify(value)}; available options are ${options.map((o) => JSON.stringify(o)).join(', ')}`);
  return value as T;
}

export function checkNumber(cls: string, option: string, value: unknown, allowNull = false): void {
  if (allowNull && value === null) return;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new CompatTypeError(`${cls}: ${option} must be a number${allowNull ? ' or null' : ''}, got ${JSON.stringify(value)}`);
}

export function checkBool(cls: string, option: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new CompatTypeError(`${cls}: ${option} must be a boolean, got ${JSON.stringify(value)}`);
}

export function checkTargetDtype(cls: string, value: unknown): TargetDtype {
  return checkChoice(cls, 'targetDtype', value, ['int64', 'float32'] as const, CompatTypeError);
}

/** A weight given as a number, a list or a tensor, read into plain numbers (`scalar` marks a 0-d value). */
export interface WeightSpec {
  values: number[];
  scalar: boolean;
}

export function parseWeight(cls: string, option: string, w: unknown): WeightSpec | null {
  if (w === null || w === undefined) return null;
  if (typeof w === 'number') return { values: [w], scalar: true };
  if (Array.isArray(w) && w.every((v) => typeof v === 'number')) return { values: [...w], scalar: false };
  if (typeof w === 'object' && w !== null && 'dataSync' in w && 'shape' in w) {
    const t = w as Tensor;
    if (t.rank > 1) throw new CompatValueError(`${cls}: ${option} must be a scalar or a 1-D sequence, got a tensor of shape ${formatShape(t.shape)}`);
    return { values: valuesOf(t), scalar: t.rank === 0 };
  }
  throw new CompatTypeError(`${cls}: ${option} must be a number, a list of numbers or a tensor, got ${JSON.stringify(w)}`);
}

/** Sums of the given axes' lengths; reduce axes of a shape from `start` on. */
export const axesFrom = (rank: number, start: number): number[] => Array.from({ length: Math.max(rank - start, 0) }, (_, i) => i + start);

/** The target in the input's dtype: the peers' maths promotes integer targets the same way. */
export function asInputDtype(target: Tensor, input: Tensor): Tensor {
  return target.dtype === input.dtype ? target : cast(target, input.dtype);
}

/** A constant tensor (no gradient) of `ref`'s dtype. */
export function constLike(ref: Tensor, values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return tensor(Array.from(values), shape, { dtype: ref.dtype });
}

/**
 * A tensor's values read on the host, as the peers' Python reads targets and masks (never on the gradient
 * path); an asynchronous backend (gpu webgpu) is an error that says where these losses do run.
 */
export function hostArray(t: Tensor): TypedArray {
  if (!t.backend.readSync) {
    const info = t.backend.info();
    throw new Error(
      `compat losses read targets and masks on the host, as MONAI and smp do, which needs a backend that reads synchronously; ${info.backend}:${info.mode} reads asynchronously ` +
        `(use the cpu backend or gpu:webasm for compat losses, or segrad's own losses, which run on webgpu too)`,
    );
  }
  return t.dataSync();
}

/** Values of a tensor as plain numbers (targets, masks: never on the gradient path), read on the host (hostArray). */
export const valuesOf = (t: Tensor): number[] => Array.from(hostArray(t));

/**
 * PyTorch `.long()` on the target values, then a range check as `scatter_`/`F.one_hot` do:
 * values are truncated toward zero and must lie in [0, n).
 */
export function classIndices(cls: string, target: Tensor, n: number): number[] {
  return valuesOf(target).map((v) => {
    const k = Math.trunc(v);
    if (!(k >= 0 && k < n)) throw new CompatIndexError(`${cls}: target class index ${v} is out of range for ${n} classes (target shape ${formatShape(target.shape)})`);
    return k;
  });
}

/**
 * One-hot along axis 1 of labels shaped (B, *spatial) flattened as `labels`: gives (B, n, *spatial)
 * with 1 at [b, labels[b, s], s]. Entries equal to -1 stay all-zero (used for masked pixels).
 */
export function oneHotAxis1(ref: Tensor, labels: readonly number[], batch: number, spatialShape: readonly number[], n: number): Tensor {
  const s = labels.length / batch;
  const out = new Float64Array(batch * n * s);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < s; i++) {
      const k = labels[b * s + i];
      if (k >= 0) out[(b * n + k) * s + i] = 1;
    }
  }
  return constLike(ref, out, [batch, n, ...spatialShape]);
}

/** Boolean-mask indexing `x[mask]` as a gather, so the gradient scatters back to the kept entries. */
export function selectWhere(x: Tensor, keep: readonly boolean[]): Tensor {
  const idx: number[] = [];
  keep.forEach((k, i) => k && idx.push(i));
  return take(x, constLike(x, idx, [idx.length]));
}

/** Elementwise BCE with logits as PyTorch computes it, with optional `weight` and `pos_weight` tensors. */
export function bceWithLogits(x: Tensor, t: Tensor, weight?: Tensor | null, posWeight?: Tensor | null): Tensor {
  // ℓ = pw·t·softplus(−x) + (1−t)·softplus(x); with pw = 1 this is x − x·t + softplus(−x).
  const negPart = mul(sub(1, t), softplus(x));
  const posPart = posWeight ? mul(mul(posWeight, t), softplus(neg(x))) : mul(t, neg(logSigmoid(x)));
  const loss = add(negPart, posPart);
  return weight ? mul(loss, weight) : loss;
}

/** `view` of a tensor to the flat layout a peer uses; only the element count has to agree. */
export function viewAs(cls: string, x: Tensor, shape: readonly number[], what: string): Tensor {
  try {
    return x.reshape(shape);
  } catch {
    throw new CompatValueError(`${cls}: cannot view ${what} of shape ${formatShape(x.shape)} as ${formatShape(shape)}`);
  }
}
