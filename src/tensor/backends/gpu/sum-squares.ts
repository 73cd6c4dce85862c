import { I, kept, kernel } from './codegen.js';
import type { Device, GpuHandle } from './device.js';
import { fillSource } from './kernels.js';
import { CHUNK } from './split.js';

/**
 * Σx² of many arrays (a training step's squared gradient norms, one array a parameter) in a few kernel
 * calls. Composed, each took a square and a sum of one or two kernels, and joining them more: 167 calls
 * for the U-Net's 64 parameters, whose whole train step takes 265 (13 here). The first kernel takes up to GROUP arrays and writes
 * partial sums of CHUNK terms each, array j's at [start_j, start_j + P_j); the second takes up to GROUP
 * of those outputs and sums each array's partials. A thread picks its array behind one branch per array;
 * on a GPU the threads of a warp lie in one array but at the ends of its partials, so they take one branch
 * together.
 */

/** Arrays (first kernel) or partial outputs (second) a call takes: they and its output are 8 storage buffers, WebGPU's default limit. */
const GROUP = 7;

/** The partial layout of arrays of `sizes` elements: each one's chunk length, first partial and partial count. */
function partials(sizes: readonly number[]): { L: number; start: number; P: number }[] {
  let start = 0;
  return sizes.map((n) => {
    const L = Math.min(CHUNK, n);
    const P = Math.ceil(n / L);
    const r = { L, start, P };
    start += P;
    return r;
  });
}

/** First kernel: partial sums of squares of the arrays x0 … x(k−1) of `sizes` elements (each at least 1). */
const partialSource = (sizes: readonly number[]): string =>
  kept(`sumSquaresPartial|${sizes}`, () => {
    const parts = partials(sizes);
    return kernel(sizes.map((_, j) => `x${j}`), [
      I,
      'let acc = 0;',
      ...parts.flatMap(({ L, start, P }, j) => [
        `if (i >= ${start}) {`,
        `  if (i < ${start + P}) {`,
        `    let e0 = (i - ${start}) * ${L};`,
        `    for (let k = 0; k < ${L}; k++) {`,
        `      if (e0 + k < ${sizes[j]}) {`,
        `        let v = x${j}[e0 + k];`,
        '        acc = acc + v * v;',
        '      }',
        '    }',
        '  }',
        '}',
      ]),
      'return acc;',
    ]);
  });

/** Second kernel: output t is the sum of the `P` partials from `start` in partial output `of` (p0 … p(g−1)). */
const combineSource = (items: readonly { of: number; start: number; P: number }[], outputs: number): string =>
  kept(`sumSquaresCombine|${outputs}|${items.map((t) => `${t.of}:${t.start}:${t.P}`)}`, () =>
    kernel(Array.from({ length: outputs }, (_, g) => `p${g}`), [
      'let o = this.thread.x;',
      'let acc = 0;',
      ...items.flatMap(({ of, start, P }, t) => (P === 0 ? [] : [`if (o == ${t}) {`, `  for (let q = 0; q < ${P}; q++) {`, `    acc = acc + p${of}[${start} + q];`, '  }', '}'])),
      'return acc;',
    ]),
  );

/** Arrays one second kernel sums up: GROUP first kernels' worth. */
export const SUM_SQUARES_RUN = GROUP * GROUP;

/**
 * Σx² of each of `xs` (of `sizes` elements) as outputs of SUM_SQUARES_RUN values each (the last one of
 * the rest), in order, for the caller to join; empty arrays give 0.
 */
export function sumSquaresMany(dev: Device, xs: readonly GpuHandle[], sizes: readonly number[]): GpuHandle[] {
  const outs: GpuHandle[] = [];
  try {
    for (let s = 0; s < xs.length; s += SUM_SQUARES_RUN) {
      const idx = Array.from({ length: Math.min(SUM_SQUARES_RUN, xs.length - s) }, (_, k) => s + k);
      const nonEmpty = idx.filter((k) => sizes[k] > 0);
      // the first kernel over groups of GROUP non-empty arrays; where each array's partials went
      const where = new Map<number, { of: number; start: number; P: number }>();
      const groups: GpuHandle[] = [];
      try {
        for (let g = 0; g < nonEmpty.length; g += GROUP) {
          const members = nonEmpty.slice(g, g + GROUP);
          const ns = members.map((k) => sizes[k]);
          const parts = partials(ns);
          members.forEach((k, j) => where.set(k, { of: groups.length, ...parts[j] }));
          const total = parts[parts.length - 1].start + parts[parts.length - 1].P;
          groups.push(dev.run('sumSquaresMany', partialSource(ns), total, members.map((k) => xs[k])));
        }
        const items = idx.map((k) => where.get(k) ?? { of: 0, start: 0, P: 0 });
        outs.push(groups.length ? dev.run('sumSquaresMany', combineSource(items, groups.length), idx.length, groups) : dev.run('sumSquaresMany', fillSource, idx.length, [0]));
      } finally {
        for (const h of groups) dev.release(h);
      }
    }
  } catch (e) {
    for (const h of outs) dev.release(h);
    throw e;
  }
  return outs;
}
