import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { lossByName, LOSS_NAMES, type Loss } from '../../losses/index.js';
import { figure, PALETTE, type Series } from '../../plot/index.js';
import { gradientNormAt, gradientProfile } from '../../train/index.js';
import { listOpt, numberOpt, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { lossOptions } from '../common.js';
import { textTable } from '../progress.js';

const NAME = 'plot-gradients';

const usage = `segrad plot-gradients: how hard each loss pushes the logits as a prediction approaches its mask

usage: segrad plot-gradients [options]

For each foreground fraction, a synthetic mask y (blobs) and predictions whose logits are
z = (2y − 1)·(m + σ·n), n ~ N(0, 1) drawn once: the margin m walks from wrong to confident and right.
At each step every loss's gradient with respect to the logits is taken by autograd (float64), and its
norm ‖∂L/∂z‖ is drawn against the prediction's Dice loss (0 is the optimum), one panel per fraction,
log scale. ALL's jump at δ shows as a step up by ω/(ε + δ) (the switch is marked); how Dice, BCE or Focal
scale as the foreground shrinks shows between the panels. A table gives the norms at Dice loss 0.5, 0.2,
0.05 and 0.01.

options:
  --loss LIST         losses (default dice,all,bce): any of ${LOSS_NAMES.join(', ')}
  --all-opt K=V       option of ALL, repeatable: omega, epsilon, delta (default 10, 0.5, 0.1), base
  --foreground LIST   foreground fractions of the masks, one panel each (default 0.02,0.2)
  --size N            side of the square mask (default 64)
  --margins A,B       the walk's first and last margin (default -2,10)
  --points N          steps of the walk (default 101)
  --noise X           σ of the per-pixel noise on the margin (default 1)
  --seed N            seed of the masks and the noise (default 0)
  --out FILE          the SVG to write (default gradients.svg); every point also goes to FILE.csv

example:
  segrad plot-gradients --loss dice,all,focal --foreground 0.01,0.05,0.3 --out grads.svg`;

const KNOWN = ['loss', 'all-opt', 'foreground', 'size', 'margins', 'points', 'noise', 'seed', 'out'];

/** The Dice losses the table reads the gradient norms at. */
const AT = [0.5, 0.2, 0.05, 0.01];

export const plotGradients: Command = {
  name: NAME,
  summary: 'plot each loss\'s gradient norm as a prediction nears its mask, per foreground share (SVG, CSV)',
  usage,
  async run(argv) {
    const { options: o, positional } = parseArgs(argv, { known: KNOWN, repeatable: ['all-opt'] }, NAME);
    if (positional.length) throw new UsageError(`${NAME}: unexpected argument '${positional[0]}' (see 'segrad ${NAME} --help')`);
    const names = listOpt(o, 'loss', ['dice', 'all', 'bce']);
    for (const n of names) if (!(LOSS_NAMES as readonly string[]).includes(n)) throw new UsageError(`${NAME}: unknown loss '${n}'; expected one of ${LOSS_NAMES.join(', ')}`);
    const allOptions = lossOptions({ 'loss-opt': o['all-opt'] ?? [] });
    const losses: Loss[] = names.map((n) => lossByName(n, n === 'all' ? allOptions : {}));
    const foregrounds = listOpt(o, 'foreground', ['0.02', '0.2']).map((s) => {
      const f = Number(s);
      if (!(f > 0 && f < 1)) throw new UsageError(`${NAME}: --foreground values must lie between 0 and 1, got '${s}'`);
      return f;
    });
    const margins = listOpt(o, 'margins', ['-2', '10']).map(Number);
    if (margins.length !== 2 || !margins.every(Number.isFinite) || !(margins[0] < margins[1])) throw new UsageError(`${NAME}: --margins takes two numbers, the first smaller, e.g. -2,10; got '${String(o.margins)}'`);
    const points = numberOpt(o, 'points', 101, NAME);
    if (!Number.isInteger(points) || points < 2 || points > 2001) throw new UsageError(`${NAME}: --points must be an integer in [2, 2001], got ${points}`);
    const size = numberOpt(o, 'size', 64, NAME);
    if (!Number.isInteger(size) || size < 8 || size > 512) throw new UsageError(`${NAME}: --size must be an integer in [8, 512], got ${size}`);
    const out = resolve(typeof o.out === 'string' ? o.out : 'gradients.svg');
    if (!out.toLowerCase().endsWith('.svg')) throw new UsageError(`${NAME}: --out must name an .svg file, got '${out}'`);

    const profile = gradientProfile({ losses, foregrounds, size, points, margins: [margins[0], margins[1]], noise: numberOpt(o, 'noise', 1, NAME), seed: numberOpt(o, 'seed', 0, NAME) });
    const panels = foregrounds.map((_, k) => {
      const mine = profile.slice(k * points * losses.length, (k + 1) * points * losses.length);
      const series: Series[] = losses.map((loss, j) => {
        const walk = mine.filter((_, i) => i % losses.length === j);
        // ALL equals its base above δ: dashed, so the base's line shows under it
        return { name: loss.lossName, x: walk.map((p) => p.diceLoss), y: walk.map((p) => p.grad), color: PALETTE[j % PALETTE.length], dash: loss.lossName === 'all' };
      });
      const delta = names.includes('all') ? Number(allOptions.delta ?? 0.1) : undefined;
      return {
        title: `foreground ${(100 * mine[0].foreground).toFixed(1)} %`,
        xLabel: 'Dice loss of the prediction (0 = the mask)',
        yLabel: '‖∂L/∂z‖ (log)',
        series,
        logY: true,
        xDomain: [0, 1] as [number, number],
        ...(delta !== undefined ? { vlines: [{ x: delta, label: `ALL δ=${delta}` }] } : {}),
        width: 520,
        height: 420,
      };
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, figure(panels, { title: 'Gradient norm with respect to the logits as the prediction improves', id: 'plot-gradients' }));
    const csv = `${out.slice(0, -4)}.csv`;
    const num = (x: number): string => (Number.isFinite(x) ? String(x) : 'NaN');
    writeFileSync(csv, ['loss,foreground,margin,dice_loss,value,grad,grad_foreground,grad_background', ...profile.map((p) => [p.loss, num(p.foreground), num(p.margin), num(p.diceLoss), num(p.value), num(p.grad), num(p.gradForeground), num(p.gradBackground)].join(','))].join('\n') + '\n');

    const rows = foregrounds.flatMap((_, k) =>
      losses.map((loss, j) => {
        const walk = profile.slice(k * points * losses.length, (k + 1) * points * losses.length).filter((_, i) => i % losses.length === j);
        return [`${(100 * walk[0].foreground).toFixed(1)} %`, loss.lossName, ...AT.map((x) => exp(gradientNormAt(walk, x)))];
      }),
    );
    console.log(textTable(['foreground', 'loss', ...AT.map((x) => `‖∂L/∂z‖ at ${x}`)], rows));
    console.log(`${NAME}: wrote ${out} and ${csv} (${foregrounds.length} panel(s), ${losses.length} loss(es), ${points} steps)`);
    return 0;
  },
};

/** A norm in scientific notation (they span decades); n/a where the walk does not reach that Dice loss. */
function exp(x: number): string {
  return Number.isFinite(x) ? x.toExponential(3) : 'n/a';
}
