import { describe, expect, it } from 'vitest';
import { binaryMask, fromImageData, maskFromImageData, oneHotMask, resizeBilinear, resizeNearest, sampleFromImageData } from '../../src/data/index.js';

const rgba = (w: number, h: number, f: (p: number, c: number) => number) => ({ width: w, height: h, data: Uint8ClampedArray.from({ length: w * h * 4 }, (_, i) => f(Math.floor(i / 4), i % 4)) });

describe('browser decoding', () => {
  it('fromImageData drops alpha into planar [3,H,W] or takes luminance for 1 channel', () => {
    const img = rgba(2, 1, (p, c) => [[255, 0, 51, 7], [0, 102, 0, 200]][p][c]);
    expect(Array.from(fromImageData(img))).toEqual([1, 0, 0, 102 / 255, 51 / 255, 0].map(Math.fround));
    const grey = fromImageData(img, { channels: 1 });
    expect(grey[0]).toBeCloseTo((0.299 * 255 + 0.114 * 51) / 255, 6);
    expect(() => fromImageData({ width: 2, height: 2, data: new Uint8ClampedArray(3) })).toThrow(/expected 16 RGBA bytes for 2×2, got 3/);
  });

  it('masks: > 127 is foreground; class indices one-hot from the red channel', () => {
    const m = rgba(4, 1, (p, c) => (c === 3 ? 255 : [0, 127, 128, 255][p]));
    expect(Array.from(maskFromImageData(m))).toEqual([0, 0, 1, 1]);
    const idx = rgba(3, 1, (p, c) => (c === 0 ? [2, 0, 1][p] : 0));
    expect(Array.from(maskFromImageData(idx, { classes: 3 }))).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    expect(() => oneHotMask([0, 3], 3, 'm.png')).toThrow(/m\.png: pixel 1 has class index 3, expected < 3/);
    expect(Array.from(binaryMask([0, 200]))).toEqual([0, 1]);
    const s = sampleFromImageData(rgba(2, 2, () => 255), rgba(2, 2, () => 255), { id: 'x' });
    expect(s.shape).toEqual({ channels: 3, classes: 1, height: 2, width: 2 });
    expect(() => sampleFromImageData(rgba(2, 2, () => 0), rgba(3, 2, () => 0))).toThrow(/image is 2×2 but mask is 3×2/);
  });

  it('binaryMask: 0/255 above 127, 0/1 by its 1s, and a largest value of 2 to 127 is an error naming the source', () => {
    expect(Array.from(binaryMask([0, 1, 127, 128, 255]))).toEqual([0, 0, 0, 1, 1]);
    expect(Array.from(binaryMask([0, 1, 1, 0]))).toEqual([0, 1, 1, 0]);
    expect(Array.from(binaryMask([1, 1]))).toEqual([1, 1]);
    expect(Array.from(binaryMask([0, 0]))).toEqual([0, 0]);
    for (const max of [2, 64, 127]) expect(() => binaryMask([0, 1, max], 'm.png')).toThrow(new RegExp(`^m\\.png: the mask's largest value is ${max},`));
    const ones = rgba(3, 1, (p, c) => (c === 3 ? 255 : [0, 1, 1][p]));
    expect(Array.from(maskFromImageData(ones))).toEqual([0, 1, 1]);
    expect(() => maskFromImageData(rgba(2, 1, (p, c) => (c === 3 ? 255 : 3 * p)))).toThrow(/^maskFromImageData: the mask's largest value is 3/);
    // colour on black: each pixel's brightest channel (pure blue's luminance is 29, red's 76)
    expect(Array.from(maskFromImageData(rgba(3, 1, (p, c) => (c === 3 ? 255 : [[0, 0, 0], [0, 0, 255], [255, 0, 0]][p][c]))))).toEqual([0, 1, 1]);
  });

  it('plain-JS resizing: bilinear interpolates at half-pixel centres, nearest keeps labels', () => {
    // 1×2 → 1×4: centres at x = -0.25, 0.25, 0.75, 1.25 in source pixels → clamped 0, 0.25, 0.75, 1
    const up = resizeBilinear(Float32Array.from([0, 1]), 1, 1, 2, 1, 4);
    expect(Array.from(up)).toEqual([0, 0.25, 0.75, 1]);
    const lab = resizeNearest(Float32Array.from([0, 1, 1, 0]), 1, 2, 2, 4, 4);
    expect(Array.from(lab)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]);
  });
});
