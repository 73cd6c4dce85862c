import type { BinaryOp, Pool2dGeometry, ReduceOp, ResizeMode, UnaryOp } from '../../backend.js';
import { sizeOf, stridesOf, type Shape } from '../../shape.js';
import { broadcastOffset, collapseBroadcast, contiguousOffset, coords, divMod, exactDiv, I, idiv, indexInts, kernel, letIndex, nchw, offset, threadIndex } from './codegen.js';

/**
 * Kernel sources of every primitive, one text for every gpu.js mode. Each returns plain JavaScript
 * that gpu.js parses; `this.thread.x` is the flat output index. No helper functions are used, so the
 * same text compiles under GLSL, WGSL, WebAssembly and JS without per-mode function plumbing. Past
 * codegen.ts's FLOAT_INDEX_BOUND a kernel computes its indices as integers (`indexInts`; webgpu then
 * runs it on tensors past the float32 index limit); below it, in floats as it always did.
 */

// log1p(u) without cancellation: log(1+u)·u/((1+u)−1) corrects the rounding of 1+u (Goldberg 1991)
const log1pLines = (u: string, out: string): string[] => [
  `let ${out}w = 1 + ${u};`,
  `let ${out} = ${u};`,
  `if (${out}w != 1) { ${out} = Math.log(${out}w) * ${u} / (${out}w - 1); }`,
];

/** Body lines of each unary op reading `x`, ending in a return. */
const unaryBodies: Record<UnaryOp, string[]> = {
  neg: ['return -x;'],
  exp: ['return Math.exp(x);'],
  log: ['return Math.log(x);'],
  log1p: [...log1pLines('x', 'r'), 'return r;'],
  sqrt: ['return Math.sqrt(x);'],
  abs: ['return Math.abs(x);'],
  sign: ['if (x > 0) { return 1; }', 'if (x < 0) { return -1; }', 'return 0;'],
  step: ['if (x > 0) { return 1; }', 'return 0;'],
  // the branch keeps exp's argument ≤ 0, so neither side overflows
  sigmoid: ['if (x >= 0) { return 1 / (1 + Math.exp(-x)); }', 'let e = Math.exp(x);', 'return e / (1 + e);'],
  // tanh via exp(−2|x|) ≤ 1: no overflow for large |x|, where some GPU tanh builtins return NaN
  tanh: [
    'let a = Math.abs(x);',
    'if (a < 0.0005) { return x - x * x * x / 3; }',
    'let e = Math.exp(-2 * a);',
    'let t = (1 - e) / (1 + e);',
    'if (x < 0) { return -t; }',
    'return t;',
  ],
  relu: ['if (x > 0) { return x; }', 'return 0;'],
  // softplus(x) = max(x, 0) + log1p(e^{−|x|})
  softplus: ['let e = Math.exp(-Math.abs(x));', ...log1pLines('e', 'l'), 'return Math.max(x, 0) + l;'],
  logSigmoid: ['let e = Math.exp(-Math.abs(x));', ...log1pLines('e', 'l'), 'return Math.min(x, 0) - l;'],
  square: ['return x * x;'],
  reciprocal: ['return 1 / x;'],
};

export function unarySource(op: UnaryOp): string {
  return kernel(['xs'], ['let x = xs[this.thread.x];', ...unaryBodies[op]], true);
}

/** Body lines of each binary op reading `a` and `b`. */
const binaryBodies: Record<BinaryOp, string[]> = {
  add: ['return a + b;'],
  sub: ['return a - b;'],
  mul: ['return a * b;'],
  div: ['return a / b;'],
  // GPU pow is exp2(b·log2(a)): undefined for a < 0, so odd/even integer powers take the sign by hand
  pow: [
    'if (b == 0) { return 1; }',
    'if (a < 0) {',
    '  if (b == Math.floor(b)) {',
    '    let r = Math.pow(-a, b);',
    '    let h = b * 0.5;',
    '    if (h == Math.floor(h)) { return r; }',
    '    return -r;',
    '  }',
    '}',
    'return Math.pow(a, b);',
  ],
  maximum: ['if (a >= b) { return a; }', 'return b;'],
  minimum: ['if (a <= b) { return a; }', 'return b;'],
  eq: ['if (a == b) { return 1; }', 'return 0;'],
  ne: ['if (a != b) { return 1; }', 'return 0;'],
  lt: ['if (a < b) { return 1; }', 'return 0;'],
  le: ['if (a <= b) { return 1; }', 'return 0;'],
  gt: ['if (a > b) { return 1; }', 'return 0;'],
  ge: ['if (a >= b) { return 1; }', 'return 0;'],
};

/** Reads of each input at the broadcast output index `i`, after collapsing axes; `int` as indexInts says. */
function broadcastReads(shapes: readonly Shape[], outShape: Shape): { lines: string[]; offs: string[]; int: boolean } {
  const col = collapseBroadcast(shapes, outShape);
  const int = indexInts(sizeOf(outShape));
  const { lines, c } = coords(col.out, 'c', 'i', int);
  const offs = col.inputs.map((s) => (sizeOf(s) === sizeOf(col.out) ? 'i' : broadcastOffset(c, s, col.out)));
  // coordinates nobody reads would only cost time
  const used = offs.some((o) => o !== 'i' && o !== '0');
  return { lines: used ? [...threadIndex(int), ...lines] : threadIndex(int), offs, int };
}

export function binarySource(op: BinaryOp, aShape: Shape, bShape: Shape, outShape: Shape): string {
  const { lines, offs, int } = broadcastReads([aShape, bShape], outShape);
  return kernel(['as', 'bs'], [...lines, `let a = as[${offs[0]}];`, `let b = bs[${offs[1]}];`, ...binaryBodies[op]], int);
}

export function whereSource(cShape: Shape, aShape: Shape, bShape: Shape, outShape: Shape): string {
  const { lines, offs, int } = broadcastReads([cShape, aShape, bShape], outShape);
  return kernel(['cs', 'as', 'bs'], [...lines, `if (cs[${offs[0]}] != 0) { return as[${offs[1]}]; }`, `return bs[${offs[2]}];`], int);
}

export function broadcastSource(shape: Shape, outShape: Shape): string {
  const { lines, offs, int } = broadcastReads([shape], outShape);
  return kernel(['xs'], [...lines, `return xs[${offs[0]}];`], int);
}

// `this.thread.x` is an integer in every mode: these index exactly at any size
export const copySource = kernel(['xs'], ['return xs[this.thread.x];'], true);
export const fillSource = kernel(['v'], ['return v;'], true);

/** α·a + β·b (the scalars as uniforms: one kernel serves every momentum). */
export const axpbySource = kernel(['as', 'alpha', 'bs', 'beta'], [I, 'return as[i] * alpha + bs[i] * beta;']);

/**
 * webgpu: batch norm's two running averages of c channels in one kernel, axpbySource's arithmetic, the
 * mean's at [0, c) and the variance's at [S, S + c) of one output, handed on as two views of it.
 */
export const runningUpdateSource = (c: number, stride: number): string =>
  kernel(['rm', 'rv', 'mu', 'va', 'keep', 'wm', 'wv'], [
    I,
    `if (i < ${stride}) { return rm[Math.min(i, ${c - 1})] * keep + mu[Math.min(i, ${c - 1})] * wm; }`,
    `let j = Math.min(i - ${stride}, ${c - 1});`,
    'return rv[j] * keep + va[j] * wv;',
  ]);

/** dy·step(x): relu's gradient in one kernel (the product keeps mul's signed zeros and NaN). */
export const reluGradSource = kernel(['dy', 'xs'], ['let s = 0;', 'if (xs[this.thread.x] > 0) { s = 1; }', 'return dy[this.thread.x] * s;'], true);

/**
 * Adam in three kernels (gpu.js kernels have one output each): m' and v' first, then θ' from them, in
 * the form of backend.ts's adamCoefficients. The numbers are uniforms, so one kernel serves every step.
 * (webgpu runs adamStepSource instead.)
 */
export const adamMomentSource = kernel(['gs', 'ps', 'ms', 'b1', 'c1', 'l2'], [I, 'let g = gs[i] + l2 * ps[i];', 'return b1 * ms[i] + c1 * g;']);
export const adamVelocitySource = kernel(['gs', 'ps', 'vs', 'b2', 'c2', 'l2'], [I, 'let g = gs[i] + l2 * ps[i];', 'return b2 * vs[i] + c2 * g * g;']);
export const adamThetaSource = kernel(['ps', 'ms', 'vs', 'decay', 'epsScaled', 'stepScaled'], [I, 'return ps[i] * decay - ms[i] / (Math.sqrt(vs[i]) + epsScaled) * stepScaled;']);

/**
 * webgpu: a whole Adam step of one parameter of n values in one kernel, m′ at [0, n), v′ at [S, S + n)
 * and θ′ at [2S, 2S + n) of one output (the gaps are zeros), handed on as three views of it; θ, m and v
 * may be such views. m′ and v′ are computed in each part again (a few flops, not a kernel call more).
 */
export const adamStepSource = (n: number, stride: number): string =>
  kernel(['gs', 'ps', 'ms', 'vs', 'b1', 'c1', 'b2', 'c2', 'l2', 'decay', 'epsScaled', 'stepScaled'], [
    I,
    `let part = Math.min(Math.floor((i + 0.5) / ${stride}), 2);`,
    `let j = i - part * ${stride};`,
    `if (j >= ${n}) { return 0; }`,
    'let g = gs[j] + l2 * ps[j];',
    'let m1 = b1 * ms[j] + c1 * g;',
    'if (part < 0.5) { return m1; }',
    'let v1 = b2 * vs[j] + c2 * g * g;',
    'if (part < 1.5) { return v1; }',
    'return ps[j] * decay - m1 / (Math.sqrt(v1) + epsScaled) * stepScaled;',
  ]);

/** Loop nest over `dims` with counters `${p}0…`; returns opening lines, closing lines and the counters. */
function loops(dims: readonly number[], p: string): { open: string[]; close: string[]; vars: string[] } {
  const vars = dims.map((_, k) => `${p}${k}`);
  return {
    open: dims.map((d, k) => `${'  '.repeat(k)}for (let ${vars[k]} = 0; ${vars[k]} < ${d}; ${vars[k]}++) {`),
    close: dims.map((_, k) => `${'  '.repeat(dims.length - 1 - k)}}`),
    vars,
  };
}

/**
 * Reduction: each output element folds the reduced axes with one loop per run of adjacent reduced
 * axes (a run is contiguous in memory, so it is one loop with one stride).
 */
export function reduceSource(op: ReduceOp, shape: Shape, axes: readonly number[]): string {
  const strides = stridesOf(shape);
  const outShape = shape.map((d, k) => (axes.includes(k) ? 1 : d));
  const int = indexInts(sizeOf(shape));
  const { lines, c } = coords(outShape, 'c', 'i', int);
  const base = offset(c, strides);
  const runs: { size: number; stride: number }[] = [];
  for (let k = 0; k < shape.length; k++) {
    if (!axes.includes(k) || shape[k] === 1) continue;
    const prev = runs[runs.length - 1];
    if (prev && prev.stride === strides[k] * shape[k]) {
      prev.size *= shape[k];
      prev.stride = strides[k];
    } else runs.push({ size: shape[k], stride: strides[k] });
  }
  const l = loops(runs.map((r) => r.size), 'r');
  const at = [base, ...runs.map((r, k) => (r.stride === 1 ? l.vars[k] : `${l.vars[k]} * ${r.stride}`))].filter((t) => t !== '0').join(' + ') || '0';
  const fold = op === 'sum' ? 'acc = acc + v;' : op === 'max' ? 'if (v > acc) { acc = v; }' : 'if (v < acc) { acc = v; }';
  // max/min start from the first element: GL has no infinity literal
  const init = op === 'sum' ? 'let acc = 0;' : `let acc = xs[${base}];`;
  return kernel(['xs'], [...threadIndex(int), ...lines, init, ...l.open, `let v = xs[${at}];`, fold, ...l.close, 'return acc;'], int);
}

/** A reduce as a split reduction (split.ts): output `o` at its coordinates, term `r` over the reduced axes. */
export function reduceTerms(shape: Shape, axes: readonly number[]): { terms: number; prelude: string[]; term: string[]; int: boolean } {
  const strides = stridesOf(shape);
  const outShape = shape.map((d, k) => (axes.includes(k) ? 1 : d));
  const int = indexInts(sizeOf(shape));
  const out = coords(outShape, 'c', 'o', int);
  const red = coords(axes.map((a) => shape[a]), 'e', 'r', int);
  const at = [offset(out.c, strides), offset(red.c, axes.map((a) => strides[a]))].filter((t) => t !== '0').join(' + ') || '0';
  return { terms: sizeOf(axes.map((a) => shape[a])), prelude: out.lines, term: [...red.lines, `let v = xs[${at}];`], int };
}

export function matmulSource(batchA: number, batchB: number, m: number, k: number, n: number, transA: boolean, transB: boolean): string {
  const int = indexInts(Math.max(batchA * m * k, batchB * k * n, Math.max(batchA, batchB) * m * n));
  const lines = [...threadIndex(int), ...divMod('i', m * n, 'bi', 'r', int), ...divMod('r', n, 'ii', 'jj', int)];
  const aBase = batchA === 1 ? '0' : `bi * ${m * k}`;
  const bBase = batchB === 1 ? '0' : `bi * ${k * n}`;
  const aAt = transA ? `${aBase} + p * ${m} + ii` : `${aBase} + ii * ${k} + p`;
  const bAt = transB ? `${bBase} + jj * ${k} + p` : `${bBase} + p * ${n} + jj`;
  return kernel(['as', 'bs'], [...lines, 'let acc = 0;', `for (let p = 0; p < ${k}; p++) {`, `  acc = acc + as[${aAt}] * bs[${bAt}];`, '}', 'return acc;'], int);
}

export function permuteSource(shape: Shape, perm: readonly number[]): string {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = stridesOf(shape);
  const int = indexInts(sizeOf(shape));
  const { lines, c } = coords(outShape, 'c', 'i', int);
  return kernel(['xs'], [...threadIndex(int), ...lines, `return xs[${offset(c, perm.map((p) => inStrides[p]))}];`], int);
}

export function sliceSource(shape: Shape, begin: readonly number[], size: readonly number[]): string {
  const int = indexInts(sizeOf(shape));
  const { lines, c } = coords(size, 'c', 'i', int);
  const strides = stridesOf(shape);
  const start = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  const off = offset(c, strides);
  return kernel(['xs'], [...threadIndex(int), ...lines, `return xs[${start === 0 ? off : off === '0' ? start : `${start} + ${off}`}];`], int);
}

/**
 * Concatenation of up to a few inputs viewed as [outer, chunk_k]: position p along the joined row picks
 * the input. Callers split long lists (GL kernels break beyond 32 array arguments, webgpu has few
 * storage buffers).
 */
export function concatSource(chunks: readonly number[], outer: number): string {
  const total = chunks.reduce((a, b) => a + b, 0);
  const names = chunks.map((_, k) => `x${k}`);
  const int = indexInts(outer * total);
  const body = [...threadIndex(int), ...divMod('i', total, 'o', 'p', int)];
  let start = 0;
  chunks.forEach((ch, k) => {
    const read = `return ${names[k]}[o * ${ch} + p - ${start}];`;
    body.push(k === chunks.length - 1 ? read : `if (p < ${start + ch}) { ${read} }`);
    start += ch;
  });
  return kernel(names, body, int);
}

export function padSource(shape: Shape, before: readonly number[], after: readonly number[]): string {
  const outShape = shape.map((d, k) => d + before[k] + after[k]);
  const int = indexInts(sizeOf(outShape));
  const { lines, c } = coords(outShape, 'c', 'i', int);
  const conds: string[] = [];
  const src = c.map((ck, d) => {
    if (before[d] === 0 && after[d] === 0) return ck;
    conds.push(`${ck} < ${before[d]}`, `${ck} >= ${before[d] + shape[d]}`);
    return before[d] === 0 ? ck : `(${ck} - ${before[d]})`;
  });
  const body = [...threadIndex(int), ...lines];
  if (conds.length) body.push(`if (${conds.join(' || ')}) { return v; }`);
  body.push(`return xs[${contiguousOffset(src, shape)}];`);
  return kernel(['xs', 'v'], body, int);
}

/**
 * out[i] = xs[idx[i]]: the thread index is an integer and the only float is the index read, exact up to
 * 2^24, which take() allows a float32 x at most; so this runs past 2^23 (exact).
 */
export const takeSource = kernel(['xs', 'idx'], ['let j = idx[this.thread.x];', 'return xs[j];'], true);

/** scatterAdd as a gather: output element o sums the values whose index is o (one pass over all). */
export function scatterAddSource(count: number): string {
  return kernel(['idx', 'vs'], [I, 'let acc = 0;', `for (let k = 0; k < ${count}; k++) {`, '  if (idx[k] == i) { acc = acc + vs[k]; }', '}', 'return acc;']);
}

// ---- image primitives (NCHW; the convolutions are in conv-kernels.ts) ----

/**
 * A kernel that visits every in-bounds cell of one pooling window (padding cells are skipped): `prelude`
 * declares its accumulators, `body` reads `v` (the cell's value) and `ky`, `kx`; `ret` returns the result.
 */
function poolWindowSource(xShape: Shape, outShape: Shape, g: Pool2dGeometry, prelude: string[], body: string, ret: string): string {
  const [, C, H, W] = xShape;
  const [KH, KW] = g.kernel;
  const [sh, sw] = g.stride;
  const [pt, , pl] = g.pad;
  const int = indexInts(sizeOf(xShape));
  return kernel(['xs'], [
    ...threadIndex(int),
    ...nchw(outShape, ['n', 'c', 'oy', 'ox'], 'i', int),
    ...letIndex('base', `(n * ${C} + c) * ${H * W}`, int),
    ...prelude,
    `for (let ky = 0; ky < ${KH}; ky++) {`,
    ...letIndex('iy', `oy * ${sh} - ${pt} + ky`, int).map((l) => `  ${l}`),
    `  if (iy >= 0 && iy < ${H}) {`,
    `    for (let kx = 0; kx < ${KW}; kx++) {`,
    ...letIndex('ix', `ox * ${sw} - ${pl} + kx`, int).map((l) => `      ${l}`),
    `      if (ix >= 0 && ix < ${W}) {`,
    `        let v = xs[base + iy * ${W} + ix];`,
    `        ${body}`,
    '      }',
    '    }',
    '  }',
    '}',
    ret,
  ], int);
}

/**
 * Position within the window (ky·KW + kx) of its first maximum, scanning row-major; padding never wins.
 * With `value` the kernel returns the maximum itself instead.
 */
export function maxPoolSource(xShape: Shape, outShape: Shape, g: Pool2dGeometry, value: boolean): string {
  return poolWindowSource(xShape, outShape, g, ['let best = 0;', 'let at = -1;'], `if (at < 0 || v > best) { best = v; at = ky * ${g.kernel[1]} + kx; }`, value ? 'return best;' : 'return at;');
}

/** dx[y, x] = Σ over windows whose first maximum is (y, x) of dy[window]; `args` holds the argmax per window. */
export function maxPoolBackwardSource(xShape: Shape, outShape: Shape, g: Pool2dGeometry): string {
  return poolGather(xShape, outShape, g, ['dys', 'args'], (at) => `if (args[${at}] == ky * ${g.kernel[1]} + kx) { acc = acc + dys[${at}]; }`, 'return acc;');
}

/**
 * maxPoolBackwardSource in one kernel where windows tile the input without overlap or padding (stride =
 * kernel, pad 0: U-Net's 2×2 pool): each input cell lies in at most one window, finds that window's first
 * maximum itself, and takes its dy if that is the cell.
 */
export function maxPoolBackwardTiledSource(xShape: Shape, outShape: Shape, g: Pool2dGeometry): string {
  const [, C, H, W] = xShape;
  const [, , OH, OW] = outShape;
  const [KH, KW] = g.kernel;
  const int = indexInts(sizeOf(xShape));
  return kernel(['dys', 'xs'], [
    ...threadIndex(int),
    ...nchw(xShape, ['n', 'c', 'y', 'x'], 'i', int),
    ...divMod('y', KH, 'oy', 'ry', int),
    ...divMod('x', KW, 'ox', 'rx', int),
    `if (oy >= ${OH} || ox >= ${OW}) { return 0; }`,
    ...letIndex('base', `(n * ${C} + c) * ${H * W} + oy * ${KH * W} + ox * ${KW}`, int),
    'let best = 0;',
    'let at = -1;',
    `for (let ky = 0; ky < ${KH}; ky++) {`,
    `  for (let kx = 0; kx < ${KW}; kx++) {`,
    `    let v = xs[base + ky * ${W} + kx];`,
    `    if (at < 0 || v > best) { best = v; at = ky * ${KW} + kx; }`,
    '  }',
    '}',
    `if (at == ry * ${KW} + rx) { return dys[((n * ${C} + c) * ${OH} + oy) * ${OW} + ox]; }`,
    'return 0;',
  ], int);
}

/** Whether the windows of a pool tile its input without overlap or padding (maxPoolBackwardTiledSource applies). */
export const poolTiles = (xShape: Shape, outShape: Shape, g: Pool2dGeometry): boolean =>
  g.stride[0] === g.kernel[0] && g.stride[1] === g.kernel[1] && g.pad.every((p) => p === 0) && outShape[2] * g.kernel[0] <= xShape[2] && outShape[3] * g.kernel[1] <= xShape[3];

export function avgPoolSource(xShape: Shape, outShape: Shape, g: Pool2dGeometry): string {
  return poolWindowSource(xShape, outShape, g, ['let acc = 0;'], 'acc = acc + v;', `return acc / ${g.kernel[0] * g.kernel[1]};`);
}

export function avgPoolBackwardSource(xShape: Shape, outShape: Shape, g: Pool2dGeometry): string {
  return poolGather(xShape, outShape, g, ['dys'], (at) => `acc = acc + dys[${at}];`, `return acc / ${g.kernel[0] * g.kernel[1]};`);
}

/** Input-side gather over the windows covering (y, x): window (oy, ox) covers it at offset (ky, kx). */
function poolGather(xShape: Shape, outShape: Shape, g: Pool2dGeometry, params: string[], add: (at: string) => string, ret: string): string {
  const [, C] = xShape;
  const [, , OH, OW] = outShape;
  const [KH, KW] = g.kernel;
  const [sh, sw] = g.stride;
  const [pt, , pl] = g.pad;
  const int = indexInts(sizeOf(xShape));
  return kernel(params, [
    ...threadIndex(int),
    ...nchw(xShape, ['n', 'c', 'y', 'x'], 'i', int),
    ...letIndex('obase', `(n * ${C} + c) * ${OH * OW}`, int),
    'let acc = 0;',
    `for (let ky = 0; ky < ${KH}; ky++) {`,
    ...exactDiv(`(y + ${pt} - ky)`, sh, OH, 'oy', 'oky', int).map((s) => `  ${s}`),
    '  if (oky == 1) {',
    `    for (let kx = 0; kx < ${KW}; kx++) {`,
    ...exactDiv(`(x + ${pl} - kx)`, sw, OW, 'ox', 'okx', int).map((s) => `      ${s}`),
    `      if (okx == 1) { ${add(`obase + oy * ${OW} + ox`)} }`,
    '    }',
    '  }',
    '}',
    ret,
  ], int);
}

/**
 * Lines computing the taps of output index `o` along one axis (in → out): `${p}0`, `${p}1` and weight
 * `${p}l` with value = (1 − l)·in[p0] + l·in[p1]. Nearest: floor(o·in/out); bilinear: half-pixel
 * centres, negative source coordinates clamped to 0 (PyTorch, align_corners=False).
 */
function taps(o: string, inSize: number, outSize: number, mode: ResizeMode, p: string, int = false): string[] {
  // o is a coordinate (exact in floats); the taps are indices, integers with `int`
  if (mode === 'nearest') {
    return [...letIndex(`${p}0`, `Math.min(${idiv(`${o} * ${inSize}`, outSize)}, ${inSize - 1})`, int), ...letIndex(`${p}1`, `${p}0`, int), `let ${p}l = 0;`];
  }
  return [
    `let ${p}s = Math.max(0, (${o} + 0.5) * ${inSize / outSize} - 0.5);`,
    ...letIndex(`${p}0`, `Math.min(Math.floor(${p}s), ${inSize - 1})`, int),
    ...letIndex(`${p}1`, `Math.min(${p}0 + 1, ${inSize - 1})`, int),
    `let ${p}l = ${p}s - ${p}0;`,
  ];
}

export function resizeSource(xShape: Shape, outH: number, outW: number, mode: ResizeMode): string {
  const [N, C, H, W] = xShape;
  const int = indexInts(N * C * Math.max(H * W, outH * outW));
  return kernel(['xs'], [
    ...threadIndex(int),
    ...divMod('i', outW, 'q', 'ox', int),
    ...divMod('q', outH, 'p', 'oy', int),
    ...letIndex('base', `p * ${H * W}`, int),
    ...taps('oy', H, outH, mode, 'ty', int),
    ...taps('ox', W, outW, mode, 'tx', int),
    `let top = (1 - txl) * xs[base + ty0 * ${W} + tx0] + txl * xs[base + ty0 * ${W} + tx1];`,
    `let bottom = (1 - txl) * xs[base + ty1 * ${W} + tx0] + txl * xs[base + ty1 * ${W} + tx1];`,
    'return (1 - tyl) * top + tyl * bottom;',
  ], int);
}

/**
 * The adjoint of resize as a gather: input index y collects from the outputs whose taps include it.
 * Those outputs lie within a window of about 2·out/in around y·out/in; the loop walks a safe superset
 * and each candidate recomputes its forward taps, so extra candidates add zero.
 */
function candidates(inSize: number, outSize: number): { start: (v: string) => string; count: number } {
  const r = outSize / inSize;
  return { start: (v) => `Math.floor((${v} - 1) * ${r}) - 2`, count: Math.ceil(3 * r) + 5 };
}

export function resizeBackwardSource(xShape: Shape, outH: number, outW: number, mode: ResizeMode): string {
  const [N, C, H, W] = xShape;
  const cy = candidates(H, outH);
  const cx = candidates(W, outW);
  const int = indexInts(N * C * Math.max(H * W, outH * outW));
  return kernel(['dys'], [
    ...threadIndex(int),
    ...divMod('i', W, 'q', 'x', int),
    ...divMod('q', H, 'p', 'y', int),
    ...letIndex('obase', `p * ${outH * outW}`, int),
    `let sy = ${cy.start('y')};`,
    `let sx = ${cx.start('x')};`,
    'let acc = 0;',
    `for (let a = 0; a < ${cy.count}; a++) {`,
    ...letIndex('oy', 'sy + a', int).map((s) => `  ${s}`),
    `  if (oy >= 0 && oy < ${outH}) {`,
    ...taps('oy', H, outH, mode, 'ty', int).map((s) => `    ${s}`),
    '    let wy = 0;',
    '    if (ty0 == y) { wy = wy + 1 - tyl; }',
    '    if (ty1 == y) { wy = wy + tyl; }',
    '    if (wy != 0) {',
    `      for (let b = 0; b < ${cx.count}; b++) {`,
    ...letIndex('ox', 'sx + b', int).map((s) => `        ${s}`),
    `        if (ox >= 0 && ox < ${outW}) {`,
    ...taps('ox', W, outW, mode, 'tx', int).map((s) => `          ${s}`),
    '          let wx = 0;',
    '          if (tx0 == x) { wx = wx + 1 - txl; }',
    '          if (tx1 == x) { wx = wx + txl; }',
    `          acc = acc + wy * wx * dys[obase + oy * ${outW} + ox];`,
    '        }',
    '      }',
    '    }',
    '  }',
    '}',
    'return acc;',
  ], int);
}
