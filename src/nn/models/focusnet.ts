import { concat } from '../../autograd/ops/layout.js';
import { leakyRelu } from '../../autograd/ops/composite.js';
import { mul, relu, sigmoid } from '../../autograd/ops/elementwise.js';
import { resize } from '../../autograd/ops/image.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ConvBNReLU } from '../blocks/conv-bn-relu.js';
import { ResidualDown, ResidualFirst } from '../blocks/residual.js';
import { SqueezeExcitation } from '../blocks/squeeze-excitation.js';
import { Up } from '../blocks/up.js';
import { seedStream } from '../init.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Dropout } from '../layers/dropout.js';
import { Module } from '../module.js';
import { checkInput, scaled } from './check.js';

export interface FocusNetOptions {
  /** Input channels (default 3, RGB dermoscopy). */
  inChannels?: number;
  /** Output channels (default 1). */
  outChannels?: number;
  /** Add the fusion head of the later FocusNet version (default false). */
  fusionHead?: boolean;
  /** Multiplies every width (default 1; e.g. 1/16 for a tiny test network). */
  widthScale?: number;
  /** Dropout after branch A's encoder (default 0.2). */
  dropout?: number;
  /** Model seed (default 0). */
  seed?: number;
  dtype?: DType;
}

/**
 * FocusNet's gate: SE(SE(x) ⊙ σ(a)): branch B's features x recalibrated, multiplied by the sigmoid of
 * branch A's decoder features a of the same size and width, and recalibrated again. forward(x, a).
 */
export class FocusGate extends Module {
  se1: SqueezeExcitation;
  se2: SqueezeExcitation;
  constructor(channels: number, opts: { seed: number; dtype?: DType }) {
    super();
    this.se1 = new SqueezeExcitation(channels, { seed: opts.seed, dtype: opts.dtype });
    this.se2 = new SqueezeExcitation(channels, { seed: opts.seed + 2, dtype: opts.dtype });
  }
  forward(x: Tensor, a: Tensor): Tensor {
    return this.se2.forward(mul(this.se1.forward(x), sigmoid(a)));
  }
}

/** A side output of the fusion head: Conv3×3(32) → ReLU → Conv1×1(K). Parameters `conv.*`, `out.*`. */
class SideHead extends Module {
  conv: Conv2d;
  out: Conv2d;
  constructor(inChannels: number, hidden: number, outChannels: number, seed: number, dtype?: DType) {
    super();
    this.conv = new Conv2d(inChannels, hidden, { kernel: 3, seed, dtype });
    this.out = new Conv2d(hidden, outChannels, { kernel: 1, init: 'glorotUniform', seed: seed + 1, dtype });
  }
  forward(x: Tensor): Tensor {
    return this.out.forward(relu(this.conv.forward(x)));
  }
}

/**
 * FocusNet (Kaul, Manandhar & Pears, ISBI 2019): an attention encoder–decoder (branch A) whose decoder
 * features gate a residual, squeeze-excitation segmentation network (branch B); trained jointly by one
 * loss. Layer by layer as spec/models-and-data.md; widths 32…512 times `widthScale`.
 * x [N, inChannels, H, W] with H, W divisible by 16 → LOGITS [N, outChannels, H, W] (apply sigmoid for
 * probabilities). With `fusionHead`, three decoder side outputs and the main output are fused by
 * Conv3×3(32) → ReLU → Conv1×1, whose logits are returned.
 */
export class FocusNet extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  // branch A
  conv1: Conv2d;
  bn1: BatchNorm2d;
  aDown1: ResidualDown;
  aBlock2: ResidualFirst;
  aDown2: ResidualDown;
  aBlock3: ResidualFirst;
  aDown3: ResidualDown;
  aBlock4: ResidualFirst;
  conv5: Up;
  conv6: Up;
  conv7: Up;
  // branch B
  conv1r: ConvBNReLU;
  block1: ResidualFirst;
  gate1: FocusGate;
  down1: ResidualDown;
  block2: ResidualFirst;
  gate2: FocusGate;
  down2: ResidualDown;
  block3: ResidualFirst;
  gate3: FocusGate;
  down3: ResidualDown;
  block4: ResidualFirst;
  se4: SqueezeExcitation;
  down4: ResidualDown;
  up1: Up;
  up2: Up;
  up3: Up;
  up4: Up;
  final1: ResidualFirst;
  final2: ResidualFirst;
  head: Conv2d;
  side1: SideHead | null;
  side2: SideHead | null;
  side3: SideHead | null;
  fuse: SideHead | null;
  private _drop: Dropout;

  constructor(opts: FocusNetOptions = {}) {
    super();
    const cin = (this.inChannels = opts.inChannels ?? 3);
    const k = (this.outChannels = opts.outChannels ?? 1);
    const s = opts.widthScale ?? 1;
    const w = (c: number): number => scaled(c, s);
    const seeds = seedStream(opts.seed ?? 0);
    const dtype = opts.dtype;
    const o = (): { seed: number; dtype?: DType } => ({ seed: seeds(), dtype });
    // branch A: attention encoder–decoder
    this.conv1 = new Conv2d(cin, w(32), { kernel: 3, bias: false, ...o() });
    this.bn1 = new BatchNorm2d(w(32), { dtype });
    this.aDown1 = new ResidualDown(w(32), w(32), o());
    this.aBlock2 = new ResidualFirst(w(32), w(64), o());
    this.aDown2 = new ResidualDown(w(64), w(64), o());
    this.aBlock3 = new ResidualFirst(w(64), w(128), o());
    this.aDown3 = new ResidualDown(w(128), w(128), o());
    this.aBlock4 = new ResidualFirst(w(128), w(256), o());
    this._drop = new Dropout(opts.dropout ?? 0.2, seeds());
    this.conv5 = new Up(w(256), w(128), w(256), o());
    this.conv6 = new Up(w(256), w(64), w(128), o());
    this.conv7 = new Up(w(128), w(32), w(64), o());
    // branch B: residual SE network gated by branch A
    this.conv1r = new ConvBNReLU(cin, w(64), { kernel: 7, ...o() });
    this.block1 = new ResidualFirst(w(64), w(64), o());
    this.gate1 = new FocusGate(w(64), o());
    this.down1 = new ResidualDown(w(64), w(64), o());
    this.block2 = new ResidualFirst(w(64), w(128), o());
    this.gate2 = new FocusGate(w(128), o());
    this.down2 = new ResidualDown(w(128), w(128), o());
    this.block3 = new ResidualFirst(w(128), w(256), o());
    this.gate3 = new FocusGate(w(256), o());
    this.down3 = new ResidualDown(w(256), w(256), o());
    this.block4 = new ResidualFirst(w(256), w(512), o());
    this.se4 = new SqueezeExcitation(w(512), o());
    this.down4 = new ResidualDown(w(512), w(512), o());
    this.up1 = new Up(w(512), w(256), w(256), o());
    this.up2 = new Up(w(256), w(128), w(128), o());
    this.up3 = new Up(w(128), w(64), w(64), o());
    this.up4 = new Up(w(64), w(64), w(32), o());
    this.final1 = new ResidualFirst(w(32), w(16), o());
    this.final2 = new ResidualFirst(w(16), w(4), o());
    this.head = new Conv2d(w(4), k, { kernel: 1, init: 'glorotUniform', ...o() });
    const fusion = opts.fusionHead ?? false;
    this.side1 = fusion ? new SideHead(w(128), w(32), k, seeds(), dtype) : null;
    this.side2 = fusion ? new SideHead(w(64), w(32), k, seeds(), dtype) : null;
    this.side3 = fusion ? new SideHead(w(32), w(32), k, seeds(), dtype) : null;
    this.fuse = fusion ? new SideHead(4 * k, w(32), k, seeds(), dtype) : null;
  }

  override *modules(): Generator<Module> {
    yield* super.modules();
    yield this._drop;
  }

  /** Branch A's Dropout, e.g. to reseed it. */
  dropouts(): Dropout[] {
    return [this._drop];
  }

  forward(x: Tensor): Tensor {
    checkInput('FocusNet', x, this.inChannels, 16);
    // branch A
    const a1 = leakyRelu(this.bn1.forward(this.conv1.forward(x)), 0.3);
    const a2 = this.aBlock2.forward(this.aDown1.forward(a1));
    const a3 = this.aBlock3.forward(this.aDown2.forward(a2));
    const a4 = this._drop.forward(this.aBlock4.forward(this.aDown3.forward(a3)));
    const c5 = this.conv5.forward(a4, a3);
    const c6 = this.conv6.forward(c5, a2);
    const c7 = this.conv7.forward(c6, a1);
    // branch B
    const r = this.conv1r.forward(x);
    const d1 = this.down1.forward(this.gate1.forward(this.block1.forward(r), c7));
    const d2 = this.down2.forward(this.gate2.forward(this.block2.forward(d1), c6));
    const d3 = this.down3.forward(this.gate3.forward(this.block3.forward(d2), c5));
    const d4 = this.down4.forward(this.se4.forward(this.block4.forward(d3)));
    const u1 = this.up1.forward(d4, d3);
    const u2 = this.up2.forward(u1, d2);
    const u3 = this.up3.forward(u2, d1);
    const u4 = this.up4.forward(u3, r);
    const main = this.head.forward(this.final2.forward(this.final1.forward(u4)));
    if (!this.fuse) return main;
    const [h, wd] = [x.shape[2], x.shape[3]];
    const side = (m: SideHead, t: Tensor): Tensor => sigmoid(m.forward(t.shape[2] === h ? t : resize(t, [h, wd], 'bilinear')));
    const stack = concat([sigmoid(main), side(this.side1!, u2), side(this.side2!, u3), side(this.side3!, u4)], 1);
    return this.fuse.forward(stack);
  }
}
