import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { losses, plot } from '../../index.js';
import { listOpt, numberOpt, parseArgs, UsageError, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';

const NAME = 'plot-loss';
const MAX_SETTINGS = 16;

const usage = `segrad plot-loss: plot the Adaptive Logarithmic Loss and its derivative against the base loss

usage: segrad plot-loss [options]

Draws ALL(x) and dALL/dx for a base-loss value x in [0, 1] (the paper's Figure 1) as two panels of one
SVG, marks the switch at δ with a vertical line per distinct δ, and prints for each setting
ω, ε, δ, C = δ − ω·ln(1 + δ/ε), ALL(δ), the slope just below δ (ω/(ε+δ)), above it (1) and at 0 (ω/ε).
A comma list in --omega, --epsilon or --delta overlays every combination of the values.

options:
  --loss LIST       curves to draw: 'all' and/or the base loss itself (its name, or 'identity':
                    value x, slope 1) for comparison (default: all)
  --base NAME       the base loss x is the value of, for the labels (default: dice)
  --omega LIST      ω, the log branch's scale (default 10)
  --epsilon LIST    ε, the log branch's curvature (default 0.5)
  --delta LIST      δ, the switch point (default 0.1)
  --points N        samples of x on [0, 1] (default 201)
  --out FILE        the SVG to write (default: loss-plot.svg in the current folder)

ALL's form is a reconstruction: the Wing-loss form the paper says it builds on (see losses.adaptiveLog).

example:
  segrad plot-loss --delta 0.05,0.1,0.2 --loss all,dice --out fig.svg`;

/** One (ω, ε, δ) combination and the numbers the table prints for it. */
export interface LossSetting {
  omega: number;
  epsilon: number;
  delta: number;
  /** C = δ − ω·ln(1 + δ/ε). */
  C: number;
  /** ALL(δ) = ω·ln(1 + δ/ε). */
  valueAtDelta: number;
  /** The left-hand slope at δ, ω/(ε + δ). */
  slopeBelow: number;
  /** The right-hand slope at δ, 1. */
  slopeAbove: number;
  /** The slope at 0, ω/ε. */
  slopeAtZero: number;
}

function positiveList(opts: ParsedArgs['options'], key: string, fallback: number): number[] {
  return listOpt(opts, key, [String(fallback)]).map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${NAME}: --${key} values must be numbers > 0, got '${s}'`);
    return v;
  });
}

function describeSetting(omega: number, epsilon: number, delta: number): LossSetting {
  const o = { omega, epsilon, delta };
  const { C } = losses.adaptiveLogParams(o);
  return {
    omega, epsilon, delta, C,
    valueAtDelta: losses.adaptiveLogValue(delta, o),
    // The library reports the right-hand slope at δ; the left-hand one is the limit of ω/(ε + x).
    slopeBelow: omega / (epsilon + delta),
    slopeAbove: losses.adaptiveLogSlope(delta, o),
    slopeAtZero: losses.adaptiveLogSlope(0, o),
  };
}

/** The value and slope curves of one setting, with the switch point δ sampled exactly and the slope's jump left as a gap. */
function curves(s: LossSetting, xs: number[]): { value: { x: number[]; y: number[] }; slope: { x: number[]; y: number[] } } {
  const o = { omega: s.omega, epsilon: s.epsilon, delta: s.delta };
  const inside = s.delta > 0 && s.delta <= 1;
  const below = xs.filter((x) => !inside || x < s.delta);
  const above = inside ? xs.filter((x) => x > s.delta) : [];
  const vx = inside ? [...below, s.delta, ...above] : below;
  const sx = inside ? [...below, s.delta, s.delta, s.delta, ...above] : below;
  const sy = inside
    ? [...below.map((x) => losses.adaptiveLogSlope(x, o)), s.slopeBelow, NaN, s.slopeAbove, ...above.map((x) => losses.adaptiveLogSlope(x, o))]
    : below.map((x) => losses.adaptiveLogSlope(x, o));
  return { value: { x: vx, y: vx.map((x) => losses.adaptiveLogValue(x, o)) }, slope: { x: sx, y: sy } };
}

const fmt = (v: number) => v.toFixed(4);

function table(settings: LossSetting[]): string {
  const head = ['#', 'ω', 'ε', 'δ', 'C', 'ALL(δ)', 'slope<δ', 'slope≥δ', 'slope(0)'];
  const rows = settings.map((s, i) => [String(i + 1), ...[s.omega, s.epsilon, s.delta, s.C, s.valueAtDelta, s.slopeBelow, s.slopeAbove, s.slopeAtZero].map(fmt)]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [head, ...rows].map((r) => r.map((cell, c) => cell.padStart(widths[c])).join('  ')).join('\n');
}

export const plotLoss: Command = {
  name: NAME,
  summary: "plot ALL and its derivative against the base loss (the paper's Figure 1) as SVG",
  usage,
  async run(argv: string[]): Promise<number> {
    const { options, positional } = parseArgs(argv, { known: ['loss', 'base', 'omega', 'epsilon', 'delta', 'points', 'out'] }, NAME);
    if (positional.length) throw new UsageError(`${NAME}: unexpected argument '${positional[0]}' (see 'segrad ${NAME} --help')`);
    const baseNames = losses.LOSS_NAMES.filter((n) => n !== 'all');
    const base = typeof options.base === 'string' ? options.base : 'dice';
    if (!(baseNames as readonly string[]).includes(base)) throw new UsageError(`${NAME}: unknown --base '${base}'; expected one of ${baseNames.join(', ')}`);
    const wanted = listOpt(options, 'loss', ['all']);
    for (const l of wanted) {
      if (l !== 'all' && l !== 'identity' && l !== base) {
        throw new UsageError(`${NAME}: --loss takes 'all' and the base loss ('${base}' or 'identity'), got '${l}'; set --base to compare another loss`);
      }
    }
    const drawAll = wanted.includes('all');
    const drawIdentity = wanted.some((l) => l !== 'all');
    const points = numberOpt(options, 'points', 201, NAME);
    if (!Number.isInteger(points) || points < 2 || points > 100_001) throw new UsageError(`${NAME}: --points must be an integer in [2, 100001], got ${points}`);
    const out = resolve(typeof options.out === 'string' ? options.out : 'loss-plot.svg');
    if (!out.toLowerCase().endsWith('.svg')) throw new UsageError(`${NAME}: --out must name an .svg file (PNG is not written; convert the SVG), got '${out}'`);

    const settings: LossSetting[] = [];
    for (const omega of positiveList(options, 'omega', 10))
      for (const epsilon of positiveList(options, 'epsilon', 0.5))
        for (const delta of positiveList(options, 'delta', 0.1)) settings.push(describeSetting(omega, epsilon, delta));
    if (settings.length > MAX_SETTINGS) throw new UsageError(`${NAME}: ${settings.length} settings (the product of the lists) is more than ${MAX_SETTINGS} one plot can show`);

    const xs = Array.from({ length: points }, (_, k) => k / (points - 1));
    const colors = plot.PALETTE.slice(0, 7);
    const valueSeries: plot.Series[] = [];
    const slopeSeries: plot.Series[] = [];
    if (drawAll) {
      settings.forEach((s, i) => {
        const c = curves(s, xs);
        const style = { color: colors[i % colors.length], dash: i >= colors.length ? '7 3' : undefined };
        const name = `ALL (ω=${s.omega}, ε=${s.epsilon}, δ=${s.delta})`;
        valueSeries.push({ name, ...c.value, ...style });
        slopeSeries.push({ name, ...c.slope, ...style });
      });
    }
    if (drawIdentity) {
      const style = { color: '#444444', dash: '2 3' };
      valueSeries.push({ name: `${base} (identity)`, x: xs, y: xs, ...style });
      slopeSeries.push({ name: `${base} (identity)`, x: xs, y: xs.map(() => 1), ...style });
    }
    // One marker per distinct δ, in its setting's colour unless several settings share it.
    const vlines: plot.VLine[] = [];
    if (drawAll) {
      for (const delta of [...new Set(settings.map((s) => s.delta))]) {
        const owners = settings.flatMap((s, i) => (s.delta === delta ? [i] : []));
        vlines.push({ x: delta, label: `δ=${delta}`, color: owners.length === 1 ? colors[owners[0] % colors.length] : '#555555' });
      }
    }
    const f = drawAll ? 'ALL' : base;
    const svg = plot.figure([
      { title: `${f}(x)`, xLabel: `${base} loss x`, yLabel: `${f}(x)`, series: valueSeries, xDomain: [0, 1], vlines, width: 600, height: 440 },
      { title: `d${f}/dx`, xLabel: `${base} loss x`, yLabel: `d${f}/dx`, series: slopeSeries, xDomain: [0, 1], vlines, width: 600, height: 440 },
    ], { title: drawAll ? `Adaptive Logarithmic Loss over the ${base} loss` : `The ${base} loss`, id: 'plot-loss' });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, svg);

    if (drawAll) console.log(table(settings));
    console.log(`${NAME}: wrote ${out} (${valueSeries.length} curves per panel, ${points} points)`);
    return 0;
  },
};
