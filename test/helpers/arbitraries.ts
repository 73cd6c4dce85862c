import fc from 'fast-check';

/**
 * Shared fast-check arbitraries for tensor tests. Shapes are small on purpose: element-wise gradient
 * checks cost two function evaluations per input element. Every arbitrary returns plain data (shapes,
 * number arrays), never tensors, so a test builds its tensors inside the property, on the backend it
 * chooses, and failing cases print readably.
 */

export type ShapeArr = number[];

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  /** Largest dimension (default 4). */
  maxDim?: number;
  /** Largest element count (default 48). */
  maxSize?: number;
}

/** A shape with rank in [minRank, maxRank] and dims in [1, maxDim]; size-1 axes are common. */
export function shapeArb(opts: ShapeOptions = {}): fc.Arbitrary<ShapeArr> {
  const { minRank = 0, maxRank = 4, maxDim = 4, maxSize = 48 } = opts;
  // weight size 1 so that the broadcasting/keepDims paths through size-1 axes are exercised often
  const dim = fc.oneof({ arbitrary: fc.constant(1), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: maxDim }), weight: 3 });
  return fc.array(dim, { minLength: minRank, maxLength: maxRank }).filter((s) => sizeOf(s) <= maxSize);
}

/**
 * Two shapes that broadcast together (NumPy rules): an output shape, then each operand drops some
 * leading axes and replaces some axes by 1. Returns [a, b, out].
 */
export function broadcastPairArb(opts: ShapeOptions = {}): fc.Arbitrary<[ShapeArr, ShapeArr, ShapeArr]> {
  return shapeArb(opts).chain((out) => {
    const operand = fc
      .tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
      .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
    return fc.tuple(operand, operand).map(([a, b]): [ShapeArr, ShapeArr, ShapeArr] => {
      // the true broadcast result may be smaller than `out` when both operands collapsed an axis
      const rank = Math.max(a.length, b.length);
      const res = Array.from({ length: rank }, (_, i) => {
        const da = a[a.length - rank + i] ?? 1;
        const db = b[b.length - rank + i] ?? 1;
        return Math.max(da, db);
      });
      return [a, b, res];
    });
  });
}

export interface ValueOptions {
  /** Smallest magnitude (default 0.05: away from the kinks of relu, abs, sign…). */
  minAbs?: number;
  /** Largest magnitude (default 2). */
  maxAbs?: number;
  /** Only positive values (for log, sqrt, pow bases…). */
  positive?: boolean;
}

/** `n` float64-representable values with min ≤ |x| ≤ max (finite, no NaN). */
export function valuesArb(n: number, opts: ValueOptions = {}): fc.Arbitrary<number[]> {
  const { minAbs = 0.05, maxAbs = 2, positive = false } = opts;
  const mag = fc.double({ min: minAbs, max: maxAbs, noNaN: true, noDefaultInfinity: true });
  const v = positive ? mag : fc.tuple(mag, fc.boolean()).map(([m, s]) => (s ? -m : m));
  return fc.array(v, { minLength: n, maxLength: n });
}

/**
 * `n` pairwise distinct values at least `gap` apart (and min ≤ |x|), so that max/min reductions and
 * maximum/minimum have no ties even after a finite-difference step. Drawn as distinct integers on a grid.
 */
export function distinctValuesArb(n: number, opts: { gap?: number; minAbs?: number; offset?: number } = {}): fc.Arbitrary<number[]> {
  const { gap = 0.025, minAbs = 0.05 } = opts;
  const lim = Math.ceil(minAbs / gap);
  const span = lim + n + 40;
  const grid = fc.integer({ min: -span, max: span }).filter((i) => Math.abs(i) >= lim);
  return fc.uniqueArray(grid, { minLength: n, maxLength: n }).map((ints) => ints.map((i) => i * gap + (opts.offset ?? 0)));
}

/** A shape together with values for it. */
export function shapedValuesArb(shape: fc.Arbitrary<ShapeArr>, values: (n: number) => fc.Arbitrary<number[]> = (n) => valuesArb(n)): fc.Arbitrary<{ shape: ShapeArr; values: number[] }> {
  return shape.chain((s) => values(sizeOf(s)).map((v) => ({ shape: s, values: v })));
}

/** A valid axis of a tensor of rank `rank` (≥ 1), possibly negative. */
export function axisArb(rank: number): fc.Arbitrary<number> {
  return fc.integer({ min: -rank, max: rank - 1 });
}

/** A non-empty subset of the axes of a rank-`rank` tensor, or undefined (all axes), or a single axis. */
export function axesArb(rank: number): fc.Arbitrary<number | number[] | undefined> {
  if (rank === 0) return fc.constant(undefined);
  return fc.oneof(
    fc.constant(undefined),
    axisArb(rank),
    fc.subarray([...Array(rank).keys()], { minLength: 1 }),
  );
}

/** A permutation of 0..rank-1. */
export function permutationArb(rank: number): fc.Arbitrary<number[]> {
  return fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank });
}

/** Row-major strides of `shape`. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** The multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** The flat position of multi-index `idx` in `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < shape.length; i++) f = f * shape[i] + idx[i];
  return f;
}
