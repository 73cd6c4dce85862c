import { add, mul, relu, sigmoid } from '../../autograd/ops/elementwise.js';
import { resize } from '../../autograd/ops/image.js';
import type { DType } from '../../tensor/dtype.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d, ConvTranspose2d } from '../layers/conv.js';
import { Module } from '../module.js';
import { convBNReLUEval } from './conv-bn-relu.js';

export interface AttentionGateOptions {
  /** Ratio of θx's size to the gating signal's (1: same size, no transposed conv; default 1). */
  gUpsample?: number;
  seed?: number;
  dtype?: DType;
}

/**
 * Additive attention gate (Oktay et al. 2018, "Attention U-Net"), forward(x, g) with the skip
 * x [N, Cx, H, W] and the gating signal g [N, Cg, H/(2r), W/(2r)] (r = `gUpsample`):
 * θx = Conv2×2(F, stride 2)(x); φg = Conv1×1(F)(g), transposed-conv ×r to θx's size when r > 1;
 * ψ = σ(Conv1×1(1)(ReLU(θx + φg))), nearest-upsampled to H×W; out = BN(Conv1×1(Cx)(ψ ⊙ x)).
 * Parameters `theta.*`, `phi.*`, `phiUp.*` (r > 1), `psi.*`, `out.*`, `bn.*`.
 */
export class AttentionGate extends Module {
  theta: Conv2d;
  phi: Conv2d;
  phiUp: ConvTranspose2d | null;
  psi: Conv2d;
  out: Conv2d;
  bn: BatchNorm2d;
  constructor(readonly xChannels: number, readonly gChannels: number, readonly interChannels: number, opts: AttentionGateOptions = {}) {
    super();
    const s = opts.seed ?? 0;
    const dtype = opts.dtype;
    const r = opts.gUpsample ?? 1;
    this.theta = new Conv2d(xChannels, interChannels, { kernel: 2, stride: 2, padding: 'valid', seed: s, dtype });
    this.phi = new Conv2d(gChannels, interChannels, { kernel: 1, seed: s + 1, dtype });
    this.phiUp = r > 1 ? new ConvTranspose2d(interChannels, interChannels, { kernel: 3, stride: r, padding: 'same', seed: s + 2, dtype }) : null;
    this.psi = new Conv2d(interChannels, 1, { kernel: 1, init: 'glorotUniform', seed: s + 3, dtype });
    this.out = new Conv2d(xChannels, xChannels, { kernel: 1, seed: s + 4, dtype });
    this.bn = new BatchNorm2d(xChannels, { dtype });
  }

  /** The attention coefficients ψ [N, 1, H, W] in (0, 1). */
  coefficients(x: Tensor, g: Tensor): Tensor {
    const tx = this.theta.forward(x);
    let pg = this.phi.forward(g);
    if (this.phiUp) pg = this.phiUp.forward(pg);
    if (tx.shape[2] !== pg.shape[2] || tx.shape[3] !== pg.shape[3]) {
      throw new Error(`AttentionGate: θx ${fmt(tx.shape)} (from skip ${fmt(x.shape)}) and φg ${fmt(pg.shape)} (from gate ${fmt(g.shape)}) differ in size`);
    }
    const psi = sigmoid(this.psi.forward(relu(add(tx, pg))));
    return resize(psi, [x.shape[2], x.shape[3]], 'nearest');
  }

  forward(x: Tensor, g: Tensor): Tensor {
    if (!g) throw new Error('AttentionGate: forward(x, g) needs the gating signal g');
    return this.bn.forward(this.out.forward(mul(this.coefficients(x, g), x)));
  }
}

/** The gating signal of an attention gate: ReLU(BN(Conv1×1(C)(x))). Parameters `conv.*`, `bn.*`. */
export class GatingSignal extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  constructor(inChannels: number, outChannels: number, opts: { seed?: number; dtype?: DType } = {}) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, { kernel: 1, seed: opts.seed ?? 0, dtype: opts.dtype });
    this.bn = new BatchNorm2d(outChannels, { dtype: opts.dtype });
  }
  forward(x: Tensor): Tensor {
    if (!this.bn.training) return convBNReLUEval(this.conv, this.bn, x);
    return this.bn.forwardRelu(this.conv.forward(x));
  }
}
