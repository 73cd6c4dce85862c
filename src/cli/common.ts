import { datasetFromSpec, split, type Dataset } from '../data/index.js';
import { countBar } from './progress.js';
import { lossByName, LOSS_NAMES, type Loss } from '../losses/index.js';
import { groupScores, type GroupScores } from '../metrics/index.js';
import type { ModelEvaluation } from '../train/index.js';
import { setBackend, backendInfo, prepareGpu } from '../tensor/index.js';
import { UsageError, type ParsedArgs } from './args.js';

/** `--loss-opt k=v` pairs as loss options (numbers and booleans parsed). */
export function lossOptions(opts: ParsedArgs['options']): Record<string, number | string | boolean> {
  const raw = opts['loss-opt'];
  const list = raw === undefined || typeof raw === 'boolean' ? [] : Array.isArray(raw) ? raw : [raw];
  const out: Record<string, number | string | boolean> = {};
  for (const pair of list.flatMap((s) => s.split(','))) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--loss-opt expects key=value, got '${pair}'`);
    const k = pair.slice(0, eq).trim();
    const v = pair.slice(eq + 1).trim();
    out[k] = v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

/** Builds the loss from `--loss` (and `--base` for ALL) and `--loss-opt`. */
export function buildLoss(name: string, opts: ParsedArgs['options']): Loss {
  if (!(LOSS_NAMES as readonly string[]).includes(name)) throw new UsageError(`unknown loss '${name}'; expected one of ${LOSS_NAMES.join(', ')}`);
  const o = lossOptions(opts);
  if (name === 'all' && typeof opts.base === 'string') o.base = opts.base;
  return lossByName(name, o);
}

/**
 * Selects the backend from `--backend cpu|gpu[:mode]` and says what runs. For `gpu:webgpu` it first
 * requests the WebGPU adapter (in Node, through the `webgpu` package).
 */
export async function selectBackend(spec: string | undefined): Promise<string> {
  const [name, mode] = (spec ?? 'cpu').split(':');
  if (name !== 'cpu' && name !== 'gpu') throw new UsageError(`--backend must be cpu or gpu[:mode], got '${spec}'`);
  if (name === 'gpu' && mode === 'webgpu') {
    const probe = await prepareGpu('webgpu');
    if (!probe.ok) throw new UsageError(`--backend gpu:webgpu: no WebGPU adapter here: ${probe.reason}`);
  }
  setBackend(name, mode ? { mode } : {});
  const info = backendInfo();
  return `${info.backend} (${info.mode}${info.adapter ? `, ${info.adapter}` : ''})`;
}

/** Loads a dataset spec and splits it 80:20 (plus an optional validation share) from a seed. */
export async function loadSplit(spec: string, opts: { seed: number; valFraction: number; skipBad: boolean; testFraction?: number; quiet?: boolean }): Promise<{ all: Dataset; train: Dataset; val: Dataset | undefined; test: Dataset }> {
  // reading NIfTI volumes takes a while: a bar over them on a terminal
  const bar = countBar('reading', 'volumes', opts.quiet);
  const all = await datasetFromSpec(spec, { skipBad: opts.skipBad, onProgress: bar.update }).finally(bar.stop);
  if (all.skipped?.length) console.error(`warning: skipped ${all.skipped.length} bad file(s) in ${spec} (--skip-bad)`);
  const s = split(all, { seed: opts.seed, testFraction: opts.testFraction ?? 0.2, valFraction: opts.valFraction });
  return { all, train: s.train, val: s.val.length ? s.val : undefined, test: s.test };
}

/**
 * Files named like slices or frames of one scan (`…slice045…`, `…_z12…`, `…frame3…`) split at random put a
 * patient's neighbouring slices in training and in the test set, and the test score flatters the model:
 * said when the data has no groups.
 */
export function sliceLeakWarning(data: Dataset): string | null {
  if (data.groups) return null;
  const example = data.ids.find((id) => /slice|frame|_z\d/i.test(id) && /[_-]?(slice|frame|z(?=\d))/i.exec(id)!.index > 0);
  if (!example) return null;
  const sep = /[_-]?(slice|frame|z(?=\d))/i.exec(example)![0];
  return `warning: ${data.name}: ids such as ${example} look like slices of one scan; split at random, a patient's neighbouring slices land in training and in the test set, and the test score flatters the model. Keep each patient on one side: --data '…?groups=${sep}' (the id's part before '${sep}' names the patient)`;
}

/** The warning for masks that are mostly foreground (more than 70 %): drawn dark on light, they are inverted; null otherwise. */
export function invertedMasksWarning(share: number): string | null {
  if (!(share > 0.7)) return null;
  return `warning: the masks are ${(100 * share).toFixed(0)} % foreground; if they draw the objects dark on a light background, they are inverted (foreground is the bright or non-zero value): invert them, or the model learns the background`;
}

/** Each volume's scores (`groupScores`) from an evaluation's kept predictions, for data with groups (NIfTI slices); undefined for other data. */
export function perVolumeScores(p: NonNullable<ModelEvaluation['predictions']>, data: Dataset, threshold?: number): GroupScores | undefined {
  if (!data.groups) return undefined;
  const classes = p.classProbs ? { classes: { probs: p.classProbs, masks: p.classMasks!, count: p.classProbs.length / p.probs.length } } : {};
  return groupScores(p.probs, p.masks, { shape: p.shape, groups: data.groups, spacing: data.groupSpacing, threshold, fov: p.fov, ...classes });
}

/** A command line as a POSIX shell reads it back: words quoted where they hold anything but plain characters. */
export function shellCommand(words: readonly string[]): string {
  return words.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The arguments with `--out DIR` added where they do not name the folder (the run used its default one). */
export function withOut(argv: readonly string[], out: string): string[] {
  return argv.some((a) => a === '--out' || a.startsWith('--out=')) ? [...argv] : [...argv, '--out', out];
}

