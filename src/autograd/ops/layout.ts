import { broadcastShapes, fmt, normAxis, sameShape, sizeOf, type Shape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkSame, record, sumTo, wrap, type GradFn } from '../graph.js';

/** Layout ops: reshape, permute, broadcast, slice, concat, pad, take — each with its backward. */

/** Same values under a new shape (one dimension may be -1). Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkSame('reshape', [x]);
  const s = [...shape];
  const infer = s.indexOf(-1);
  if (infer >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== infer));
    if (rest === 0 || x.size % rest !== 0) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} into ${fmt(shape)}`);
    s[infer] = x.size / rest;
  }
  if (sizeOf(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
  if (sameShape(s, x.shape)) return x;
  return record('reshape', [x], x.view(s));
}

/** Reorders axes: output axis i is input axis perm[i]. Default reverses all axes. */
export function permute(x: Tensor, perm?: readonly number[]): Tensor {
  checkSame('permute', [x]);
  const p = perm ? perm.map((a) => normAxis(a, x.rank, 'permute', x.shape)) : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || new Set(p).size !== p.length) throw new Error(`permute: ${fmt(perm ?? [])} is not a permutation of the axes of ${fmt(x.shape)}`);
  if (p.every((a, i) => a === i)) return x;
  const shape = p.map((a) => x.shape[a]);
  const out = wrap(x.backend, x.backend.permute(x.handle, x.shape, p, x.dtype), shape, x.dtype);
  return record('permute', [x], out, { perm: p });
}

/** Swaps two axes (default the last two). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = normAxis(axis0, x.rank, 'transpose', x.shape);
  const b = normAxis(axis1, x.rank, 'transpose', x.shape);
  const p = x.shape.map((_, i) => i);
  [p[a], p[b]] = [p[b], p[a]];
  return permute(x, p);
}

/** Repeats size-1 axes (and adds leading axes) to reach `shape`. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  checkSame('broadcastTo', [x]);
  const target = broadcastShapes(x.shape, shape, 'broadcastTo');
  if (!sameShape(target, shape)) throw new Error(`broadcastTo: cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
  if (sameShape(x.shape, shape)) return x;
  const out = wrap(x.backend, x.backend.broadcastTo(x.handle, x.shape, shape, x.dtype), shape, x.dtype);
  return record('broadcastTo', [x], out);
}

/** Alias of `broadcastTo`. */
export const expand = broadcastTo;

/**
 * The box starting at `begin` with extent `size` (-1 = to the end). Negative begins count from the end.
 * @example slice(x, [0, 1], [-1, 2]) // all rows, columns 1..2
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  checkSame('slice', [x]);
  if (begin.length > x.rank) throw new Error(`slice: ${begin.length} begins for shape ${fmt(x.shape)}`);
  const b = x.shape.map((d, i) => {
    const v = begin[i] ?? 0;
    return v < 0 ? v + d : v;
  });
  const s = x.shape.map((d, i) => {
    const v = size?.[i] ?? -1;
    return v < 0 ? d - b[i] : v;
  });
  if (b.some((v, i) => v < 0 || v + s[i] > x.shape[i] || s[i] < 0)) {
    throw new Error(`slice: begin ${fmt(b)} size ${fmt(s)} is outside shape ${fmt(x.shape)}`);
  }
  if (sameShape(s, x.shape)) return x;
  const out = wrap(x.backend, x.backend.slice(x.handle, x.shape, b, s, x.dtype), s, x.dtype);
  return record('slice', [x], out, { begin: b });
}

/** Joins tensors along an existing axis; all other axes must match. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  const { dtype, backend } = checkSame('concat', xs);
  const first = xs[0];
  const ax = normAxis(axis, first.rank, 'concat', first.shape);
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${fmt(first.shape)} and ${fmt(t.shape)} differ outside axis ${ax}`);
    }
  }
  if (xs.length === 1) return first;
  const shape = first.shape.map((d, i) => (i === ax ? xs.reduce((a, t) => a + t.shape[ax], 0) : d));
  const out = wrap(backend, backend.concat(xs.map((t) => t.handle), xs.map((t) => t.shape), ax, dtype), shape, dtype);
  return record('concat', xs, out, { axis: ax });
}

/** Pads with a constant: `widths[i] = [before, after]` for each axis (missing axes unpadded). */
export function pad(x: Tensor, widths: readonly (readonly [number, number])[], value = 0): Tensor {
  checkSame('pad', [x]);
  if (widths.length > x.rank) throw new Error(`pad: ${widths.length} pad widths for shape ${fmt(x.shape)}`);
  const before = x.shape.map((_, i) => widths[i]?.[0] ?? 0);
  const after = x.shape.map((_, i) => widths[i]?.[1] ?? 0);
  if ([...before, ...after].some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`pad: widths must be non-negative integers, got ${JSON.stringify(widths)}`);
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  const out = wrap(x.backend, x.backend.pad(x.handle, x.shape, before, after, value, x.dtype), shape, x.dtype);
  return record('pad', [x], out, { before });
}

/** Integers up to 2^24 are exact in float32; past it only every other one is. */
const FLOAT32_EXACT = 2 ** 24;

/**
 * Gathers elements of `x` by flat (row-major) index: out[i] = x.flat[indices[i]], shaped like `indices`.
 * `indices` holds integers, in x's dtype: a float32 x may have at most 2^24 elements (an error past it).
 * The gradient scatters back (repeated indices accumulate).
 */
export function take(x: Tensor, indices: Tensor): Tensor {
  const { dtype, backend } = checkSame('take', [x, indices]);
  if (dtype === 'float32' && x.size > FLOAT32_EXACT) {
    throw new Error(`take: x ${fmt(x.shape)} has ${x.size} elements, more than float32 indices name exactly (2^24 = ${FLOAT32_EXACT}); take from float64 tensors, or from slices of x`);
  }
  const out = wrap(backend, backend.take(x.handle, indices.handle, indices.size, dtype), indices.shape, dtype);
  return record('take', [x], out, { indices });
}

/** Adds an axis of size 1 at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = axis < 0 ? axis + x.rank + 1 : axis;
  if (ax < 0 || ax > x.rank) throw new Error(`unsqueeze: axis ${axis} is out of range for shape ${fmt(x.shape)}`);
  const s = [...x.shape];
  s.splice(ax, 0, 1);
  return reshape(x, s);
}

/** Removes size-1 axes (all of them, or those listed; listing an axis that is not 1 is an error). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const list = axes === undefined ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : (typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, x.rank, 'squeeze', x.shape));
  for (const a of list) if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of ${fmt(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => !list.includes(i)));
}

/** Stacks same-shaped tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('stack: needs at least one tensor');
  for (const t of xs) if (!sameShape(t.shape, xs[0].shape)) throw new Error(`stack: shapes ${fmt(xs[0].shape)} and ${fmt(t.shape)} differ`);
  const rank = xs[0].rank;
  if (!Number.isInteger(axis) || axis < -(rank + 1) || axis > rank) throw new Error(`stack: axis ${axis} is out of range for stacking tensors of shape ${fmt(xs[0].shape)}`);
  return concat(xs.map((t) => unsqueeze(t, axis)), axis < 0 ? axis : axis);
}

/** Flattens to 1-D (or keeps the first `startAxis` axes). */
export function flatten(x: Tensor, startAxis = 0): Tensor {
  return reshape(x, [...x.shape.slice(0, startAxis), -1]);
}

function inversePerm(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return inv;
}

export const layoutGrads = {
  reshape: (g, n) => [reshape(g, n.inputs[0].shape)],
  permute: (g, n) => [permute(g, inversePerm(n.attrs.perm as number[]))],
  broadcastTo: (g, n) => [sumTo(g, n.inputs[0].shape)],
  slice: (g, n) => {
    const x = n.inputs[0];
    const begin = n.attrs.begin as number[];
    return [pad(g, x.shape.map((d, i) => [begin[i], d - begin[i] - g.shape[i]] as [number, number]))];
  },
  concat: (g, n) => {
    const axis = n.attrs.axis as number;
    let offset = 0;
    return n.inputs.map((t) => {
      const begin = t.shape.map((_, i) => (i === axis ? offset : 0));
      offset += t.shape[axis];
      return slice(g, begin, t.shape);
    });
  },
  pad: (g, n) => [slice(g, n.attrs.before as number[], n.inputs[0].shape)],
  take: (g, n) => {
    const x = n.inputs[0];
    const idx = n.attrs.indices as Tensor;
    const b = g.backend;
    return [wrap(b, b.scatterAdd(idx.handle, g.handle, idx.size, x.size, g.dtype), x.shape, g.dtype)];
  },
} satisfies Record<'reshape' | 'permute' | 'broadcastTo' | 'slice' | 'concat' | 'pad' | 'take', GradFn>;

