import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { surfaceDistances, surfaceScores, volumeSurfaceDistances } from '../../src/metrics/index.js';

/** Brute force: edges by an explicit zero-padded 4-neighbour erosion, every pair's distance, numpy's percentile. */
function reference(pred: number[], mask: number[], H: number, W: number, [sy, sx]: [number, number]) {
  const at = (x: number[], y: number, c: number): number => (y < 0 || c < 0 || y >= H || c >= W ? 0 : x[y * W + c]);
  const edgesOf = (x: number[]): [number, number][] => {
    const out: [number, number][] = [];
    for (let y = 0; y < H; y++) for (let c = 0; c < W; c++) {
      const eroded = at(x, y, c) && at(x, y - 1, c) && at(x, y + 1, c) && at(x, y, c - 1) && at(x, y, c + 1);
      if (at(x, y, c) && !eroded) out.push([y, c]);
    }
    return out;
  };
  const a = edgesOf(pred);
  const b = edgesOf(mask);
  if (!a.length || !b.length) return null;
  const directed = (from: [number, number][], to: [number, number][]): number[] =>
    from.map(([y, c]) => Math.min(...to.map(([v, u]) => Math.hypot((y - v) * sy, (c - u) * sx)))).sort((p, q) => p - q);
  const numpyPercentile = (v: number[], q: number): number => {
    const r = ((v.length - 1) * q) / 100;
    const lo = Math.floor(r);
    return lo + 1 < v.length ? v[lo] * (1 - (r - lo)) + v[lo + 1] * (r - lo) : v[lo];
  };
  const ab = directed(a, b);
  const ba = directed(b, a);
  const all = [...ab, ...ba];
  return { hd: Math.max(...all), hd95: Math.max(numpyPercentile(ab, 95), numpyPercentile(ba, 95)), assd: all.reduce((s, d) => s + d, 0) / all.length };
}

describe('surfaceDistances', () => {
  it('gives the distance between two single pixels as HD, HD95 and ASSD', () => {
    const pred = new Array(5 * 6).fill(0);
    const mask = new Array(5 * 6).fill(0);
    pred[0] = 1; // (0, 0)
    mask[3 * 6 + 4] = 1; // (3, 4): 5 away
    expect(surfaceDistances(pred, mask, { height: 5, width: 6 })).toEqual({ hd: 5, hd95: 5, assd: 5 });
    // with pixels 2 tall and 0.5 wide: √(6² + 2²)
    expect(surfaceDistances(pred, mask, { height: 5, width: 6, spacing: [2, 0.5] }).hd).toBeCloseTo(Math.sqrt(40), 12);
  });

  it('takes HD95 as the larger directed 95th percentile, with numpy’s interpolation, and ASSD over both directions', () => {
    // one row: the mask at 0, predictions at 1 and 10; prediction → mask distances [1, 10], mask → prediction [1]
    const mask = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const pred = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const d = surfaceDistances(pred, mask, { height: 1, width: 11 });
    expect(d.hd).toBe(10);
    expect(d.hd95).toBeCloseTo(1 + 0.95 * 9, 12);
    expect(d.assd).toBeCloseTo((1 + 10 + 1) / 3, 12);
  });

  it('counts only the border of a filled shape: a square against itself shifted by 2 columns', () => {
    // 4×4 squares in a 6×8 image: every edge pixel of one lies 0 or 2 columns from the other's nearest edge
    const square = (c0: number): number[] => Array.from({ length: 48 }, (_, p) => (Math.floor(p / 8) >= 1 && Math.floor(p / 8) <= 4 && p % 8 >= c0 && p % 8 < c0 + 4 ? 1 : 0));
    // each square has 12 edge pixels; both ways four of them lie 0 from the other's nearest edge, four 1
    // and four 2: HD 2, ASSD 1, and the 95th percentile's rank 11·0.95 falls between two 2s
    expect(surfaceDistances(square(2), square(0), { height: 6, width: 8 })).toEqual({ hd: 2, hd95: 2, assd: 1 });
  });

  it('matches brute force on random masks and pixel sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 7 }),
        fc.double({ min: 0.25, max: 4, noNaN: true }),
        fc.double({ min: 0.25, max: 4, noNaN: true }),
        fc.array(fc.boolean(), { minLength: 49, maxLength: 49 }),
        fc.array(fc.boolean(), { minLength: 49, maxLength: 49 }),
        (H, W, sy, sx, a, b) => {
          const pred = a.slice(0, H * W).map(Number);
          const mask = b.slice(0, H * W).map(Number);
          const want = reference(pred, mask, H, W, [sy, sx]);
          const got = surfaceDistances(pred.map((v) => v * 0.8), mask, { height: H, width: W, spacing: [sy, sx] });
          for (const k of ['hd', 'hd95', 'assd'] as const) {
            if (want) expect(got[k]).toBeCloseTo(want[k], 9);
            else expect(got[k]).toBeNaN();
          }
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('leaves out foreground outside the field of view, reads at an offset, and names bad options', () => {
    const mask = [1, 0, 0, 0, 0, 0];
    const pred = [1, 0, 0, 0, 0, 1]; // a stray pixel at (1, 2), outside the field of view below
    expect(surfaceDistances(pred, mask, { height: 2, width: 3 }).hd).toBeCloseTo(Math.sqrt(5), 12);
    expect(surfaceDistances(pred, mask, { height: 2, width: 3, fov: [1, 1, 1, 1, 1, 0] })).toEqual({ hd: 0, hd95: 0, assd: 0 });
    expect(surfaceDistances([9, 9, ...pred], [9, 9, ...mask], { height: 2, width: 3, offset: 2 }).hd).toBeCloseTo(Math.sqrt(5), 12);
    expect(() => surfaceDistances(pred, mask, { height: 2, width: 4 })).toThrow(/8 values; the predictions have 6/);
    expect(() => surfaceDistances(pred, mask, { height: 2, width: 3, spacing: [1, 0] })).toThrow(/spacing must be two positive numbers/);
  });
});

describe('surfaceScores', () => {
  it('averages over images with foreground on both sides and counts the others', () => {
    // four 1×4 images: 1 apart; identical; object missed; nothing there but something predicted; both empty
    const masks = [1, 0, 0, 0, /**/ 0, 1, 1, 0, /**/ 0, 0, 1, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 0, 0];
    const probs = [0, 0.9, 0, 0, /**/ 0, 0.7, 0.6, 0, /**/ 0, 0, 0.2, 0, /**/ 0.9, 0, 0, 0, /**/ 0, 0, 0, 0];
    const s = surfaceScores(probs, masks, { shape: [5, 1, 1, 4] });
    expect(s).toEqual({ hd95: 0.5, assd: 0.5, images: 2, emptyPrediction: 1, emptyMask: 1 });
    expect(surfaceScores(probs, masks, { shape: [5, 1, 1, 4], threshold: 0.1 }).emptyPrediction).toBe(0);
    expect(surfaceScores([0], [0], { shape: [1, 1, 1, 1] }).hd95).toBeNaN();
    expect(() => surfaceScores(probs, masks, { shape: [5, 1, 2, 4] })).toThrow(/must be \[N, 1, H, W\] and hold as many values as the predictions \(20\)/);
  });
});

/** Brute force in 3D: edges by a zero-padded 6-neighbour erosion, every pair's distance with the voxel size. */
function reference3d(pred: number[], mask: number[], [D, H, W]: number[], [sz, sy, sx]: number[]) {
  const at = (x: number[], z: number, y: number, c: number): number => (z < 0 || y < 0 || c < 0 || z >= D || y >= H || c >= W ? 0 : x[(z * H + y) * W + c]);
  const edgesOf = (x: number[]): number[][] => {
    const out: number[][] = [];
    for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let c = 0; c < W; c++) {
      const kept = [[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]].every(([a, b, e]) => at(x, z + a, y + b, c + e));
      if (at(x, z, y, c) && !kept) out.push([z, y, c]);
    }
    return out;
  };
  const [a, b] = [edgesOf(pred), edgesOf(mask)];
  if (!a.length || !b.length) return null;
  const directed = (from: number[][], to: number[][]) => from.map(([z, y, c]) => Math.min(...to.map(([w, v, u]) => Math.hypot((z - w) * sz, (y - v) * sy, (c - u) * sx)))).sort((p, q) => p - q);
  const pct = (v: number[]): number => {
    const r = ((v.length - 1) * 95) / 100;
    const lo = Math.floor(r);
    return lo + 1 < v.length ? v[lo] + (v[lo + 1] - v[lo]) * (r - lo) : v[lo];
  };
  const [ab, ba] = [directed(a, b), directed(b, a)];
  const all = [...ab, ...ba];
  return { hd: Math.max(...all), hd95: Math.max(pct(ab), pct(ba)), assd: all.reduce((s, d) => s + d, 0) / all.length };
}

describe('volumeSurfaceDistances', () => {
  it('matches brute force on random volumes and voxel sizes (6-connected edges, the first and last slices as border)', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
        fc.tuple(fc.double({ min: 0.3, max: 4, noNaN: true }), fc.double({ min: 0.3, max: 4, noNaN: true }), fc.double({ min: 0.3, max: 4, noNaN: true })),
        fc.array(fc.boolean(), { minLength: 100, maxLength: 100 }),
        fc.array(fc.boolean(), { minLength: 100, maxLength: 100 }),
        (dims, spacing, a, b) => {
          const n = dims[0] * dims[1] * dims[2];
          const [pred, mask] = [a.slice(0, n).map(Number), b.slice(0, n).map(Number)];
          const want = reference3d(pred, mask, dims, spacing);
          const got = volumeSurfaceDistances(pred, mask, { depth: dims[0], height: dims[1], width: dims[2], spacing });
          for (const k of ['hd', 'hd95', 'assd'] as const) {
            if (want) expect(got[k]).toBeCloseTo(want[k], 9);
            else expect(got[k]).toBeNaN();
          }
        },
      ),
      { numRuns: 200, seed: 21 },
    );
  });

  it('measures across slices in the slice spacing: a cube shifted by one slice of 3 mm', () => {
    // 5×5×5 volume, 3×3×3 cubes at z 0…2 and z 1…3, voxels 3 × 1 × 1 mm
    const cube = (z0: number) => Array.from({ length: 125 }, (_, q) => (Math.floor(q / 25) >= z0 && Math.floor(q / 25) < z0 + 3 && Math.floor(q / 5) % 5 >= 1 && Math.floor(q / 5) % 5 < 4 && q % 5 >= 1 && q % 5 < 4 ? 1 : 0));
    const d = volumeSurfaceDistances(cube(1), cube(0), { depth: 5, height: 5, width: 5, spacing: [3, 1, 1] });
    expect(d.hd).toBe(3);
    expect(() => volumeSurfaceDistances([1], [1], { depth: 1, height: 1, width: 1, spacing: [1, 0, 1] })).toThrow(/spacing must be three positive numbers/);
  });
});
