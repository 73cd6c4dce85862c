import { relu } from '../../autograd/ops/elementwise.js';
import { avgPool2d, maxPool2d } from '../../autograd/ops/image.js';
import { concat } from '../../autograd/ops/layout.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { AttentionGate, GatingSignal } from '../blocks/attention-gate.js';
import { DoubleConv } from '../blocks/conv-bn-relu.js';
import { seedStream } from '../init.js';
import { Conv2d, ConvTranspose2d } from '../layers/conv.js';
import { Module } from '../module.js';
import { checkInput, scaled } from './check.js';

export interface AttentionUNetOptions {
  /** Input channels (default 3). */
  inChannels?: number;
  /** Output channels (default 1). */
  outChannels?: number;
  /** Encoder widths, bottleneck last (default [32, 64, 128, 64, 512]: the reference code's 64 at level 4 is kept). */
  widths?: readonly [number, number, number, number, number];
  /** Widths of the multi-scale input convolutions at ½, ¼, ⅛ (default [64, 128, 256]). */
  scaleWidths?: readonly [number, number, number];
  /** Decoder widths at ⅛, ¼, ½, full resolution (default [256, 128, 64, 32]). */
  decoderWidths?: readonly [number, number, number, number];
  /** Intermediate widths F of the attention gates at ⅛, ¼, ½ (default [128, 64, 32]). */
  gateWidths?: readonly [number, number, number];
  /** Multiplies every width (default 1). */
  widthScale?: number;
  /** Model seed (default 0). */
  seed?: number;
  dtype?: DType;
}

/**
 * Attention U-Net with multi-scale input and deep supervision ("Att-U-Net + M + D", Abraham & Khan,
 * ISBI 2019; gates after Oktay et al. 2018). Encoder `conv1`…`conv4` = [Conv3×3 → BN → ReLU]×2 with
 * 2×2 max-pool, bottleneck `center`; the input average-pooled to ½, ¼, ⅛ passes `scale2..4`
 * (Conv3×3 + ReLU) and is concatenated before encoder levels 2–4. Decoder level k (⅛, ¼, ½): gating
 * signal `gating{k}` from the coarser decoder output, `attn{k}` gates the skip, `upconv{k}` =
 * ConvTranspose 3×3 stride 2 + ReLU, concat [up, gated skip] → `dec{k}`; the full-resolution level
 * concatenates the ungated skip. Side outputs `side1..3` (Conv1×1) at ⅛, ¼, ½ and `final` at full size.
 * x [N, inChannels, H, W] with H, W divisible by 16. Returns LOGITS (apply sigmoid for probabilities).
 */
export class AttentionUNet extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  conv1: DoubleConv;
  scale2: Conv2d;
  conv2: DoubleConv;
  scale3: Conv2d;
  conv3: DoubleConv;
  scale4: Conv2d;
  conv4: DoubleConv;
  center: DoubleConv;
  gating1: GatingSignal;
  attn1: AttentionGate;
  upconv1: ConvTranspose2d;
  dec1: DoubleConv;
  side1: Conv2d;
  gating2: GatingSignal;
  attn2: AttentionGate;
  upconv2: ConvTranspose2d;
  dec2: DoubleConv;
  side2: Conv2d;
  gating3: GatingSignal;
  attn3: AttentionGate;
  upconv3: ConvTranspose2d;
  dec3: DoubleConv;
  side3: Conv2d;
  upconv4: ConvTranspose2d;
  dec4: DoubleConv;
  final: Conv2d;

  constructor(opts: AttentionUNetOptions = {}) {
    super();
    const cin = (this.inChannels = opts.inChannels ?? 3);
    const k = (this.outChannels = opts.outChannels ?? 1);
    const sc = opts.widthScale ?? 1;
    const [e0, e1, e2, e3, e4] = (opts.widths ?? [32, 64, 128, 64, 512]).map((c) => scaled(c, sc));
    const [s2, s3, s4] = (opts.scaleWidths ?? [64, 128, 256]).map((c) => scaled(c, sc));
    const [d1, d2, d3, d4] = (opts.decoderWidths ?? [256, 128, 64, 32]).map((c) => scaled(c, sc));
    const [f1, f2, f3] = (opts.gateWidths ?? [128, 64, 32]).map((c) => scaled(c, sc));
    const seeds = seedStream(opts.seed ?? 0);
    const dtype = opts.dtype;
    const o = (): { seed: number; dtype?: DType } => ({ seed: seeds(), dtype });
    const block = (a: number, b: number): DoubleConv => new DoubleConv(a, b, { bias: true, ...o() });
    const convT = (a: number, b: number): ConvTranspose2d => new ConvTranspose2d(a, b, { kernel: 3, stride: 2, padding: 'same', ...o() });
    const head = (a: number): Conv2d => new Conv2d(a, k, { kernel: 1, init: 'glorotUniform', ...o() });
    this.conv1 = block(cin, e0);
    this.scale2 = new Conv2d(cin, s2, { kernel: 3, ...o() });
    this.conv2 = block(s2 + e0, e1);
    this.scale3 = new Conv2d(cin, s3, { kernel: 3, ...o() });
    this.conv3 = block(s3 + e1, e2);
    this.scale4 = new Conv2d(cin, s4, { kernel: 3, ...o() });
    this.conv4 = block(s4 + e2, e3);
    this.center = block(e3, e4);
    this.gating1 = new GatingSignal(e4, e4, o());
    this.attn1 = new AttentionGate(e3, e4, f1, o());
    this.upconv1 = convT(e4, d1);
    this.dec1 = block(d1 + e3, d1);
    this.side1 = head(d1);
    this.gating2 = new GatingSignal(d1, d1, o());
    this.attn2 = new AttentionGate(e2, d1, f2, o());
    this.upconv2 = convT(d1, d2);
    this.dec2 = block(d2 + e2, d2);
    this.side2 = head(d2);
    this.gating3 = new GatingSignal(d2, d2, o());
    this.attn3 = new AttentionGate(e1, d2, f3, o());
    this.upconv3 = convT(d2, d3);
    this.dec3 = block(d3 + e1, d3);
    this.side3 = head(d3);
    this.upconv4 = convT(d3, d4);
    this.dec4 = block(d4 + e0, d4);
    this.final = head(d4);
  }

  /** The final output's logits [N, K, H, W]; the one used for prediction. */
  forward(x: Tensor): Tensor {
    return this.forwardWithSideOutputs(x)[3];
  }

  /**
   * All deep-supervision outputs, logits: [side⅛ [N,K,H/8,W/8], side¼, side½, final [N,K,H,W]].
   * The paper trains Focal Tversky on the sides and Tversky on the final output, weights 1.
   */
  forwardWithSideOutputs(x: Tensor): [Tensor, Tensor, Tensor, Tensor] {
    checkInput('AttentionUNet', x, this.inChannels, 16);
    const pool = (t: Tensor): Tensor => maxPool2d(t, { kernel: 2 });
    const x2 = avgPool2d(x, { kernel: 2 });
    const x3 = avgPool2d(x2, { kernel: 2 });
    const x4 = avgPool2d(x3, { kernel: 2 });
    const c1 = this.conv1.forward(x);
    const c2 = this.conv2.forward(concat([relu(this.scale2.forward(x2)), pool(c1)], 1));
    const c3 = this.conv3.forward(concat([relu(this.scale3.forward(x3)), pool(c2)], 1));
    const c4 = this.conv4.forward(concat([relu(this.scale4.forward(x4)), pool(c3)], 1));
    const center = this.center.forward(pool(c4));
    const level = (prev: Tensor, skip: Tensor, g: GatingSignal, a: AttentionGate, up: ConvTranspose2d, dec: DoubleConv): Tensor =>
      dec.forward(concat([relu(up.forward(prev)), a.forward(skip, g.forward(prev))], 1));
    const u1 = level(center, c4, this.gating1, this.attn1, this.upconv1, this.dec1);
    const u2 = level(u1, c3, this.gating2, this.attn2, this.upconv2, this.dec2);
    const u3 = level(u2, c2, this.gating3, this.attn3, this.upconv3, this.dec3);
    const u4 = this.dec4.forward(concat([relu(this.upconv4.forward(u3)), c1], 1));
    return [this.side1.forward(u1), this.side2.forward(u2), this.side3.forward(u3), this.final.forward(u4)];
  }
}
