import { backendInfo, losses, plot, setBackend, train } from './lib.js';
import type { AllParams } from './charts.js';

/** What the gradient panel shows: the chart, and each loss's gradient norm at a Dice loss of 0.5 and 0.05. */
export interface GradientView {
  svg: string;
  at: Record<string, { half: number; near: number }>;
}

/**
 * The gradient-strength figure (`train.gradientProfile`): each loss's ‖∂L/∂z‖ against the prediction's
 * Dice loss on a 32² mask with `foreground`, ALL with the explorer's ω, ε, δ. Runs on the cpu backend in
 * float64 whatever backend trains, and switches back; synchronous, so no training step runs in between.
 */
export function gradientView(names: readonly string[], foreground: number, all: AllParams): GradientView {
  const before = backendInfo();
  setBackend('cpu');
  try {
    const chosen = names.map((n) => (n === 'all' ? losses.lossByName('all', { base: 'dice', ...all }) : losses.lossByName(n)));
    const points = 61;
    const profile = train.gradientProfile({ losses: chosen, foregrounds: [foreground], size: 32, points, margins: [-2, 10] });
    const walks = names.map((_, j) => profile.filter((_, i) => i % names.length === j));
    const series: plot.Series[] = walks.map((w, j) => ({ name: names[j], x: w.map((p) => p.diceLoss), y: w.map((p) => p.grad), color: plot.PALETTE[j % plot.PALETTE.length], dash: names[j] === 'all' }));
    const svg = plot.lineChart({
      title: `‖∂L/∂z‖ at ${(100 * profile[0].foreground).toFixed(1)} % foreground`, xLabel: 'Dice loss of the prediction (0 = the mask)', yLabel: '‖∂L/∂z‖ (log)',
      series, logY: true, xDomain: [0, 1], vlines: names.includes('all') ? [{ x: all.delta, label: `δ=${all.delta}`, color: '#555555' }] : [], width: 780, height: 320, id: 'grads',
    });
    const at = Object.fromEntries(names.map((n, j) => [n, { half: train.gradientNormAt(walks[j], 0.5), near: train.gradientNormAt(walks[j], 0.05) }]));
    return { svg, at };
  } finally {
    if (before.backend === 'gpu') setBackend('gpu', { mode: before.mode });
    else setBackend('cpu');
  }
}
