/**
 * The loss comparison of the ALL paper (Kaul et al., Table 3) as a library: train one model per
 * (model, loss, seed[, foreground fraction]) with the same split per seed, score each on the held-out
 * split, and summarise as mean ± std over seeds, with a paired comparison of ALL against Dice.
 * Node only (run folders, sharp-free HTML report).
 */
import { datasetFromSpec, split, type Dataset } from '../data/index.js';
import { nodeFs } from '../data/node-env.js';
import { lossByName, type Loss } from '../losses/index.js';
import { escapeXml, figure, type Series } from '../plot/index.js';
import { evaluateModel, fit, type StepInfo } from './trainer.js';
import { createModel, sizeMultiple, type ModelName, type ModelSpec } from './model-registry.js';
import { writeFileAtomic } from './run-folder.js';

/** The metrics of one comparison run, as a results.csv row. */
export interface CompareRow {
  model: string;
  loss: string;
  seed: number;
  /** The synthetic foreground fraction, or null when the data was not varied. */
  imbalance: number | null;
  iou: number;
  dice: number;
  precision: number;
  recall: number;
  specificity: number;
  auc: number;
  /** Wall time of training and evaluation. */
  seconds: number;
  /**
   * For ALL: the share of training steps whose base loss was below δ, and the lowest base loss of a
   * step. Null for other losses; absent in the results of runs from before they were recorded.
   */
  belowDelta?: number | null;
  lowestBase?: number | null;
  /** The boundary distances in pixels (`surfaceScores`, NaN where no test image has any); absent in the results of runs from before they were recorded. */
  hd95?: number;
  assd?: number;
}

export interface CompareOptions {
  /** Dataset spec (see `datasetFromSpec`), e.g. `synthetic:blobs?count=200&size=48&seed=1`. */
  data: string;
  /** Loss names for `lossByName` ('all' is ALL with its defaults, base Dice). */
  losses: string[];
  /** Models (default ['unet']). */
  models?: ModelName[];
  /** Seeds of the split, initialisation and shuffling (default [0, 1, 2]). */
  seeds?: number[];
  /** Foreground fractions to sweep (synthetic data only: sets `foreground=` in the spec). */
  imbalance?: number[];
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** U-Net widths, bottleneck last. */
  widths?: number[];
  /** Extra model constructor options (e.g. `{ dropout: 0 }`). */
  modelOptions?: Record<string, unknown>;
  protocol?: 'per-image' | 'pooled';
  maxBatchesPerEpoch?: number;
  /** Comparison folder: one run folder per run under `runs/`, `results.csv` after every run; finished runs with the same settings are reused. */
  outDir?: string;
  /** Options per loss name for `lossByName`, e.g. `{ all: { delta: 0.3 } }` (recorded with each run). */
  lossOptions?: Record<string, Record<string, number | string | boolean>>;
  /** Builds a loss from its name (default `lossByName(name, lossOptions[name])`). */
  makeLoss?: (name: string) => Loss;
  onRunStart?: (run: RunKey, index: number, total: number) => void;
  onRun?: (row: CompareRow, index: number, total: number, reused: boolean) => void;
  onStep?: (info: StepInfo) => void;
}

export interface RunKey {
  model: ModelName;
  loss: string;
  seed: number;
  imbalance: number | null;
}

/** The folder name of one run: `<model>-<loss>-s<seed>[-fg<fraction>]`. */
export function runName(k: RunKey): string {
  return `${k.model}-${k.loss}-s${k.seed}${k.imbalance === null ? '' : `-fg${k.imbalance}`}`;
}

/** Sets `foreground=<fraction>` in a synthetic dataset spec; throws for any other kind. */
export function withForeground(spec: string, fraction: number): string {
  if (!spec.startsWith('synthetic:')) throw new Error(`imbalance levels need synthetic data (they set foreground=); '${spec}' is not synthetic`);
  if (!(fraction > 0 && fraction < 1)) throw new Error(`imbalance level ${fraction} must be a foreground fraction in (0, 1)`);
  const q = spec.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : spec.slice(q + 1));
  params.set('foreground', String(fraction));
  return `${q < 0 ? spec : spec.slice(0, q)}?${params.toString()}`;
}

/**
 * Trains and scores every (model, loss, seed[, imbalance]) combination. The split depends only on the
 * seed (and the data), so every loss sees the same train/test images for a given seed; the model's
 * initialisation and the shuffling use the same seed too. Resolves to one row per run.
 * @example
 * const rows = await compareLosses({ data: 'synthetic:blobs?count=40&size=32', losses: ['dice', 'all'], seeds: [0, 1], epochs: 2, widths: [4, 8, 16] });
 */
export async function compareLosses(opts: CompareOptions): Promise<CompareRow[]> {
  const models = opts.models ?? ['unet'];
  const seeds = opts.seeds ?? [0, 1, 2];
  const levels: (number | null)[] = opts.imbalance?.length ? opts.imbalance : [null];
  const makeLoss = opts.makeLoss ?? ((name: string) => lossByName(name, opts.lossOptions?.[name] ?? {}));
  for (const name of opts.losses) makeLoss(name); // fail before any training on an unknown loss
  const specs = levels.map((f) => (f === null ? opts.data : withForeground(opts.data, f)));
  const datasets = new Map<number | null, Dataset>();
  for (let i = 0; i < levels.length; i++) datasets.set(levels[i], await datasetFromSpec(specs[i]));

  const keys: RunKey[] = [];
  for (const imbalance of levels) for (const model of models) for (const seed of seeds) for (const loss of opts.losses) keys.push({ model, loss, seed, imbalance });
  const rows: CompareRow[] = [];
  const fs = opts.outDir ? await nodeFs() : null;
  if (fs) await fs.mkdir(`${opts.outDir}/runs`, { recursive: true });

  for (const [index, key] of keys.entries()) {
    const all = datasets.get(key.imbalance)!;
    const dataSpec = specs[levels.indexOf(key.imbalance)];
    const { train, test } = split(all, { seed: key.seed, testFraction: 0.2 });
    const first = await train.get(0);
    const { channels, classes, height, width } = first.shape;
    const spec: ModelSpec = {
      name: key.model,
      options: { inChannels: channels, outChannels: classes, seed: key.seed, ...(opts.widths && key.model === 'unet' ? { widths: opts.widths } : {}), ...opts.modelOptions },
    };
    const multiple = sizeMultiple(spec);
    if (height % multiple || width % multiple) throw new Error(`compare-losses: images are ${height}x${width}, which ${key.model} cannot take: sizes must be divisible by ${multiple}`);
    const settings = { model: spec, loss: key.loss, lossOptions: opts.lossOptions?.[key.loss] ?? {}, data: dataSpec, seed: key.seed, epochs: opts.epochs ?? 50, batchSize: opts.batchSize ?? 16, lr: opts.lr ?? 1e-4, protocol: opts.protocol ?? 'per-image', maxBatchesPerEpoch: opts.maxBatchesPerEpoch ?? null };
    const runDir = opts.outDir ? `${opts.outDir}/runs/${runName(key)}` : undefined;

    if (fs && runDir) {
      const previous = await fs.readFile(`${runDir}/result.json`, 'utf8').then((t) => JSON.parse(t) as { settings: unknown; row: CompareRow }, () => null);
      if (previous && JSON.stringify(previous.settings) === JSON.stringify(settings)) {
        rows.push(previous.row);
        opts.onRun?.(previous.row, index, keys.length, true);
        continue;
      }
      await fs.rm(runDir, { recursive: true, force: true }); // stale or unfinished: start this run over
    }

    opts.onRunStart?.(key, index, keys.length);
    const t0 = performance.now();
    const model = createModel(spec);
    const loss = makeLoss(key.loss);
    let [adaptiveSteps, below, lowestBase] = [0, 0, Infinity];
    await fit(model, loss, train, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      lr: settings.lr,
      seed: key.seed,
      protocol: settings.protocol,
      maxBatchesPerEpoch: opts.maxBatchesPerEpoch,
      outDir: runDir,
      gradNormEvery: 0,
      config: { command: 'compare-losses', model: spec, data: dataSpec },
      onStep: (info) => {
        if (info.baseLoss !== undefined) {
          adaptiveSteps++;
          if (info.belowDelta) below++;
          lowestBase = Math.min(lowestBase, info.baseLoss);
        }
        opts.onStep?.(info);
      },
    });
    const scores = await evaluateModel(model, null, test, { batchSize: settings.batchSize, protocol: settings.protocol });
    for (const t of model.parameters()) t.dispose();
    for (const [, t] of model.namedBuffers()) t.dispose();
    const row: CompareRow = {
      model: key.model, loss: key.loss, seed: key.seed, imbalance: key.imbalance,
      iou: scores.iou, dice: scores.dice, precision: scores.precision, recall: scores.recall, specificity: scores.specificity, auc: scores.auc,
      seconds: (performance.now() - t0) / 1000,
      belowDelta: adaptiveSteps ? below / adaptiveSteps : null,
      lowestBase: adaptiveSteps ? lowestBase : null,
      hd95: scores.surface.hd95,
      assd: scores.surface.assd,
    };
    rows.push(row);
    if (fs && runDir) {
      await writeFileAtomic(`${runDir}/result.json`, JSON.stringify({ settings, row }, null, 2) + '\n');
      await writeFileAtomic(`${opts.outDir}/results.csv`, resultsCsv(rows));
    }
    opts.onRun?.(row, index, keys.length, false);
  }
  return rows;
}

export const METRIC_KEYS = ['iou', 'dice', 'precision', 'recall', 'specificity', 'auc'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** `results.csv`: a header and one line per run. */
export function resultsCsv(rows: readonly CompareRow[]): string {
  const head = ['model', 'loss', 'seed', 'imbalance', ...METRIC_KEYS, 'seconds', 'below_delta', 'lowest_base', 'hd95', 'assd'];
  const opt = (x: number | null | undefined): string => (x === null || x === undefined ? '' : x.toFixed(6));
  const lines = rows.map((r) => [r.model, r.loss, r.seed, r.imbalance ?? '', ...METRIC_KEYS.map((k) => (Number.isFinite(r[k]) ? r[k].toFixed(6) : 'NaN')), r.seconds.toFixed(1), opt(r.belowDelta), opt(r.lowestBase), opt(r.hd95), opt(r.assd)].join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** Mean and sample standard deviation (n − 1; NaN for n < 2) of the finite values. */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  const mean = n ? v.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, std, n };
}

/** One cell group of the table: a loss at one (model, imbalance), over its seeds. */
export interface SummaryRow {
  model: string;
  imbalance: number | null;
  loss: string;
  seeds: number;
  metrics: Record<MetricKey, { mean: number; std: number }>;
}

/** Groups rows by (model, imbalance, loss) in first-seen order and averages over seeds. */
export function summarize(rows: readonly CompareRow[]): SummaryRow[] {
  const groups = new Map<string, CompareRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r.model, r.imbalance, r.loss]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => ({
    model: g[0].model,
    imbalance: g[0].imbalance,
    loss: g[0].loss,
    seeds: g.length,
    metrics: Object.fromEntries(METRIC_KEYS.map((k) => [k, meanStd(g.map((r) => r[k]))])) as unknown as SummaryRow['metrics'],
  }));
}

/** The paired comparison of loss `a` against loss `b` at one (model, imbalance): per-seed differences a − b. */
export interface PairedResult {
  model: string;
  imbalance: number | null;
  a: string;
  b: string;
  seeds: number[];
  /** Per-seed differences in IoU and Dice. */
  iou: number[];
  dice: number[];
  stats: Record<'iou' | 'dice', { mean: number; t: number; better: number; worse: number }>;
  /** Over the paired runs of `a`, when it is ALL: the mean share of steps with the base loss below δ, and the lowest base loss. */
  belowDelta: number | null;
  lowestBase: number | null;
}

/** Paired t statistic mean(d) / (sd(d)/√n): NaN for fewer than two pairs or zero spread. */
export function pairedT(d: readonly number[]): number {
  const { mean, std, n } = meanStd(d);
  return n > 1 && std > 0 ? mean / (std / Math.sqrt(n)) : NaN;
}

/**
 * Pairs runs of loss `a` and `b` with the same (model, imbalance, seed). Groups where either loss is
 * absent give no result.
 */
export function pairedComparison(rows: readonly CompareRow[], a = 'all', b = 'dice'): PairedResult[] {
  const out: PairedResult[] = [];
  const groups = new Map<string, CompareRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r.model, r.imbalance]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const g of groups.values()) {
    const A = new Map(g.filter((r) => r.loss === a).map((r) => [r.seed, r]));
    const B = new Map(g.filter((r) => r.loss === b).map((r) => [r.seed, r]));
    if (!A.size || !B.size) continue;
    const seeds = [...A.keys()].filter((s) => B.has(s)).sort((x, y) => x - y);
    const diff = (k: 'iou' | 'dice'): number[] => seeds.map((s) => A.get(s)![k] - B.get(s)![k]);
    const stat = (d: number[]) => ({ mean: meanStd(d).mean, t: pairedT(d), better: d.filter((x) => x > 0).length, worse: d.filter((x) => x < 0).length });
    const iou = diff('iou');
    const dice = diff('dice');
    const known = seeds.map((s) => A.get(s)!).filter((r) => r.belowDelta !== null && r.belowDelta !== undefined);
    const belowDelta = known.length ? meanStd(known.map((r) => r.belowDelta!)).mean : null;
    const lowestBase = known.length ? Math.min(...known.map((r) => r.lowestBase!)) : null;
    out.push({ model: g[0].model, imbalance: g[0].imbalance, a, b, seeds, iou, dice, stats: { iou: stat(iou), dice: stat(dice) }, belowDelta, lowestBase });
  }
  return out;
}

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
const signed = (x: number): string => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(4) : 'n/a');
const pm = (m: { mean: number; std: number }): string => (Number.isFinite(m.std) ? `${f4(m.mean)} ± ${f4(m.std)}` : `${f4(m.mean)} ± n/a`);
const LABEL: Record<string, string> = { all: 'ALL', dice: 'Dice', jaccard: 'Jaccard', tversky: 'Tversky', focal: 'Focal', combo: 'Combo', 'focal-tversky': 'Focal Tversky' };
const label = (loss: string): string => LABEL[loss] ?? loss;
const percent = (f: number): string => `${Number((f * 100).toPrecision(6))}%`;

/**
 * `table.md`: per (model, imbalance), the paper's Table 3 layout (one row per loss; IoU, Dice/F1,
 * recall, specificity, AUC as mean ± std over seeds), then the paired comparison of `a` (ALL) against
 * `b` (Dice): per-seed differences, their mean, the paired t statistic and the sign count.
 */
export function comparisonMarkdown(rows: readonly CompareRow[], opts: { title?: string; settings?: string; a?: string; b?: string } = {}): string {
  const a = opts.a ?? 'all';
  const b = opts.b ?? 'dice';
  const out: string[] = [`# ${opts.title ?? 'Loss comparison'}`, ''];
  if (opts.settings) out.push(opts.settings, '');
  const summary = summarize(rows);
  const groups = [...new Set(summary.map((s) => JSON.stringify([s.model, s.imbalance])))];
  for (const gk of groups) {
    const [model, imbalance] = JSON.parse(gk) as [string, number | null];
    const g = summary.filter((s) => s.model === model && s.imbalance === imbalance);
    out.push(`## ${model}${imbalance === null ? '' : ` · foreground ${percent(imbalance)}`}`, '');
    out.push('| loss | seeds | IoU | Dice / F1 | recall | specificity | AUC |', '|---|---|---|---|---|---|---|');
    for (const s of g) out.push(`| ${label(s.loss)} | ${s.seeds} | ${pm(s.metrics.iou)} | ${pm(s.metrics.dice)} | ${pm(s.metrics.recall)} | ${pm(s.metrics.specificity)} | ${pm(s.metrics.auc)} |`);
    out.push('');
  }
  out.push(`## Paired comparison: ${label(a)} − ${label(b)} (same model, data, split and seed)`, '');
  const paired = pairedComparison(rows, a, b);
  if (!paired.length) {
    out.push(`n/a: the comparison needs runs of both ${label(a)} and ${label(b)}.`, '');
    return out.join('\n');
  }
  out.push(`| model | foreground | seeds | ΔIoU per seed | mean ΔIoU | t (IoU) | ΔDice per seed | mean ΔDice | t (Dice) | seeds ${label(a)} better / worse (IoU) | ${label(a)} steps below δ |`, '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const p of paired) {
    const n = p.seeds.length;
    out.push(
      `| ${p.model} | ${p.imbalance === null ? '–' : percent(p.imbalance)} | ${p.seeds.join(', ')} | ${p.iou.map(signed).join(', ')} | ${signed(p.stats.iou.mean)} | ${n > 1 ? f4(p.stats.iou.t) : 'n/a'} | ${p.dice.map(signed).join(', ')} | ${signed(p.stats.dice.mean)} | ${n > 1 ? f4(p.stats.dice.t) : 'n/a'} | ${p.stats.iou.better} / ${p.stats.iou.worse} of ${n} | ${p.belowDelta === null ? '–' : percent(Number(p.belowDelta.toFixed(4)))} |`,
    );
  }
  out.push('', `t = mean(d) / (sd(d)/√n) over the n paired seeds (n − 1 degrees of freedom; |t| > 4.30 is p < 0.05 two-sided for n = 3); n/a with fewer than two pairs or no spread.`, '');
  const idle = paired.filter((p) => p.belowDelta === 0);
  if (idle.length) {
    const lowest = Math.min(...idle.map((p) => p.lowestBase!));
    out.push(
      `${label(a)}'s base loss never went below δ in ${idle.length === paired.length ? 'any of these runs' : `the runs at ${idle.map((p) => `${p.model}${p.imbalance === null ? '' : ` ${percent(p.imbalance)}`}`).join(', ')}`} (the lowest was ${f4(lowest)}). ` +
        `Above δ, ALL is its base loss minus a constant, with the same gradient, so it trained exactly as its base: against Dice, its default base, the differences there are zero by construction and say nothing about ALL. ` +
        `Train longer, or raise δ (--all-opt delta=…), to see it act.`,
      '',
    );
  }
  return out.join('\n');
}

/** `report.html`: IoU and Dice against the foreground fraction per loss (or per seed when there is one level), and the table. */
export function comparisonHtml(rows: readonly CompareRow[], markdown: string, title = 'segrad loss comparison'): string {
  const summary = summarize(rows);
  const losses = [...new Set(rows.map((r) => r.loss))];
  const models = [...new Set(rows.map((r) => r.model))];
  const levels = [...new Set(rows.map((r) => r.imbalance))];
  const sweep = levels.length > 1 && levels.every((l) => l !== null);
  const charts = (['iou', 'dice'] as const).flatMap((k) =>
    models.map((model) => {
      const series: Series[] = losses.map((loss) => {
        if (sweep) {
          const g = summary.filter((s) => s.model === model && s.loss === loss).sort((x, y) => x.imbalance! - y.imbalance!);
          return { name: label(loss), x: g.map((s) => Math.log10(s.imbalance!)), y: g.map((s) => s.metrics[k].mean) };
        }
        const g = rows.filter((r) => r.model === model && r.loss === loss).sort((x, y) => x.seed - y.seed);
        return { name: label(loss), x: g.map((r) => r.seed), y: g.map((r) => r[k]) };
      });
      return {
        id: `${k}-${model}`,
        title: `${model}: test ${k === 'iou' ? 'IoU' : 'Dice'}${sweep ? ' (mean over seeds)' : ' per seed'}`,
        xLabel: sweep ? 'log10 foreground fraction' : 'seed',
        yLabel: k === 'iou' ? 'IoU' : 'Dice',
        series,
      };
    }),
  );
  const table = markdownTablesToHtml(markdown);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}table{border-collapse:collapse;margin-bottom:1rem}th,td{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}svg{max-width:100%;height:auto}</style></head>
<body><h1>${escapeXml(title)}</h1>${figure(charts, { columns: 2 })}\n${table}</body></html>\n`;
}

/** Renders the headings, tables and paragraphs of {@link comparisonMarkdown} as HTML. */
function markdownTablesToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const h = /^(#+) (.*)$/.exec(line);
    if (h) out.push(`<h${h[1].length + 1}>${escapeXml(h[2])}</h${h[1].length + 1}>`);
    else if (line.startsWith('|')) {
      const cells = (l: string): string[] => l.slice(1, -1).split('|').map((c) => c.trim());
      const head = cells(line);
      const body: string[][] = [];
      i += 2;
      while (i < lines.length && lines[i].startsWith('|')) body.push(cells(lines[i++]));
      i--;
      out.push(`<table><tr>${head.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>${body.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`).join('')}</table>`);
    } else if (line.trim()) out.push(`<p>${escapeXml(line)}</p>`);
  }
  return out.join('\n');
}

/** Writes `results.csv`, `table.md` and `report.html` into `dir`; returns the markdown. */
export async function writeComparison(dir: string, rows: readonly CompareRow[], opts: { title?: string; settings?: string; a?: string; b?: string } = {}): Promise<string> {
  await (await nodeFs()).mkdir(dir, { recursive: true });
  const md = comparisonMarkdown(rows, opts);
  await writeFileAtomic(`${dir}/results.csv`, resultsCsv(rows));
  await writeFileAtomic(`${dir}/table.md`, md);
  await writeFileAtomic(`${dir}/report.html`, comparisonHtml(rows, md, opts.title));
  return md;
}
