import { describe, expect, it } from 'vitest';
import { foregroundShare, fromArrays, Loader, stack, synthetic, type Dataset } from '../../src/data/index.js';
import { losses, models, train } from '../../src/index.js';

describe('fromArrays', () => {
  it('keeps images as given, binary and class-index masks (one-hot), fields of view and ids', async () => {
    const image = Float32Array.from({ length: 2 * 2 * 3 }, (_, q) => q / 11);
    const ds = fromArrays(
      [
        { image, mask: [0, 1, 1, 0, 0, 1], fov: [1, 1, 1, 1, 0, 0], id: 'left' },
        { image: new Uint8Array(12), mask: new Uint8Array(6) },
      ],
      { height: 2, width: 3, name: 'mine' },
    );
    expect([ds.name, ds.length, ds.ids]).toEqual(['mine', 2, ['left', 'sample-1']]);
    const a = await ds.get(0);
    expect(a.shape).toEqual({ channels: 2, classes: 1, height: 2, width: 3 });
    expect(Array.from(a.image)).toEqual(Array.from(image));
    expect(Array.from(a.mask)).toEqual([0, 1, 1, 0, 0, 1]);
    expect(Array.from(a.fov!)).toEqual([1, 1, 1, 1, 0, 0]);
    image[0] = 0.5; // copied: later changes to the caller's arrays do not reach the dataset
    expect((await ds.get(0)).image[0]).toBe(0);
    await expect(ds.get(2)).rejects.toThrow(/mine: sample index 2 is out of range \[0, 2\)/);

    const k = await fromArrays([{ image: new Float32Array(4), mask: [0, 2, 1, 2] }], { height: 2, width: 2, classes: 3 }).get(0);
    expect(k.shape.classes).toBe(3);
    expect(Array.from(k.mask)).toEqual([1, 0, 0, 0, /**/ 0, 0, 1, 0, /**/ 0, 1, 0, 1]);
  });

  it('errors name the sample and say what to do: lengths, 8-bit images, NaN, 0/255 masks, class indices, ids', () => {
    const ok = { image: new Float32Array(4), mask: [0, 1, 0, 1] };
    const opts = { height: 2, width: 2 };
    const cases: [Parameters<typeof fromArrays>[0], Partial<Parameters<typeof fromArrays>[1]>, RegExp][] = [
      [[ok, { image: new Float32Array(5), mask: ok.mask }], {}, /sample sample-1: image has 5 values; \[C, H, W\] = \[1, 2, 2\] is 4/],
      [[{ ...ok, mask: [0, 1, 0] }], {}, /sample sample-0: mask has 3 values; \[H, W\] = \[2, 2\] is 4/],
      [[{ image: [0, 200, 3, 255], mask: ok.mask, id: 'x' }], {}, /sample x: image value 200 at index 1 is outside \[0, 1\]; scale 8-bit pixels by 1\/255/],
      [[{ image: [0, NaN, 0, 0], mask: ok.mask }], {}, /image value NaN at index 1 is not a finite number/],
      [[{ ...ok, mask: [0, 255, 0, 255] }], {}, /mask value 255 at pixel 1; a binary mask holds 0 and 1 \(divide a 0\/255 mask by 255\), or pass classes: K/],
      [[{ ...ok, mask: [0, 1, 3, 0] }], { classes: 3 }, /sample sample-0: pixel 2 has class index 3, expected < 3 and a whole number ≥ 0/],
      [[{ ...ok, mask: [0, 0.5, 1, 0] }], { classes: 2 }, /sample sample-0: pixel 1 has class index 0\.5, expected < 2 and a whole number ≥ 0/],
      [[{ ...ok, mask: [0, -1, 1, 0] }], { classes: 2 }, /pixel 1 has class index -1, expected < 2 and a whole number ≥ 0/],
      [[{ ...ok, fov: [1, 1, 2, 1] }], {}, /sample sample-0 \(fov\): mask value 2 at pixel 2/],
      [[{ ...ok, id: 'a' }, { ...ok, id: 'a' }], {}, /sample a: the id is used twice/],
      [[], {}, /no samples/],
      [[{ image: new Float32Array(6), mask: ok.mask }], {}, /the first image has 6 values, not a whole number of 2×2 planes; pass channels/],
      [[ok], { height: 0 }, /height must be a positive integer, got 0/],
    ];
    for (const [samples, extra, message] of cases) expect(() => fromArrays(samples, { ...opts, ...extra }), String(message)).toThrow(message);
  });

  it('trains: fit() on an in-memory set of discs lowers the loss', async () => {
    const H = 16;
    const samples = Array.from({ length: 8 }, (_, i) => {
      const r = 3 + (i % 4);
      const inside = (q: number) => (Math.floor(q / H) - 8) ** 2 + ((q % H) - 8) ** 2 <= r * r;
      return { image: Float32Array.from({ length: H * H }, (_, q) => (inside(q) ? 0.8 : 0.2)), mask: Uint8Array.from({ length: H * H }, (_, q) => (inside(q) ? 1 : 0)) };
    });
    const model = new models.UNet({ inChannels: 1, outChannels: 1, widths: [4, 8], seed: 0 });
    const result = await train.fit(model, losses.dice(), fromArrays(samples, { height: H, width: H }), { epochs: 6, batchSize: 4, lr: 1e-2, seed: 0 });
    expect(result.epochs[5].trainLoss).toBeLessThan(0.8 * result.epochs[0].trainLoss);
  });
});

describe('stack', () => {
  it('names a hand-written sample whose arrays do not hold the shape it states', async () => {
    const liar: Dataset = {
      name: 'liar',
      length: 1,
      ids: ['s0'],
      get: async () => ({ image: new Float32Array(5), mask: new Float32Array(6), shape: { channels: 1, classes: 1, height: 2, width: 3 }, id: 's0' }),
    };
    const sample = await liar.get(0);
    expect(() => stack([sample], 'liar')).toThrow(/liar: sample s0 states image 1×2×3 \(6 values\) and mask 1×2×3 \(6\), but holds 5 and 6/);
    const batches = new Loader(liar, { batchSize: 1 }).epoch(0)[Symbol.asyncIterator]();
    await expect(batches.next()).rejects.toThrow(/but holds 5 and 6/);
  });
});

describe('foregroundShare', () => {
  it('the share of foreground pixels over masks spread through the set, inside the field of view; several classes: all but class 0', async () => {
    const two = fromArrays(
      [
        { image: new Float32Array(4), mask: [1, 0, 0, 0], fov: [1, 1, 0, 0] },
        { image: new Float32Array(4), mask: [1, 1, 1, 0] },
      ],
      { height: 2, width: 2 },
    );
    expect(await foregroundShare(two)).toEqual({ share: (1 + 3) / (2 + 4), masks: 2 });
    expect(await foregroundShare(two, 1)).toEqual({ share: 1 / 2, masks: 1 });
    const classes = fromArrays([{ image: new Float32Array(4), mask: [0, 2, 1, 0] }], { height: 2, width: 2, classes: 3 });
    expect((await foregroundShare(classes)).share).toBe(1 / 2);
    const blobs = await foregroundShare(synthetic({ kind: 'blobs', count: 10, size: 32, foreground: 0.2, seed: 1 }), 5);
    expect(blobs.masks).toBe(5);
    expect(Math.abs(blobs.share - 0.2)).toBeLessThan(0.01 + 1 / 1024);
  });
});
