import { describe, expect, it } from 'vitest';
import { broadcastTo, randn } from '../../src/index.js';

/** cpu broadcastTo by whole runs (native fill / copy) against the values it must repeat. */
describe('cpu broadcastTo by runs', () => {
  it('per-channel values over long rows, and rows repeated over a new axis', () => {
    const c = randn([1, 5, 1, 1], { seed: 1 });
    const y = broadcastTo(c, [3, 5, 9, 11]).dataSync();
    const cv = c.dataSync();
    y.forEach((v, i) => expect(v).toBe(cv[Math.floor(i / 99) % 5]));
    const r = randn([1, 1, 100], { seed: 2 });
    const z = broadcastTo(r, [2, 3, 100]).dataSync();
    const rv = r.dataSync();
    z.forEach((v, i) => expect(v).toBe(rv[i % 100]));
  });
});
