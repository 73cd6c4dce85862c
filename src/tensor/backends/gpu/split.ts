import { divMod, idiv, intVar, kept, kernel, letIndex, threadIndex } from './codegen.js';
import type { Device, GpuHandle, KernelArg } from './device.js';

/**
 * Long reductions in two kernels. A kernel computes one output per thread, so a reduction of many
 * terms into few outputs (a loss summed over a batch, batch-norm statistics over N·H·W, a filter
 * gradient over every output pixel) leaves most of a GPU idle while a few threads loop over 10⁵ terms
 * each. Split, each thread folds a chunk of CHUNK terms into a partial ([P, outputs]) and a second
 * kernel folds the P partials of each output. Shorter reductions keep one kernel.
 */

/** Terms folded per thread of a split reduction. */
export const CHUNK = 1024;
/** Reductions of fewer terms per output run as one kernel. */
export const SPLIT_FROM = 4 * CHUNK;
/** Most partials (P · outputs) one split may write: its buffer stays far under float32 index limits. */
const MAX_PARTIALS = 2 ** 22;

export interface Reduction {
  /** The primitive's name, for errors and the profile. */
  op: string;
  /** Parameter names of the term kernel and the arguments bound to them. */
  params: string[];
  args: KernelArg[];
  outputs: number;
  /** Terms per output. */
  terms: number;
  /** Lines run once per thread with `o`, the output index, defined. */
  prelude?: string[];
  /** Lines that set `v`, the term at reduced index `r` (0 ≤ r < terms) of output `o`. */
  term: string[];
  fold: 'sum' | 'max' | 'min';
  /** The result from the folded `acc` of output `o` (default `acc`), with its own parameters. */
  result?: { expr: string; params?: string[]; args?: KernelArg[] };
  /**
   * Terms that are the (N, H, W) cells of channel `channel` (an expression of the prelude) of an
   * [N, C, hw] tensor: `at`, the flat index of term r, is kept for the term lines (channelWalk).
   */
  walk?: { channel: string; c: number; hw: number };
  /**
   * The term kernel's indices as integers (codegen.ts's indexInts of the largest input): `o`, `r` and the
   * walk's offsets are declared integers, and the prelude and term lines must compute theirs so too.
   */
  int?: boolean;
}

/**
 * Lines that walk the cells of channel `ch` of an [N, C, hw] tensor from term r0 on (terms in (N, H, W)
 * order): `start` declares `at`, the flat index of the current term, and `step` moves it to the next,
 * jumping the other channels at the end of an image. Integer offsets (intVar), so no division and no
 * float index per term.
 */
export function channelWalk(r0: string, ch: string, c: number, hw: number, int = false): { start: string[]; step: string[] } {
  // as integers (`int`: r0 and ch integers too) every offset is exact at any size
  const start = int
    ? [...divMod(r0, hw, 'wn', 'wr', true), ...intVar('at', `(wn * ${c} + ${ch}) * ${hw} + wr`), ...intVar('left', `${hw} - wr`)]
    : [`let wn = ${idiv(r0, hw)};`, ...intVar('at', `(wn * ${c} + ${ch}) * ${hw} + ${r0} - wn * ${hw}`), ...intVar('left', `${hw} - ${r0} + wn * ${hw}`)];
  return {
    start,
    step: ['at = at + 1;', 'left = left - 1;', `if (left == 0) {`, `  at = at + ${(c - 1) * hw};`, `  left = ${hw};`, '}'],
  };
}

/** How a reduction of `terms` terms into `outputs` outputs splits: P chunks of L terms (P = 1: one kernel). */
export function splitPlan(terms: number, outputs: number): { P: number; L: number } {
  const { P, R } = rowSplitPlan(terms, 1, outputs);
  return { P, L: R };
}

/**
 * splitPlan for terms that come in rows of `rowLength` which a thread walks whole (conv2dBackwardFilter's
 * output rows): P chunks of R rows each, about CHUNK terms a chunk (P = 1: one kernel over all rows).
 * splitPlan is the case of rows one term long.
 */
export function rowSplitPlan(rows: number, rowLength: number, outputs: number): { P: number; R: number } {
  if (rows * rowLength < SPLIT_FROM) return { P: 1, R: rows };
  let R = Math.ceil(CHUNK / rowLength);
  while (Math.ceil(rows / R) * outputs > MAX_PARTIALS) R *= 2;
  return { P: Math.ceil(rows / R), R };
}

const foldLine = (fold: Reduction['fold']): string =>
  fold === 'sum' ? 'acc = acc + v;' : fold === 'max' ? 'if (v > acc) { acc = v; }' : 'if (v < acc) { acc = v; }';

/** Runs the reduction (one or two kernels) and returns the [outputs] result. */
export function runReduction(dev: Device, red: Reduction): GpuHandle {
  const { P, L } = splitPlan(red.terms, red.outputs);
  const res = red.result ?? { expr: 'acc' };
  const single = P === 1;
  const int = red.int ?? false;
  const walkKey = red.walk ? `${red.walk.channel},${red.walk.c},${red.walk.hw}` : '';
  const key = `reduction|${red.params}|${red.outputs}|${red.terms}|${red.fold}|${red.prelude?.join(';')}|${red.term.join(';')}|${res.expr}|${res.params}|${walkKey}|${int}`;
  const source = kept(key, () => {
    // max/min start from the chunk's first term: GL has no infinity literal
    const first = red.fold === 'sum' ? [] : ['if (k == 0) { acc = v; }'];
    const walk = red.walk ? channelWalk(single ? '0' : `p * ${L}`, red.walk.channel, red.walk.c, red.walk.hw, int) : { start: [], step: [] };
    const body = [
      ...(single ? letIndex('o', 'this.thread.x', int) : [...threadIndex(int), ...divMod('i', red.outputs, 'p', 'o', int)]),
      ...(red.prelude ?? []),
      ...walk.start,
      'let acc = 0;',
      `for (let k = 0; k < ${L}; k++) {`,
      ...letIndex('r', single ? 'k' : `p * ${L} + k`, int).map((l) => `  ${l}`),
      `  if (r < ${red.terms}) {`,
      ...red.term.map((l) => `    ${l}`),
      ...first.map((l) => `    ${l}`),
      `    ${foldLine(red.fold)}`,
      ...walk.step.map((l) => `    ${l}`),
      '  }',
      '}',
    ];
    return single ? kernel([...red.params, ...(res.params ?? [])], [...body, `return ${res.expr};`], int) : kernel(red.params, [...body, 'return acc;'], int);
  });
  if (single) return dev.run(red.op, source, red.outputs, [...red.args, ...(res.args ?? [])]);
  const part = dev.run(red.op, source, P * red.outputs, red.args);
  return combinePartials(dev, red.op, part, P, red.outputs, red.fold, res);
}

/**
 * The second kernel of a split reduction: folds the P partials of each output ([P, outputs] in `part`,
 * which it releases) and returns `result` of the folded `acc` ([outputs]).
 */
export function combinePartials(dev: Device, op: string, part: GpuHandle, P: number, outputs: number, fold: Reduction['fold'], result: NonNullable<Reduction['result']> = { expr: 'acc' }): GpuHandle {
  try {
    const combine = kept(`combine|${P}|${outputs}|${fold}|${result.expr}|${result.params}`, () => kernel(
      ['part', ...(result.params ?? [])],
      [
        'let o = this.thread.x;',
        'let acc = part[o];',
        `for (let k = 1; k < ${P}; k++) {`,
        `  let v = part[k * ${outputs} + o];`,
        `  ${foldLine(fold)}`,
        '}',
        `return ${result.expr};`,
      ],
    ));
    return dev.run(op, combine, outputs, [part, ...(result.args ?? [])]);
  } finally {
    dev.release(part);
  }
}
