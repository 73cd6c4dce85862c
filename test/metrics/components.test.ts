import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepLargestComponent, labelComponents } from '../../src/metrics/index.js';

/** Reference: union-find over every pair of touching foreground pixels; the sorted component sizes. */
function referenceSizes(mask: number[], H: number, W: number, connectivity: 4 | 8): number[] {
  const parent = mask.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let p = 0; p < H * W; p++) {
    for (let q = p + 1; q < H * W; q++) {
      const [dy, dx] = [Math.abs(Math.floor(p / W) - Math.floor(q / W)), Math.abs((p % W) - (q % W))];
      const touch = connectivity === 4 ? dy + dx === 1 : Math.max(dy, dx) === 1;
      if (mask[p] && mask[q] && touch) parent[find(p)] = find(q);
    }
  }
  const sizes = new Map<number, number>();
  mask.forEach((v, p) => v && sizes.set(find(p), (sizes.get(find(p)) ?? 0) + 1));
  return [...sizes.values()].sort((a, b) => a - b);
}

describe('labelComponents', () => {
  it('diagonal neighbours touch with 8-connectivity and not with 4', () => {
    const mask = [1, 0, 0, 0, 1, 0, 0, 0, 1]; // a 3×3 diagonal
    expect(labelComponents(mask, { height: 3, width: 3 }).sizes).toEqual([3]);
    const four = labelComponents(mask, { height: 3, width: 3, connectivity: 4 });
    expect(four.sizes).toEqual([1, 1, 1]);
    expect(Array.from(four.labels)).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3]);
  });

  it('matches union-find on random masks, each pixel labelled with its component', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), fc.constantFrom<4 | 8>(4, 8), (H, W, bits, connectivity) => {
        const mask = bits.slice(0, H * W).map(Number);
        const { labels, sizes } = labelComponents(mask, { height: H, width: W, connectivity });
        expect([...sizes].sort((a, b) => a - b)).toEqual(referenceSizes(mask, H, W, connectivity));
        mask.forEach((v, p) => expect(labels[p] > 0).toBe(v === 1));
        sizes.forEach((size, k) => expect(labels.filter((l) => l === k + 1).length).toBe(size));
      }),
      { numRuns: 200, seed: 3 },
    );
  });

  it('labels volumes with depth: corner neighbours touch with 8 (26 in 3D), only faces with 4 (6), against union-find', () => {
    // two voxels touching only at a corner across slices: (0,0,0) and (1,1,1)
    const corner = [1, 0, 0, 0, 0, 0, 0, 1];
    expect(labelComponents(corner, { depth: 2, height: 2, width: 2 }).sizes).toEqual([2]);
    expect(labelComponents(corner, { depth: 2, height: 2, width: 2, connectivity: 4 }).sizes).toEqual([1, 1]);
    fc.assert(
      fc.property(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), fc.constantFrom<4 | 8>(4, 8), ([D, H, W], bits, connectivity) => {
        const mask = bits.slice(0, D * H * W).map(Number);
        const at = (p: number) => [Math.floor(p / (H * W)), Math.floor(p / W) % H, p % W];
        // union-find over every pair of touching voxels
        const parent = mask.map((_, i) => i);
        const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
        for (let p = 0; p < mask.length; p++) for (let q = p + 1; q < mask.length; q++) {
          const d = at(p).map((c, k) => Math.abs(c - at(q)[k]));
          const touch = connectivity === 4 ? d[0] + d[1] + d[2] === 1 : Math.max(...d) === 1;
          if (mask[p] && mask[q] && touch) parent[find(p)] = find(q);
        }
        const want = new Map<number, number>();
        mask.forEach((v, p) => v && want.set(find(p), (want.get(find(p)) ?? 0) + 1));
        const got = labelComponents(mask, { depth: D, height: H, width: W, connectivity }).sizes;
        expect([...got].sort((a, b) => a - b)).toEqual([...want.values()].sort((a, b) => a - b));
      }),
      { numRuns: 150, seed: 8 },
    );
  });

  it('reads at an offset with a threshold, and names bad arguments', () => {
    expect(labelComponents([9, 0.6, 0.2, 0.7], { height: 1, width: 3, offset: 1, threshold: 0.65 }).sizes).toEqual([1]);
    expect(() => labelComponents([1, 1], { height: 1, width: 3 })).toThrow(/needs 3 values, got 2/);
    expect(() => labelComponents([1], { height: 1, width: 1, connectivity: 6 as 4 })).toThrow(/connectivity must be 4 or 8/);
  });
});

describe('keepLargestComponent', () => {
  it('zeroes every smaller predicted object of each image and keeps the rest as it was', () => {
    // image 0 (1×5): objects of 1 and 2 pixels; image 1: one object; image 2: a tie, the first kept
    const probs = [0.9, 0.1, 0.8, 0.7, 0.2, /**/ 0.6, 0.6, 0.1, 0, 0, /**/ 0.9, 0, 0.9, 0.4, 0.3];
    const kept = keepLargestComponent(probs, { shape: [3, 1, 1, 5] });
    expect(Array.from(kept)).toEqual(Array.from(Float32Array.from([0, 0.1, 0.8, 0.7, 0.2, 0.6, 0.6, 0.1, 0, 0, 0.9, 0, 0, 0.4, 0.3])));
    // at threshold 0.3 the tie's second object takes in 0.4 and 0.3, and is the one kept
    const low = keepLargestComponent(probs, { shape: [3, 1, 1, 5], threshold: 0.3 });
    expect([low[10], low[12]]).toEqual([0, Math.fround(0.9)]);
    expect(() => keepLargestComponent(probs, { shape: [1, 3, 1, 5] })).toThrow(/must be \[N, 1, H, W\]/);
  });
});
