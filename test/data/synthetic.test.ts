import { describe, expect, it } from 'vitest';
import { synthetic, type SyntheticKind } from '../../src/data/index.js';

const kinds: SyntheticKind[] = ['blobs', 'vessels', 'nuclei'];

function fraction(mask: Float32Array): number {
  let n = 0;
  for (const v of mask) n += v;
  return n / mask.length;
}

describe('synthetic', () => {
  it.each(kinds)('%s: same seed gives identical samples, another seed different ones', async (kind) => {
    const a = await synthetic({ kind, count: 3, size: 32, seed: 7 }).get(2);
    const b = await synthetic({ kind, count: 3, size: 32, seed: 7 }).get(2);
    const c = await synthetic({ kind, count: 3, size: 32, seed: 8 }).get(2);
    expect(Array.from(b.image)).toEqual(Array.from(a.image));
    expect(Array.from(b.mask)).toEqual(Array.from(a.mask));
    expect(Array.from(c.mask)).not.toEqual(Array.from(a.mask));
    const other = await synthetic({ kind, count: 3, size: 32, seed: 7 }).get(1);
    expect(Array.from(other.mask)).not.toEqual(Array.from(a.mask));
  });

  for (const kind of kinds) {
    for (const target of [0.005, 0.05, 0.2, 0.4]) {
      it(`${kind}: foreground fraction close to ${target}`, async () => {
        const ds = synthetic({ kind, count: 4, size: 64, foreground: target, seed: 3 });
        for (let i = 0; i < ds.length; i++) {
          const s = await ds.get(i);
          expect(s.shape).toEqual({ channels: 1, classes: 1, height: 64, width: 64 });
          // 4096 pixels: allow one pixel of rounding plus 5 % relative.
          expect(Math.abs(fraction(s.mask) - target)).toBeLessThanOrEqual(0.05 * target + 1 / 4096);
        }
      });
    }
  }

  it.each(kinds)('%s: values in range, foreground brighter on average but not separable by intensity', async (kind) => {
    const ds = synthetic({ kind, count: 3, size: [48, 64], seed: 1, noise: 0.08, channels: 3 });
    for (let i = 0; i < ds.length; i++) {
      const s = await ds.get(i);
      expect(s.image.length).toBe(3 * 48 * 64);
      expect(s.mask.every((v) => v === 0 || v === 1)).toBe(true);
      expect(s.image.every((v) => v >= 0 && v <= 1)).toBe(true);
      let fg = 0, bg = 0, nf = 0, nb = 0, minFg = Infinity, maxBg = -Infinity;
      for (let q = 0; q < 48 * 64; q++) {
        const v = s.image[q]; // first channel
        if (s.mask[q]) { fg += v; nf++; minFg = Math.min(minFg, v); } else { bg += v; nb++; maxBg = Math.max(maxBg, v); }
      }
      expect(fg / nf).toBeGreaterThan(bg / nb + 0.05);
      expect(maxBg).toBeGreaterThan(minFg); // a plain threshold does not solve it
    }
  });

  it.each(kinds)('%s with classes: 3: one-hot masks, the same foreground split into two classes of about equal area, class 2 brighter than class 1', async (kind) => {
    const ds = synthetic({ kind, count: 3, size: 64, seed: 2, classes: 3 });
    const binary = synthetic({ kind, count: 3, size: 64, seed: 2 });
    for (let i = 0; i < ds.length; i++) {
      const s = await ds.get(i);
      expect(s.shape).toEqual({ channels: 1, classes: 3, height: 64, width: 64 });
      const plane = 64 * 64;
      const label = Array.from({ length: plane }, (_, q) => [0, 1, 2].filter((k) => s.mask[k * plane + q] === 1));
      expect(label.every((ks) => ks.length === 1)).toBe(true); // exactly one class a pixel
      const share = (k: number) => label.filter((ks) => ks[0] === k).length / plane;
      // the binary set's foreground, split: same total area (its draws are the binary sample's, then the split)
      expect(share(1) + share(2)).toBeCloseTo(fraction((await binary.get(i)).mask), 10);
      expect(Math.abs(share(1) - share(2))).toBeLessThanOrEqual(0.1 * (share(1) + share(2)) + 2 / plane);
      const mean = (k: number) => label.reduce((a, ks, q) => a + (ks[0] === k ? s.image[q] : 0), 0) / (share(k) * plane);
      expect(mean(2)).toBeGreaterThan(mean(1) + 0.03);
      expect(mean(1)).toBeGreaterThan(mean(0));
    }
    // classes: 1 is the binary set itself
    expect(Array.from((await synthetic({ kind, count: 1, size: 32, seed: 5, classes: 1 }).get(0)).image)).toEqual(Array.from((await synthetic({ kind, count: 1, size: 32, seed: 5 }).get(0)).image));
  });

  it('rejects bad options with a message naming the option', () => {
    expect(() => synthetic({ kind: 'blobs', foreground: 1.2 })).toThrow(/foreground/);
    expect(() => synthetic({ kind: 'stars' as SyntheticKind })).toThrow(/unknown kind 'stars'/);
    expect(() => synthetic({ kind: 'blobs', count: 0 })).toThrow(/count/);
    expect(() => synthetic({ kind: 'blobs', classes: 9 })).toThrow(/classes must be an integer from 1 to 8, got 9/);
  });
});
