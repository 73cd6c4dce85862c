import { writeReport, RunFolder, evaluateModel, fit, createModel, MODEL_NAMES, sizeMultiple, NonFiniteError, type ModelSpec, type ModelName } from '../../train/index.js';
import { foregroundShare } from '../../data/index.js';
import { imageRows } from '../../metrics/index.js';
import { listOpt, numberOpt, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { buildLoss, invertedMasksWarning, loadSplit, lossOptions, perVolumeScores, selectBackend, shellCommand, sliceLeakWarning, withOut } from '../common.js';
import { classTable, countBar, duration, groupLine, surfaceLine, textTable, TrainingProgress } from '../progress.js';

/** The built-in quick run: what `segrad train` does with no --data (under two minutes on 2 cores). */
export const QUICK = {
  data: 'synthetic:blobs?count=240&size=48&seed=1',
  widths: [8, 16, 32, 64],
  epochs: 20,
  batch: 8,
  lr: 3e-3,
};

const usage = `segrad train: train a segmentation model and report IoU/Dice on the held-out 20 %

usage: segrad train [options]

  --model NAME        unet (default) | focusnet | attention-unet
  --widths LIST       U-Net widths, bottleneck last (default 32,64,128,256,512; quick run 8,16,32,64)
  --width-scale X     FocusNet / Attention U-Net: multiply every width (default 1; quick run 0.25)
  --loss NAME         all (default) | dice | jaccard | tversky | focal | combo | focal-tversky | bce | …
  --base NAME         base loss wrapped by ALL (default dice)
  --loss-opt K=V      loss option, repeatable (e.g. --loss-opt omega=10 --loss-opt delta=0.1)
  --data SPEC         synthetic:blobs|vessels|nuclei[?count=&size=&foreground=&classes=] | isic2018:<dir> |
                      dsb2018:<dir> | drive:<dir> | folder:<dir> | nifti:<dir> | <dir> (its layout detected)
                      (default: a built-in synthetic set)
                      file sets: ?size=N|HxW&classes=K&window=LO,HI&channels=1|3&cache=off&groups=SEP
                      (groups: a patient's files, <patient>SEP<rest>, stay on one side of the split)
                      (folder also &suffix=_mask&images=&masks=)
                      nifti (imagesTr/ + labelsTr/ .nii.gz volumes as 2D slices, split by volume):
                      ?size=&classes=&window=&slices=all|labelled&axis=0|1|2&images=&labels=
  --epochs N          (default 50; quick run ${QUICK.epochs})
  --batch N           batch size (default 16; quick run ${QUICK.batch})
  --lr X              Adam learning rate (default 1e-4; quick run ${QUICK.lr})
  --optimizer NAME    adam (default) | adamw | sgd
  --scheduler NAME    none (default) | step | cosine | poly (nnU-Net's (1 − epoch/epochs)^0.9) | plateau
  --val-fraction X    validation share of the data, scored every epoch (default 0.1)
  --patience N        early stopping after N epochs without improvement of the monitored value
  --monitor M         loss (default) | dice | iou: the validation value that picks best.safetensors
                      and stops early (dice and iou: highest is best)
  --augment           random flips and 90° rotations (off by default, as in the paper)
  --augment-intensity random brightness, contrast and gamma of the images (nnU-Net's ranges)
  --protocol P        per-image (default) | pooled metrics
  --seed N            seed of the split, initialisation, shuffling and dropout (default 0)
  --backend B         cpu (default) | gpu[:mode] (gpu.js: webgpu, webgl2, headlessgl, webasm, cpu)
  --out DIR           run folder (default runs/<model>-<loss>-<time>): metrics.jsonl, config.json,
                      checkpoint.safetensors, best.safetensors, report.html
  --resume            continue the run in --out from its last checkpoint (same numbers as uninterrupted)
  --overwrite         replace a run already in --out (without it, or --resume, that is an error)
  --skip-bad          skip unreadable or mismatched files with a warning instead of stopping
  --max-batches N     at most N batches per epoch (quick experiments)
  --quiet             no progress output

examples:
  segrad train                                   # quick run on built-in synthetic data
  segrad train --data isic2018:/data/isic --loss all --epochs 50 --out runs/isic-all
  segrad train --data synthetic:vessels?foreground=0.05 --loss dice --loss-opt smooth=1`;

const KNOWN = ['model', 'widths', 'width-scale', 'loss', 'base', 'loss-opt', 'data', 'epochs', 'batch', 'lr', 'optimizer', 'scheduler', 'val-fraction', 'patience', 'monitor', 'augment', 'augment-intensity', 'protocol', 'seed', 'backend', 'out', 'resume', 'overwrite', 'skip-bad', 'max-batches', 'quiet'];

export const train: Command = {
  name: 'train',
  summary: 'train a model on a dataset (default: a quick run on built-in synthetic data)',
  usage,
  async run(argv) {
    const { options: o } = parseArgs(argv, { known: KNOWN, flags: ['augment', 'augment-intensity', 'resume', 'overwrite', 'skip-bad', 'quiet'], repeatable: ['loss-opt'] }, 'train');
    const quick = o.data === undefined;
    const modelName = String(o.model ?? 'unet') as ModelName;
    if (!MODEL_NAMES.includes(modelName)) throw new UsageError(`train: unknown model '${modelName}'; expected one of ${MODEL_NAMES.join(', ')}`);
    const seed = numberOpt(o, 'seed', 0, 'train');
    const monitor = String(o.monitor ?? 'loss') as 'loss' | 'dice' | 'iou';
    if (!['loss', 'dice', 'iou'].includes(monitor)) throw new UsageError(`train: --monitor must be loss, dice or iou, got '${monitor}'`);
    const lossName = String(o.loss ?? 'all');
    const loss = buildLoss(lossName, o);
    const backend = await selectBackend(o.backend as string | undefined);
    const dataSpec = quick ? QUICK.data : String(o.data);
    const { all, train: trainSet, val, test } = await loadSplit(dataSpec, { seed, valFraction: numberOpt(o, 'val-fraction', quick ? 0 : 0.1, 'train'), skipBad: Boolean(o['skip-bad']), quiet: Boolean(o.quiet) });
    const leak = sliceLeakWarning(all);
    if (leak) console.error(leak);
    const first = await trainSet.get(0);
    const { channels, classes, height, width } = first.shape;
    const sizes: Record<string, unknown> = {};
    if (modelName === 'unet') {
      if (o['width-scale'] !== undefined) throw new UsageError('train: --width-scale applies to focusnet and attention-unet; use --widths for unet');
      const widths = o.widths !== undefined ? listOpt(o, 'widths', []).map(Number) : quick ? QUICK.widths : undefined;
      if (widths?.some((w) => !Number.isInteger(w) || w <= 0)) throw new UsageError(`train: --widths must be positive integers, got '${String(o.widths)}'`);
      if (widths) sizes.widths = widths;
      if (quick) sizes.dropout = 0;
    } else {
      if (o.widths !== undefined) throw new UsageError(`train: --widths applies to unet; use --width-scale for ${modelName}`);
      const scale = numberOpt(o, 'width-scale', quick ? 0.25 : 1, 'train');
      if (scale !== 1) sizes.widthScale = scale;
    }
    const spec: ModelSpec = { name: modelName, options: { inChannels: channels, outChannels: classes, seed, ...sizes } };
    const multiple = sizeMultiple(spec);
    if (height % multiple || width % multiple) throw new UsageError(`train: images are ${height}x${width}, which ${modelName} cannot take: sizes must be divisible by ${multiple} (resize with ?size= in --data)`);
    const model = createModel(spec);
    const epochs = numberOpt(o, 'epochs', quick ? QUICK.epochs : 50, 'train');
    const batchSize = numberOpt(o, 'batch', quick ? QUICK.batch : 16, 'train');
    const lr = numberOpt(o, 'lr', quick ? QUICK.lr : 1e-4, 'train');
    const out = String(o.out ?? `runs/${modelName}-${lossName}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
    const quiet = Boolean(o.quiet);
    const log = (s: string): void => {
      if (!quiet) console.error(s);
    };
    log(`segrad train: ${modelName} (${model.parameterCount().toLocaleString('en')} parameters) · loss ${loss.lossName} · data ${dataSpec} (${trainSet.length} train / ${val?.length ?? 0} val / ${test.length} test, ${channels}×${height}×${width}) · backend ${backend}`);
    log(`run folder: ${out}`);
    const balance = await foregroundShare(trainSet);
    log(`foreground: ${(100 * balance.share).toFixed(1)} % of the pixels of ${balance.masks} training masks`);
    const inverted = invertedMasksWarning(balance.share);
    if (inverted) console.error(`segrad train: ${inverted}`);

    const progress = new TrainingProgress(quiet);
    const t0 = performance.now();
    let [current, finished] = [-1, -1];
    // Ctrl-C: say what is kept and how to go on, rather than vanish mid-bar
    const interrupted = (): void => {
      progress.stop();
      console.error(`\n${interruptNote(argv, out, current, finished)}`);
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    let result;
    try {
      result = await fit(model, loss, trainSet, {
        epochs, batchSize, lr, seed, val,
        optimizer: (o.optimizer as 'adam' | 'adamw' | 'sgd' | undefined) ?? 'adam',
        scheduler: (o.scheduler as 'none' | 'step' | 'cosine' | 'poly' | 'plateau' | undefined) ?? 'none',
        earlyStopping: o.patience !== undefined ? { patience: numberOpt(o, 'patience', 5, 'train') } : undefined,
        monitor,
        augment: o.augment || o['augment-intensity'] ? { flip: Boolean(o.augment), rotate90: Boolean(o.augment), intensity: Boolean(o['augment-intensity']) } : undefined,
        protocol: (o.protocol as 'per-image' | 'pooled' | undefined) ?? 'per-image',
        outDir: out,
        resume: Boolean(o.resume),
        overwrite: Boolean(o.overwrite),
        maxBatchesPerEpoch: o['max-batches'] !== undefined ? numberOpt(o, 'max-batches', 0, 'train') : undefined,
        config: { command: ['segrad', 'train', ...argv].join(' '), model: spec, data: dataSpec, inputSize: [height, width], backend, lossSpec: { name: lossName, options: { ...lossOptions(o), ...(lossName === 'all' && typeof o.base === 'string' ? { base: o.base } : {}) } } },
        onEpochStart: (e, batches) => {
          // a resumed run starts after the checkpoint's epoch
          [current, finished] = [e, Math.max(finished, e - 1)];
          progress.startEpoch(e, epochs, batches);
        },
        onStep: (s) => progress.step(s),
        onEpoch: (e) => {
          finished = e.epoch;
          progress.epoch(e);
        },
      });
    } catch (e) {
      progress.stop();
      if (e instanceof NonFiniteError) {
        console.error(`segrad train: ${e.message}`);
        return 1;
      }
      throw e;
    } finally {
      process.off('SIGINT', interrupted);
    }
    const bar = countBar('testing', 'images', quiet);
    const scores = await evaluateModel(model, loss, test, { batchSize, protocol: (o.protocol as 'per-image' | 'pooled' | undefined) ?? 'per-image', keepPredictions: true, onProgress: bar.update }).finally(bar.stop);
    const seconds = (performance.now() - t0) / 1000;
    const p = scores.predictions!;
    const [, , ph, pw] = p.shape;
    const plane = ph * pw;
    // the report shows where the model fails as well as where it works: the two lowest and two highest IoUs
    const ranked = imageRows(p.probs, p.masks, { shape: p.shape, ids: p.ids, fov: p.fov }).map((r, i) => ({ i, iou: r.iou })).filter((r) => Number.isFinite(r.iou)).sort((a, b) => a.iou - b.iou);
    const picks = ranked.length <= 4 ? ranked : [...ranked.slice(0, 2), ...ranked.slice(-2)];
    const examples = [];
    for (const { i, iou } of picks) {
      const s = await test.get(i);
      examples.push({ id: p.ids[i], note: `IoU ${iou.toFixed(4)}`, height: ph, width: pw, image: s.image.slice(0, plane), mask: p.masks.slice(i * plane, (i + 1) * plane), prob: p.probs.slice(i * plane, (i + 1) * plane) });
    }
    const run = await RunFolder.open(out);
    const summary = { loss: scores.loss, iou: scores.iou, dice: scores.dice, precision: scores.precision, recall: scores.recall, specificity: scores.specificity, accuracy: scores.accuracy, auc: scores.auc };
    const perVolume = perVolumeScores(p, test);
    await run.writeJson('test-metrics.json', { ...summary, surface: scores.surface, ...(perVolume ? { perVolume } : {}), ...(scores.perClass ? { perClass: scores.perClass } : {}), protocol: (o.protocol as string | undefined) ?? 'per-image', images: test.length });
    const classRows = Object.fromEntries((scores.perClass ?? []).flatMap((c) => [[`class ${c.class} IoU`, c.iou], [`class ${c.class} Dice`, c.dice], [`class ${c.class} precision`, c.precision], [`class ${c.class} recall`, c.recall], [`class ${c.class} HD95 (px)`, c.hd95]]));
    const report = await writeReport(run, { title: `segrad: ${modelName} · ${loss.lossName} · ${dataSpec}`, summary: { ...summary, 'HD95 (px)': scores.surface.hd95, 'ASSD (px)': scores.surface.assd, ...(perVolume ? { 'Dice per volume': perVolume.dice } : {}), ...classRows }, examplesTitle: 'Test images with the lowest and the highest IoU', roc: { scores: p.probs, labels: p.masks }, examples });
    console.log(textTable(['epoch', 'train loss', ...(val ? ['val loss', 'val IoU', 'val Dice'] : []), 'time'], result.epochs.map((e) => [String(e.epoch + 1), e.trainLoss, ...(e.val ? [e.val.loss, e.val.iou, e.val.dice] : []), duration(e.seconds)])));
    console.log('');
    console.log(textTable(['test set', 'IoU', 'Dice', 'precision', 'recall', 'specificity', 'AUC'], [[`${test.length} images`, scores.iou, scores.dice, scores.precision, scores.recall, scores.specificity, scores.auc]]));
    console.log(surfaceLine(scores.surface));
    if (perVolume) console.log(groupLine(perVolume));
    if (scores.perClass) console.log(`\n${classTable(scores.perClass)}`);
    console.log(`\ntrained in ${duration(seconds)}${result.stoppedEarly ? ' (stopped early)' : ''} · run folder ${out} · report ${report}`);
    return 0;
  },
};

/**
 * What `segrad train` says when Ctrl-C stops it in epoch `current` (0-based) after epoch `finished`
 * (−1: none): where the last checkpoint is, and the command that continues the run from it (with --out
 * added where the folder was the default one).
 */
export function interruptNote(argv: readonly string[], out: string, current: number, finished: number): string {
  const again = shellCommand(['segrad', 'train', ...withOut(argv.filter((a) => a !== '--overwrite' && a !== '--resume'), out), '--resume']);
  const kept = finished < 0 ? `no epoch had finished, so ${out} holds no checkpoint yet and this starts the run over` : `the checkpoint of epoch ${finished + 1} is in ${out}`;
  return `segrad train: stopped in epoch ${current + 1}; ${kept}. Continue with:\n  ${again}`;
}

