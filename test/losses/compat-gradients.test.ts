import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compat, gradcheck, Rng, sigmoid, tensor, type Tensor } from '../../src/index.js';

// Every compatible loss, differentiated by the tape, against float64 central finite differences, on
// random logits and masks: foreground from 0.5 % to 50 %, plus empty and full masks. Logits are drawn
// continuously, so the kinks (ReLU/abs at 0, ties in the Lovász sort) are hit with probability 0.

const f64 = { dtype: 'float64' as const };
type Target = 'binary' | 'index' | 'onehot' | 'labels' | 'ignore-labels' | 'multilabel';

interface Draw {
  b: number;
  c: number;
  h: number;
  w: number;
  fg: number;
  seed: number;
}

const draw = (cMin: number, cMax: number): fc.Arbitrary<Draw> =>
  fc.record({
    b: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: cMin, max: cMax }),
    h: fc.integer({ min: 2, max: 4 }),
    w: fc.integer({ min: 2, max: 4 }),
    fg: fc.oneof(fc.constant(0), fc.double({ min: 0.005, max: 0.5, noNaN: true }), fc.constant(1)),
    seed: fc.nat(10_000),
  });

function logits(d: Draw, channels = d.c): Tensor {
  const rng = new Rng(d.seed);
  return tensor(Array.from({ length: d.b * channels * d.h * d.w }, () => 2 * rng.normal()), [d.b, channels, d.h, d.w], f64);
}

/** A target of the given kind; each pixel is foreground with probability `fg` (classes ≥ 1 are foreground). */
function target(d: Draw, kind: Target): Tensor {
  const rng = new Rng(d.seed + 7);
  const px = d.b * d.h * d.w;
  const fgAt = (): boolean => rng.uniform() < d.fg;
  const cls = (): number => (fgAt() ? (d.c > 1 ? 1 + Math.floor(rng.uniform() * (d.c - 1)) : 1) : 0);
  if (kind === 'binary') return tensor(Array.from({ length: px }, () => Number(fgAt())), [d.b, 1, d.h, d.w], f64);
  if (kind === 'multilabel') return tensor(Array.from({ length: px * d.c }, () => Number(fgAt())), [d.b, d.c, d.h, d.w], f64);
  const labels = Array.from({ length: px }, cls);
  if (kind === 'index') return tensor(labels, [d.b, 1, d.h, d.w], f64);
  if (kind === 'labels') return tensor(labels, [d.b, d.h, d.w], f64);
  if (kind === 'ignore-labels') return tensor(labels.map((l) => (rng.uniform() < 0.2 ? -1 : l)), [d.b, d.h, d.w], f64);
  const onehot = new Array<number>(px * d.c).fill(0);
  labels.forEach((l, i) => {
    const b = Math.floor(i / (d.h * d.w));
    onehot[(b * d.c + l) * d.h * d.w + (i % (d.h * d.w))] = 1;
  });
  return tensor(onehot, [d.b, d.c, d.h, d.w], f64);
}

interface GradCase {
  name: string;
  loss: (d: Draw) => (x: Tensor, t: Tensor) => Tensor;
  target: Target;
  channels: [number, number];
  /** Extra float64 input differentiated as well (MaskedDiceLoss's mask is not; DeepSupervision's second head is). */
  prepare?: (x: Tensor) => Tensor;
}

const { monai, smp } = compat;
const weights = (c: number): number[] => Array.from({ length: c }, (_, i) => 0.5 + 0.25 * i);

const cases: GradCase[] = [
  { name: 'monai.DiceLoss sigmoid', loss: () => monai.DiceLoss({ sigmoid: true }), target: 'binary', channels: [1, 1] },
  { name: 'monai.DiceLoss softmax one-hot no background', loss: () => monai.DiceLoss({ softmax: true, to_onehot_y: true, include_background: false }), target: 'index', channels: [2, 3] },
  { name: 'monai.DiceLoss squared_pred batch weight', loss: (d) => monai.DiceLoss({ sigmoid: true, squared_pred: true, batch: true, weight: weights(d.c) }), target: 'onehot', channels: [2, 3] },
  { name: 'monai.DiceLoss jaccard soft_label', loss: () => monai.DiceLoss({ sigmoid: true, jaccard: true, soft_label: true }), target: 'multilabel', channels: [1, 3] },
  { name: 'monai.DiceLoss other_act tanh, reduction sum', loss: () => monai.DiceLoss({ other_act: 'tanh', reduction: 'sum' }), target: 'multilabel', channels: [1, 2] },
  { name: 'monai.GeneralizedDiceLoss softmax', loss: () => monai.GeneralizedDiceLoss({ softmax: true, to_onehot_y: true }), target: 'index', channels: [2, 3] },
  { name: 'monai.GeneralizedDiceLoss simple batch', loss: () => monai.GeneralizedDiceLoss({ sigmoid: true, w_type: 'simple', batch: true }), target: 'multilabel', channels: [1, 3] },
  { name: 'monai.TverskyLoss', loss: () => monai.TverskyLoss({ sigmoid: true, alpha: 0.3, beta: 0.7 }), target: 'multilabel', channels: [1, 3] },
  { name: 'monai.FocalLoss sigmoid alpha', loss: () => monai.FocalLoss({ to_onehot_y: true, alpha: 0.25 }), target: 'index', channels: [2, 3] },
  { name: 'monai.FocalLoss softmax weight, sum', loss: (d) => monai.FocalLoss({ to_onehot_y: true, use_softmax: true, alpha: 0.25, weight: weights(d.c), reduction: 'sum' }), target: 'index', channels: [2, 3] },
  { name: 'monai.FocalLoss gamma 0 no background', loss: () => monai.FocalLoss({ gamma: 0, include_background: false }), target: 'onehot', channels: [2, 3] },
  { name: 'monai.DiceCELoss index target, label smoothing, weight', loss: (d) => monai.DiceCELoss({ to_onehot_y: true, softmax: true, label_smoothing: 0.1, weight: weights(d.c) }), target: 'index', channels: [2, 3] },
  { name: 'monai.DiceCELoss probability target', loss: () => monai.DiceCELoss({ softmax: true, include_background: false, reduction: 'sum' }), target: 'onehot', channels: [2, 3] },
  { name: 'monai.DiceCELoss single channel (BCE, pos_weight)', loss: () => monai.DiceCELoss({ sigmoid: true, weight: [0.7] }), target: 'binary', channels: [1, 1] },
  { name: 'monai.DiceFocalLoss', loss: () => monai.DiceFocalLoss({ sigmoid: true, to_onehot_y: true, alpha: 0.5 }), target: 'index', channels: [2, 3] },
  { name: 'monai.GeneralizedDiceFocalLoss', loss: () => monai.GeneralizedDiceFocalLoss({ softmax: true, to_onehot_y: true }), target: 'index', channels: [2, 3] },
  { name: 'smp.DiceLoss binary', loss: () => smp.DiceLoss({ mode: 'binary', smooth: 0.5 }), target: 'binary', channels: [1, 1] },
  { name: 'smp.DiceLoss multiclass ignore_index', loss: () => smp.DiceLoss({ mode: 'multiclass', ignore_index: -1 }), target: 'ignore-labels', channels: [2, 3] },
  { name: 'smp.DiceLoss multilabel log_loss', loss: () => smp.DiceLoss({ mode: 'multilabel', log_loss: true, smooth: 1 }), target: 'multilabel', channels: [1, 3] },
  { name: 'smp.JaccardLoss multiclass', loss: () => smp.JaccardLoss({ mode: 'multiclass' }), target: 'labels', channels: [2, 3] },
  { name: 'smp.TverskyLoss multilabel gamma class_weights', loss: (d) => smp.TverskyLoss({ mode: 'multilabel', alpha: 0.3, beta: 0.7, gamma: 1.5, smooth: 1, class_weights: weights(d.c) }), target: 'multilabel', channels: [1, 3] },
  { name: 'smp.FocalLoss binary alpha', loss: () => smp.FocalLoss({ mode: 'binary', alpha: 0.25 }), target: 'binary', channels: [1, 1] },
  { name: 'smp.FocalLoss multiclass ignore_index', loss: () => smp.FocalLoss({ mode: 'multiclass', ignore_index: -1 }), target: 'ignore-labels', channels: [2, 3] },
  { name: 'smp.FocalLoss multilabel normalized', loss: () => smp.FocalLoss({ mode: 'multilabel', normalized: true }), target: 'multilabel', channels: [1, 3] },
  { name: 'smp.LovaszLoss binary', loss: () => smp.LovaszLoss({ mode: 'binary' }), target: 'binary', channels: [1, 1] },
  { name: 'smp.LovaszLoss multilabel per_image', loss: () => smp.LovaszLoss({ mode: 'multilabel', per_image: true }), target: 'multilabel', channels: [1, 3] },
  { name: 'smp.LovaszLoss multiclass ignore_index', loss: () => smp.LovaszLoss({ mode: 'multiclass', ignore_index: -1 }), target: 'ignore-labels', channels: [2, 3] },
  { name: 'smp.MCCLoss (on sigmoid probabilities)', loss: () => { const l = smp.MCCLoss(); return (x, t) => l(sigmoid(x), t); }, target: 'binary', channels: [1, 1] },
  { name: 'smp.SoftBCEWithLogitsLoss smoothing pos_weight', loss: () => smp.SoftBCEWithLogitsLoss({ smooth_factor: 0.1, pos_weight: 2 }), target: 'binary', channels: [1, 1] },
  { name: 'smp.SoftCrossEntropyLoss smoothing', loss: () => smp.SoftCrossEntropyLoss({ smooth_factor: 0.1, ignore_index: -1 }), target: 'ignore-labels', channels: [2, 3] },
];

describe('compat losses: tape gradient = float64 finite differences', () => {
  for (const gc of cases) {
    it(gc.name, () => {
      fc.assert(
        fc.property(draw(...gc.channels), (d) => {
          const x = logits(d);
          const t = target(d, gc.target);
          const loss = gc.loss(d);
          const report = gradcheck((a) => loss(a, t), [x]);
          expect(report.ok).toBe(true);
          expect(Number.isFinite(loss(x, t).item())).toBe(true);
        }),
        { numRuns: 6, seed: 11 },
      );
    });
  }

  it('monai.MaskedDiceLoss: gradient through the masked logits', () => {
    fc.assert(
      fc.property(draw(1, 2), (d) => {
        const x = logits(d);
        const t = target(d, 'multilabel');
        const rng = new Rng(d.seed + 3);
        const mask = tensor(Array.from({ length: d.b * d.h * d.w }, () => Number(rng.uniform() < 0.7)), [d.b, 1, d.h, d.w], f64);
        expect(gradcheck((a) => monai.MaskedDiceLoss({ sigmoid: true })(a, t, mask), [x]).ok).toBe(true);
      }),
      { numRuns: 6, seed: 12 },
    );
  });

  it('monai.DeepSupervisionLoss: two heads, the target resized to the coarse one', () => {
    fc.assert(
      fc.property(draw(2, 3), (d) => {
        const fine = { ...d, h: 4, w: 4 };
        const coarse = logits({ ...d, h: 2, w: 2, seed: d.seed + 1 });
        const t = target(fine, 'index');
        const loss = monai.DeepSupervisionLoss(monai.DiceCELoss({ to_onehot_y: true, softmax: true }), { weight_mode: 'exp' });
        expect(gradcheck((a, b) => loss([a, b], t), [logits(fine), coarse]).ok).toBe(true);
      }),
      { numRuns: 6, seed: 13 },
    );
  });

  it('smp functional scores and focal losses', () => {
    fc.assert(
      fc.property(draw(2, 3), (d) => {
        const x = logits(d);
        const t = target(d, 'multilabel');
        const { functional: F } = smp;
        expect(gradcheck((a) => F.soft_dice_score(sigmoid(a), t, { smooth: 0.5, dims: [0, 2, 3] }).sum(), [x]).ok).toBe(true);
        expect(gradcheck((a) => F.soft_jaccard_score(sigmoid(a), t, { smooth: 0.5 }), [x]).ok).toBe(true);
        expect(gradcheck((a) => F.soft_tversky_score(sigmoid(a), t, { alpha: 0.3, beta: 0.7, smooth: 0.5 }), [x]).ok).toBe(true);
        expect(gradcheck((a) => F.focal_loss_with_logits(a, t, { reduced_threshold: 0.5 }), [x]).ok).toBe(true);
        const labels = target(d, 'labels');
        expect(gradcheck((a) => F.softmax_focal_loss_with_logits(a, labels, { gamma: 1.5 }), [x]).ok).toBe(true);
      }),
      { numRuns: 6, seed: 14 },
    );
  });
});
