/** Derives independent seeds from a seed and indices (epoch, sample…), so streams never overlap. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    // Mix the integer and the fractional bits, so seeds like 0.5 and 1 differ.
    for (const v of [Math.floor(p), Math.floor((p - Math.floor(p)) * 2 ** 32)]) {
      h = Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
      h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
      h = (h ^ (h >>> 15)) >>> 0;
    }
  }
  return h;
}
