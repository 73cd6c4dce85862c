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

/** A kernel source from its parameter names and body lines. */
export function kernel(params: readonly string[], body: readonly string[]): string {
  return `function(${params.join(', ')}) {\n  ${body.join('\n  ')}\n}`;
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
 * expressions (literal `0` for size-1 axes).
 */
export function coords(shape: Shape, prefix: string, flat: string): { lines: string[]; c: string[] } {
  const lines: string[] = [];
  const c = new Array<string>(shape.length).fill('0');
  let rem = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (d === 0) {
      if (shape[0] !== 1) c[0] = rem;
      break;
    }
    const q = `${prefix}q${d}`;
    lines.push(`let ${q} = ${idiv(rem, shape[d])};`);
    if (shape[d] !== 1) {
      lines.push(`let ${prefix}${d} = ${rem} - ${q} * ${shape[d]};`);
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

/** Lines naming n, c, y, x of an NCHW flat index `i` over [N, C, H, W]. */
export function nchw(shape: Shape, names: [string, string, string, string], flat = 'i'): string[] {
  const [, C, H, W] = shape;
  const [n, c, y, x] = names;
  return [`let q1 = ${idiv(flat, W)};`, `let ${x} = ${flat} - q1 * ${W};`, `let q2 = ${idiv('q1', H)};`, `let ${y} = q1 - q2 * ${H};`, `let ${n} = ${idiv('q2', C)};`, `let ${c} = q2 - ${n} * ${C};`];
}

/**
 * Lines that set `${v}` to t/s when integer t (possibly negative) is a multiple of s, and `${ok}` to 1
 * when it is and lands in [0, limit).
 */
export function exactDiv(t: string, s: number, limit: number, v: string, ok: string): string[] {
  if (s === 1) return [`let ${v} = ${t};`, `let ${ok} = 0;`, `if (${v} >= 0 && ${v} < ${limit}) { ${ok} = 1; }`];
  return [
    `let ${v} = Math.floor((${t} + 0.5) / ${s});`,
    `let ${ok} = 0;`,
    `if (${v} * ${s} == ${t} && ${v} >= 0 && ${v} < ${limit}) { ${ok} = 1; }`,
  ];
}
