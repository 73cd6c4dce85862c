import { linearTicks, logTicks, niceLinearDomain, niceLogDomain, type Ticks } from './scale.js';
import { el, escapeXml, px, textWidth } from './svg.js';

/** One line of a chart. Points whose x or y is not finite (NaN, ±Infinity; y ≤ 0 on a log axis) leave a gap. */
export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  /** A CSS colour; by default the next colour of a colour-blind-safe palette (Okabe & Ito). */
  color?: string;
  /** A stroke-dasharray such as `'6 4'`, or `true` for the default dash. */
  dash?: string | boolean;
  /** Line width in px (default 2). */
  strokeWidth?: number;
}

/** A vertical marker across the plot area at data coordinate `x`. */
export interface VLine {
  x: number;
  label?: string;
  color?: string;
  /** Dashed by default; `false` for a solid line. */
  dash?: string | boolean;
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: readonly Series[];
  /** The x range; by default the data extent (and vlines) widened to nice numbers. */
  xDomain?: readonly [number, number];
  /** The y range; by default the data extent widened to nice numbers (powers of ten with `logY`). */
  yDomain?: readonly [number, number];
  vlines?: readonly VLine[];
  /** Size in px (default 640 × 420). */
  width?: number;
  height?: number;
  /** A logarithmic y axis. */
  logY?: boolean;
  /** Prefix of the element ids (the clip path); give each chart of one document its own. Default `'plot'`. */
  id?: string;
}

/** Okabe & Ito's colour-blind-safe palette, yellow left out (unreadable on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999'];
const DEFAULT_DASH = '6 4';
const FONT = 12;
const TITLE_FONT = 14;
const LEGEND_ROW = 18;

/** @internal A rendered chart without its `<svg>` wrapper, so `figure` can place several in one document. */
export interface Panel {
  width: number;
  height: number;
  body: string;
}

function dashOf(d: string | boolean | undefined, fallback: string | undefined): string | undefined {
  return d === true ? DEFAULT_DASH : d === false ? undefined : d ?? fallback;
}

function extent(values: Iterable<number>, accept: (v: number) => boolean): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!accept(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** @internal Lays out and draws one chart. */
export function renderPanel(opts: LineChartOptions): Panel {
  const width = opts.width ?? 640;
  const height = opts.height ?? 420;
  const id = opts.id ?? 'plot';
  const logY = opts.logY ?? false;
  const series = opts.series;
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new Error(`lineChart: series '${s.name}' has ${s.x.length} x values but ${s.y.length} y values`);
  }
  const okY = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const vlines = opts.vlines ?? [];

  // Domains and ticks. Tick counts follow the size: about one per 90 px across and 60 px up.
  const xCount = Math.max(2, Math.round(width / 110));
  const yCount = Math.max(2, Math.round(height / 70));
  const [xmin, xmax] = extent([...series.flatMap((s) => s.x.filter((_, i) => okY(s.y[i]))), ...vlines.map((v) => v.x)], Number.isFinite);
  const xNice = opts.xDomain ? undefined : niceLinearDomain(xmin, xmax, xCount);
  const xDomain = opts.xDomain ?? xNice!.domain;
  const [ymin, ymax] = extent(series.flatMap((s) => s.y.filter((v, i) => Number.isFinite(s.x[i]) && okY(v))), okY);
  const yNice = opts.yDomain || logY ? undefined : niceLinearDomain(ymin, ymax, yCount);
  const yDomain = opts.yDomain ?? (logY ? niceLogDomain(ymin, ymax) : yNice!.domain);
  if (!(xDomain[0] < xDomain[1]) || !(yDomain[0] < yDomain[1]) || (logY && !(yDomain[0] > 0))) {
    throw new Error(`lineChart: empty or invalid domain x [${xDomain.join(', ')}], y [${yDomain.join(', ')}]`);
  }
  const xt: Ticks = linearTicks(xDomain[0], xDomain[1], xCount, xNice?.step);
  const yt: Ticks = logY ? logTicks(yDomain[0], yDomain[1]) : linearTicks(yDomain[0], yDomain[1], yCount, yNice?.step);

  // Legend rows, wrapped to the width.
  const items = series.map((s, i) => ({ s, color: s.color ?? PALETTE[i % PALETTE.length], w: 28 + textWidth(s.name, FONT) }));
  const rows: (typeof items)[] = [];
  let rowW = Infinity;
  for (const it of items) {
    if (rowW + it.w + 16 > width - 24) {
      rows.push([]);
      rowW = 0;
    }
    rows.at(-1)!.push(it);
    rowW += it.w + 16;
  }

  // Margins from what sits in them.
  const top = opts.title ? 34 : 14;
  const left = 10 + (opts.yLabel ? 22 : 0) + Math.max(...yt.labels.map((l) => textWidth(l, FONT)), 8) + 8;
  const right = 20;
  const bottom = 8 + FONT + 8 + (opts.xLabel ? 22 : 0) + (rows.length ? 10 + rows.length * LEGEND_ROW : 0);
  const x0 = left, x1 = width - right, y0 = top, y1 = height - bottom;
  if (x1 - x0 < 20 || y1 - y0 < 20) throw new Error(`lineChart: ${width}×${height} px is too small for the plot area`);
  const sx = (v: number) => x0 + ((v - xDomain[0]) / (xDomain[1] - xDomain[0])) * (x1 - x0);
  const sy = logY
    ? (v: number) => y1 - ((Math.log10(v) - Math.log10(yDomain[0])) / (Math.log10(yDomain[1]) - Math.log10(yDomain[0]))) * (y1 - y0)
    : (v: number) => y1 - ((v - yDomain[0]) / (yDomain[1] - yDomain[0])) * (y1 - y0);

  const parts: string[] = [];
  parts.push(el('rect', { x: 0, y: 0, width, height, fill: 'white' }));
  if (opts.title) {
    parts.push(el('text', { class: 'title', x: (x0 + x1) / 2, y: 22, 'text-anchor': 'middle', 'font-size': TITLE_FONT, 'font-weight': 'bold' }, escapeXml(opts.title)));
  }
  parts.push(`<defs>${el('clipPath', { id: `${id}-clip` }, el('rect', { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }))}</defs>`);

  // Grid, tick marks and labels.
  const grid: string[] = [];
  const ticks: string[] = [];
  xt.values.forEach((v, i) => {
    const X = sx(v);
    grid.push(el('line', { x1: X, x2: X, y1: y0, y2: y1 }));
    ticks.push(el('g', { class: 'tick x', 'data-value': String(v) },
      el('line', { x1: X, x2: X, y1: y1, y2: y1 + 4, stroke: '#333' }) +
      el('text', { x: X, y: y1 + 6 + FONT, 'text-anchor': 'middle' }, escapeXml(xt.labels[i]))));
  });
  yt.values.forEach((v, i) => {
    const Y = sy(v);
    grid.push(el('line', { x1: x0, x2: x1, y1: Y, y2: Y }));
    ticks.push(el('g', { class: 'tick y', 'data-value': String(v) },
      el('line', { x1: x0 - 4, x2: x0, y1: Y, y2: Y, stroke: '#333' }) +
      el('text', { x: x0 - 7, y: Y + FONT * 0.35, 'text-anchor': 'end' }, escapeXml(yt.labels[i]))));
  });
  parts.push(el('g', { class: 'grid', stroke: '#e6e6e6', 'stroke-width': 1 }, grid.join('')));
  parts.push(el('g', { class: 'ticks', 'font-size': FONT, fill: '#333' }, ticks.join('')));

  // Series: one path each, pen lifted over non-finite points.
  const paths = series.map((s, i) => {
    let d = '';
    let penDown = false;
    for (let k = 0; k < s.x.length; k++) {
      const x = s.x[k], y = s.y[k];
      if (!Number.isFinite(x) || !okY(y)) {
        penDown = false;
        continue;
      }
      d += `${d ? ' ' : ''}${penDown ? 'L' : 'M'}${px(sx(x))} ${px(sy(y))}`;
      penDown = true;
    }
    return el('path', {
      class: 'series', 'data-name': s.name, d, fill: 'none', stroke: items[i].color,
      'stroke-width': s.strokeWidth ?? 2, 'stroke-dasharray': dashOf(s.dash, undefined), 'stroke-linejoin': 'round',
    });
  });
  parts.push(el('g', { 'clip-path': `url(#${id}-clip)` }, paths.join('')));

  // Vertical markers, labelled along the line so that close markers do not overprint each other.
  const marks = vlines.filter((v) => v.x >= xDomain[0] && v.x <= xDomain[1]).map((v) => {
    const X = sx(v.x);
    const color = v.color ?? '#555';
    const label = v.label
      ? el('text', { x: X - 4, y: y0 + 6, transform: `rotate(-90 ${px(X - 4)} ${px(y0 + 6)})`, 'text-anchor': 'end', 'font-size': FONT - 1, fill: color }, escapeXml(v.label))
      : '';
    return el('g', { class: 'vline', 'data-x': String(v.x) },
      el('line', { x1: X, x2: X, y1: y0, y2: y1, stroke: color, 'stroke-width': 1.25, 'stroke-dasharray': dashOf(v.dash, '4 3') }) + label);
  });
  parts.push(...marks);

  // Frame and axis labels.
  parts.push(el('rect', { class: 'frame', x: x0, y: y0, width: x1 - x0, height: y1 - y0, fill: 'none', stroke: '#333' }));
  const xLabelY = y1 + 6 + FONT + 20;
  if (opts.xLabel) parts.push(el('text', { class: 'x-label', x: (x0 + x1) / 2, y: xLabelY, 'text-anchor': 'middle', 'font-size': FONT + 1 }, escapeXml(opts.xLabel)));
  if (opts.yLabel) {
    const cx = 18, cy = (y0 + y1) / 2;
    parts.push(el('text', { class: 'y-label', x: cx, y: cy, transform: `rotate(-90 ${px(cx)} ${px(cy)})`, 'text-anchor': 'middle', 'font-size': FONT + 1 }, escapeXml(opts.yLabel)));
  }

  // Legend below the axes.
  if (rows.length) {
    const legend: string[] = [];
    let ly = (opts.xLabel ? xLabelY : y1 + 6 + FONT) + 10 + LEGEND_ROW / 2;
    for (const row of rows) {
      let lx = x0;
      for (const it of row) {
        legend.push(el('g', { class: 'legend-item' },
          el('line', { x1: lx, x2: lx + 22, y1: ly, y2: ly, stroke: it.color, 'stroke-width': it.s.strokeWidth ?? 2, 'stroke-dasharray': dashOf(it.s.dash, undefined) }) +
          el('text', { x: lx + 28, y: ly + FONT * 0.35 }, escapeXml(it.s.name))));
        lx += it.w + 16;
      }
      ly += LEGEND_ROW;
    }
    parts.push(el('g', { class: 'legend', 'font-size': FONT, fill: '#222' }, legend.join('')));
  }
  return { width, height, body: parts.join('\n') };
}

function svgRoot(width: number, height: number, title: string | undefined, body: string): string {
  const t = title ? `<title>${escapeXml(title)}</title>\n` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" font-family="Helvetica, Arial, sans-serif">\n${t}${body}\n</svg>\n`;
}

/**
 * A line chart as a standalone SVG document (a string): axes with ticks at nice numbers (1, 2, 5 × 10^k),
 * a grid, one `<path class="series">` per series (non-finite points leave gaps), optional vertical markers
 * and a legend below the axes. Deterministic: the same options give the same bytes. No DOM needed.
 * @example lineChart({ title: 'loss', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'train', x: [0, 1, 2], y: [1, 0.5, 0.3] }] })
 */
export function lineChart(opts: LineChartOptions): string {
  const p = renderPanel(opts);
  return svgRoot(p.width, p.height, opts.title, p.body);
}

export interface FigureOptions {
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** A title above all panels. */
  title?: string;
  /** Prefix of the panels' ids (default `'fig'`); a panel's own `id` wins. */
  id?: string;
}

/**
 * Several line charts in one SVG document, in a grid of `columns` (e.g. a value and a derivative side by
 * side). Each panel keeps its own size; rows are as tall as their tallest panel.
 */
export function figure(panels: readonly LineChartOptions[], opts: FigureOptions = {}): string {
  if (panels.length === 0) throw new Error('figure: no panels');
  const columns = Math.max(1, Math.floor(opts.columns ?? panels.length));
  const rendered = panels.map((p, i) => renderPanel({ ...p, id: p.id ?? `${opts.id ?? 'fig'}-${i}` }));
  const head = opts.title ? 34 : 0;
  const parts: string[] = [];
  let y = head, width = 0;
  for (let r = 0; r < rendered.length; r += columns) {
    const row = rendered.slice(r, r + columns);
    let x = 0;
    for (const p of row) {
      parts.push(el('svg', { x, y, width: p.width, height: p.height, viewBox: `0 0 ${px(p.width)} ${px(p.height)}` }, `\n${p.body}\n`));
      x += p.width;
    }
    width = Math.max(width, x);
    y += Math.max(...row.map((p) => p.height));
  }
  if (opts.title) {
    parts.unshift(el('rect', { x: 0, y: 0, width, height: head, fill: 'white' }) +
      el('text', { class: 'figure-title', x: width / 2, y: 24, 'text-anchor': 'middle', 'font-size': 16, 'font-weight': 'bold' }, escapeXml(opts.title)));
  }
  return svgRoot(width, y, opts.title, parts.join('\n'));
}
