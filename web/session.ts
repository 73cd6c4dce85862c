import { data, keep, losses, metrics, models, nn, noGrad, Rng, tensor, tidy, train, type Tensor } from './lib.js';

/** The data a session trains on: a synthetic set, or the user's own images (`kind: 'own'`), all in host memory, split 80:20. */
export interface DataSettings {
  kind: data.SyntheticKind | 'own';
  /** Foreground fraction of every mask, in (0, 1) (synthetic). */
  foreground: number;
  /** Image side in pixels. */
  size: number;
  count: number;
  seed: number;
  /** Own images: the names of the files they came from. */
  files?: string[];
}

export interface HostData {
  settings: DataSettings;
  /** Images [count, 1, size, size] and masks [count, 1, size, size], row-major. */
  images: Float32Array;
  masks: Float32Array;
  train: number[];
  val: number[];
}

/** Generates the synthetic set once; every session of a race shares it. */
export async function loadData(settings: DataSettings): Promise<HostData> {
  if (settings.kind === 'own') throw new Error('loadData: own images are read from files (hostDataFromSamples)');
  const ds = data.synthetic({ kind: settings.kind, count: settings.count, size: settings.size, foreground: settings.foreground, seed: settings.seed });
  const samples = await Promise.all(Array.from({ length: settings.count }, (_, i) => ds.get(i)));
  return hostDataFromSamples(samples.map((s) => s.image), samples.map((s) => s.mask), settings);
}

/** Host data from one-channel images and binary masks of `settings.size`², the last 20 % (at least one) for validation. */
export function hostDataFromSamples(images: readonly Float32Array[], masks: readonly Float32Array[], settings: DataSettings): HostData {
  const px = settings.size * settings.size;
  const count = images.length;
  const out = { images: new Float32Array(count * px), masks: new Float32Array(count * px) };
  for (let i = 0; i < count; i++) {
    out.images.set(images[i].subarray(0, px), i * px);
    out.masks.set(masks[i].subarray(0, px), i * px);
  }
  const nVal = Math.max(1, Math.round(count * 0.2));
  const all = Array.from({ length: count }, (_, i) => i);
  return { settings: { ...settings, count }, ...out, train: all.slice(0, count - nVal), val: all.slice(count - nVal) };
}

/** Mask names the playground pairs with an image `<name>.<ext>`: `<name>_mask.<ext>` and the like. */
const MASK_SUFFIX = /^(.+?)[_-](mask|seg|segmentation|gt|label|labels)$/i;

/**
 * Pairs chosen files by name: `<name>_mask.<ext>` (or _seg, _segmentation, _gt, _label) is the mask of
 * `<name>.<ext>`. Returns the pairs sorted by image name, and the files left without a partner.
 */
export function pairImageFiles(names: readonly string[]): { pairs: { image: string; mask: string }[]; unpaired: string[] } {
  const stem = (n: string): string => (n.lastIndexOf('.') > 0 ? n.slice(0, n.lastIndexOf('.')) : n);
  const images = new Map<string, string>();
  const masks = new Map<string, string>();
  for (const n of names) {
    const m = MASK_SUFFIX.exec(stem(n));
    if (m) masks.set(m[1], n);
    else images.set(stem(n), n);
  }
  const pairs = [...images].filter(([k]) => masks.has(k)).sort(([a], [b]) => a.localeCompare(b)).map(([k, image]) => ({ image, mask: masks.get(k)! }));
  const unpaired = [...[...images].filter(([k]) => !masks.has(k)).map(([, n]) => n), ...[...masks].filter(([k]) => !images.has(k)).map(([, n]) => n)].sort();
  return { pairs, unpaired };
}

export type ModelChoice = 'unet' | 'focusnet';
export const PLAYGROUND_LOSSES = ['dice', 'jaccard', 'tversky', 'focal', 'combo', 'focal-tversky', 'bce', 'lovasz-hinge', 'lovasz-softmax', 'all'] as const;
export type PlaygroundLoss = (typeof PLAYGROUND_LOSSES)[number];

export interface SessionOptions {
  loss: PlaygroundLoss;
  /** ω, ε, δ of ALL (its base is Dice, as in the paper). */
  all: { omega: number; epsilon: number; delta: number };
  model: ModelChoice;
  lr: number;
  batchSize: number;
  seed: number;
}

/** What one optimiser step reports. */
export interface StepReport {
  step: number;
  epoch: number;
  loss: number;
  /** For ALL: the base loss x of this batch and the factor dALL/dx its gradient was multiplied by. */
  base?: number;
  multiplier?: number;
  /** True when this step finished an epoch. */
  epochEnded: boolean;
}

export interface EpochReport {
  epoch: number;
  step: number;
  trainLoss: number;
  iou: number;
  dice: number;
}

/** Builds the model: a small U-Net, or FocusNet with every width divided by 16. Both return logits. */
export function buildModel(choice: ModelChoice, seed: number): nn.Module {
  if (choice === 'focusnet') return new models.FocusNet({ inChannels: 1, outChannels: 1, widthScale: 1 / 16, dropout: 0, seed });
  return new models.UNet({ inChannels: 1, outChannels: 1, widths: [8, 16, 32], dropout: 0, seed });
}

export function buildLoss(opts: SessionOptions): losses.Loss {
  return opts.loss === 'all' ? losses.lossByName('all', { base: 'dice', ...opts.all }) : losses.lossByName(opts.loss);
}

/**
 * One model, optimiser and loss training on host data, one batch per `step()`, in the order of a seeded
 * shuffle per epoch. Reads values only with `await t.data()`, so it runs on asynchronous backends too.
 */
export class Session {
  readonly model: nn.Module;
  loss: losses.Loss;
  readonly optimizer: nn.Adam;
  step = 0;
  epoch = 0;
  /** Loss per step, and for ALL the base loss per step. */
  readonly stepLosses: number[] = [];
  readonly stepBase: number[] = [];
  readonly epochs: EpochReport[] = [];
  /** The latest validation probabilities [nVal, 1, S, S]. */
  lastProbs: Float32Array | null = null;
  private order: number[] = [];
  private cursor = 0;
  private epochLossSum = 0;
  private epochSteps = 0;

  constructor(readonly data: HostData, public options: SessionOptions) {
    this.model = buildModel(options.model, options.seed);
    this.model.train();
    this.loss = buildLoss(options);
    this.optimizer = new nn.Adam(this.model.namedParameters(), { lr: options.lr });
    this.newEpoch();
  }

  /** Rebuilds ALL with new ω, ε, δ (the explorer's sliders); the model and optimiser carry on. */
  setAllOptions(all: SessionOptions['all']): void {
    this.options = { ...this.options, all };
    if (this.options.loss === 'all') this.loss = buildLoss(this.options);
  }

  get lossName(): string {
    return this.options.loss;
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.data.train.length / this.options.batchSize);
  }

  private newEpoch(): void {
    this.order = new Rng(this.options.seed * 1000 + this.epoch).shuffle([...this.data.train]);
    this.cursor = 0;
    this.epochLossSum = 0;
    this.epochSteps = 0;
  }

  /** The samples `idx` as tensors [n, 1, S, S] on the active backend. */
  batch(idx: readonly number[]): { x: Tensor; y: Tensor } {
    const s = this.data.settings.size;
    const px = s * s;
    const xs = new Float32Array(idx.length * px);
    const ys = new Float32Array(idx.length * px);
    idx.forEach((k, j) => {
      xs.set(this.data.images.subarray(k * px, (k + 1) * px), j * px);
      ys.set(this.data.masks.subarray(k * px, (k + 1) * px), j * px);
    });
    return { x: tensor(xs, [idx.length, 1, s, s]), y: tensor(ys, [idx.length, 1, s, s]) };
  }

  /** One optimiser step on the next batch. */
  async trainStep(): Promise<StepReport> {
    const idx = this.order.slice(this.cursor, this.cursor + this.options.batchSize);
    this.cursor += idx.length;
    const loss = this.loss;
    const isAll = loss.lossName === 'all';
    const [l, base] = tidy(() => {
      const { x, y } = this.batch(idx);
      const logits = this.model.forward(x);
      const input = train.toLossInput(logits, loss.takes);
      // the base loss x of ALL, for the explorer: computed again without recording gradients (cheap)
      const b = isAll ? keep(noGrad(() => (loss as losses.AdaptiveLogLoss).base(input, y))) : null;
      const value = loss(input, y);
      value.backward();
      return [keep(value), b];
    });
    this.optimizer.step();
    this.optimizer.zeroGrad();
    const value = (await l.data())[0];
    l.dispose();
    let report: StepReport = { step: ++this.step, epoch: this.epoch, loss: value, epochEnded: false };
    if (base) {
      const x = (await base.data())[0];
      base.dispose();
      report = { ...report, base: x, multiplier: losses.adaptiveLogSlope(x, (loss as losses.AdaptiveLogLoss).options) };
      this.stepBase.push(x);
    }
    if (!Number.isFinite(value)) throw new Error(`${this.lossName}: the loss became ${value} at step ${this.step}; lower the learning rate or reset`);
    this.stepLosses.push(value);
    this.epochLossSum += value;
    this.epochSteps++;
    if (this.cursor >= this.order.length) {
      const { iou, dice } = await this.evaluate();
      this.epochs.push({ epoch: ++this.epoch, step: this.step, trainLoss: this.epochLossSum / this.epochSteps, iou, dice });
      this.newEpoch();
      report.epochEnded = true;
    }
    return report;
  }

  /**
   * Scores the validation images in eval mode (BatchNorm's running statistics): IoU and Dice per image,
   * averaged, at threshold 0.5. Returns the foreground probabilities [nVal, 1, S, S] too.
   */
  async evaluate(): Promise<{ iou: number; dice: number; probs: Float32Array }> {
    this.model.eval();
    let p: Tensor;
    try {
      p = tidy(() => noGrad(() => keep(train.probabilities(this.model.forward(this.batch(this.data.val).x)))));
    } finally {
      this.model.train();
    }
    const probs = Float32Array.from(await p.data());
    p.dispose();
    this.lastProbs = probs;
    const s = this.data.settings.size;
    const px = s * s;
    const target = this.data.masks.subarray(this.data.val[0] * px, (this.data.val[this.data.val.length - 1] + 1) * px);
    const r = metrics.evaluateSync(probs, target, { shape: [this.data.val.length, 1, s, s], protocol: 'per-image' });
    return { iou: r.iou, dice: r.dice, probs };
  }

  /** Releases the model's and optimiser's tensors. */
  dispose(): void {
    this.optimizer.dispose();
    for (const t of Object.values(this.model.stateDict())) if (!t.isDisposed) t.dispose();
  }
}
