import type { Optimizer } from './optimizer.js';

/** Base of the epoch-based schedulers: `step()` once per epoch; the base rate is the optimiser's lr at construction. */
abstract class EpochScheduler {
  readonly baseLr: number;
  /** Epochs stepped so far. */
  epoch = 0;
  constructor(readonly optimizer: Optimizer) {
    this.baseLr = optimizer.lr;
  }
  /** The learning rate at `epoch`. */
  abstract lrAt(epoch: number): number;
  /** Advances one epoch and sets the optimiser's lr; returns it. */
  step(): number {
    this.epoch++;
    this.optimizer.lr = this.lrAt(this.epoch);
    return this.optimizer.lr;
  }
}

/** lr = base·γ^⌊epoch/stepSize⌋ (PyTorch's StepLR; γ default 0.1). */
export class StepLR extends EpochScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer, opts: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!(Number.isInteger(opts.stepSize) && opts.stepSize > 0)) throw new Error(`StepLR: stepSize must be a positive integer, got ${opts.stepSize}`);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
  }
  lrAt(epoch: number): number {
    return this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/**
 * Cosine annealing (Loshchilov & Hutter 2017, without restarts), the closed form of PyTorch's
 * CosineAnnealingLR: lr = η_min + (base − η_min)(1 + cos(π·epoch/T_max))/2.
 */
export class CosineAnnealingLR extends EpochScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer, opts: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(opts.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be > 0, got ${opts.tMax}`);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
  }
  lrAt(epoch: number): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

/**
 * Polynomial decay to 0 over `total` epochs, nnU-Net's schedule: lr = base·(1 − epoch/total)^power (power
 * 0.9 by default, as nnU-Net; PyTorch's PolynomialLR defaults to 1); 0 from `total` on.
 */
export class PolynomialLR extends EpochScheduler {
  readonly total: number;
  readonly power: number;
  constructor(optimizer: Optimizer, opts: { total: number; power?: number }) {
    super(optimizer);
    if (!(Number.isInteger(opts.total) && opts.total > 0)) throw new Error(`PolynomialLR: total must be a positive integer, got ${opts.total}`);
    this.total = opts.total;
    this.power = opts.power ?? 0.9;
    if (!(this.power > 0)) throw new Error(`PolynomialLR: power must be > 0, got ${this.power}`);
  }
  lrAt(epoch: number): number {
    return this.baseLr * (1 - Math.min(epoch, this.total) / this.total) ** this.power;
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): lower metric is better; 'max': higher is better. */
  mode?: 'min' | 'max';
  /** Multiplier of the lr on a plateau (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Minimum change that counts as improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): best·(1 ∓ threshold); 'abs': best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** Lower bound of the lr (default 0). */
  minLr?: number;
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/**
 * Reduces the lr by `factor` when a metric has not improved for more than `patience` epochs, exactly as
 * PyTorch's ReduceLROnPlateau: call `step(metric)` once per epoch.
 */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;

  constructor(readonly optimizer: Optimizer, opts: ReduceLROnPlateauOptions = {}) {
    this.mode = opts.mode ?? 'min';
    this.factor = opts.factor ?? 0.1;
    if (!(this.factor < 1)) throw new Error(`ReduceLROnPlateau: factor must be < 1, got ${this.factor}`);
    this.patience = opts.patience ?? 10;
    this.threshold = opts.threshold ?? 1e-4;
    this.thresholdMode = opts.thresholdMode ?? 'rel';
    this.cooldown = opts.cooldown ?? 0;
    this.minLr = opts.minLr ?? 0;
    this.eps = opts.eps ?? 1e-8;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Whether `a` improves on the best value so far. */
  isBetter(a: number): boolean {
    const { best, threshold: th } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - th) : a < best - th;
    return this.thresholdMode === 'rel' ? a > best * (1 + th) : a > best + th;
  }

  /** Records one epoch's metric; returns the (possibly reduced) lr. */
  step(metric: number): number {
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      const old = this.optimizer.lr;
      const next = Math.max(old * this.factor, this.minLr);
      if (old - next > this.eps) this.optimizer.lr = next;
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    return this.optimizer.lr;
  }
}
