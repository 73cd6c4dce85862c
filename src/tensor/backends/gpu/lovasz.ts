import { idiv, kept, kernel } from './codegen.js';
import type { Device, GpuHandle } from './device.js';
import { bitonicSort, PAIR_THREAD, paddedLength, splitBy } from './sort.js';

/**
 * The Lovász weights on the device, for a backend that cannot read synchronously (webgpu): each row's
 * errors sorted in decreasing order (sort.ts), the running count of foreground labels in that order by a
 * Hillis–Steele scan, the weights from it, and a second sort by position that puts each weight back at its
 * error's place: 124 kernel calls for a row of 2^17.
 *
 * A row is padded to L′ = 2^⌈log₂L⌉ elements. The first sort's pairs are (error, position), so ties go by
 * position as the host's stable sort has them. Padding pairs have key −1, below every error (errors are
 * ≥ 0: a hinge's relu, a softmax's |fg − p|).
 */

/** Lines giving element `e`'s row `row` and place `k` in the row. */
const rowPlace = (rowLen: number): string[] => splitBy('e', rowLen, `${1 / rowLen}`, 'row', 'k');

/** Lines giving thread t's element `e`, which float of its pair (`part`: 0 key, 1 payload), row `row` and place `k` in the row. */
const pairThread = (rowLen: number): string[] => [...PAIR_THREAD, ...rowPlace(rowLen)];

/** Lines giving a thread per element: `e`, its row `row` and place `k`. */
const elementThread = (rowLen: number): string[] => ['let e = this.thread.x;', ...rowPlace(rowLen)];

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

/** The sorted pairs' labels: fg[row, payload], 0 in the padding. */
const gatherSource = (len: number, rowLen: number): string =>
  kept(`lovaszGather|${len}|${rowLen}`, () =>
    kernel(['pairs', 'fg'], [
      ...elementThread(rowLen),
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
      ...elementThread(rowLen),
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
      `let row = ${idiv('i', len)};`,
      `return pairs[(row * ${rowLen} + i - row * ${len}) * 2 + 1];`,
    ]),
  );

/**
 * The Lovász weights of each row r of `fg` [rows, len] (labels 0 or 1) in the order that sorts row r of
 * `errors` (≥ 0) decreasingly, ties by position, each put back at its error's place: [rows, len].
 */
export function lovaszWeights(dev: Device, errors: GpuHandle, fg: GpuHandle, rows: number, len: number): GpuHandle {
  const rowLen = paddedLength(len);
  const n = rows * rowLen;
  const sorted = bitonicSort(dev, 'lovaszWeights', dev.run('lovaszWeights', initSource(len, rowLen), 2 * n, [errors]), rowLen);
  let counts = dev.run('lovaszWeights', gatherSource(len, rowLen), n, [sorted, fg]);
  for (let d = 1; d < rowLen; d *= SCAN_RADIX) {
    const next = dev.run('lovaszWeights', scanSource(rowLen), n, [counts, d]);
    dev.release(counts);
    counts = next;
  }
  const weighted = dev.run('lovaszWeights', weightSource(rowLen), 2 * n, [sorted, counts]);
  dev.release(sorted);
  dev.release(counts);
  const back = bitonicSort(dev, 'lovaszWeights', weighted, rowLen);
  const out = dev.run('lovaszWeights', payloadSource(len, rowLen), rows * len, [back]);
  dev.release(back);
  return out;
}
