import { broadcastStrides, stridesOf, type Shape } from '../../shape.js';

/**
 * Helpers that write gpu.js kernel sources. Shapes are baked into the text as literals, so each
 * (primitive, shape signature) is its own kernel, compiled once. gpu.js declares variables floats (only
 * loop counters and intVar's variables are integers), so every integer division is written
 * `Math.floor((a + 0.5) / d)`: exact whatever rounding the division has, for flat indices below 2^22.
 */

/** The first line of most kernels: `i`, the thread's flat output index. */
export const I = 'let i = this.thread.x;';

/**
 * Outputs a thread computes where runs of `length` outputs must not be split between threads and a
 * thread may compute up to `most` (a kernel returning an array, webgpu only: Device.mostFor): 4, 2 or 1.
 */
export function widthFor(length: number, most: number): number {
  for (const v of [4, 2]) if (v <= most && length % v === 0) return v;
  return 1;
}

const keptSources = new Map<string, unknown>();

/**
 * What `make` builds (a kernel source, or a conv source with its width), built once per `key`, which must name
 * everything it depends on. A source is otherwise rebuilt on every call of its op (a conv's took about
 * 50 µs of host time), and the device finds its compiled kernel by the source's text, which a kept string
 * hashes once.
 */
export function kept<R>(key: string, make: () => R): R {
  let r = keptSources.get(key) as R | undefined;
  if (r === undefined) {
    r = make();
    keptSources.set(key, r);
  }
  return r;
}

const integerIndexed = new Set<string>();

/**
 * A kernel source from its parameter names and body lines. `exact`: every index the kernel computes is
 * exact for tensors of any size (integer arithmetic, see `indexInts`), so webgpu may run it past the
 * float32 index limit (`isIntegerIndexed`).
 */
export function kernel(params: readonly string[], body: readonly string[], exact = false): string {
  const source = `function(${params.join(', ')}) {\n  ${body.join('\n  ')}\n}`;
  if (exact) integerIndexed.add(source);
  return source;
}

/** Whether `source` was built with exact index arithmetic (kernel's `exact`). */
export const isIntegerIndexed = (source: string): boolean => integerIndexed.has(source);

/**
 * Flat indices below this stay exact in float32 index arithmetic: idiv adds 0.5, which a float32 holds
 * exactly below 2^23, and the divisions are checked below 2^22.
 */
const FLOAT_INDEX_BOUND = 2 ** 22;

/**
 * Whether a kernel over tensors of up to `elements` values computes its indices as integers: past
 * FLOAT_INDEX_BOUND float indices are inexact. Below it the sources stay as they were (floats, one
 * division per coordinate), so the kernels of every smaller tensor are unchanged.
 */
export const indexInts = (elements: number): boolean => elements > FLOAT_INDEX_BOUND;

/** `let name = expr;`, or with `int` the lines of an integer (intVar). */
export const letIndex = (name: string, expr: string, int: boolean): string[] => (int ? intVar(name, expr) : [`let ${name} = ${expr};`]);

/** The thread's flat output index `i`: I, or with `int` an integer. */
export const threadIndex = (int: boolean): string[] => (int ? intVar('i', 'this.thread.x') : [I]);

/**
 * Lines declaring q = ⌊a / d⌋ and r = a − q·d for an integer a ≥ 0. In floats one division (idiv). As
 * integers (`int`; a an integer expression below 2^31) the float quotient of a can be off by up to
 * 700/d + 1 (a rounded to float32, WGSL's division within 2.5 ulp), so the remainder, exact in integers
 * and within about 700 + 2d of the true one, is divided again (exact enough in floats at that size), and
 * a last step either way settles it.
 */
export function divMod(a: string, d: number, q: string, r: string, int: boolean): string[] {
  if (!int) return [`let ${q} = ${idiv(a, d)};`, `let ${r} = ${a} - ${q} * ${d};`];
  if (d === 1) return [...intVar(q, a), ...intVar(r, '0')];
  return [
    ...intVar(q, `Math.floor((${a} + 0.5) / ${d})`),
    ...intVar(r, `${a} - ${q} * ${d}`),
    ...intVar(`${q}e`, `Math.floor((${r} + 0.5) / ${d})`),
    `${q} = ${q} + ${q}e;`,
    `${r} = ${r} - ${q}e * ${d};`,
    `if (${r} < 0) { ${q} = ${q} - 1; ${r} = ${r} + ${d}; }`,
    `if (${r} >= ${d}) { ${q} = ${q} + 1; ${r} = ${r} - ${d}; }`,
  ];
}

/**
 * Lines declaring `name` a 32-bit integer, set to `expr` (a whole number). gpu.js declares every other
 * `let` a float, and a float index costs a float-to-integer conversion at each array read: NVIDIA GPUs
 * convert 16 values a clock per multiprocessor against 64–128 float multiply-adds (the CUDA programming
 * guide's throughput table). gpu.js makes a variable an integer only where it starts at an integer
 * literal and is incremented with `++` somewhere, hence the `++`. An integer offset plus a literal folds
 * into the load's address. Use it for the offsets a hot loop reads at; gpu.js's GL modes get floatVars.
 */
export function intVar(name: string, expr: string): string[] {
  return [`let ${name} = 0;`, `${name}++;`, `${name} = ${expr};`];
}

const INT_VAR = /let (\w+) = 0;\s*\1\+\+;\s*\1 = ([^;]*);/g;

/**
 * The source with intVar's integers declared as floats again (`let name = expr;`), for gpu.js's GL
 * modes: their code generator does not convert a float assigned to an integer, which GLSL rejects.
 */
export function floatVars(source: string): string {
  return source.replace(INT_VAR, 'let $1 = $2;');
}

/** Integer division that survives inexact float division (both operands non-negative integers). */
export function idiv(a: string, d: number): string {
  return d === 1 ? a : `Math.floor((${a} + 0.5) / ${d})`;
}

/**
 * Lines splitting the flat index `flat` over `shape` into coordinate variables; returns the coordinate
 * expressions (literal `0` for size-1 axes). With `int` the variables are integers (divMod).
 */
export function coords(shape: Shape, prefix: string, flat: string, int = false): { lines: string[]; c: string[] } {
  const lines: string[] = [];
  const c = new Array<string>(shape.length).fill('0');
  let rem = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (d === 0) {
      if (shape[0] !== 1) c[0] = rem;
      break;
    }
    const q = `${prefix}q${d}`;
    if (shape[d] === 1) lines.push(...letIndex(q, rem, int));
    else {
      lines.push(...divMod(rem, shape[d], q, `${prefix}${d}`, int));
      c[d] = `${prefix}${d}`;
    }
    rem = q;
  }
  return { lines, c };
}

/** Σ c[d]·strides[d], skipping zero terms. */
export function offset(c: readonly string[], strides: readonly number[]): string {
  const terms: string[] = [];
  for (let d = 0; d < c.length; d++) {
    if (strides[d] === 0 || c[d] === '0') continue;
    terms.push(strides[d] === 1 ? c[d] : `${c[d]} * ${strides[d]}`);
  }
  return terms.length ? terms.join(' + ') : '0';
}

/** The flat offset into an input of shape `from` read at output coordinates `c` under broadcasting. */
export function broadcastOffset(c: readonly string[], from: Shape, to: Shape): string {
  return offset(c, broadcastStrides(from, to));
}

/** The flat offset of coordinates `c` in a contiguous tensor of `shape`. */
export function contiguousOffset(c: readonly string[], shape: Shape): string {
  return offset(c, stridesOf(shape));
}

/**
 * Merges adjacent axes that broadcast alike in every input, so index math runs over as few axes as the
 * pattern allows. Returns the merged output shape and each input's merged shape (same rank).
 */
export function collapseBroadcast(inputs: readonly Shape[], out: Shape): { out: number[]; inputs: number[][] } {
  const rank = out.length;
  const padded = inputs.map((s) => [...new Array<number>(rank - s.length).fill(1), ...s]);
  const o: number[] = [];
  const ins: number[][] = inputs.map(() => []);
  for (let d = 0; d < rank; d++) {
    if (out[d] === 1) continue;
    const last = o.length - 1;
    // both read along this pair of axes or both broadcast it: the two axes act as one
    if (last >= 0 && padded.every((p, k) => (p[d] === 1) === (ins[k][last] === 1))) {
      o[last] *= out[d];
      padded.forEach((p, k) => (ins[k][last] *= p[d]));
    } else {
      o.push(out[d]);
      padded.forEach((p, k) => ins[k].push(p[d]));
    }
  }
  return { out: o, inputs: ins };
}

/** Lines naming n, c, y, x of an NCHW flat index `i` over [N, C, H, W] (integers with `int`). */
export function nchw(shape: Shape, names: [string, string, string, string], flat = 'i', int = false): string[] {
  const [, C, H, W] = shape;
  const [n, c, y, x] = names;
  return [...divMod(flat, W, 'q1', x, int), ...divMod('q1', H, 'q2', y, int), ...divMod('q2', C, n, c, int)];
}

/**
 * Lines that set `${v}` to t/s when integer t (possibly negative) is a multiple of s, and `${ok}` to 1
 * when it is and lands in [0, limit); `v` an integer with `int` (t is small: a coordinate, exact in floats).
 */
export function exactDiv(t: string, s: number, limit: number, v: string, ok: string, int = false): string[] {
  if (s === 1) return [...letIndex(v, t, int), `let ${ok} = 0;`, `if (${v} >= 0 && ${v} < ${limit}) { ${ok} = 1; }`];
  return [
    ...letIndex(v, `Math.floor((${t} + 0.5) / ${s})`, int),
    `let ${ok} = 0;`,
    `if (${v} * ${s} == ${t} && ${v} >= 0 && ${v} < ${limit}) { ${ok} = 1; }`,
  ];
}
