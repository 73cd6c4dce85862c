import { figure, lineChart, rocChart, escapeXml, type Series } from '../plot/index.js';
import { aucRoc, rocCurve } from '../metrics/index.js';
import type { RunFolder } from './run-folder.js';
import { writeFileAtomic } from './run-folder.js';
import { loadSharp } from '../data/node-env.js';

/** One example prediction for the report: grayscale planes of one image, each `height × width`. */
export interface ReportExample {
  id: string;
  height: number;
  width: number;
  /** The input image's first channel (or a grayscale rendering), values in [0, 1]. */
  image: Float32Array;
  mask: Float32Array;
  prob: Float32Array;
  /** Shown after the id, e.g. the image's IoU. */
  note?: string;
}

export interface ReportOptions {
  title?: string;
  /** Test-set scores shown as a table. */
  summary?: Record<string, number>;
  /** Pixel scores and labels for the ROC curve (pooled over the evaluated images). */
  roc?: { scores: ArrayLike<number>; labels: ArrayLike<number>; mask?: ArrayLike<number> };
  examples?: ReportExample[];
  /** The heading over the examples (default 'Example predictions'). */
  examplesTitle?: string;
}

/** Encodes a [0,1] grayscale plane as a PNG data URL (sharp, Node only). */
async function pngDataUrl(plane: Float32Array, width: number, height: number): Promise<string> {
  const sharp = await loadSharp();
  const bytes = Buffer.alloc(width * height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(plane[i] * 255)));
  const png = await sharp(bytes, { raw: { width, height, channels: 1 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

function pick(records: Record<string, unknown>[], type: string, key: string): { x: number[]; y: number[] } {
  const rows = records.filter((r) => r.type === type && typeof r[key] === 'number');
  return { x: rows.map((r) => (type === 'step' ? (r.step as number) : (r.epoch as number) + 1)), y: rows.map((r) => r[key] as number) };
}

/**
 * Writes `report.html` into the run folder: loss curves, validation metrics per epoch, gradient norms
 * (global and per layer group), the ALL base loss against δ when the run used ALL, the ROC curve and
 * example predictions. Self-contained (inline SVG and PNG data URLs): open it from disk.
 */
export async function writeReport(run: RunFolder, opts: ReportOptions = {}): Promise<string> {
  const log = await run.readLog();
  const config = (await run.exists('config.json')) ? await run.readJson<Record<string, unknown>>('config.json') : {};
  const sections: string[] = [];

  const stepLoss = pick(log, 'step', 'loss');
  const epochs = log.filter((r) => r.type === 'epoch');
  const trainEpoch = pick(log, 'epoch', 'trainLoss');
  const valLoss = { x: epochs.filter((r) => r.val).map((r) => (r.epoch as number) + 1), y: epochs.filter((r) => r.val).map((r) => (r.val as Record<string, number>).loss) };
  const stepsPerEpoch = stepLoss.x.length / Math.max(1, epochs.length);
  const lossSeries: Series[] = [
    { name: 'train loss (step)', x: stepLoss.x.map((s) => s / Math.max(stepsPerEpoch, 1)), y: stepLoss.y, strokeWidth: 1 },
    { name: 'train loss (epoch mean)', x: trainEpoch.x, y: trainEpoch.y },
  ];
  if (valLoss.x.length) lossSeries.push({ name: 'validation loss', x: valLoss.x, y: valLoss.y, dash: true });
  const charts = [{ id: 'loss', title: 'Loss', xLabel: 'epoch', yLabel: String(config.loss ?? 'loss'), series: lossSeries }];

  if (epochs.some((r) => r.val)) {
    const keys = ['iou', 'dice', 'precision', 'recall', 'specificity', 'auc'];
    const withVal = epochs.filter((r) => r.val);
    charts.push({
      id: 'metrics',
      title: 'Validation metrics',
      xLabel: 'epoch',
      yLabel: 'score',
      series: keys.map((k) => ({ name: k, x: withVal.map((r) => (r.epoch as number) + 1), y: withVal.map((r) => (r.val as Record<string, number>)[k]) })),
    });
  }
  sections.push(`<h2>Training curves</h2>${figure(charts, { columns: 2 })}`);

  const normRows = log.filter((r) => r.type === 'step' && typeof r.gradNorm === 'number');
  if (normRows.length) {
    const groups = Object.keys((normRows[0].gradNormGroups as Record<string, number>) ?? {});
    const series: Series[] = [{ name: 'global', x: normRows.map((r) => r.step as number), y: normRows.map((r) => r.gradNorm as number), strokeWidth: 2.5 }];
    for (const g of groups) series.push({ name: g, x: normRows.map((r) => r.step as number), y: normRows.map((r) => (r.gradNormGroups as Record<string, number>)[g]), strokeWidth: 1 });
    sections.push(`<h2>Gradient norms</h2><p>L2 norm of the gradient per step, globally and per layer group.</p>${lineChart({ id: 'grads', xLabel: 'step', yLabel: '‖∇‖₂', series, logY: true, width: 900, height: 420 })}`);
  }

  const baseRows = log.filter((r) => r.type === 'step' && typeof r.baseLoss === 'number');
  if (baseRows.length) {
    const all = config.allOptions as { delta: number; omega: number; epsilon: number } | undefined;
    const share = baseRows.filter((r) => r.belowDelta).length / baseRows.length;
    sections.push(
      `<h2>Adaptive Logarithmic Loss</h2><p>Base loss (${escapeXml(String(config.baseLoss ?? 'base'))}) per step against the switch δ${all ? ` = ${all.delta} (ω = ${all.omega}, ε = ${all.epsilon})` : ''}; ${(share * 100).toFixed(1)} % of steps were below δ, where the gradient is multiplied by ω/(ε + x).</p>` +
        figure(
          [
            {
              id: 'base',
              title: 'Base loss',
              xLabel: 'step',
              yLabel: 'x',
              series: [
                { name: 'base loss', x: baseRows.map((r) => r.step as number), y: baseRows.map((r) => r.baseLoss as number) },
                ...(all ? [{ name: `δ = ${all.delta}`, x: [baseRows[0].step as number, baseRows[baseRows.length - 1].step as number], y: [all.delta, all.delta], dash: true }] : []),
              ],
            },
            { id: 'mult', title: 'Gradient multiplier dALL/dx', xLabel: 'step', yLabel: 'multiplier', series: [{ name: 'dALL/dx', x: baseRows.map((r) => r.step as number), y: baseRows.map((r) => r.gradMultiplier as number) }] },
          ],
          { columns: 2 },
        ),
    );
  }

  if (opts.summary) {
    const rows = Object.entries(opts.summary).map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${Number.isFinite(v) ? v.toFixed(4) : 'n/a'}</td></tr>`);
    sections.unshift(`<h2>Test scores</h2><table>${rows.join('')}</table>`);
  }
  if (opts.roc) {
    const c = rocCurve(opts.roc.scores, opts.roc.labels, { mask: opts.roc.mask });
    sections.push(`<h2>ROC curve</h2>${rocChart({ id: 'roc', curves: [{ name: 'test', fpr: [...c.fpr], tpr: [...c.tpr], auc: aucRoc(opts.roc.scores, opts.roc.labels, { mask: opts.roc.mask }) }] })}`);
  }
  if (opts.examples?.length) {
    const cells: string[] = [];
    for (const ex of opts.examples) {
      const [img, gt, pr] = await Promise.all([pngDataUrl(ex.image, ex.width, ex.height), pngDataUrl(ex.mask, ex.width, ex.height), pngDataUrl(ex.prob, ex.width, ex.height)]);
      cells.push(`<figure><img src="${img}" alt="input ${escapeXml(ex.id)}"><img src="${gt}" alt="ground truth"><img src="${pr}" alt="prediction"><figcaption>${escapeXml(ex.id)}${ex.note ? ` (${escapeXml(ex.note)})` : ''}: input · ground truth · predicted probability</figcaption></figure>`);
    }
    sections.push(`<h2>${escapeXml(opts.examplesTitle ?? 'Example predictions')}</h2><div class="examples">${cells.join('')}</div>`);
  }
  const cfg = Object.entries(config).map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(typeof v === 'object' ? JSON.stringify(v) : String(v))}</td></tr>`);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(opts.title ?? 'segrad run report')}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#222}table{border-collapse:collapse}th,td{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}
.examples{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0}figure img{width:128px;height:auto;image-rendering:pixelated;margin-right:2px;border:1px solid #ccc}svg{max-width:100%;height:auto}</style></head>
<body><h1>${escapeXml(opts.title ?? 'segrad run report')}</h1>${sections.join('\n')}<h2>Configuration</h2><table>${cfg.join('')}</table></body></html>\n`;
  const path = run.path('report.html');
  await writeFileAtomic(path, html);
  return path;
}
