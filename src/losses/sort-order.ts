/**
 * The permutation that sorts values[base … base + len) in decreasing order, ties in index order (what a
 * stable sort with a comparator gives), as indices from 0 into `out` (length ≥ len).
 *
 * float32 values sort as 64-bit keys with the typed array's native sort, no comparator: each key is the
 * value's bits made unsigned-ordered and inverted (decreasing), the index below them (ties by index). On
 * 17.8M random errors (a pooled batch of 17 images of 1024²) that takes 2.3 s against 15 s for
 * Array.prototype.sort with a comparator. −0 counts as +0, as the comparator has them. Other arrays
 * take the comparator.
 */
export function decreasingOrder(values: ArrayLike<number>, base: number, len: number, out: Uint32Array): void {
  if (values instanceof Float32Array) {
    const keys = new BigUint64Array(len);
    const halves = new Uint32Array(keys.buffer);
    const bits = new Uint32Array(values.buffer, values.byteOffset + base * 4, len);
    // little-endian: word 2i is the key's low half
    for (let i = 0; i < len; i++) {
      const b = bits[i] === 0x80000000 ? 0 : bits[i];
      // negative floats order by their inverted bits, positive ones above them all
      const ascending = b & 0x80000000 ? ~b : b | 0x80000000;
      halves[2 * i + 1] = ~ascending;
      halves[2 * i] = i;
    }
    keys.sort();
    for (let i = 0; i < len; i++) out[i] = halves[2 * i];
    return;
  }
  const order = Array.from({ length: len }, (_, j) => j);
  order.sort((a, b) => values[base + b] - values[base + a]);
  out.set(order);
}
