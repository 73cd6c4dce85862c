import { datasetFromSpec, type Dataset } from '../../data/index.js';
import type { Module } from '../../nn/module.js';
import { lossByName } from '../../losses/index.js';
import { imageRows, objectScores, perClassScores, type ClassScores, type ImageObjects, type ImageRow } from '../../metrics/index.js';
import { createModel, evaluateModel, loadCheckpoint, RunFolder, sizeMultiple, writeFileAtomic, type ModelSpec } from '../../train/index.js';
import { numberOpt, parseArgs, UsageError, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';
import { loadSplit, perVolumeScores, selectBackend } from '../common.js';
import { classTable, countBar, groupLine, objectLine, surfaceLine, textTable } from '../progress.js';

const usage = `segrad eval: score a trained run on its held-out test split (or on other data)

usage: segrad eval --run DIR [options]

  --run DIR           run folder written by 'segrad train' (config.json, best/checkpoint.safetensors)
  --checkpoint C      best (default: best.safetensors) | last (the model part of checkpoint.safetensors)
  --data SPEC         evaluate on this dataset instead of the run's (default: the run's data; see 'segrad train --help')
  --split S           test | all (default: test for the run's data, the same 20 % as in training
                      since the split depends only on the seed; all for --data)
  --protocol P        per-image (default) | pooled metrics
  --threshold X       probability threshold of the thresholded metrics (default 0.5)
  --batch N           images per batch (default 8)
  --patch N           predict each whole image from overlapping N×N patches (models trained on patches,
                      e.g. DRIVE); metrics inside the field of view when the data carries one
  --stride N          step between patches (default N/2)
  --blend B           mean (default) | gaussian: how overlapping patches combine (gaussian weighs each
                      patch's centre most, as nnU-Net)
  --tta               test-time augmentation: average each prediction with those of the image mirrored
                      left-right, upside down and both (four passes, as nnU-Net does)
  --keep-largest      keep only each image's largest predicted object (one object per image, such as a
                      skin lesion; one-class runs)
  --backend B         cpu (default) | gpu[:mode]
  --skip-bad          skip unreadable files with a warning
  --quiet             print only the table

prints IoU, Dice, precision, recall, specificity, accuracy and AUC; the boundary distances HD95 and
ASSD in pixels (mean over the images with foreground in both prediction and mask; the others counted);
the objects (8-connected components) in the masks and the predictions, those matched at IoU > 0.5
with the object F1, and the 2018 Data Science Bowl's score (mean precision over IoU 0.5…0.95); and for
slices of NIfTI volumes each volume's Dice with its slices pooled, and its 3D HD95 and ASSD in mm

writes DIR/eval.json (the metrics, the checkpoint, data, split and protocol used) and DIR/eval-images.csv
(each image's IoU, Dice, precision, recall, specificity, accuracy, AUC, HD95, ASSD, its true and
predicted foreground shares and object counts, and each class's IoU, Dice and HD95 for classes=K, to
find the images the model fails on; the three lowest IoUs are printed)

examples:
  segrad eval --run runs/unet-all
  segrad eval --run runs/unet-all --checkpoint last --protocol pooled
  segrad eval --run runs/unet-all --tta
  segrad eval --run runs/isic-all --data folder:/data/other-clinic --split all
  segrad eval --run runs/drive-all --data "drive:/data/DRIVE?subset=test&mode=full" --patch 64 --stride 32 --protocol pooled`;

const KNOWN = ['run', 'checkpoint', 'data', 'split', 'protocol', 'threshold', 'batch', 'patch', 'stride', 'blend', 'tta', 'keep-largest', 'backend', 'skip-bad', 'quiet'];

/** What `segrad train` records in config.json that eval and predict need. */
export interface RunConfig {
  model: ModelSpec;
  data: string;
  seed: number;
  /** The training loss by name and options (runs written before it was recorded have none). */
  lossSpec?: { name: string; options: Record<string, number | string | boolean> };
  [key: string]: unknown;
}

/** Opens a run folder given by --run and reads its config.json; usage errors name what is missing. */
export async function openRun(o: ParsedArgs['options'], command: string): Promise<{ run: RunFolder; config: RunConfig }> {
  if (typeof o.run !== 'string') throw new UsageError(`${command}: --run DIR is required (a run folder written by 'segrad train')`);
  const { stat } = await import('node:fs/promises');
  const isDir = await stat(o.run).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new UsageError(`${command}: run folder ${o.run} does not exist`);
  const run = await RunFolder.open(o.run);
  if (!(await run.exists('config.json'))) throw new UsageError(`${command}: ${o.run} has no config.json; is it a run folder written by 'segrad train'?`);
  const config = await run.readJson<RunConfig>('config.json');
  if (!config.model || typeof config.model.name !== 'string') throw new UsageError(`${command}: ${run.path('config.json')} records no model spec`);
  return { run, config };
}

/** Rebuilds the run's model and loads best.safetensors or the model part of checkpoint.safetensors. */
export async function loadRunModel(run: RunFolder, config: RunConfig, which: string, command: string): Promise<{ model: Module; file: string; epoch: number | null }> {
  if (which !== 'best' && which !== 'last') throw new UsageError(`${command}: --checkpoint must be best or last, got '${which}'`);
  const name = which === 'best' ? 'best.safetensors' : 'checkpoint.safetensors';
  if (!(await run.exists(name))) throw new UsageError(`${command}: ${run.path(name)} does not exist (train the run first${which === 'best' ? ', or use --checkpoint last' : ''})`);
  const model = createModel(config.model);
  const file = run.path(name);
  if (which === 'best') {
    const meta = await model.load(file);
    return { model, file, epoch: meta.epoch !== undefined ? Number(meta.epoch) : null };
  }
  const meta = await loadCheckpoint(file, model);
  return { model, file, epoch: meta.epoch };
}

export const evaluate: Command = {
  name: 'eval',
  summary: 'score a trained run (best or last checkpoint) on its test split or on other data',
  usage,
  async run(argv) {
    const { options: o, positional } = parseArgs(argv, { known: KNOWN, flags: ['tta', 'keep-largest', 'skip-bad', 'quiet'] }, 'eval');
    if (positional.length) throw new UsageError(`eval: unexpected argument '${positional[0]}' (see 'segrad eval --help')`);
    const { run, config } = await openRun(o, 'eval');
    const protocol = String(o.protocol ?? 'per-image');
    if (protocol !== 'per-image' && protocol !== 'pooled') throw new UsageError(`eval: --protocol must be per-image or pooled, got '${protocol}'`);
    const own = o.data === undefined;
    const splitName = String(o.split ?? (own ? 'test' : 'all'));
    if (splitName !== 'test' && splitName !== 'all') throw new UsageError(`eval: --split must be test or all, got '${splitName}'`);
    const threshold = numberOpt(o, 'threshold', 0.5, 'eval');
    const batchSize = numberOpt(o, 'batch', 8, 'eval');
    const backend = await selectBackend(o.backend as string | undefined);
    const { model, file, epoch } = await loadRunModel(run, config, String(o.checkpoint ?? 'best'), 'eval');

    const spec = own ? config.data : String(o.data);
    const skipBad = Boolean(o['skip-bad']);
    let data: Dataset;
    try {
      if (splitName === 'test') data = (await loadSplit(spec, { seed: config.seed ?? 0, valFraction: 0, skipBad, quiet: Boolean(o.quiet) })).test;
      else data = await datasetFromSpec(spec, { skipBad });
    } catch (e) {
      if (!own) throw e;
      throw new Error(`${(e as Error).message}; that is the run's own data (config.json): if it has moved, give --data with its new place and --split test for the same held-out images`);
    }
    if (data.length === 0) throw new Error(`no images to evaluate in ${spec} (${splitName})`);
    const { channels, classes, height, width } = (await data.get(0)).shape;
    const opts = config.model.options;
    if (opts.inChannels !== undefined && opts.inChannels !== channels) throw new Error(`${spec} has ${channels}-channel images, but the model of ${run.dir} takes ${String(opts.inChannels)} (set ?channels= in --data)`);
    if (opts.outChannels !== undefined && opts.outChannels !== classes) throw new Error(`${spec} has ${classes} mask class(es), but the model of ${run.dir} predicts ${String(opts.outChannels)}`);
    const blend = String(o.blend ?? 'mean');
    if (blend !== 'mean' && blend !== 'gaussian') throw new UsageError(`eval: --blend must be mean or gaussian, got '${blend}'`);
    if (o.blend !== undefined && o.patch === undefined) throw new UsageError(`eval: --blend combines the overlapping patches of --patch; give --patch N too`);
    const window = o.patch !== undefined ? { patch: numberOpt(o, 'patch', 64, 'eval'), stride: o.stride !== undefined ? numberOpt(o, 'stride', 32, 'eval') : undefined, batchSize, blend: blend as 'mean' | 'gaussian' } : undefined;
    const multiple = sizeMultiple(config.model);
    if (window && window.patch % multiple) throw new UsageError(`eval: --patch ${window.patch} must be divisible by ${multiple} for ${config.model.name}`);
    if (!window && height % multiple || width % multiple) throw new Error(`${spec} has ${height}x${width} images; ${config.model.name} needs sizes divisible by ${multiple} (set ?size= in --data)`);

    const tta = Boolean(o.tta);
    const keepLargest = Boolean(o['keep-largest']);
    if (keepLargest && classes > 1) throw new UsageError(`eval: --keep-largest keeps the largest object of a one-class run's prediction; ${run.dir} predicts ${classes} classes`);
    if (!o.quiet) console.error(`segrad eval: ${config.model.name} from ${file}${epoch !== null ? ` (epoch ${epoch + 1})` : ''} · data ${spec} (${splitName}: ${data.length} images) · ${protocol}${tta ? ' · mirrored (4 passes)' : ''}${keepLargest ? ' · largest object only' : ''} · backend ${backend}`);
    const t0 = performance.now();
    const loss = config.lossSpec && !window ? lossByName(config.lossSpec.name, config.lossSpec.options) : null;
    const bar = countBar('evaluating', 'images', Boolean(o.quiet));
    const s = await evaluateModel(model, loss, data, { batchSize, protocol, threshold, window, mirror: tta, keepLargest, keepPredictions: true, onProgress: bar.update }).finally(bar.stop);
    const p = s.predictions!;
    const rows = imageRows(p.probs, p.masks, { shape: p.shape, ids: p.ids, threshold, fov: p.fov });
    const { perImage, ...objects } = objectScores(p.probs, p.masks, { shape: p.shape, threshold, fov: p.fov });
    // slices of volumes (nifti data): each volume's slices pooled, as volumetric Dice is reported
    const perVolume = perVolumeScores(p, data, threshold);
    const classRows = p.classProbs ? perImageClassScores(p.classProbs, p.classMasks!, [p.shape[0], classes, height, width], p.fov) : undefined;
    await writeFileAtomic(run.path('eval-images.csv'), imagesCsv(rows, perImage, classRows));
    const seconds = (performance.now() - t0) / 1000;
    const metrics = { ...(loss ? { loss: s.loss } : {}), iou: s.iou, dice: s.dice, precision: s.precision, recall: s.recall, specificity: s.specificity, accuracy: s.accuracy, auc: s.auc };
    await run.writeJson('eval.json', {
      ...metrics,
      surface: s.surface,
      objects,
      ...(perVolume ? { perVolume } : {}),
      ...(s.perClass ? { perClass: s.perClass } : {}),
      checkpoint: file,
      epoch,
      data: spec,
      split: splitName,
      seed: config.seed ?? 0,
      images: data.length,
      protocol,
      threshold,
      tta,
      keepLargest,
      ...(window ? { patch: window.patch, stride: window.stride ?? Math.floor(window.patch / 2), blend } : {}),
      seconds,
      evaluated: new Date().toISOString(),
    });
    console.log(textTable(['data', ...(loss ? [`loss (${loss.lossName})`] : []), 'IoU', 'Dice', 'precision', 'recall', 'specificity', 'accuracy', 'AUC'], [[`${splitName} (${data.length} images)`, ...(loss ? [s.loss] : []), s.iou, s.dice, s.precision, s.recall, s.specificity, s.accuracy, s.auc]]));
    console.log(surfaceLine(s.surface));
    console.log(objectLine({ ...objects, perImage }));
    if (perVolume) console.log(groupLine(perVolume));
    if (s.perClass) console.log(`\n${classTable(s.perClass)}`);
    const worst = rows.filter((r) => Number.isFinite(r.iou)).sort((a, b) => a.iou - b.iou).slice(0, 3);
    if (!o.quiet) {
      if (worst.length) console.log(`\nlowest IoU: ${worst.map((r) => `${r.id} ${r.iou.toFixed(4)}`).join(', ')}`);
      console.log(`\nwrote ${run.path('eval.json')} and ${run.path('eval-images.csv')} (each image's scores)`);
    }
    return 0;
  },
};

/** Each image's per-class scores (`perClassScores` of that image alone). */
function perImageClassScores(probs: Float32Array, masks: Float32Array, [n, K, H, W]: number[], fov?: Float32Array): ClassScores[][] {
  const size = K * H * W;
  return Array.from({ length: n }, (_, i) =>
    perClassScores(probs.subarray(i * size, (i + 1) * size), masks.subarray(i * size, (i + 1) * size), { shape: [1, K, H, W], fov: fov?.subarray(i * H * W, (i + 1) * H * W) }),
  );
}

/**
 * `eval-images.csv`: a header and one line per image (ids quoted where they hold a comma or quote), with
 * its object counts and, for several classes, each class's IoU, Dice and HD95.
 */
function imagesCsv(rows: readonly ImageRow[], objects: readonly ImageObjects[], classes?: readonly ClassScores[][]): string {
  const keys = ['iou', 'dice', 'precision', 'recall', 'specificity', 'accuracy', 'auc', 'hd95', 'assd', 'foreground', 'predicted'] as const;
  const quote = (id: string): string => (/[",\n]/.test(id) ? `"${id.replace(/"/g, '""')}"` : id);
  const num = (x: number): string => (Number.isFinite(x) ? x.toFixed(6) : 'NaN');
  const counts = (o: ImageObjects): string[] => [String(o.trueObjects), String(o.predictedObjects), String(o.matched), num(o.dsb)];
  const classHead = (classes?.[0] ?? []).flatMap((c) => [`class${c.class}_iou`, `class${c.class}_dice`, `class${c.class}_hd95`]);
  const classCells = (i: number): string[] => (classes?.[i] ?? []).flatMap((c) => [num(c.iou), num(c.dice), num(c.hd95)]);
  const head = ['id', ...keys, 'true_objects', 'predicted_objects', 'matched_objects', 'dsb', ...classHead];
  return [head.join(','), ...rows.map((r, i) => [quote(r.id), ...keys.map((k) => num(r[k])), ...counts(objects[i]), ...classCells(i)].join(','))].join('\n') + '\n';
}
