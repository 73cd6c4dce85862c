import { kept, kernel } from './codegen.js';
import type { Device, GpuHandle } from './device.js';
import { bitonicSort, PAIR_THREAD, paddedLength } from './sort.js';

/**
 * scatterAdd through a sort, for webgpu where the values cannot be read back to the host: the (index,
 * position) pairs sorted by index, then each output finds its run of equal indices by binary search and
 * sums their values. The gather kernel passes every output over every value (count·size visits); this
 * takes a sort of count pairs (sort.ts) and count + size·log₂count reads. Within a run the positions
 * ascend (ties go by the smaller payload), so each output sums its values in the gather's order: the
 * same float32 sums.
 */

/** Pairs (−index, position) of the values, padded to a power of two with keys below every index. */
const initSource = (count: number, size: number): string =>
  kept(`scatterInit|${count}|${size}`, () =>
    kernel(['idx'], [
      ...PAIR_THREAD,
      'if (part > 0.5) { return e; }',
      `if (e < ${count}) { return -idx[e]; }`,
      `return ${-size - 1};`,
    ]),
  );

/**
 * Output o: the first sorted place whose index is at least o (keys −index decrease along the pairs),
 * found in `steps` halvings of [0, padded), then the values of the run whose index is o, in order.
 */
const sumSource = (padded: number): string =>
  kept(`scatterSum|${padded}`, () =>
    kernel(['pairs', 'vs'], [
      'let key = -this.thread.x;',
      'let lo = 0;',
      `let hi = ${padded};`,
      `for (let s = 0; s <= ${Math.log2(padded)}; s++) {`,
      '  if (lo < hi) {',
      '    let mid = Math.floor((lo + hi) * 0.5);',
      '    if (pairs[mid * 2] > key) { lo = mid + 1; } else { hi = mid; }',
      '  }',
      '}',
      'let acc = 0;',
      `for (let q = 0; q < ${padded}; q++) {`,
      `  if (lo + q >= ${padded}) { break; }`,
      '  if (pairs[(lo + q) * 2] != key) { break; }',
      '  acc = acc + vs[pairs[(lo + q) * 2 + 1]];',
      '}',
      'return acc;',
    ]),
  );

/** out = zeros(size); out[indices[k]] += values[k] for k < count (count ≥ 1), in k order for each output. */
export function scatterAddSorted(dev: Device, indices: GpuHandle, values: GpuHandle, count: number, size: number): GpuHandle {
  const padded = paddedLength(count);
  const sorted = bitonicSort(dev, 'scatterAdd', dev.run('scatterAdd', initSource(count, size), 2 * padded, [indices]), padded);
  const out = dev.run('scatterAdd', sumSource(padded), size, [sorted, values]);
  dev.release(sorted);
  return out;
}
