import { concat } from '../../autograd/ops/layout.js';
import { maxPool2d } from '../../autograd/ops/image.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DoubleConv } from '../blocks/conv-bn-relu.js';
import { seedStream } from '../init.js';
import { Conv2d, ConvTranspose2d } from '../layers/conv.js';
import { Dropout } from '../layers/dropout.js';
import { Upsample } from '../layers/simple.js';
import { Module } from '../module.js';
import { checkInput } from './check.js';

export interface UNetOptions {
  /** Input channels (default 1). */
  inChannels?: number;
  /** Output channels K (default 1): one logit map per class. */
  outChannels?: number;
  /** Encoder widths with the bottleneck last (default [32, 64, 128, 256, 512]); depth = length − 1. */
  widths?: readonly number[];
  /** 'strided' (default): Conv3×3 stride 2 keeping the width; 'maxpool': 2×2 max-pool (the original). */
  down?: 'strided' | 'maxpool';
  /** 'transpose' (default): ConvTranspose 2×2 stride 2 with bias; 'upsample': nearest ×2 + Conv2×2 with bias. */
  up?: 'transpose' | 'upsample';
  /** Bias on the 3×3 convolutions (default false: BatchNorm follows each). */
  convBias?: boolean;
  /** Dropout probability after the deepest encoder block and the bottleneck (default 0.5; 0 disables). */
  dropout?: number;
  /** Model seed: every layer's seed derives from it (default 0). */
  seed?: number;
  dtype?: DType;
}

/** Nearest ×2 followed by Conv2×2 'same' (the 'upsample' option of U-Net's up path). Parameters `conv.*`. */
export class UpsampleConv extends Module {
  up = new Upsample(2, 'nearest');
  conv: Conv2d;
  constructor(inChannels: number, outChannels: number, opts: { seed: number; dtype?: DType }) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, { kernel: 2, padding: 'same', seed: opts.seed, dtype: opts.dtype });
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(this.up.forward(x));
  }
}

/**
 * U-Net (Ronneberger et al. 2015) with batch normalisation, dropout and strided down-sampling, the
 * baseline of the ALL paper. Level l: `enc{l}` = [Conv3×3 → BN → ReLU]×2 at widths[l], then
 * `down{l}` (Conv3×3 stride 2, 'strided') or a 2×2 max-pool; bottleneck `enc{depth}`; decoder
 * `up{l}` (ConvTranspose 2×2 s2 or nearest + Conv2×2) → concat [skip_l, up_l] → `dec{l}`; `head`
 * Conv1×1 → K channels. x [N, inChannels, H, W] with H, W divisible by 2^depth →
 * LOGITS [N, outChannels, H, W]: apply sigmoid (K = 1) or softmax over channels (K > 1) for probabilities.
 *
 * `new UNet({ widths: [16, 32, 64, 128, 256], down: 'maxpool', dropout: 0 })` is exactly the benchmark
 * network of bench/unet-anchor.json (1,942,289 parameters, PyTorch names).
 */
export class UNet extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly widths: readonly number[];
  readonly depth: number;
  enc: DoubleConv[] = [];
  private _downs: (Conv2d | null)[] = [];
  private _ups: Module[] = [];
  private _decs: DoubleConv[] = [];
  private _dropEnc: Dropout | null;
  private _dropBottleneck: Dropout | null;
  head: Conv2d;

  constructor(opts: UNetOptions = {}) {
    super();
    this.inChannels = opts.inChannels ?? 1;
    this.outChannels = opts.outChannels ?? 1;
    this.widths = [...(opts.widths ?? [32, 64, 128, 256, 512])];
    this.depth = this.widths.length - 1;
    if (this.depth < 1) throw new Error(`UNet: widths needs at least two entries (one level and the bottleneck), got [${this.widths}]`);
    const down = opts.down ?? 'strided';
    const up = opts.up ?? 'transpose';
    const dtype = opts.dtype;
    const seeds = seedStream(opts.seed ?? 0);
    const bias = opts.convBias ?? false;
    const w = this.widths;
    // properties are assigned in the order of the benchmark's parameter list: enc0..encD, then upL/decL from deep to shallow
    const self = this as unknown as Record<string, Module>;
    this.enc = [];
    for (let l = 0; l <= this.depth; l++) {
      const block = new DoubleConv(l === 0 ? this.inChannels : w[l - 1], w[l], { bias, seed: seeds(), dtype });
      self[`enc${l}`] = block;
      if (l < this.depth) {
        const d = down === 'strided' ? new Conv2d(w[l], w[l], { kernel: 3, stride: 2, padding: 1, bias, seed: seeds(), dtype }) : null;
        if (d) self[`down${l}`] = d;
        this._downs.push(d);
      }
    }
    for (let l = this.depth - 1; l >= 0; l--) {
      const u = up === 'transpose' ? new ConvTranspose2d(w[l + 1], w[l], { kernel: 2, stride: 2, padding: 0, bias: true, seed: seeds(), dtype }) : new UpsampleConv(w[l + 1], w[l], { seed: seeds(), dtype });
      const d = new DoubleConv(2 * w[l], w[l], { bias, seed: seeds(), dtype });
      self[`up${l}`] = u;
      self[`dec${l}`] = d;
      this._ups[l] = u;
      this._decs[l] = d;
    }
    this.enc = Array.from({ length: this.depth + 1 }, (_, l) => self[`enc${l}`] as DoubleConv);
    const p = opts.dropout ?? 0.5;
    this._dropEnc = p > 0 ? new Dropout(p, seeds()) : null;
    this._dropBottleneck = p > 0 ? new Dropout(p, seeds()) : null;
    this.head = new Conv2d(w[0], this.outChannels, { kernel: 1, bias: true, init: 'glorotUniform', seed: seeds(), dtype });
    // the head must come last in the parameter order: re-insert it after the dynamically added levels
    const head = this.head;
    delete (this as Partial<UNet>).head;
    this.head = head;
  }

  /** The Dropout layers (after the deepest encoder block and the bottleneck), e.g. to reseed them. */
  dropouts(): Dropout[] {
    return [this._dropEnc, this._dropBottleneck].filter((d): d is Dropout => d !== null);
  }

  override namedChildren(): [string, Module][] {
    // `enc` duplicates enc0..encD for convenient access; dropouts have no state but follow train()/eval()
    return super.namedChildren().filter(([k]) => !k.startsWith('enc.'));
  }

  override *modules(): Generator<Module> {
    yield* super.modules();
    yield* this.dropouts();
  }

  forward(x: Tensor): Tensor {
    checkInput('UNet', x, this.inChannels, 2 ** this.depth);
    const skips: Tensor[] = [];
    let h = x;
    for (let l = 0; l < this.depth; l++) {
      h = this.enc[l].forward(h);
      if (l === this.depth - 1 && this._dropEnc) h = this._dropEnc.forward(h);
      skips.push(h);
      const d = this._downs[l];
      h = d ? d.forward(h) : maxPool2d(h, { kernel: 2, stride: 2 });
    }
    h = this.enc[this.depth].forward(h);
    if (this._dropBottleneck) h = this._dropBottleneck.forward(h);
    for (let l = this.depth - 1; l >= 0; l--) {
      h = this._decs[l].forward(concat([skips[l], this._ups[l].forward(h)], 1));
    }
    return this.head.forward(h);
  }
}
