import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { commands } from '../../src/cli/commands/index.js';
import { plotLoss } from '../../src/cli/commands/plot-loss.js';
import { xmlProblems } from '../plot/xml.js';

let dir: string;
let logs: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'segrad-plot-loss-'));
  logs = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const seriesPaths = (svg: string) => [...svg.matchAll(/<path class="series" data-name="([^"]*)"[^>]* d="([^"]*)"/g)].map((m) => ({ name: m[1], d: m[2] }));
const vlines = (svg: string) => [...svg.matchAll(/<g class="vline" data-x="([^"]+)">/g)].map((m) => Number(m[1]));

/** The printed table as numbers: [ω, ε, δ, C, ALL(δ), slope<δ, slope≥δ, slope(0)] per row. */
function tableRows(out: string[]): number[][] {
  return out.join('\n').split('\n').filter((l) => /^\s*\d+\s+[\d.]/.test(l)).map((l) => l.trim().split(/\s+/).slice(1).map(Number));
}

describe('segrad plot-loss', () => {
  it('is registered', () => {
    expect(commands).toContain(plotLoss);
  });

  it('overlays one curve per δ plus the identity, marks each δ, and prints the formulas', async () => {
    const out = join(dir, 'sub', 'fig.svg');
    expect(await plotLoss.run(['--delta', '0.05,0.1,0.2', '--loss', 'all,dice', '--out', out, '--points', '51'])).toBe(0);
    expect(existsSync(out)).toBe(true);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    // Two panels (value, slope), each with 3 ALL curves + the identity, and a δ marker per setting.
    const paths = seriesPaths(svg);
    expect(paths).toHaveLength(8);
    expect(paths.filter((p) => p.name === 'dice (identity)')).toHaveLength(2);
    expect(vlines(svg)).toEqual([0.05, 0.1, 0.2, 0.05, 0.1, 0.2]);
    // The value is continuous at δ (one stroke); the slope jumps there (a gap: two strokes).
    for (const p of paths.slice(0, 3)) expect(p.d.match(/M/g)).toHaveLength(1);
    for (const p of paths.slice(4, 7)) expect(p.d.match(/M/g)).toHaveLength(2);

    // The δ = 0.05 curve ends at (1, ALL(1)) = (1, 1 − C), read against the first panel's ticks.
    const panel = svg.split('<svg x=')[1];
    const tick = (axis: 'x' | 'y', v: number) => Number(new RegExp(`<g class="tick ${axis}" data-value="${v}"><line x1="([^"]+)" x2="[^"]+" y1="([^"]+)"`).exec(panel)![axis === 'x' ? 1 : 2]);
    const C05 = 0.05 - 10 * Math.log(1 + 0.05 / 0.5);
    const [ex, ey] = paths[0].d.split(/[ML]/).at(-1)!.trim().split(' ').map(Number);
    expect(ex).toBeCloseTo(tick('x', 1), 1);
    expect(ey).toBeCloseTo(tick('y', 0) + (1 - C05) * (tick('y', 1) - tick('y', 0)), 1);

    const rows = tableRows(logs);
    expect(rows).toHaveLength(3);
    [0.05, 0.1, 0.2].forEach((delta, i) => {
      const omega = 10, epsilon = 0.5;
      const C = delta - omega * Math.log(1 + delta / epsilon);
      const expected = [omega, epsilon, delta, C, delta - C, omega / (epsilon + delta), 1, omega / epsilon];
      expect(rows[i]).toHaveLength(8);
      rows[i].forEach((v, k) => expect(Math.abs(v - expected[k])).toBeLessThanOrEqual(5e-5));
    });
    expect(logs.join('\n')).toContain(`wrote ${out}`);
  });

  it('takes the product of the lists and samples δ itself', async () => {
    const out = join(dir, 'grid.svg');
    await plotLoss.run(['--omega', '6,12', '--epsilon', '1', '--delta', '0.25', '--out', out, '--points', '11']);
    const svg = readFileSync(out, 'utf8');
    const paths = seriesPaths(svg);
    expect(paths).toHaveLength(4);
    expect(paths[0].name).toBe('ALL (ω=6, ε=1, δ=0.25)');
    expect(paths[1].name).toBe('ALL (ω=12, ε=1, δ=0.25)');
    // Both settings share δ = 0.25: one marker per panel.
    expect(vlines(svg)).toEqual([0.25, 0.25]);
    // Value path: 11 grid points plus δ itself (off the grid).
    expect(paths[0].d.match(/[ML]/g)).toHaveLength(12);
    const rows = tableRows(logs);
    expect(rows.map((r) => r[0])).toEqual([6, 12]);
    expect(rows[1][5]).toBeCloseTo(12 / 1.25, 4);
    expect(rows[1][7]).toBeCloseTo(12, 4);
  });

  it('writes loss-plot.svg in the current folder without --out', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await plotLoss.run([])).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(dir, 'loss-plot.svg'))).toBe(true);
    expect(logs.join('\n')).toMatch(/wrote .*loss-plot\.svg/);
    expect(seriesPaths(readFileSync(join(dir, 'loss-plot.svg'), 'utf8'))).toHaveLength(2);
  });

  it('draws the identity baseline alone, with no δ marker and no table', async () => {
    const out = join(dir, 'id.svg');
    await plotLoss.run(['--loss', 'jaccard', '--base', 'jaccard', '--out', out]);
    const svg = readFileSync(out, 'utf8');
    expect(seriesPaths(svg).map((p) => p.name)).toEqual(['jaccard (identity)', 'jaccard (identity)']);
    expect(vlines(svg)).toEqual([]);
    expect(tableRows(logs)).toEqual([]);
  });

  it('rejects bad options with usage errors', async () => {
    const out = join(dir, 'x.svg');
    await expect(plotLoss.run(['--delta', '0,0.1', '--out', out])).rejects.toThrow(UsageError);
    await expect(plotLoss.run(['--delta', 'abc', '--out', out])).rejects.toThrow(/--delta values must be numbers > 0, got 'abc'/);
    await expect(plotLoss.run(['--loss', 'tversky', '--out', out])).rejects.toThrow(/--loss takes 'all' and the base loss/);
    await expect(plotLoss.run(['--base', 'nope', '--out', out])).rejects.toThrow(/unknown --base 'nope'/);
    await expect(plotLoss.run(['--points', '1', '--out', out])).rejects.toThrow(/--points/);
    await expect(plotLoss.run(['--out', join(dir, 'x.png')])).rejects.toThrow(/\.svg/);
    await expect(plotLoss.run(['--colour', 'red'])).rejects.toThrow(/unknown option --colour/);
    expect(existsSync(out)).toBe(false);
  });

  it('has help text with an example', () => {
    expect(plotLoss.usage).toMatch(/example:\n\s+segrad plot-loss --delta/);
  });
});
