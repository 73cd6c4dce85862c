import { lineChart } from './line-chart.js';

/** One ROC curve to draw, e.g. the output of `metrics.rocCurve` plus its AUC. */
export interface RocCurveSeries {
  name: string;
  fpr: readonly number[];
  tpr: readonly number[];
  /** Shown in the legend as "name (AUC 0.912)" when given. */
  auc?: number;
  color?: string;
}

export interface RocChartOptions {
  curves: readonly RocCurveSeries[];
  title?: string;
  /** Size in px (default 480 × 520: a square plot area plus the legend). */
  width?: number;
  height?: number;
  id?: string;
}

/** ROC curves on the unit square (FPR across, TPR up) with the chance diagonal dashed. */
export function rocChart(opts: RocChartOptions): string {
  return lineChart({
    title: opts.title ?? 'ROC curve',
    xLabel: 'False positive rate (1 − specificity)',
    yLabel: 'True positive rate (sensitivity)',
    xDomain: [0, 1],
    yDomain: [0, 1],
    width: opts.width ?? 480,
    height: opts.height ?? 520,
    id: opts.id,
    series: [
      ...opts.curves.map((c) => ({
        name: c.auc !== undefined && Number.isFinite(c.auc) ? `${c.name} (AUC ${c.auc.toFixed(3)})` : c.name,
        x: c.fpr, y: c.tpr, color: c.color,
      })),
      { name: 'chance', x: [0, 1], y: [0, 1], color: '#999999', dash: true, strokeWidth: 1 },
    ],
  });
}
