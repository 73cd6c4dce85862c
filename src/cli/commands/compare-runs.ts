import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pairedStats, type PairedStats } from '../../metrics/index.js';
import { listOpt, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { textTable } from '../progress.js';

const NAME = 'compare-runs';

const usage = `segrad compare-runs: compare two trained runs image by image on the same images

usage: segrad compare-runs RUN_A RUN_B [options]

Reads each run's eval-images.csv (written by 'segrad eval'); both must have scored the same images, so
evaluate both runs with the same --data and --split. For each metric: the images both runs score, the
two means, the mean difference B − A, on how many images B is better and worse (for HD95 and ASSD lower
is better), and the two-sided Wilcoxon signed-rank p-value of the differences (exact up to 50 images
without ties, else the normal approximation: as scipy.stats.wilcoxon does by default). Runs on NIfTI
slices add rows for each volume's Dice (and 3D HD95) from eval.json, paired by volume.

options:
  --metrics LIST      columns of eval-images.csv to compare (default iou,dice,hd95)
  --json FILE         also write the results as JSON

example:
  segrad eval --run runs/isic-dice && segrad eval --run runs/isic-all
  segrad compare-runs runs/isic-dice runs/isic-all`;

/** Metrics where a lower value is the better one. */
const LOWER_IS_BETTER = new Set(['hd95', 'assd']);

/** One run's eval-images.csv: the column names and each image's values by id. */
export function parseImagesCsv(text: string, source: string): { columns: string[]; rows: Map<string, number[]> } {
  const lines = text.trim().split('\n');
  const columns = lines[0].split(',');
  if (columns[0] !== 'id') throw new Error(`${source}: is not an eval-images.csv (its first column is '${columns[0]}', not 'id')`);
  const rows = new Map<string, number[]>();
  for (const line of lines.slice(1)) {
    // the id is quoted where it holds a comma or a quote ("" inside); the numbers never are
    let id: string;
    let rest: string;
    if (line.startsWith('"')) {
      const end = line.search(/"(?!")(,|$)/);
      id = line.slice(1, end).replace(/""/g, '"');
      rest = line.slice(end + 2);
    } else {
      const comma = line.indexOf(',');
      [id, rest] = [line.slice(0, comma), line.slice(comma + 1)];
    }
    rows.set(id, rest.split(',').map(Number));
  }
  return { columns: columns.slice(1), rows };
}

async function readRun(dir: string): Promise<{ columns: string[]; rows: Map<string, number[]> }> {
  const file = join(dir, 'eval-images.csv');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UsageError(`${NAME}: ${file} does not exist; score the run first: segrad eval --run ${dir}`);
  });
  return parseImagesCsv(text, file);
}

type Row = PairedStats & { metric: string; better: number; worse: number };

/**
 * For runs on NIfTI slices, whose eval.json holds each volume's scores: the per-volume Dice (and 3D HD95)
 * paired by volume, as papers on the Decathlon compare models. None where either run lacks them.
 */
async function perVolumeRows(dirA: string, dirB: string): Promise<Row[]> {
  type Volumes = { perVolume?: { perGroup: { group: string; dice: number; hd95?: number }[] } };
  const read = (dir: string): Promise<Volumes | null> => readFile(join(dir, 'eval.json'), 'utf8').then((t) => JSON.parse(t) as Volumes, () => null);
  const [a, b] = [(await read(dirA))?.perVolume?.perGroup, (await read(dirB))?.perVolume?.perGroup];
  if (!a || !b) return [];
  const byB = new Map(b.map((g) => [g.group, g]));
  const pairs = a.filter((g) => byB.has(g.group));
  if (pairs.length !== a.length || pairs.length !== b.length) throw new Error(`${dirA} and ${dirB} scored different volumes (${a.length} and ${b.length}, ${pairs.length} in common); evaluate both on the same data and split`);
  const row = (metric: string, key: 'dice' | 'hd95', lower: boolean): Row => {
    const s = pairedStats(pairs.map((g) => g[key] ?? NaN), pairs.map((g) => byB.get(g.group)![key] ?? NaN));
    return { metric, ...s, better: lower ? s.lower : s.higher, worse: lower ? s.higher : s.lower };
  };
  return [row('dice per volume', 'dice', false), ...(a.some((g) => g.hd95 !== undefined) ? [row('hd95 per volume', 'hd95', true)] : [])];
}

export const compareRuns: Command = {
  name: NAME,
  summary: 'compare two trained runs image by image: mean differences and Wilcoxon signed-rank tests',
  usage,
  async run(argv) {
    const { options: o, positional } = parseArgs(argv, { known: ['metrics', 'json'] }, NAME);
    if (positional.length !== 2) throw new UsageError(`${NAME}: give two run folders (usage: segrad compare-runs RUN_A RUN_B), got ${positional.length}`);
    const [dirA, dirB] = positional;
    const [a, b] = [await readRun(dirA), await readRun(dirB)];
    const onlyA = [...a.rows.keys()].filter((id) => !b.rows.has(id));
    const onlyB = [...b.rows.keys()].filter((id) => !a.rows.has(id));
    if (onlyA.length || onlyB.length) {
      throw new Error(
        `${dirA} scored ${a.rows.size} images and ${dirB} ${b.rows.size}, ${a.rows.size - onlyA.length} of them the same (only in A: ${onlyA.slice(0, 3).join(', ')}${onlyA.length > 3 ? ', …' : ''}; only in B: ${onlyB.slice(0, 3).join(', ')}${onlyB.length > 3 ? ', …' : ''}); ` +
          `evaluate both runs on the same images: segrad eval --run R with the same --data and --split`,
      );
    }
    const metrics = listOpt(o, 'metrics', ['iou', 'dice', 'hd95']);
    const ids = [...a.rows.keys()];
    const results: Row[] = metrics.map((metric) => {
      const [ka, kb] = [a.columns.indexOf(metric), b.columns.indexOf(metric)];
      if (ka < 0 || kb < 0) throw new UsageError(`${NAME}: no column '${metric}' in ${ka < 0 ? dirA : dirB}/eval-images.csv; it has ${(ka < 0 ? a : b).columns.join(', ')}`);
      const s = pairedStats(ids.map((id) => a.rows.get(id)![ka]), ids.map((id) => b.rows.get(id)![kb]));
      const lower = LOWER_IS_BETTER.has(metric);
      return { metric, ...s, better: lower ? s.lower : s.higher, worse: lower ? s.higher : s.lower };
    });
    results.push(...(await perVolumeRows(dirA, dirB)));
    const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
    const signed = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(4)}` : 'n/a');
    const p = (r: PairedStats): string => (Number.isFinite(r.wilcoxon.p) ? `${r.wilcoxon.p < 1e-4 ? r.wilcoxon.p.toExponential(1) : r.wilcoxon.p.toFixed(4)}${r.wilcoxon.method === 'normal' ? ' (normal)' : ''}` : 'n/a');
    console.log(`A = ${dirA}\nB = ${dirB}\n`);
    console.log(textTable(['metric', 'n', 'A', 'B', 'B − A', 'B better', 'B worse', 'Wilcoxon p'], results.map((r) => [r.metric, String(r.n), f(r.meanA), f(r.meanB), signed(r.meanDiff), String(r.better), String(r.worse), p(r)])));
    if (typeof o.json === 'string') {
      await writeFile(o.json, JSON.stringify({ a: dirA, b: dirB, images: ids.length, results }, null, 2) + '\n');
      console.log(`\nwrote ${o.json}`);
    }
    return 0;
  },
};
