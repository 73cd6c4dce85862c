import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { plotGradients } from '../../src/cli/commands/plot-gradients.js';
import { main } from '../../src/cli/main.js';
import { gradientNormAt as normAt, type GradientPoint } from '../../src/train/index.js';
import { captured } from '../helpers/cli.js';
import { xmlProblems } from '../plot/xml.js';

const dir = mkdtempSync(join(tmpdir(), 'segrad-plot-gradients-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('segrad plot-gradients', () => {
  it('is registered, with an example in --help', () => {
    expect(commands).toContain(plotGradients);
    expect(plotGradients.usage).toMatch(/example:\n\s+segrad plot-gradients /);
  });

  it('draws a panel per foreground fraction with a line per loss, writes every point to the CSV and tabulates the norms', async () => {
    const out = join(dir, 'g.svg');
    const r = await captured(() => main(['plot-gradients', '--loss', 'dice,all', '--all-opt', 'delta=0.2', '--foreground', '0.05,0.3', '--size', '16', '--points', '21', '--out', out]));
    expect(r.value).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/foreground \d+\.\d %/g)).toHaveLength(2);
    expect([...svg.matchAll(/<path class="series" data-name="([^"]*)"/g)].map((m) => m[1])).toEqual(['dice', 'all', 'dice', 'all']);
    expect([...svg.matchAll(/<g class="vline" data-x="([^"]+)">/g)].map((m) => Number(m[1]))).toEqual([0.2, 0.2]);
    const [head, ...lines] = readFileSync(join(dir, 'g.csv'), 'utf8').trim().split('\n');
    expect(head).toBe('loss,foreground,margin,dice_loss,value,grad,grad_foreground,grad_background');
    expect(lines).toHaveLength(2 * 21 * 2);
    const points: GradientPoint[] = lines.map((l) => l.split(',')).map(([loss, ...v]) => {
      const [foreground, margin, diceLoss, value, grad, gradForeground, gradBackground] = v.map(Number);
      return { loss, foreground, margin, diceLoss, value, grad, gradForeground, gradBackground };
    });
    // the table's norm at Dice loss 0.05 for ALL on the first mask: read off the CSV's walk
    const walk = points.filter((p) => p.loss === 'all').slice(0, 21);
    const row = r.out.split('\n').find((l) => / all /.test(l))!;
    expect(row.trim().split(/\s+/)[5]).toBe(normAt(walk, 0.05).toExponential(3)); // '5.0', '%', 'all', at 0.5, 0.2, 0.05
    // with δ = 0.2 the jump is ω/(ε + δ) = 10/0.7 just below the switch
    const dice = points.filter((p) => p.loss === 'dice').slice(0, 21);
    const i = walk.findIndex((p) => p.diceLoss < 0.2);
    expect(walk[i].grad / dice[i].grad).toBeCloseTo(10 / (0.5 + dice[i].diceLoss), 6);
  });

  it('names bad options', async () => {
    for (const [args, message] of [
      [['--loss', 'dice,nope'], /unknown loss 'nope'/],
      [['--foreground', '0,0.2'], /--foreground values must lie between 0 and 1, got '0'/],
      [['--margins', '3'], /--margins takes two numbers/],
      [['--out', join(dir, 'x.png')], /--out must name an \.svg file/],
    ] as const) {
      const r = await captured(() => main(['plot-gradients', ...args]));
      expect(r.value).toBe(2);
      expect(r.err).toMatch(message);
    }
  });
});
