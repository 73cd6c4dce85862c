import { kept, kernel } from './codegen.js';
import type { Device, GpuHandle } from './device.js';

/**
 * The Lovász weights on the device, for a backend that cannot read synchronously (webgpu): each row's
 * errors sorted in decreasing order by a bitonic network, the running count of foreground labels in that
 * order by a Hillis–Steele scan, the weights from it, and a second bitonic sort by position that puts each
 * weight back at its error's place. gpu.js has no shared memory and no atomics, so every pass is a kernel
 * call over the whole array: 124 calls for a row of 2^17 (three network steps a pass, see passSource).
 *
 * A row is padded to L′ = 2^⌈log₂L⌉ elements. The sorts move (key, payload) pairs, stored interleaved,
 * a thread computing one float of a pair: key first in decreasing order, ties by the smaller payload —
 * the first sort's payload is the position, so ties go by position as the host's stable sort has them.
 * Padding pairs have key −1, below every error (errors are ≥ 0: a hinge's relu, a softmax's |fg − p|).
 * Index arithmetic stays exact in floats: integers below 2^23 and divisions by powers of two written as
 * products with their exact reciprocals.
 */

/** `q` = ⌊a / d⌋ and `r` = a − q·d for a power of two d (as products with 1/d: exact in floats). */
const splitBy = (a: string, d: number, inv: string, q: string, r: string): string[] => [`let ${q} = Math.floor(${a} * ${inv});`, `let ${r} = ${a} - ${q} * ${d};`];

/** Lines giving thread t's element `e`, which float of its pair (`part`: 0 key, 1 payload), row `row` and place `k` in the row. */
const pairThread = (rowLen: number): string[] => [
  'let t = this.thread.x;',
  ...splitBy('t', 2, '0.5', 'e', 'part'),
  ...splitBy('e', rowLen, `${1 / rowLen}`, 'row', 'k'),
];

/** Pairs of row r, place k: (errors[r, k], k), or (−1, k) in the padding. */
const initSource = (len: number, rowLen: number): string =>
  kept(`lovaszInit|${len}|${rowLen}`, () =>
    kernel(['errs'], [
      ...pairThread(rowLen),
      'if (part > 0.5) { return k; }',
      `if (k < ${len}) { return errs[row * ${len} + k]; }`,
      'return -1;',
    ]),
  );

/** Steps of the bitonic network one pass takes: a group of 2^3 pairs, 16 floats a thread. */
const STAGES = 3;

/**
 * `stages` consecutive compare-exchange steps of the bitonic network (distances j, j/2, … j/2^(stages−1))
 * in one pass: the 2^stages elements whose places differ only in those bits form a group no step leaves,
 * so a thread loads its group, runs the steps on it and keeps its own element (a pass a step took 153 calls
 * a sort of 2^17, three steps a pass take 57). Blocks of `blk` elements are decreasing where bit blk of e
 * is 0 (`dir` 1) and increasing where it is 1; `dir` 0 makes every block decreasing (a row's last merge,
 * blk = L′). `invJ` = 1/j, `invBlk` = 1/blk.
 */
const passSource = (stages: number): string =>
  kept(`lovaszPass|${stages}`, () => {
    const group = 2 ** stages;
    // element q of the group lies at base + j·Σ (bit i of q, from the top)/2^i
    const at = (q: number): string => {
      let coef = 0;
      for (let i = 0; i < stages; i++) if (q & (2 ** (stages - 1 - i))) coef += 1 / 2 ** i;
      return coef === 0 ? 'base' : `(base + j * ${coef})`;
    };
    const lines = [
      'let t = this.thread.x;',
      ...splitBy('t', 2, '0.5', 'e', 'part'),
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

/** The sorted pairs' labels: fg[row, payload], 0 in the padding. */
const gatherSource = (len: number, rowLen: number): string =>
  kept(`lovaszGather|${len}|${rowLen}`, () =>
    kernel(['pairs', 'fg'], [
      'let e = this.thread.x;',
      ...splitBy('e', rowLen, `${1 / rowLen}`, 'row', 'k'),
      'let at = pairs[e * 2 + 1];',
      `if (at < ${len}) { return fg[row * ${len} + at]; }`,
      'return 0;',
    ]),
  );

/** Terms a step of the running sum adds: its window grows SCAN_RADIX-fold a pass (6 passes for 2^17, not 17). */
const SCAN_RADIX = 8;

/**
 * One step of a row's inclusive running sum (Hillis–Steele, radix SCAN_RADIX): c[e] + c[e − d] + … +
 * c[e − (SCAN_RADIX − 1)·d], the terms that lie in the row. The counts are integers, exact in float32.
 */
const scanSource = (rowLen: number): string =>
  kept(`lovaszScan|${rowLen}`, () =>
    kernel(['cs', 'd'], [
      'let e = this.thread.x;',
      ...splitBy('e', rowLen, `${1 / rowLen}`, 'row', 'k'),
      'let acc = cs[e];',
      ...Array.from({ length: SCAN_RADIX - 1 }, (_, r) => `if (k >= d * ${r + 1}) { acc = acc + cs[e - d * ${r + 1}]; }`),
      'return acc;',
    ]),
  );

/**
 * Pairs (−position, weight) of the sorted order. With U_k = G + k + 1 − c_k the union after the first
 * k + 1 (G the row's foreground count, c_k the running count), J_k = (k + 1)/U_k and the weight
 * J_k − J_{k−1} is 1/U_k where place k is foreground or first, else (G − c_{k−1})/(U_k·U_{k−1}): the
 * difference written without cancelling, so each weight keeps float32's relative precision (the host's
 * 1 − |G ∖ first|/|G ∪ first| differences lose digits as weights shrink to 1/L).
 */
const weightSource = (rowLen: number): string =>
  kept(`lovaszWeight|${rowLen}`, () =>
    kernel(['pairs', 'cs'], [
      ...pairThread(rowLen),
      'if (part < 0.5) { return -pairs[e * 2 + 1]; }',
      `let g = cs[row * ${rowLen} + ${rowLen - 1}];`,
      'let ck = cs[e];',
      'let u = g + k + 1 - ck;',
      'if (k < 0.5) { return 1 / u; }',
      'let cp = cs[e - 1];',
      'if (ck > cp) { return 1 / u; }',
      'return (g - cp) / (u * (g + k - cp));',
    ]),
  );

/** The payloads of the first `len` pairs of each row: the weights at their errors' places. */
const payloadSource = (len: number, rowLen: number): string =>
  kept(`lovaszPayload|${len}|${rowLen}`, () =>
    kernel(['pairs'], [
      'let i = this.thread.x;',
      `let row = Math.floor((i + 0.5) / ${len});`,
      `return pairs[(row * ${rowLen} + i - row * ${len}) * 2 + 1];`,
    ]),
  );

/** Sorts the interleaved pairs of every row (rows of `rowLen`, a power of two); releases `pairs`. */
function bitonicSort(dev: Device, pairs: GpuHandle, rowLen: number): GpuHandle {
  let xs = pairs;
  for (let blk = 2; blk <= rowLen; blk *= 2) {
    for (let j = blk / 2; j >= 1; ) {
      const stages = Math.min(STAGES, Math.log2(j) + 1);
      const next = dev.run('lovaszWeights', passSource(stages), xs.size, [xs, j, 1 / j, 1 / blk, blk < rowLen ? 1 : 0]);
      dev.release(xs);
      xs = next;
      j /= 2 ** stages;
    }
  }
  return xs;
}

/**
 * The Lovász weights of each row r of `fg` [rows, len] (labels 0 or 1) in the order that sorts row r of
 * `errors` (≥ 0) decreasingly, ties by position, each put back at its error's place: [rows, len].
 */
export function lovaszWeights(dev: Device, errors: GpuHandle, fg: GpuHandle, rows: number, len: number): GpuHandle {
  const rowLen = 2 ** Math.ceil(Math.log2(Math.max(len, 2)));
  const n = rows * rowLen;
  const sorted = bitonicSort(dev, dev.run('lovaszWeights', initSource(len, rowLen), 2 * n, [errors]), rowLen);
  let counts = dev.run('lovaszWeights', gatherSource(len, rowLen), n, [sorted, fg]);
  for (let d = 1; d < rowLen; d *= SCAN_RADIX) {
    const next = dev.run('lovaszWeights', scanSource(rowLen), n, [counts, d]);
    dev.release(counts);
    counts = next;
  }
  const weighted = dev.run('lovaszWeights', weightSource(rowLen), 2 * n, [sorted, counts]);
  dev.release(sorted);
  dev.release(counts);
  const back = bitonicSort(dev, weighted, rowLen);
  const out = dev.run('lovaszWeights', payloadSource(len, rowLen), rows * len, [back]);
  dev.release(back);
  return out;
}
