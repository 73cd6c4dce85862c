import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { patchPositions, reassemble, slidingWindow } from '../../src/data/index.js';

describe('slidingWindow / reassemble', () => {
  it('reassembling untouched patches reproduces the image exactly, for any geometry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 4, max: 30 }), fc.integer({ min: 4, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer(),
        (C, H, W, p0, s0, seed) => {
          const patch = 1 + (p0 % Math.min(H, W));
          const stride = 1 + (s0 % patch);
          const img = new Float32Array(C * H * W).map((_, i) => Math.fround(Math.sin(seed + i * 1.37)));
          const { patches, positions, count } = slidingWindow(img, { channels: C, height: H, width: W }, patch, stride);
          expect(count).toBe(positions.length);
          expect(patches.length).toBe(count * C * patch * patch);
          for (const { y, x } of positions) {
            expect(y >= 0 && x >= 0 && y + patch <= H && x + patch <= W).toBe(true);
          }
          const back = reassemble(patches, positions, { channels: C, height: H, width: W }, patch);
          expect(Array.from(back)).toEqual(Array.from(img));
          // a weighted mean of equal values is that value: the Gaussian blend too (to float32 rounding)
          const blended = reassemble(patches, positions, { channels: C, height: H, width: W }, patch, 'gaussian');
          blended.forEach((v, q) => expect(v).toBeCloseTo(img[q], 6));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('patch content is the crop at its position', () => {
    const H = 5, W = 7;
    const img = new Float32Array(2 * H * W).map((_, i) => i);
    const { patches, positions } = slidingWindow(img, { channels: 2, height: H, width: W }, 3, 2);
    // starts along y: 0, 2 (last = H-3 = 2); along x: 0, 2, 4
    expect(positions).toEqual([{ y: 0, x: 0 }, { y: 0, x: 2 }, { y: 0, x: 4 }, { y: 2, x: 0 }, { y: 2, x: 2 }, { y: 2, x: 4 }]);
    const k = 4; // (y 2, x 2)
    // channel 1, row 1, column 2 of that patch = image[1, 3, 4] = 35 + 3 * 7 + 4
    expect(patches[k * 18 + 9 + 1 * 3 + 2]).toBe(35 + 21 + 4);
  });

  it('averages overlapping patch outputs', () => {
    // 4×6 image, 4×4 patches at x = 0 and x = 2: columns 2 and 3 are covered twice.
    const positions = patchPositions(4, 6, 4, 2);
    expect(positions).toEqual([{ y: 0, x: 0 }, { y: 0, x: 2 }]);
    const patches = new Float32Array(32);
    patches.fill(1, 0, 16);
    patches.fill(3, 16, 32);
    const out = reassemble(patches, positions, { channels: 1, height: 4, width: 6 }, 4);
    expect(Array.from(out.subarray(0, 6))).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it("the Gaussian blend weighs each patch by exp(−d²/2σ²) from its centre, σ = patch/8 (nnU-Net's importance map)", () => {
    const positions = patchPositions(4, 6, 4, 2);
    const patches = new Float32Array(32);
    patches.fill(1, 0, 16);
    patches.fill(3, 16, 32);
    const out = reassemble(patches, positions, { channels: 1, height: 4, width: 6 }, 4, 'gaussian');
    // pixel (row 1, column 2) is column 2 of the first patch and column 0 of the second: weights w(1, 2) and w(1, 0)
    const w = (y: number, x: number) => Math.exp(-((y - 1.5) ** 2 + (x - 1.5) ** 2) / (2 * 0.5 ** 2));
    const [a, b] = [w(1, 2), w(1, 0)];
    expect(out[1 * 6 + 2]).toBeCloseTo((1 * a + 3 * b) / (a + b), 6);
    // columns covered once keep their patch's value
    expect([out[0], out[5]]).toEqual([1, 3]);
    expect(() => reassemble(patches, positions, { channels: 1, height: 4, width: 6 }, 4, 'median' as 'mean')).toThrow(/blend must be 'mean' or 'gaussian'/);
  });

  it('rejects a patch larger than the image and a wrong patch count', () => {
    expect(() => patchPositions(4, 8, 5)).toThrow(/5×5 patch does not fit in a 4×8/);
    expect(() => reassemble(new Float32Array(10), [{ y: 0, x: 0 }], { channels: 1, height: 4, width: 4 }, 4)).toThrow(/need 16 values, got 10/);
  });
});
