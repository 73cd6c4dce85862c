import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeXml, figure, lineChart, rocChart } from '../../src/plot/index.js';
import { xmlProblems } from './xml.js';

/** Pixel position of each tick, read from the SVG: `{ value → px }` for the x or y axis. */
function tickPositions(svg: string, axis: 'x' | 'y'): Map<number, number> {
  const re = axis === 'x'
    ? /<g class="tick x" data-value="([^"]+)"><line x1="([^"]+)"/g
    : /<g class="tick y" data-value="([^"]+)"><line x1="[^"]+" x2="[^"]+" y1="([^"]+)"/g;
  return new Map([...svg.matchAll(re)].map((m) => [Number(m[1]), Number(m[2])]));
}
function tickLabels(svg: string, axis: 'x' | 'y'): string[] {
  return [...svg.matchAll(new RegExp(`<g class="tick ${axis}"[^>]*><line[^>]*/><text[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);
}
const paths = (svg: string) => [...svg.matchAll(/<path class="series"[^>]* d="([^"]*)"/g)].map((m) => m[1]);

/** True when v is m·10^k with m ∈ {1, 2, 5}, up to rounding. */
function isNice(step: number): boolean {
  const k = Math.floor(Math.log10(step) + 1e-9);
  const m = step / 10 ** k;
  return [1, 2, 5, 10].some((n) => Math.abs(m - n) < 1e-6);
}

const base = {
  title: 'Training <loss> & "metrics"',
  xLabel: 'epoch',
  yLabel: 'loss',
  series: [
    { name: 'train', x: [0, 1, 2, 3, 4], y: [1, 0.6, 0.4, 0.3, 0.25] },
    { name: "val 'dice' < 1", x: [0, 1, 2, 3, 4], y: [1.1, NaN, 0.5, 0.45, 0.4], dash: true },
    { name: 'third', x: [0, 4], y: [0.2, 0.2], color: '#123456' },
  ],
  vlines: [{ x: 2.5, label: 'lr drop' }],
};

describe('lineChart', () => {
  const svg = lineChart(base);

  it('is well-formed XML with an svg root', () => {
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('has one path per series and escapes every text', () => {
    expect(paths(svg)).toHaveLength(3);
    for (const s of base.series) expect(svg).toContain(`>${escapeXml(s.name)}</text>`);
    expect(svg).toContain('Training &lt;loss&gt; &amp; &quot;metrics&quot;');
    expect(svg).toContain('val &apos;dice&apos; &lt; 1');
    expect(svg).toContain('stroke="#123456"');
  });

  it('skips NaN points as a gap and never prints NaN', () => {
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    const d = paths(svg)[1];
    expect(d.match(/M/g)).toHaveLength(2); // the gap at x = 1 lifts the pen once
    expect(d.match(/L/g)).toHaveLength(2);
    expect(paths(svg)[0].match(/M/g)).toHaveLength(1);
  });

  it('puts ticks at nice values and maps data linearly between them', () => {
    const xs = tickPositions(svg, 'x');
    expect([...xs.keys()]).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
    expect(tickLabels(svg, 'x')).toEqual(['0.0', '0.5', '1.0', '1.5', '2.0', '2.5', '3.0', '3.5', '4.0']);
    const ys = tickPositions(svg, 'y');
    expect(tickLabels(svg, 'y')).toEqual(['0.2', '0.4', '0.6', '0.8', '1.0', '1.2']);
    // The first point of 'train' is (0, 1): at the x tick 0 and the y tick 1.
    const [mx, my] = /^M([\d.]+) ([\d.]+)/.exec(paths(svg)[0])!.slice(1).map(Number);
    expect(mx).toBeCloseTo(xs.get(0)!, 1);
    expect(my).toBeCloseTo(ys.get(1)!, 1);
  });

  it('draws a vline at the right x pixel, interpolated from the ticks', () => {
    const xs = tickPositions(svg, 'x');
    const m = /<g class="vline" data-x="2.5"><line x1="([^"]+)" x2="([^"]+)"/.exec(svg)!;
    const expected = xs.get(0)! + (2.5 / 4) * (xs.get(4)! - xs.get(0)!);
    expect(Number(m[1])).toBeCloseTo(expected, 1);
    expect(Number(m[2])).toBeCloseTo(expected, 1);
    expect(svg).toContain('>lr drop</text>');
  });

  it('respects given domains; a vline outside is dropped', () => {
    const s = lineChart({ series: [{ name: 'a', x: [0, 1], y: [0, 1] }], xDomain: [0, 1], yDomain: [0, 1], vlines: [{ x: 0.3 }, { x: 2 }] });
    const xs = tickPositions(s, 'x');
    expect([...xs.keys()]).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const vl = [...s.matchAll(/<g class="vline" data-x="([^"]+)"><line x1="([^"]+)"/g)];
    expect(vl.map((m) => m[1])).toEqual(['0.3']);
    expect(Number(vl[0][2])).toBeCloseTo(xs.get(0)! + 0.3 * (xs.get(1)! - xs.get(0)!), 1);
  });

  it('auto ticks are evenly spaced nice numbers covering the data (property)', () => {
    const finite = fc.double({ min: -1e5, max: 1e5, noNaN: true });
    fc.assert(fc.property(fc.array(fc.tuple(finite, finite), { minLength: 1, maxLength: 20 }), (pts) => {
      const s = lineChart({ series: [{ name: 'p', x: pts.map((p) => p[0]), y: pts.map((p) => p[1]) }] });
      expect(xmlProblems(s)).toEqual([]);
      expect(s).not.toMatch(/NaN|Infinity/);
      for (const axis of ['x', 'y'] as const) {
        const vals = [...tickPositions(s, axis).keys()];
        expect(vals.length).toBeGreaterThanOrEqual(2);
        const step = vals[1] - vals[0];
        expect(isNice(step)).toBe(true);
        for (let i = 1; i < vals.length; i++) expect(vals[i] - vals[i - 1]).toBeCloseTo(step, 6);
        for (const v of vals) expect(Math.abs(v / step - Math.round(v / step))).toBeLessThan(1e-6);
        // Sub-pixel slack: the domain snaps to a tick when the data end is within 1e-9 step of it.
        const data = pts.map((p) => p[axis === 'x' ? 0 : 1]);
        expect(vals[0]).toBeLessThanOrEqual(Math.min(...data) + 1e-6 * step);
        expect(vals.at(-1)!).toBeGreaterThanOrEqual(Math.max(...data) - 1e-6 * step);
      }
    }), { numRuns: 200 });
  });

  it('log y: ticks at powers of ten, non-positive values leave gaps', () => {
    const s = lineChart({ logY: true, series: [{ name: 'g', x: [0, 1, 2, 3, 4], y: [0.002, 0.05, 0, 3, 700] }] });
    expect(tickLabels(s, 'y')).toEqual(['0.001', '0.01', '0.1', '1', '10', '100', '1000']);
    const ys = tickPositions(s, 'y');
    // Equal spacing per decade.
    const gaps = [...ys.values()].slice(1).map((v, i) => v - [...ys.values()][i]);
    for (const g of gaps) expect(g).toBeCloseTo(gaps[0], 1);
    expect(paths(s)[0].match(/M/g)).toHaveLength(2);
    expect(s).not.toMatch(/NaN|Infinity/);
  });

  it('runs the TSDoc example', () => {
    const s = lineChart({ title: 'loss', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'train', x: [0, 1, 2], y: [1, 0.5, 0.3] }] });
    expect(xmlProblems(s)).toEqual([]);
    expect(paths(s)).toHaveLength(1);
    expect(paths(s)[0].match(/L/g)).toHaveLength(2);
  });

  it('is deterministic', () => {
    expect(lineChart(base)).toBe(svg);
  });

  it('rejects series with mismatched lengths, naming the series', () => {
    expect(() => lineChart({ series: [{ name: 'bad', x: [0, 1], y: [0] }] })).toThrow(/lineChart: series 'bad' has 2 x values but 1 y values/);
  });

  it('copes with no finite data (an empty path, default domain)', () => {
    const s = lineChart({ series: [{ name: 'empty', x: [0, 1], y: [NaN, NaN] }] });
    expect(xmlProblems(s)).toEqual([]);
    expect(paths(s)).toEqual(['']);
  });
});

describe('figure and rocChart', () => {
  it('figure places panels side by side with distinct clip ids', () => {
    const f = figure([base, { ...base, title: 'second' }], { title: 'Both' });
    expect(xmlProblems(f)).toEqual([]);
    expect(paths(f)).toHaveLength(6);
    const ids = [...f.matchAll(/<clipPath id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(2);
    expect(f).toMatch(/^<svg[^>]* width="1280" height="454"/);
    expect(f).toContain('<svg x="640" y="34" width="640" height="420"');
  });

  it('rocChart draws each curve, the chance diagonal, and AUC in the legend', () => {
    const r = rocChart({ curves: [{ name: 'U-Net', fpr: [0, 0.1, 1], tpr: [0, 0.8, 1], auc: 0.85 }] });
    expect(xmlProblems(r)).toEqual([]);
    expect(paths(r)).toHaveLength(2);
    expect(r).toContain('>U-Net (AUC 0.850)</text>');
    expect(r).toContain('>chance</text>');
    const xs = tickPositions(r, 'x'), ys = tickPositions(r, 'y');
    // The diagonal runs from the (0,0) tick corner to the (1,1) tick corner.
    const d = paths(r)[1].match(/[\d.]+/g)!.map(Number);
    expect(d[0]).toBeCloseTo(xs.get(0)!, 1);
    expect(d[1]).toBeCloseTo(ys.get(0)!, 1);
    expect(d[2]).toBeCloseTo(xs.get(1)!, 1);
    expect(d[3]).toBeCloseTo(ys.get(1)!, 1);
  });
});
