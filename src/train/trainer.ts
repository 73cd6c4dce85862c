import { concat, resize } from '../autograd/index.js';
import { foreground, mirroredProbabilities, probabilities, toLossInput } from './outputs.js';
import { predictSlidingWindow, type SlidingWindowOptions } from './sliding-window.js';
import { Loader, type AugmentOptions } from '../data/loader.js';
import type { Batch, Dataset } from '../data/types.js';
import { adaptiveLogSlope, type AdaptiveLogLoss, type Loss } from '../losses/index.js';
import { evaluateSync, keepLargestComponent, perClassScores, surfaceScores, type ClassScores, type EvaluationResult, type SurfaceScores } from '../metrics/index.js';
import type { Module } from '../nn/module.js';
import { Adam, AdamW } from '../nn/optim/adam.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import { CosineAnnealingLR, PolynomialLR, ReduceLROnPlateau, StepLR } from '../nn/optim/schedulers.js';
import { SGD } from '../nn/optim/sgd.js';
import { keep, noGrad, tidy, type Tensor } from '../tensor/index.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { tidyBatch } from './batch-limit.js';
import { gradSquares, normsFromSquares, type GradNorms } from './grad-norms.js';
import { readAhead } from './read-ahead.js';
import { RunFolder } from './run-folder.js';

function isAdaptive(loss: Loss): loss is AdaptiveLogLoss {
  const a = loss as Partial<AdaptiveLogLoss>;
  return typeof a.base === 'function' && typeof a.options === 'object' && typeof a.withBase === 'function';
}

/** A model with deep supervision (AttentionUNet): side outputs plus the final one, all logits. */
interface DeepSupervised extends Module {
  forwardWithSideOutputs(x: Tensor): Tensor[];
}

export type Scheduler = StepLR | CosineAnnealingLR | PolynomialLR | ReduceLROnPlateau;

export interface FitOptions {
  /** Epochs to train (default 50, as in the paper). */
  epochs?: number;
  /** Images per batch (default 16). */
  batchSize?: number;
  /** Learning rate (default 1e-4). */
  lr?: number;
  /** 'adam' (default), 'adamw', 'sgd' (momentum 0.9), or an optimiser built on the model's named parameters. */
  optimizer?: 'adam' | 'adamw' | 'sgd' | Optimizer;
  /** Weight decay for the built-in optimisers (default 0). */
  weightDecay?: number;
  /** 'none' (default), 'step' (×0.1 every third of the run), 'cosine', 'poly' (nnU-Net's (1 − epoch/epochs)^0.9), 'plateau' (on the validation loss), or a scheduler. */
  scheduler?: 'none' | 'step' | 'cosine' | 'poly' | 'plateau' | ((opt: Optimizer) => Scheduler);
  /** Seed of shuffling, dropout masks and augmentation (default 0). */
  seed?: number;
  /** Validation set, scored after every epoch. */
  val?: Dataset;
  /** Metric protocol for validation (default 'per-image'). */
  protocol?: 'per-image' | 'pooled';
  /** Threshold for the thresholded metrics (default 0.5). */
  threshold?: number;
  /** Stop when the monitored validation value has not improved for `patience` epochs. */
  earlyStopping?: { patience: number; monitor?: 'loss' | 'iou' | 'dice'; minDelta?: number };
  /**
   * The validation value that picks best.safetensors (and early stopping's, unless that names its own):
   * 'loss' (default, lowest), or 'dice' or 'iou' (highest). Without a validation set, the training loss.
   */
  monitor?: 'loss' | 'iou' | 'dice';
  /** Augmentation (off by default, as in the paper). */
  augment?: AugmentOptions;
  /** Run folder for metrics.jsonl, config.json, checkpoints (none: nothing is written). */
  outDir?: string;
  /**
   * Continue the run in `outDir` from its last checkpoint. Its config.json must name the same model, data
   * and loss as this call's (`config.model`, `config.data`, the loss), else it is an error.
   */
  resume?: boolean;
  /** Replace a run already in `outDir` (its files are removed first). Without this or `resume`, a run there is an error: nothing is lost by mistake. */
  overwrite?: boolean;
  /** Anything to record in config.json (model and data description, CLI arguments). */
  config?: Record<string, unknown>;
  /** Record gradient norms (global and per layer group) every `gradNormEvery` steps (default 1; 0 = never). */
  gradNormEvery?: number;
  /** Weights of the deep-supervision outputs when the model has side outputs (default: all 1). Set false to train only the final output. */
  deepSupervision?: number[] | false;
  /** Stop each epoch after this many batches (quick experiments). */
  maxBatchesPerEpoch?: number;
  /** Batches decoded ahead (default 2). */
  prefetch?: number;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void;
  /** Called after every epoch (after validation). Return `false` to stop training. */
  onEpoch?: (info: EpochInfo) => void | boolean | Promise<void | boolean>;
  /** Called when an epoch starts. */
  onEpochStart?: (epoch: number, batches: number) => void;
}

export interface StepInfo {
  epoch: number;
  /** Global step number (1-based). */
  step: number;
  /** Batch within the epoch (1-based) and batches per epoch. */
  batch: number;
  batches: number;
  loss: number;
  /** For ALL: the base loss value x, whether x < δ, and the gradient multiplier dALL/dx applied. */
  baseLoss?: number;
  belowDelta?: boolean;
  gradMultiplier?: number;
  lr: number;
  gradNorm?: GradNorms;
  ids: string[];
  imagesPerSecond: number;
}

export interface EpochInfo {
  epoch: number;
  epochs: number;
  trainLoss: number;
  lr: number;
  seconds: number;
  /** For ALL: the share of this epoch's steps whose base loss was below δ. */
  belowDeltaShare?: number;
  val?: EvaluationResult & { loss: number };
}

export interface FitResult {
  epochs: EpochInfo[];
  steps: number;
  stoppedEarly: boolean;
  best?: { metric: string; value: number; epoch: number };
  runDir?: string;
}

/** Thrown when the loss or a gradient is NaN/Inf: says where, which images, and the last good checkpoint. */
export class NonFiniteError extends Error {
  constructor(
    readonly what: 'loss' | 'gradient',
    readonly epoch: number,
    readonly step: number,
    readonly ids: string[],
    readonly lastCheckpoint: string | null,
  ) {
    super(
      `non-finite ${what} at epoch ${epoch}, step ${step} (batch: ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', …' : ''}); ` +
        (lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}` : 'no checkpoint was written yet') +
        '. Lower the learning rate, check the data for corrupt values, or use a loss computed from logits.',
    );
  }
}

function buildOptimizer(model: Module, opts: FitOptions): Optimizer {
  const o = opts.optimizer ?? 'adam';
  if (typeof o !== 'string') return o;
  const lr = opts.lr ?? 1e-4;
  const weightDecay = opts.weightDecay ?? 0;
  const params = model.namedParameters();
  if (o === 'adam') return new Adam(params, { lr, weightDecay });
  if (o === 'adamw') return new AdamW(params, { lr, weightDecay: opts.weightDecay ?? 0.01 });
  if (o === 'sgd') return new SGD(params, { lr, momentum: 0.9, weightDecay });
  throw new Error(`fit: unknown optimizer '${String(o)}' (adam | adamw | sgd)`);
}

function buildScheduler(opt: Optimizer, opts: FitOptions, epochs: number): Scheduler | null {
  const s = opts.scheduler ?? 'none';
  if (typeof s === 'function') return s(opt);
  if (s === 'none') return null;
  if (s === 'step') return new StepLR(opt, { stepSize: Math.max(1, Math.round(epochs / 3)), gamma: 0.1 });
  if (s === 'cosine') return new CosineAnnealingLR(opt, { tMax: epochs });
  if (s === 'poly') return new PolynomialLR(opt, { total: epochs });
  if (s === 'plateau') return new ReduceLROnPlateau(opt, {});
  throw new Error(`fit: unknown scheduler '${String(s)}' (none | step | cosine | poly | plateau)`);
}

function schedulerState(s: Scheduler | null): Record<string, number | boolean> | undefined {
  if (!s) return undefined;
  const out: Record<string, number | boolean> = {};
  for (const [k, v] of Object.entries(s)) if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}

/** Restarts every dropout layer's mask sequence from (seed, epoch), so a resumed run draws the same masks. */
function reseedDropout(model: Module, seed: number, epoch: number): void {
  let i = 0;
  // modules(), not namedChildren(): the models keep their Dropout layers in private fields that only modules() yields
  for (const m of model.modules()) {
    const r = (m as unknown as { reseed?: (s: number) => void }).reseed;
    if (typeof r === 'function') r.call(m, (((seed * 1_000_003) ^ (epoch * 7919) ^ (i++ * 104_729)) >>> 0) % 2_147_483_647);
  }
}

/** Concatenates typed arrays. */
function cat(xs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/**
 * The model's probabilities on a batch (averaged with its mirror images' with `mirror`) and, with a loss,
 * its value on the images as they are, as a tensor (nothing read back).
 */
function forwardBatch(model: Module, loss: Loss | null, batch: Batch, mirror = false): { probs: Tensor; l: Tensor | null } {
  return tidyBatch('evaluating the model', batch.ids.length, () =>
    noGrad(() => {
      const logits = model.forward(batch.images);
      const probs = probabilities(logits);
      return { probs: keep(mirror ? mirroredProbabilities(model, batch.images, probs) : probs), l: loss ? keep(loss(toLossInput(logits, loss.takes), batch.masks)) : null };
    }),
  );
}

/** Runs the model on a batch in eval mode: probabilities and the loss value (read asynchronously, so any backend serves). */
export async function predictBatch(model: Module, loss: Loss | null, batch: Batch): Promise<{ probs: Tensor; loss: number }> {
  const { probs, l } = forwardBatch(model, loss, batch);
  if (!l) return { probs, loss: NaN };
  try {
    return { probs, loss: (await l.data())[0] };
  } finally {
    l.dispose();
  }
}

/** What {@link evaluateModel} reports: the binary metrics, the mean loss, per-class scores for K > 1, and the predictions if kept. */
export type ModelEvaluation = EvaluationResult & {
  loss: number;
  /** Classes 1…K−1 scored one-vs-rest on each pixel's most probable class (`perClassScores`); absent for K = 1. */
  perClass?: ClassScores[];
  /** The boundary distances of the foreground, HD95 and ASSD in pixels, averaged over the images where both the prediction and the mask have some (`surfaceScores`). */
  surface: SurfaceScores;
  /** With `keepPredictions`: the foreground probabilities and masks `[N, 1, H, W]`, the ids, and the field of view where the data has one. */
  predictions?: {
    probs: Float32Array;
    masks: Float32Array;
    shape: number[];
    ids: string[];
    fov?: Float32Array;
    /** For K > 1: the class probabilities and one-hot masks `[N, K, H, W]`. */
    classProbs?: Float32Array;
    classMasks?: Float32Array;
  };
};

/**
 * Scores `model` on `data`: the mean loss and the metrics of the foreground probabilities against the
 * masks (inside the field of view when the samples carry one), the boundary distances HD95 and ASSD;
 * with several classes, each class's IoU, Dice, precision and recall too.
 */
export async function evaluateModel(
  model: Module,
  loss: Loss | null,
  data: Dataset,
  opts: {
    batchSize?: number;
    protocol?: 'per-image' | 'pooled';
    threshold?: number;
    keepPredictions?: boolean;
    /** Predict each whole image from overlapping patches (models trained on patches, e.g. DRIVE); the loss is then not computed (NaN). */
    window?: SlidingWindowOptions;
    /** Called as images are predicted: how many of `total` so far (a progress bar). */
    onProgress?: (done: number, total: number) => void;
    /** Test-time augmentation: average each prediction with its mirror images' (`mirroredProbabilities`, four passes); the loss is the plain pass's. */
    mirror?: boolean;
    /** Post-processing for one object per image: keep each image's largest predicted component (`keepLargestComponent`) before scoring; one-class models only. */
    keepLargest?: boolean;
  } = {},
): Promise<ModelEvaluation> {
  if (opts.window) return evaluateWindowed(model, data, { ...opts.window, mirror: opts.mirror ?? opts.window.mirror }, opts);
  const wasTraining = model.training;
  model.eval();
  const loader = new Loader(data, { batchSize: opts.batchSize ?? 8, shuffle: false });
  // each batch's values are read back while the next batch is submitted (readAhead): on an asynchronous
  // device its kernels are encoded while the last batch runs, instead of the device waiting on each read
  const reads: Promise<{ loss: number; probs: Float32Array; masks: Float32Array; fov: Float32Array | null; n: number; classProbs?: Float32Array; classMasks?: Float32Array }>[] = [];
  const ids: string[] = [];
  let shape: number[] = [];
  let classes = 1;
  try {
    for await (const batch of loader.epoch(0)) {
      await readAhead(reads);
      const { probs: p, l } = forwardBatch(model, loss, batch, opts.mirror);
      const fg = tidy(() => foreground(p));
      const fgMask = tidy(() => foreground(batch.masks));
      const n = batch.ids.length;
      classes = p.shape[1];
      const values = [l?.data(), fg.data(), fgMask.data(), batch.fov?.data(), ...(classes > 1 ? [p.data(), batch.masks.data()] : [])];
      reads.push(
        Promise.all(values).then(([lv, f, m, v, cp, cm]) => ({
          loss: lv ? lv[0] : NaN, probs: f as Float32Array, masks: m as Float32Array, fov: (v ?? null) as Float32Array | null, n,
          ...(cp ? { classProbs: cp as Float32Array, classMasks: cm as Float32Array } : {}),
        })),
      );
      shape = [fg.shape[1], fg.shape[2], fg.shape[3]];
      // safe before the reads end: a read holds its buffer until it is done
      for (const t of [p, l, fg, fgMask, batch.images, batch.masks, batch.fov]) t?.dispose();
      ids.push(...batch.ids);
      opts.onProgress?.(ids.length, data.length);
    }
  } finally {
    model.train(wasTraining);
  }
  const batches = await Promise.all(reads);
  const fovs = batches.flatMap((b) => (b.fov ? [b.fov] : []));
  const lossSum = batches.reduce((a, b) => a + b.loss * b.n, 0);
  const scored = scoreCollected(
    { probs: batches.map((b) => b.probs), masks: batches.map((b) => b.masks), fovs: fovs.length === batches.length ? fovs : [], classProbs: batches.flatMap((b) => (b.classProbs ? [b.classProbs] : [])), classMasks: batches.flatMap((b) => (b.classMasks ? [b.classMasks] : [])) },
    { ids, plane: shape, classes, protocol: opts.protocol ?? 'per-image', threshold: opts.threshold, keepPredictions: opts.keepPredictions, keepLargest: opts.keepLargest },
  );
  return { ...scored, loss: loss ? lossSum / ids.length : NaN };
}

/**
 * The metrics of collected foreground probabilities and masks (`[·, 1, H, W]` parts, `plane` = [1, H, W]),
 * with the field of view where every part has one, per-class scores from the class planes for K > 1, and
 * the predictions if kept: what both forms of `evaluateModel` end with.
 */
function scoreCollected(
  parts: { probs: Float32Array[]; masks: Float32Array[]; fovs: Float32Array[]; classProbs: Float32Array[]; classMasks: Float32Array[] },
  o: { ids: string[]; plane: number[]; classes: number; protocol: 'per-image' | 'pooled'; threshold?: number; keepPredictions?: boolean; keepLargest?: boolean },
): Omit<ModelEvaluation, 'loss'> {
  const shape = [o.ids.length, ...o.plane];
  if (o.keepLargest && o.classes > 1) throw new Error(`evaluateModel: keepLargest keeps the largest object of a one-class model's prediction; this model predicts ${o.classes} classes`);
  const P = o.keepLargest ? keepLargestComponent(cat(parts.probs), { shape, threshold: o.threshold }) : cat(parts.probs);
  const M = cat(parts.masks);
  const fov = parts.fovs.length ? cat(parts.fovs) : undefined;
  const result = evaluateSync(P, M, { shape, protocol: o.protocol, threshold: o.threshold, mask: fov });
  const classes = o.classes > 1 ? { classProbs: cat(parts.classProbs), classMasks: cat(parts.classMasks) } : undefined;
  const perClass = classes ? perClassScores(classes.classProbs, classes.classMasks, { shape: [o.ids.length, o.classes, o.plane[1], o.plane[2]], protocol: o.protocol, fov }) : undefined;
  const surface = surfaceScores(P, M, { shape, threshold: o.threshold, fov });
  return { ...result, surface, ...(perClass ? { perClass } : {}), ...(o.keepPredictions ? { predictions: { probs: P, masks: M, shape, ids: o.ids, ...(fov ? { fov } : {}), ...classes } } : {}) };
}

/** `evaluateModel` by sliding window: one whole image at a time, metrics inside each sample's field of view. */
async function evaluateWindowed(
  model: Module,
  data: Dataset,
  window: SlidingWindowOptions,
  opts: { protocol?: 'per-image' | 'pooled'; threshold?: number; keepPredictions?: boolean; keepLargest?: boolean; onProgress?: (done: number, total: number) => void },
): Promise<ModelEvaluation> {
  const probs: Float32Array[] = [];
  const masks: Float32Array[] = [];
  const fovs: Float32Array[] = [];
  const ids: string[] = [];
  let shape: number[] = [];
  // for K > 1: the class planes, for the per-class scores
  const classProbs: Float32Array[] = [];
  const classMasks: Float32Array[] = [];
  let K = 1;
  for (let i = 0; i < data.length; i++) {
    const s = await data.get(i);
    const { classes, height, width } = s.shape;
    if (shape.length && (shape[1] !== height || shape[2] !== width)) throw new Error(`evaluateModel: sample ${s.id} is ${height}x${width}, the others ${shape[1]}x${shape[2]}; resize the dataset`);
    shape = [1, height, width];
    const p = await predictSlidingWindow(model, s, window);
    const plane = height * width;
    // binary foreground: channel 0 for one class, 1 − P(background) for several
    const fg = (x: Float32Array): Float32Array => (classes === 1 ? x.slice(0, plane) : x.slice(0, plane).map((v) => 1 - v));
    probs.push(fg(p));
    masks.push(fg(s.mask));
    K = classes;
    if (classes > 1) {
      classProbs.push(p);
      classMasks.push(s.mask);
    }
    if (s.fov) fovs.push(s.fov);
    ids.push(s.id);
    opts.onProgress?.(ids.length, data.length);
  }
  const scored = scoreCollected(
    { probs, masks, fovs: fovs.length === ids.length ? fovs : [], classProbs, classMasks },
    { ids, plane: shape, classes: K, protocol: opts.protocol ?? 'pooled', threshold: opts.threshold, keepPredictions: opts.keepPredictions, keepLargest: opts.keepLargest },
  );
  return { ...scored, loss: NaN };
}

/** A resumed run must be the run it continues: the same model, data and loss as its config.json records. */
function checkSameRun(dir: string, saved: Record<string, unknown>, now: Record<string, unknown>): void {
  for (const key of ['model', 'data', 'loss', 'lossSpec']) {
    if (saved[key] === undefined || now[key] === undefined) continue;
    const [was, is] = [JSON.stringify(saved[key]), JSON.stringify(now[key])];
    if (was !== is) {
      const command = typeof saved.command === 'string' ? ` (its command: ${saved.command})` : '';
      throw new Error(`fit: resuming ${dir}, which was trained with ${key} ${was}, but this run gives ${key} ${is}; resume with the run's own settings${command}`);
    }
  }
}

/**
 * Trains `model` with `loss` on `train`. Every step: forward, loss (on probabilities or logits, as the
 * loss takes them), backward, optimiser update; gradient norms are recorded, and a NaN/Inf loss or
 * gradient stops the run naming the step, the images and the last good checkpoint. After every epoch:
 * validation metrics, checkpoint (atomic), scheduler, early stopping.
 * @example
 * const model = new models.UNet({ inChannels: 1, outChannels: 1, widths: [8, 16, 32] });
 * const { train, test } = data.split(data.synthetic({ kind: 'blobs', count: 64, size: 32, seed: 1 }));
 * await fit(model, losses.all(), train, { epochs: 2, batchSize: 8, lr: 1e-3, val: test });
 */
export async function fit(model: Module, loss: Loss, train: Dataset, opts: FitOptions = {}): Promise<FitResult> {
  const epochs = opts.epochs ?? 50;
  const seed = opts.seed ?? 0;
  const gradNormEvery = opts.gradNormEvery ?? 1;
  const optimizer = buildOptimizer(model, opts);
  const scheduler = buildScheduler(optimizer, opts, epochs);
  const loader = new Loader(train, { batchSize: opts.batchSize ?? 16, shuffle: true, seed, augment: opts.augment, prefetch: opts.prefetch });
  const run = opts.outDir ? await RunFolder.open(opts.outDir) : null;
  const ckptPath = run ? run.path('checkpoint.safetensors') : null;
  const monitor = opts.earlyStopping?.monitor ?? opts.monitor ?? 'loss';
  if (!['loss', 'iou', 'dice'].includes(monitor)) throw new Error(`fit: monitor must be 'loss', 'iou' or 'dice', got '${String(monitor)}'`);
  const better = (a: number, b: number): boolean => (monitor === 'loss' ? a < b - (opts.earlyStopping?.minDelta ?? 0) : a > b + (opts.earlyStopping?.minDelta ?? 0));
  const adaptive = isAdaptive(loss) ? loss : null;
  const deep = opts.deepSupervision !== false && typeof (model as unknown as Partial<DeepSupervised>).forwardWithSideOutputs === 'function' ? (model as unknown as DeepSupervised) : null;

  let startEpoch = 0;
  let step = 0;
  let best: FitResult['best'];
  let badEpochs = 0;
  let lastGood: string | null = null;
  const history: EpochInfo[] = [];

  const resuming = run !== null && opts.resume === true && (await run.exists('checkpoint.safetensors'));
  if (run && !resuming) {
    const held = await run.runFiles();
    if (held.length && !opts.resume && !opts.overwrite) {
      throw new Error(`fit: ${run.dir} already holds a run (${held.join(', ')}); resume it (resume: true, --resume), replace it (overwrite: true, --overwrite) or choose another folder`);
    }
    // replaced, or a resume with nothing to resume from (a run stopped in its first epoch): start clean
    if (held.length) await run.clearRun();
  }
  if (run && resuming) {
    if (await run.exists('config.json')) checkSameRun(run.dir, await run.readJson<Record<string, unknown>>('config.json'), { ...opts.config, loss: loss.lossName });
    const meta = await loadCheckpoint(ckptPath!, model, optimizer);
    startEpoch = meta.epoch + 1;
    step = meta.step;
    best = meta.best;
    badEpochs = meta.badEpochs ?? 0;
    if (scheduler && meta.scheduler) Object.assign(scheduler, meta.scheduler);
    lastGood = ckptPath;
    await run.truncateLog(meta.epoch);
    for (const r of await run.readLog()) if (r.type === 'epoch') history.push(r as unknown as EpochInfo);
  } else if (run) {
    await run.writeJson('config.json', {
      ...opts.config,
      loss: loss.lossName,
      ...(adaptive ? { allOptions: adaptive.options, baseLoss: adaptive.base.lossName } : {}),
      epochs,
      batchSize: loader.batchSize,
      lr: optimizer.lr,
      optimizer: optimizer.constructor.name,
      scheduler: typeof opts.scheduler === 'string' ? opts.scheduler : opts.scheduler ? 'custom' : 'none',
      seed,
      trainSize: train.length,
      valSize: opts.val?.length ?? 0,
      parameters: model.parameterCount(),
      started: new Date().toISOString(),
    });
    await run.log([]);
  }

  model.train();
  let stoppedEarly = false;
  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    reseedDropout(model, seed, epoch);
    const t0 = performance.now();
    const batches = Math.min(loader.batchesPerEpoch, opts.maxBatchesPerEpoch ?? Infinity);
    opts.onEpochStart?.(epoch, batches);
    let lossSum = 0;
    let seen = 0;
    let below = 0;
    let b = 0;
    const records: object[] = [];
    for await (const batch of loader.epoch(epoch)) {
      if (b >= batches) {
        batch.images.dispose();
        batch.masks.dispose();
        batch.fov?.dispose();
        break;
      }
      b++;
      step++;
      const ts = performance.now();
      const { value, base } = tidyBatch(`fit, epoch ${epoch}, step ${step}`, batch.ids.length, () => {
        const target = batch.masks;
        let l: Tensor;
        let baseT: Tensor | null = null;
        if (deep) {
          const outs = deep.forwardWithSideOutputs(batch.images);
          const weights = opts.deepSupervision || outs.map(() => 1);
          const last = outs[outs.length - 1];
          l = loss(toLossInput(last, loss.takes), resizeTarget(target, last)).mul(weights[outs.length - 1] ?? 1);
          for (let i = 0; i < outs.length - 1; i++) l = l.add(loss(toLossInput(outs[i], loss.takes), resizeTarget(target, outs[i])).mul(weights[i] ?? 1));
        } else {
          const logits = model.forward(batch.images);
          const input = toLossInput(logits, loss.takes);
          if (adaptive) {
            // the base value ALL transformed, not a second evaluation of the base loss
            const both = adaptive.withBase(input, target);
            l = both.loss;
            baseT = keep(both.base.detach());
          } else {
            l = loss(input, target);
          }
        }
        l.backward();
        return { value: keep(l), base: baseT };
      });
      // the loss, ALL's base loss and the squared gradient norms in one read: on an asynchronous device
      // each read waits for the queue and maps a buffer
      const squares = gradNormEvery > 0 && step % gradNormEvery === 0 ? gradSquares(optimizer.params) : null;
      const parts = [value, ...(base ? [base] : []), ...(squares ? [squares.squares] : [])];
      const read = tidy(() => concat(parts.map((t) => t.reshape([-1]))));
      const values = await read.data();
      for (const t of [read, ...parts]) t.dispose();
      const lossValue = values[0];
      const baseValue = base ? values[1] : undefined;
      const ids = batch.ids;
      batch.images.dispose();
      batch.masks.dispose();
      batch.fov?.dispose();
      if (!Number.isFinite(lossValue)) {
        optimizer.zeroGrad();
        throw new NonFiniteError('loss', epoch, step, ids, lastGood);
      }
      const norms = squares ? normsFromSquares(squares.names, values.subarray(base ? 2 : 1)) : undefined;
      if (norms && !Number.isFinite(norms.global)) {
        optimizer.zeroGrad();
        throw new NonFiniteError('gradient', epoch, step, ids, lastGood);
      }
      optimizer.step();
      optimizer.zeroGrad();
      const seconds = (performance.now() - ts) / 1000;
      const info: StepInfo = { epoch, step, batch: b, batches, loss: lossValue, lr: optimizer.lr, gradNorm: norms, ids, imagesPerSecond: ids.length / seconds };
      if (adaptive && baseValue !== undefined) {
        info.baseLoss = baseValue;
        info.belowDelta = baseValue < adaptive.options.delta;
        info.gradMultiplier = adaptiveLogSlope(baseValue, adaptive.options);
        if (info.belowDelta) below++;
      }
      lossSum += lossValue * ids.length;
      seen += ids.length;
      records.push({ type: 'step', epoch, step, loss: lossValue, lr: info.lr, ...(norms ? { gradNorm: norms.global, gradNormGroups: norms.groups } : {}), ...(info.baseLoss !== undefined ? { baseLoss: info.baseLoss, belowDelta: info.belowDelta, gradMultiplier: info.gradMultiplier } : {}), imagesPerSecond: info.imagesPerSecond });
      opts.onStep?.(info);
    }
    const epochInfo: EpochInfo = { epoch, epochs, trainLoss: lossSum / Math.max(seen, 1), lr: optimizer.lr, seconds: 0 };
    if (adaptive) epochInfo.belowDeltaShare = below / Math.max(b, 1);
    if (opts.val) epochInfo.val = await evaluateModel(model, loss, opts.val, { batchSize: loader.batchSize, protocol: opts.protocol, threshold: opts.threshold });
    epochInfo.seconds = (performance.now() - t0) / 1000;

    const monitored = epochInfo.val ? epochInfo.val[monitor] : epochInfo.trainLoss;
    if (!best || better(monitored, best.value)) {
      best = { metric: epochInfo.val ? `val ${monitor}` : 'train loss', value: monitored, epoch };
      badEpochs = 0;
    } else badEpochs++;
    if (scheduler instanceof ReduceLROnPlateau) scheduler.step(epochInfo.val?.loss ?? epochInfo.trainLoss);
    else scheduler?.step();

    history.push(epochInfo);
    if (run) {
      await run.log([...records, { type: 'epoch', ...epochInfo }]);
      const meta: CheckpointMeta = { epoch, step, optimizer: {}, scheduler: schedulerState(scheduler), best, badEpochs };
      await saveCheckpoint(ckptPath!, model, optimizer, meta);
      if (best.epoch === epoch) await model.save(run.path('best.safetensors'), { epoch: String(epoch), metric: best.metric, value: String(best.value) });
      lastGood = ckptPath;
    }
    const cont = await opts.onEpoch?.(epochInfo);
    if (cont === false) break;
    if (opts.earlyStopping && badEpochs >= opts.earlyStopping.patience) {
      stoppedEarly = true;
      break;
    }
  }
  return { epochs: history, steps: step, stoppedEarly, best, runDir: run?.dir };
}

function resizeTarget(target: Tensor, output: Tensor): Tensor {
  const [, , h, w] = output.shape;
  if (target.shape[2] === h && target.shape[3] === w) return target;
  return resize(target, [h, w], 'nearest');
}
