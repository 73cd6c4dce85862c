import type { Conv2dGeometry } from '../../backend.js';
import { sizeOf, type Shape } from '../../shape.js';
import { divMod, exactDiv, I, idiv, indexInts, intVar, kept, kernel, letIndex, nchw, threadIndex, widthFor } from './codegen.js';

/**
 * Kernel sources of the convolutions: forward, input gradient and filter gradient. A source comes with
 * its `width`, the outputs each thread computes. gpu.js runs one thread an output, but a kernel may
 * return an array of up to 4 values (webgpu only, where the batch binds them as consecutive floats):
 * neighbouring outputs then share the loads of their common inputs and weights, kept in registers.
 */
export interface ConvSource {
  source: string;
  /** Consecutive outputs per thread: the kernel runs size / width threads. */
  width: number;
}

/**
 * What a conv kernel makes of its sum: `value(acc, y)` gives lines declaring `y` from the sum `acc`,
 * with parameters of its own read at the output channel (`oc` in conv2d, `ic` in conv2dBackwardInput).
 */
export interface Epilogue {
  /** Names the epilogue in the source cache's keys. */
  name: string;
  params: string[];
  value(acc: string, y: string): string[];
}
const plain: Epilogue = { name: 'plain', params: [], value: (acc, y) => [`let ${y} = ${acc};`] };

/** conv2dAffine's epilogue: acc·scale[c] + shift[c], then max(·, 0) with `relu`. */
export const affineEpilogue = (relu: boolean): Epilogue => ({
  name: relu ? 'affine-relu' : 'affine',
  params: ['sc', 'sf'],
  value: (acc, y) =>
    relu ? [`let ${y}t = ${acc} * sc[oc] + sf[oc];`, `let ${y} = 0;`, `if (${y}t > 0) { ${y} = ${y}t; }`] : [`let ${y} = ${acc} * sc[oc] + sf[oc];`],
});

/** convTranspose2dBias's epilogue (on conv2dBackwardInput, whose output channel is `ic`): acc + bias[c]. */
export const biasEpilogue: Epilogue = { name: 'bias', params: ['bs'], value: (acc, y) => [`let ${y} = ${acc} + bs[ic];`] };

/** The lines returning sums a0 … a(width−1) through `epilogue`: one value, or an array of them. */
function returnLines(epilogue: Epilogue, width: number): string[] {
  const ys = Array.from({ length: width }, (_, j) => `y${j}`);
  const lines = ys.flatMap((y, j) => epilogue.value(`a${j}`, y));
  return [...lines, width === 1 ? 'return y0;' : `return [${ys.join(', ')}];`];
}

/** A convolution's geometry as a cache key. */
const geometryKey = (g: Conv2dGeometry): string => `${g.stride}/${g.pad}/${g.dilation}/${g.groups}`;

/** `expr + c` written without a `+ -` (and without `+ 0`). */
const plus = (expr: string, c: number): string => (c === 0 ? expr : c > 0 ? `${expr} + ${c}` : `${expr} - ${-c}`);

/**
 * A direct convolution: out[n, o, oy, ox] = Σ_{l < loops, ky, kx} in[n, base + l, oy·sh + rowOff[ky],
 * ox·sw + colOff[kx]]·w[wBase + l·wStep + ky·KW + kx], cells outside `in` counting zero. conv2d and the
 * stride-1 input gradient are this with their own offsets and channel walks.
 */
interface DirectConv {
  /** The name of the array read (xs or dys) and the output's coordinate names. */
  input: string;
  names: [string, string, string, string];
  outShape: Shape;
  /** The input's channels, rows and columns. */
  C: number; H: number; W: number;
  sh: number; sw: number;
  rowOff: number[]; colOff: number[];
  /**
   * Lines naming the input channel of the first loop step, `cbase`, and the weight offset of it, `wbase`
   * (integers with `int`).
   */
  channel: (int: boolean) => string[];
  loops: number;
  wStep: number;
}

/**
 * gpu.js writes index arithmetic in floats, which shader compilers may not simplify, so the kernel does
 * it by hand: which tap rows and columns lie inside the image is settled once per thread, the taps are
 * written out with their offsets as literals, and per loop step only two base offsets move, integers
 * (intVar) in webgpu. Each thread computes `width` neighbouring outputs of a row: it loads each input
 * column its taps reach once per tap row, each weight once, and does width multiply-adds with them.
 */
function directConvSource(d: DirectConv, epilogue: Epilogue, width: number): string {
  const [, O, OH, OW] = d.outShape;
  const KH = d.rowOff.length;
  const KW = d.colOff.length;
  const [n, o, oy, ox] = d.names;
  // the input columns thread j's tap kx reads, relative to ox·sw: one register each
  const cols = [...new Set(d.colOff.flatMap((c) => Array.from({ length: width }, (_, j) => c + j * d.sw)))].sort((a, b) => a - b);
  const colIndex = new Map(cols.map((c, k) => [c, k]));
  const inside: string[] = [];
  d.rowOff.forEach((r, ky) => inside.push(`let iy${ky} = ${plus(`${oy} * ${d.sh}`, r)};`, `let vy${ky} = 0;`, `if (iy${ky} >= 0 && iy${ky} < ${d.H}) { vy${ky} = 1; }`));
  cols.forEach((c, k) => inside.push(`let ix${k} = ${plus(`${ox} * ${d.sw}`, c)};`, `let vx${k} = 0;`, `if (ix${k} >= 0 && ix${k} < ${d.W}) { vx${k} = 1; }`));
  const taps: string[] = [];
  d.rowOff.forEach((r, ky) => {
    taps.push(`  if (vy${ky} == 1) {`);
    for (let k = 0; k < cols.length; k++) taps.push(`    let u${ky}_${k} = 0;`, `    if (vx${k} == 1) { u${ky}_${k} = ${d.input}[${plus('xc', r * d.W + cols[k])}]; }`);
    d.colOff.forEach((c, kx) => {
      taps.push(`    let w${ky}_${kx} = ws[${plus('wc', ky * KW + kx)}];`);
      for (let j = 0; j < width; j++) taps.push(`    a${j} = a${j} + u${ky}_${colIndex.get(c + j * d.sw)} * w${ky}_${kx};`);
    });
    taps.push('  }');
  });
  const Q = OW / width;
  const int = indexInts(Math.max(sizeOf(d.outShape), d.outShape[0] * d.C * d.H * d.W));
  return kernel([d.input, 'ws', ...epilogue.params], [
    ...threadIndex(int),
    ...(width === 1 ? nchw(d.outShape, d.names, 'i', int) : [...nchw([0, O, OH, Q], [n, o, oy, `${ox}q`], 'i', int), ...letIndex(ox, `${ox}q * ${width}`, int)]),
    ...d.channel(int),
    ...Array.from({ length: width }, (_, j) => `let a${j} = 0;`),
    ...inside,
    // the input at row oy·sh, column ox·sw of the first channel (taps add their offsets; a padding tap is never read)
    ...intVar('xc', `(cbase * ${d.H} + ${oy} * ${d.sh}) * ${d.W} + ${ox} * ${d.sw}`),
    ...intVar('wc', 'wbase'),
    `for (let l = 0; l < ${d.loops}; l++) {`,
    ...taps,
    `  xc = xc + ${d.H * d.W};`,
    `  wc = wc + ${d.wStep};`,
    '}',
    ...returnLines(epilogue, width),
  ], int);
}

/**
 * y[n, oc, oy, ox] = Σ_{ci, ky, kx} x[n, ic0 + ci, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw]·w[oc, ci, ky, kx],
 * up to `most` neighbouring outputs a thread (directConvSource; 3×3 convolutions on SwiftShader: 20–35 %
 * less device time for the literal taps, 25–30 % less again for the integer offsets, about half again
 * for four outputs a thread).
 */
export function conv2dSource(xShape: Shape, wShape: Shape, outShape: Shape, g: Conv2dGeometry, epilogue: Epilogue = plain, most = 1): ConvSource {
  return kept(`conv2d|${xShape}|${wShape}|${outShape}|${geometryKey(g)}|${epilogue.name}|${most}`, () => forwardSource(xShape, wShape, outShape, g, epilogue, most));
}

function forwardSource(xShape: Shape, wShape: Shape, outShape: Shape, g: Conv2dGeometry, epilogue: Epilogue, most: number): ConvSource {
  const [, C, H, W] = xShape;
  const [O, Cg, KH, KW] = wShape;
  const Og = O / g.groups;
  const [pt, , pl] = g.pad;
  const [dh, dw] = g.dilation;
  const width = widthFor(outShape[3], most);
  const source = directConvSource(
    {
      input: 'xs', names: ['n', 'oc', 'oy', 'ox'], outShape, C, H, W, sh: g.stride[0], sw: g.stride[1],
      rowOff: Array.from({ length: KH }, (_, ky) => ky * dh - pt),
      colOff: Array.from({ length: KW }, (_, kx) => kx * dw - pl),
      channel: (int) => [...divMod('oc', Og, 'grp', 'og', int), ...letIndex('cbase', `n * ${C} + grp * ${Cg}`, int), ...letIndex('wbase', `oc * ${Cg * KH * KW}`, int)],
      loops: Cg,
      wStep: KH * KW,
    },
    epilogue,
    width,
  );
  return { source, width };
}

/**
 * dx[n, ic, y, x] = Σ_{oc in ic's group, ky, kx : y = oy·sh − pt + ky·dh, …} dy[n, oc, oy, ox]·w[oc, ic − g·Cg, ky, kx].
 * With stride 1 it is a direct convolution of dy (rows y + pt − ky·dh, columns x + pl − kx·dw), up to
 * `most` outputs a thread (directConvSource); otherwise which taps land on dy is found per tap, the
 * channel loop innermost, reading dy and w at integer offsets (intVar) that step one channel on.
 */
export function conv2dBackwardInputSource(dyShape: Shape, wShape: Shape, xShape: Shape, g: Conv2dGeometry, epilogue: Epilogue = plain, most = 1): ConvSource {
  return kept(`conv2dBackwardInput|${dyShape}|${wShape}|${xShape}|${geometryKey(g)}|${epilogue.name}|${most}`, () => inputGradSource(dyShape, wShape, xShape, g, epilogue, most));
}

function inputGradSource(dyShape: Shape, wShape: Shape, xShape: Shape, g: Conv2dGeometry, epilogue: Epilogue, most: number): ConvSource {
  const [, O, OH, OW] = dyShape;
  const [, Cg, KH, KW] = wShape;
  const Og = O / g.groups;
  const [sh, sw] = g.stride;
  const [pt, , pl] = g.pad;
  const [dh, dw] = g.dilation;
  const width = widthFor(xShape[3], most);
  if (sh === 1 && sw === 1) {
    const source = directConvSource(
      {
        input: 'dys', names: ['n', 'ic', 'y', 'x'], outShape: xShape, C: O, H: OH, W: OW, sh: 1, sw: 1,
        rowOff: Array.from({ length: KH }, (_, ky) => pt - ky * dh),
        colOff: Array.from({ length: KW }, (_, kx) => pl - kx * dw),
        channel: (int) => [...divMod('ic', Cg, 'grp', 'gi', int), ...letIndex('cbase', `n * ${O} + grp * ${Og}`, int), ...letIndex('wbase', `(grp * ${Og * Cg} + gi) * ${KH * KW}`, int)],
        loops: Og,
        wStep: Cg * KH * KW,
      },
      epilogue,
      width,
    );
    return { source, width };
  }
  if (KH === sh && KW === sw && g.pad.every((p) => p === 0) && dh === 1 && dw === 1 && width % sw === 0) {
    return { source: patchInputGradSource(dyShape, wShape, xShape, g.groups, epilogue, width), width };
  }
  const int = indexInts(Math.max(sizeOf(xShape), sizeOf(dyShape)));
  const source = kernel(['dys', 'ws', ...epilogue.params], [
    ...threadIndex(int),
    ...nchw(xShape, ['n', 'ic', 'y', 'x'], 'i', int),
    ...divMod('ic', Cg, 'grp', 'ci', int),
    'let a0 = 0;',
    `for (let ky = 0; ky < ${KH}; ky++) {`,
    ...exactDiv(`(y + ${pt} - ky * ${dh})`, sh, OH, 'oy', 'oky', int).map((s) => `  ${s}`),
    '  if (oky == 1) {',
    `    for (let kx = 0; kx < ${KW}; kx++) {`,
    ...exactDiv(`(x + ${pl} - kx * ${dw})`, sw, OW, 'ox', 'okx', int).map((s) => `      ${s}`),
    '      if (okx == 1) {',
    // dy and w at the group's first output channel, then a channel on per step
    ...intVar('dyo', `((n * ${O} + grp * ${Og}) * ${OH} + oy) * ${OW} + ox`).map((l) => `        ${l}`),
    ...intVar('wo', `((grp * ${Og * Cg} + ci) * ${KH} + ky) * ${KW} + kx`).map((l) => `        ${l}`),
    `        for (let oo = 0; oo < ${Og}; oo++) {`,
    '          a0 = a0 + dys[dyo] * ws[wo];',
    `          dyo = dyo + ${OH * OW};`,
    `          wo = wo + ${Cg * KH * KW};`,
    '        }',
    '      }',
    '    }',
    '  }',
    '}',
    ...returnLines(epilogue, 1),
  ], int);
  return { source, width: 1 };
}

/**
 * The input gradient where the filter's patches tile the input (stride = kernel, no padding or dilation:
 * U-Net's 2 × 2 up-convolutions run forward as this): cell (y, x) takes tap (y mod KH, x mod KW) of output
 * pixel (y div KH, x div KW) alone, or nothing in the rows past the last patch. A thread computes
 * `width` neighbouring cells (a multiple of KW, and W of width, so every column lies in a patch), KW of
 * them per dy value: per output channel it loads width / KW dy values and KW weights for `width`
 * multiply-adds, with no division per tap.
 */
function patchInputGradSource(dyShape: Shape, wShape: Shape, xShape: Shape, groups: number, epilogue: Epilogue, width: number): string {
  const [, O, OH, OW] = dyShape;
  const [, Cg, KH, KW] = wShape;
  const Og = O / groups;
  const [, C, H, W] = xShape;
  const dyCols = width / KW;
  const lines: string[] = [];
  for (let t = 0; t < dyCols; t++) lines.push(`    let d${t} = dys[${plus('dyo', t)}];`);
  for (let kx = 0; kx < KW; kx++) lines.push(`    let w${kx} = ws[${plus('wo', kx)}];`);
  for (let j = 0; j < width; j++) lines.push(`    a${j} = a${j} + d${Math.floor(j / KW)} * w${j % KW};`);
  const int = indexInts(Math.max(sizeOf(xShape), sizeOf(dyShape)));
  return kernel(['dys', 'ws', ...epilogue.params], [
    ...threadIndex(int),
    ...nchw([0, C, H, W / width], ['n', 'ic', 'y', 'xq'], 'i', int),
    ...letIndex('ox', `xq * ${width / KW}`, int),
    ...divMod('y', KH, 'oy', 'ky', int),
    ...divMod('ic', Cg, 'grp', 'gi', int),
    ...Array.from({ length: width }, (_, j) => `let a${j} = 0;`),
    `if (oy < ${OH}) {`,
    ...intVar('dyo', `((n * ${O} + grp * ${Og}) * ${OH} + oy) * ${OW} + ox`).map((l) => `  ${l}`),
    ...intVar('wo', `((grp * ${Og * Cg} + gi) * ${KH} + ky) * ${KW}`).map((l) => `  ${l}`),
    `  for (let oo = 0; oo < ${Og}; oo++) {`,
    ...lines,
    `    dyo = dyo + ${OH * OW};`,
    `    wo = wo + ${Cg * KH * KW};`,
    '  }',
    '}',
    ...returnLines(epilogue, width),
  ], int);
}

/**
 * dw[oc, ci, ky, kx] = Σ_{n, oy, ox} dy[n, oc, oy, ox]·x[n, g·Cg + ci, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw],
 * over the N·OH output rows, whole rows per thread: with plan.P = 1 one thread a weight over every row,
 * else P partials of plan.R rows each ([P, weights], rowSplitPlan; combinePartials folds them). The row's
 * dy and x offsets are integers moved on per row and per image, so the inner loop reads at an integer
 * plus the loop index: no division and no float index per term. Where `most` allows and columns step by
 * one (sw = dw = 1, 2 ≤ KW ≤ most), a thread computes a whole filter row, kx = 0 … KW − 1: along an
 * output row it loads one dy and one new x a step and slides the KW columns it holds on by one.
 */
export function conv2dBackwardFilterSource(xShape: Shape, dyShape: Shape, wShape: Shape, g: Conv2dGeometry, plan: { P: number; R: number }, most = 1): ConvSource {
  return kept(`conv2dBackwardFilter|${xShape}|${dyShape}|${wShape}|${geometryKey(g)}|${plan.P},${plan.R}|${most}`, () => filterGradSource(xShape, dyShape, wShape, g, plan, most));
}

function filterGradSource(xShape: Shape, dyShape: Shape, wShape: Shape, g: Conv2dGeometry, plan: { P: number; R: number }, most: number): ConvSource {
  const [N, C, H, W] = xShape;
  const [, O, OH, OW] = dyShape;
  const [, Cg, KH, KW] = wShape;
  const Og = O / g.groups;
  const [sh, sw] = g.stride;
  const [pt, , pl] = g.pad;
  const [dh, dw] = g.dilation;
  const { P, R } = plan;
  const width = sw === 1 && dw === 1 && KW >= 2 && KW <= most ? KW : 1;
  // a thread's outputs: one weight, or (width > 1) a filter row [oc, ci, ky] of KW weights
  const outputs = sizeOf(wShape) / width;
  const int = indexInts(Math.max(sizeOf(xShape), sizeOf(dyShape)));
  const decode = (flat: string): string[] =>
    width === 1 ? nchw(wShape, ['oc', 'ci', 'ky', 'kx'], flat, int) : nchw([0, O, Cg, KH], ['wq', 'oc', 'ci', 'ky'], flat, int);
  const rowsLeft = P === 1 ? [] : intVar('rows', `Math.min(${R}, ${N * OH} - q0)`);
  const accs = Array.from({ length: width }, (_, j) => `a${j}`);
  // x at the row's columns ox − pl + kx: width 1 reads its tap's, guarded; a filter row slides u0 … u(KW−1)
  const inner =
    width === 1
      ? [`        if (ox * ${sw} + ix0 >= 0 && ox * ${sw} + ix0 < ${W}) { a0 = a0 + dys[dyo + ox] * xs[xo + ox * ${sw}]; }`]
      : [
          '        let d = dys[dyo + ox];',
          `        let u${KW - 1} = 0;`,
          `        if (${plus('ox', KW - 1 - pl)} >= 0 && ${plus('ox', KW - 1 - pl)} < ${W}) { u${KW - 1} = xs[xo + ox + ${KW - 1}]; }`,
          ...accs.map((a, kx) => `        ${a} = ${a} + d * u${kx};`),
          ...Array.from({ length: KW - 1 }, (_, k) => `        u${k} = u${k + 1};`),
        ];
  // the first KW − 1 columns of a row, before ox = 0 moves them on
  const preload =
    width === 1
      ? []
      : Array.from({ length: KW - 1 }, (_, k) => [`      let u${k} = 0;`, ...(k - pl >= 0 && k - pl < W ? [`      u${k} = xs[xo + ${k}];`] : [])]).flat();
  const source = kernel(['xs', 'dys'], [
    ...threadIndex(int),
    ...(P === 1 ? [...decode('i'), ...letIndex('q0', '0', int)] : [...divMod('i', outputs, 'p', 'wi', int), ...decode('wi'), ...letIndex('q0', `p * ${R}`, int)]),
    ...letIndex('ic', `${idiv('oc', Og)} * ${Cg} + ci`, int),
    // the thread's first row (n0, oy0); the tap's row and column at output pixel (0, 0)
    ...divMod('q0', OH, 'n0', 'oy0', int),
    ...rowsLeft,
    ...intVar('oy', 'oy0'),
    ...intVar('iy0', `ky * ${dh} - ${pt}`),
    // ix0 and the kx term for one tap a thread; a filter row starts at kx = 0
    ...(width === 1 ? intVar('ix0', `kx * ${dw} - ${pl}`) : []),
    ...intVar('dyo', `((n0 * ${O} + oc) * ${OH} + oy0) * ${OW}`),
    ...intVar('xo', `((n0 * ${C} + ic) * ${H} + oy0 * ${sh} + ky * ${dh} - ${pt}) * ${W}${width === 1 ? ` + kx * ${dw}` : ''} - ${pl}`),
    ...accs.map((a) => `let ${a} = 0;`),
    `for (let q = 0; q < ${R}; q++) {`,
    ...(P === 1 ? [] : ['  if (q < rows) {']),
    `    if (oy * ${sh} + iy0 >= 0 && oy * ${sh} + iy0 < ${H}) {`,
    ...preload,
    `      for (let ox = 0; ox < ${OW}; ox++) {`,
    ...inner,
    '      }',
    '    }',
    `    dyo = dyo + ${OW};`,
    `    xo = xo + ${sh * W};`,
    '    oy = oy + 1;',
    `    if (oy == ${OH}) {`,
    '      oy = 0;',
    `      dyo = dyo + ${(O - 1) * OH * OW};`,
    `      xo = xo + ${(C * H - OH * sh) * W};`,
    '    }',
    ...(P === 1 ? [] : ['  }']),
    '}',
    width === 1 ? 'return a0;' : `return [${accs.join(', ')}];`,
  ], int);
  return { source, width };
}
