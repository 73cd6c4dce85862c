import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { augmentSample, Loader, sampleToTensors, split, type Dataset, type Sample } from '../../src/data/index.js';
import { Rng } from '../../src/tensor/index.js';

/** Sample i: a 1×H×W image filled with i, mask 1 on the first pixel. */
function counting(n: number, H = 2, W = 3, onGet?: (i: number) => void, delayMs = 0): Dataset {
  return {
    name: 'counting',
    length: n,
    ids: Array.from({ length: n }, (_, i) => `s${i}`),
    async get(i) {
      onGet?.(i);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const mask = new Float32Array(H * W);
      mask[0] = 1;
      return { image: new Float32Array(H * W).fill(i), mask, shape: { channels: 1, classes: 1, height: H, width: W }, id: `s${i}` };
    },
  };
}

describe('split', () => {
  it('is disjoint, covers the dataset, has the requested sizes and depends only on the seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), fc.double({ min: 0, max: 0.6, noNaN: true }), fc.double({ min: 0, max: 0.35, noNaN: true }), (n, seed, tf, vf) => {
        const ds = counting(n);
        const a = split(ds, { seed, testFraction: tf, valFraction: vf });
        const b = split(ds, { seed, testFraction: tf, valFraction: vf });
        expect(a.test.indices).toEqual(b.test.indices);
        expect(a.val.indices).toEqual(b.val.indices);
        const all = [...a.train.indices, ...a.val.indices, ...a.test.indices].sort((x, y) => x - y);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(a.test.length).toBe(Math.round(n * tf));
        expect(a.val.length).toBe(Math.round(n * vf));
      }),
      { numRuns: 200 },
    );
  });

  it('defaults to 80:20, and another seed gives another split', async () => {
    const ds = counting(100);
    const a = split(ds, { seed: 1 });
    expect([a.train.length, a.val.length, a.test.length]).toEqual([80, 0, 20]);
    expect(split(ds, { seed: 2 }).test.indices).not.toEqual(a.test.indices);
    const s = await a.test.get(3);
    expect(s.id).toBe(`s${a.test.indices[3]}`);
    expect(a.test.ids[3]).toBe(s.id);
  });

  it('rejects fractions that do not leave a training set', () => {
    expect(() => split(counting(10), { testFraction: 0.6, valFraction: 0.4 })).toThrow(/< 1/);
    expect(() => split(counting(10), { testFraction: -0.1 })).toThrow(/testFraction/);
  });
});

async function collect(loader: Loader, epoch: number): Promise<{ ids: string[][]; shapes: number[][] }> {
  const ids: string[][] = [], shapes: number[][] = [];
  for await (const b of loader.epoch(epoch)) {
    ids.push(b.ids);
    shapes.push([...b.images.shape]);
    const values = Array.from(await b.images.data());
    // Batch row n holds sample ids[n], whose pixels all equal its index.
    b.ids.forEach((id, n) => expect(values[n * 6]).toBe(Number(id.slice(1))));
    expect([...b.masks.shape]).toEqual([b.ids.length, 1, 2, 3]);
    b.images.dispose();
    b.masks.dispose();
  }
  return { ids, shapes };
}

describe('Loader', () => {
  it('batches in order with a partial last batch, or drops it', async () => {
    const loader = new Loader(counting(10), { batchSize: 4 });
    expect(loader.batchesPerEpoch).toBe(3);
    const { ids, shapes } = await collect(loader, 0);
    expect(ids).toEqual([['s0', 's1', 's2', 's3'], ['s4', 's5', 's6', 's7'], ['s8', 's9']]);
    expect(shapes).toEqual([[4, 1, 2, 3], [4, 1, 2, 3], [2, 1, 2, 3]]);
    const dropping = new Loader(counting(10), { batchSize: 4, dropLast: true });
    expect(dropping.batchesPerEpoch).toBe(2);
    expect((await collect(dropping, 0)).ids.length).toBe(2);
  });

  it('shuffles per (seed, epoch): a permutation, reproducible by a fresh loader, different across epochs and seeds', async () => {
    const make = (seed: number) => new Loader(counting(20), { batchSize: 6, shuffle: true, seed });
    const e3 = (await collect(make(5), 3)).ids.flat();
    expect([...e3].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `s${i}`).sort());
    const resumed = make(5);
    expect((await collect(resumed, 3)).ids.flat()).toEqual(e3);
    expect((await collect(resumed, 4)).ids.flat()).not.toEqual(e3);
    expect((await collect(make(6), 3)).ids.flat()).not.toEqual(e3);
    expect(make(5).order(3).map((i) => `s${i}`)).toEqual(e3);
  });

  it('keeps up to `prefetch` batches loading while the caller holds one', async () => {
    const requested: number[] = [];
    const loader = new Loader(counting(40, 2, 3, (i) => requested.push(i), 5), { batchSize: 2, prefetch: 2 });
    const it = loader.epoch(0)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    await new Promise((r) => setTimeout(r, 30));
    // batch 0 delivered, batches 1 and 2 requested ahead, nothing beyond
    expect([...requested].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    await it.return?.(undefined);
    const lazy = new Loader(counting(40, 2, 3, () => undefined), { batchSize: 2, prefetch: 0 });
    expect(lazy.prefetch).toBe(0);
    expect((await collect(lazy, 0)).ids.length).toBe(20);
  });

  it('reports a batch of mixed shapes naming the samples', async () => {
    const a = counting(1, 2, 3), b = counting(2, 4, 4);
    const mixed: Dataset = { name: 'mixed', length: 2, ids: ['s0', 's1'], get: (i) => (i === 0 ? a.get(0) : b.get(1)) };
    const loader = new Loader(mixed, { batchSize: 2 });
    await expect(collect(loader, 0)).rejects.toThrow(/sample s1 is image 1×4×4.*but s0 is 1×2×3/);
  });

  it('split by groups: no group on two sides, sizes near the fractions, train never empty; one group splits by sample', () => {
    const ds = counting(40);
    const groups = Array.from({ length: 40 }, (_, i) => `patient-${Math.floor(i / 5)}`); // 8 patients × 5 slices
    const grouped: Dataset = { ...ds, name: ds.name, length: 40, ids: ds.ids, get: (i) => ds.get(i), groups };
    for (let seed = 0; seed < 10; seed++) {
      const p = split(grouped, { seed, testFraction: 0.25, valFraction: 0.1 });
      const of = (d: { groups?: readonly string[] }) => new Set(d.groups);
      const [tr, va, te] = [of(p.train), of(p.val), of(p.test)];
      for (const g of te) expect(tr.has(g) || va.has(g)).toBe(false);
      for (const g of va) expect(tr.has(g)).toBe(false);
      expect([p.test.length, p.val.length]).toEqual([10, 5]); // round(8 · 0.25) = 2 patients to test, round(8 · 0.1) = 1 to val
      expect(p.train.length).toBe(25);
      expect(split(grouped, { seed, testFraction: 0.25, valFraction: 0.1 }).test.ids).toEqual(p.test.ids);
    }
    // counted in groups, not samples: patients of 1 to 8 slices still give 2 of 8 patients to test
    const uneven: Dataset = { ...grouped, groups: groups.map((_, i) => `p${[0, 1, 3, 6, 10, 15, 21, 28].filter((start) => i >= start).length}`) };
    for (let seed = 0; seed < 10; seed++) expect(new Set(split(uneven, { seed, testFraction: 0.25 }).test.groups).size).toBe(2);
    // two groups and a large test share: the last group in the order still trains
    const two: Dataset = { ...grouped, groups: groups.map((g) => (g < 'patient-4' ? 'a' : 'b')) };
    expect(split(two, { testFraction: 0.9 }).train.length).toBe(20);
    // one group: nothing to keep apart, so the samples split as without groups
    const one: Dataset = { ...grouped, groups: groups.map(() => 'all') };
    expect(split(one, { seed: 3 }).test.ids).toEqual(split(ds, { seed: 3 }).test.ids);
  });

  it('augmentation applies one dihedral transform to image, mask and fov alike', async () => {
    const H = 4, W = 4;
    const image = new Float32Array(H * W).map((_, q) => q);
    const s: Sample = { image, mask: image.map((v) => v % 2), fov: image.map((v) => v * 10), shape: { channels: 1, classes: 1, height: H, width: W }, id: 'x' };
    const grid = (a: Float32Array) => Array.from({ length: H }, (_, y) => Array.from(a.subarray(y * W, y * W + W)));
    // All 8 symmetries of the square, computed on nested arrays.
    const rot = (g: number[][]) => g[0].map((_, x) => g.map((row) => row[g[0].length - 1 - x]));
    const flip = (g: number[][]) => g.map((row) => [...row].reverse());
    const syms: number[][][] = [];
    let g = grid(image);
    for (let k = 0; k < 4; k++) {
      syms.push(g, flip(g));
      g = rot(g);
    }
    const seen = new Set<number>();
    for (let seed = 0; seed < 60; seed++) {
      const out = augmentSample(s, new Rng(seed), { flip: true, rotate90: true });
      const k = syms.findIndex((sym) => JSON.stringify(sym) === JSON.stringify(grid(out.image)));
      expect(k).toBeGreaterThanOrEqual(0);
      seen.add(k);
      expect(Array.from(out.mask)).toEqual(Array.from(out.image, (v) => v % 2));
      expect(Array.from(out.fov!)).toEqual(Array.from(out.image, (v) => v * 10));
    }
    expect(seen.size).toBe(8);
    // Non-square samples keep their shape.
    const wide: Sample = { ...s, image: new Float32Array(2 * 3), mask: new Float32Array(6), fov: undefined, shape: { channels: 1, classes: 1, height: 2, width: 3 } };
    for (let seed = 0; seed < 20; seed++) expect(augmentSample(wide, new Rng(seed), { rotate90: true }).shape).toMatchObject({ height: 2, width: 3 });
  });

  it('intensity augmentation changes the image alone, keeps [0, 1] and the order of the values, and is drawn per image', () => {
    const H = 6, W = 6;
    // two channels: a ramp, and a ramp backwards with a dark half
    const image = Float32Array.from({ length: 2 * H * W }, (_, q) => (q < H * W ? q / (H * W - 1) : q % 2 ? 0.05 : 1 - (q - H * W) / (H * W)));
    const mask = Float32Array.from({ length: H * W }, (_, q) => q % 3 === 0 ? 1 : 0);
    const s: Sample = { image, mask, fov: mask.map((v) => 1 - v), shape: { channels: 2, classes: 1, height: H, width: W }, id: 'x' };
    let unchanged = 0;
    const shifts = new Set<string>();
    for (let seed = 0; seed < 400; seed++) {
      const out = augmentSample(s, new Rng(seed), { intensity: true });
      expect(out.mask).toBe(mask);
      expect(out.fov).toBe(s.fov);
      if (out.image === image) {
        unchanged++;
        continue;
      }
      for (let q = 0; q < image.length; q++) {
        expect(out.image[q]).toBeGreaterThanOrEqual(0);
        expect(out.image[q]).toBeLessThanOrEqual(1);
      }
      // each channel's transform is monotone: brighter stays at least as bright
      for (let ch = 0; ch < 2; ch++) {
        for (let p = 0; p < H * W; p++) for (let r = 0; r < H * W; r++) {
          if (image[ch * 36 + p] < image[ch * 36 + r]) expect(out.image[ch * 36 + p]).toBeLessThanOrEqual(out.image[ch * 36 + r]);
        }
      }
      // the mid-tone moves darker for some images and brighter for others
      shifts.add(Math.sign(out.image[18] - image[18]).toString());
    }
    // nothing drawn with probability 0.7³ ≈ 0.34
    expect(unchanged / 400).toBeGreaterThan(0.27);
    expect(unchanged / 400).toBeLessThan(0.41);
    expect(shifts).toEqual(new Set(['-1', '1']));
    // with the flips too: the same image for the same seed, and the flips drawn as without intensity
    const both = augmentSample(s, new Rng(7), { flip: true, intensity: true });
    expect(Array.from(both.image)).toEqual(Array.from(augmentSample(s, new Rng(7), { flip: true, intensity: true }).image));
    expect(Array.from(both.mask)).toEqual(Array.from(augmentSample(s, new Rng(7), { flip: true }).mask));
  });

  it('augmentation is off by default and reproducible per (seed, epoch) when on', async () => {
    const ds = counting(8, 3, 3);
    const plain = new Loader(ds, { batchSize: 8 });
    for await (const b of plain.epoch(0)) {
      expect(Array.from(await b.masks.data()).filter((v, q) => v === 1 && q % 9 !== 0)).toEqual([]);
      b.images.dispose();
      b.masks.dispose();
    }
    const masksOf = async (l: Loader, e: number) => {
      const out: number[] = [];
      for await (const b of l.epoch(e)) {
        out.push(...(await b.masks.data()));
        b.images.dispose();
        b.masks.dispose();
      }
      return out;
    };
    const aug = (seed: number) => new Loader(ds, { batchSize: 4, seed, augment: { flip: true, rotate90: true } });
    const m = await masksOf(aug(1), 2);
    expect(await masksOf(aug(1), 2)).toEqual(m);
    const corners = [0, 2, 6, 8];
    // the single foreground pixel lands on some corner of every sample, not always the first
    const where = Array.from({ length: 8 }, (_, n) => corners.find((c) => m[n * 9 + c] === 1));
    expect(where.every((c) => c !== undefined)).toBe(true);
    expect(new Set(where).size).toBeGreaterThan(1);
  });

  it('sampleToTensors gives [C,H,W] and [K,H,W] tensors', async () => {
    const s = await counting(3).get(2);
    const t = sampleToTensors(s);
    expect([...t.image.shape]).toEqual([1, 2, 3]);
    expect([...t.mask.shape]).toEqual([1, 2, 3]);
    expect(Array.from(await t.image.data())).toEqual([2, 2, 2, 2, 2, 2]);
    t.image.dispose();
    t.mask.dispose();
  });
});
