import { kept, kernel } from './codegen.js';
import type { Device, GpuHandle } from './device.js';

/**
 * A bitonic sort on the device, for kernels that cannot read back (webgpu): rows of (key, payload) pairs,
 * stored interleaved, key first in decreasing order and ties by the smaller payload. gpu.js has no shared
 * memory and no atomics, so every pass is a kernel call over the whole array, a thread computing one
 * float of a pair; a pass takes up to three steps of the network (passSource): 57 calls for a row of
 * 2^17. Index arithmetic stays exact in floats: integers below 2^23 and divisions by powers of two written
 * as products with their exact reciprocals.
 */

/** `q` = ⌊a / d⌋ and `r` = a − q·d for a power of two d (as products with 1/d: exact in floats). */
export const splitBy = (a: string, d: number, inv: string, q: string, r: string): string[] => [`let ${q} = Math.floor(${a} * ${inv});`, `let ${r} = ${a} - ${q} * ${d};`];

/** Thread t's element `e` of the interleaved pairs and which float of it the thread computes (`part`: 0 key, 1 payload). */
export const PAIR_THREAD: readonly string[] = ['let t = this.thread.x;', ...splitBy('t', 2, '0.5', 'e', 'part')];

/** The row length a sort of `n` pairs takes: the next power of two, at least 2. */
export const paddedLength = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(n, 2)));

/** Steps of the bitonic network one pass takes: a group of 2^3 pairs, 16 floats a thread. */
const STAGES = 3;

/**
 * `stages` consecutive compare-exchange steps of the bitonic network (distances j, j/2, … j/2^(stages−1))
 * in one pass: the 2^stages elements whose places differ only in those bits form a group no step leaves,
 * so a thread loads its group, runs the steps on it and keeps its own element (a pass a step took 153 calls
 * a sort of 2^17, three steps a pass take 57). Blocks of `blk` elements are decreasing where bit blk of e
 * is 0 (`dir` 1) and increasing where it is 1; `dir` 0 makes every block decreasing (a row's last merge,
 * blk = the row length). `invJ` = 1/j, `invBlk` = 1/blk.
 */
const passSource = (stages: number): string =>
  kept(`bitonicPass|${stages}`, () => {
    const group = 2 ** stages;
    // element q of the group lies at base + j·Σ (bit i of q, from the top)/2^i
    const at = (q: number): string => {
      let coef = 0;
      for (let i = 0; i < stages; i++) if (q & (2 ** (stages - 1 - i))) coef += 1 / 2 ** i;
      return coef === 0 ? 'base' : `(base + j * ${coef})`;
    };
    const lines = [
      ...PAIR_THREAD,
      'let blkAt = Math.floor(e * invBlk);',
      ...splitBy('blkAt', 2, '0.5', 'blkHalf', 'rising'),
      'rising = rising * dir;',
      'let base = e;',
      'let own = 0;',
    ];
    for (let i = 0; i < stages; i++) {
      lines.push(`let at${i} = Math.floor(e * invJ * ${2 ** i});`, ...splitBy(`at${i}`, 2, '0.5', `half${i}`, `bit${i}`), `base = base - bit${i} * j * ${1 / 2 ** i};`, `own = own + bit${i} * ${2 ** (stages - 1 - i)};`);
    }
    for (let q = 0; q < group; q++) lines.push(`let k${q} = xs[${at(q)} * 2];`, `let p${q} = xs[${at(q)} * 2 + 1];`);
    let n = 0;
    for (let i = 0; i < stages; i++) {
      const span = 2 ** (stages - 1 - i);
      for (let a = 0; a < group; a++) {
        if (a & span) continue;
        const b = a + span;
        // in a decreasing block the lower place keeps the pair that comes first (larger key, ties the smaller
        // payload), in an increasing one the upper place does: swap where the wrong one holds it
        lines.push(
          `let swap${n} = 0;`,
          `if (rising < 0.5) { if (k${b} > k${a}) { swap${n} = 1; } if (k${b} == k${a}) { if (p${b} < p${a}) { swap${n} = 1; } } }`,
          `if (rising > 0.5) { if (k${a} > k${b}) { swap${n} = 1; } if (k${a} == k${b}) { if (p${a} < p${b}) { swap${n} = 1; } } }`,
          `let tk${n} = k${a};`,
          `let tp${n} = p${a};`,
          `if (swap${n} > 0.5) { k${a} = k${b}; p${a} = p${b}; k${b} = tk${n}; p${b} = tp${n}; }`,
        );
        n++;
      }
    }
    for (let q = 0; q < group - 1; q++) lines.push(`if (own == ${q}) { if (part < 0.5) { return k${q}; } return p${q}; }`);
    lines.push(`if (part < 0.5) { return k${group - 1}; }`, `return p${group - 1};`);
    return kernel(['xs', 'j', 'invJ', 'invBlk', 'dir'], lines);
  });

/** Sorts the interleaved pairs of every row (rows of `rowLen`, a power of two), its calls named `op`; releases `pairs`. */
export function bitonicSort(dev: Device, op: string, pairs: GpuHandle, rowLen: number): GpuHandle {
  let xs = pairs;
  for (let blk = 2; blk <= rowLen; blk *= 2) {
    for (let j = blk / 2; j >= 1; ) {
      const stages = Math.min(STAGES, Math.log2(j) + 1);
      const next = dev.run(op, passSource(stages), xs.size, [xs, j, 1 / j, 1 / blk, blk < rowLen ? 1 : 0]);
      dev.release(xs);
      xs = next;
      j /= 2 ** stages;
    }
  }
  return xs;
}

