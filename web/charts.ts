import { losses, plot } from './lib.js';

export interface AllParams {
  omega: number;
  epsilon: number;
  delta: number;
}

/** A small "+" at (x, y) drawn as a series: two strokes separated by a gap (NaN). */
function cross(name: string, x: number, y: number, dx: number, dy: number, color: string): plot.Series {
  return { name, x: [x - dx, x + dx, NaN, x, x], y: [y, y, NaN, y - dy, y + dy], color, strokeWidth: 3 };
}

/**
 * The paper's Figure 1 for one (ω, ε, δ): ALL(x) and dALL/dx on x ∈ [0, 1] with δ marked, the base loss
 * itself (identity, slope 1) for comparison, and optionally the current base-loss value as a point.
 */
export function allFigure(p: AllParams, base: string, current?: number): string {
  const n = 201;
  const xs = Array.from({ length: n }, (_, k) => k / (n - 1));
  const below = xs.filter((x) => x < p.delta);
  const above = xs.filter((x) => x > p.delta);
  const vx = [...below, p.delta, ...above];
  const value = vx.map((x) => losses.adaptiveLogValue(x, p));
  // the slope jumps at δ: ω/(ε+δ) just below, 1 from δ on; a NaN leaves the jump as a gap
  const sx = [...below, p.delta, p.delta, p.delta, ...above];
  const slope = [...below.map((x) => losses.adaptiveLogSlope(x, p)), p.omega / (p.epsilon + p.delta), NaN, 1, ...above.map(() => 1)];
  const maxValue = Math.max(1, ...value);
  const maxSlope = p.omega / p.epsilon;
  const valueSeries: plot.Series[] = [
    { name: 'ALL(x)', x: vx, y: value, color: plot.PALETTE[0] },
    { name: `${base} (identity)`, x: xs, y: xs, color: '#555555', dash: '2 3' },
  ];
  const slopeSeries: plot.Series[] = [
    { name: 'dALL/dx', x: sx, y: slope, color: plot.PALETTE[1] },
    { name: 'slope 1', x: [0, 1], y: [1, 1], color: '#555555', dash: '2 3' },
  ];
  if (current !== undefined && Number.isFinite(current)) {
    const c = Math.min(1, Math.max(0, current));
    valueSeries.push(cross('now', c, losses.adaptiveLogValue(c, p), 0.025, maxValue * 0.05, '#D55E00'));
    slopeSeries.push(cross('now', c, losses.adaptiveLogSlope(c, p), 0.025, maxSlope * 0.05, '#0072B2'));
  }
  const vlines = [{ x: p.delta, label: `δ=${p.delta}`, color: '#555555' }];
  return plot.figure(
    [
      { title: `ALL of ${base}`, xLabel: `${base} loss x`, yLabel: 'ALL(x)', series: valueSeries, vlines, xDomain: [0, 1], width: 380, height: 280, id: 'all-value' },
      { title: 'dALL/dx: the gradient multiplier', xLabel: `${base} loss x`, yLabel: 'dALL/dx', series: slopeSeries, vlines, xDomain: [0, 1], yDomain: [0, Math.ceil(maxSlope * 1.1)], width: 380, height: 280, id: 'all-slope' },
    ],
    { columns: 2, id: 'all' },
  );
}

/** A line chart, or a placeholder chart with an empty axis when there is nothing to draw yet. */
export function chart(opts: plot.LineChartOptions): string {
  const has = opts.series.some((s) => s.x.length > 0);
  return plot.lineChart(has ? opts : { ...opts, series: [{ name: 'no data yet', x: [0, 1], y: [NaN, NaN] }], xDomain: [0, 1], yDomain: [0, 1] });
}
