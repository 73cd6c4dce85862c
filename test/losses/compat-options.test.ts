import { describe, expect, it } from 'vitest';
import { compat, tensor, type Tensor } from '../../src/index.js';

// Option handling of the compatible losses: unknown keywords, bad values, and the errors the peers raise
// (at construction where the peer raises there, at the call otherwise), each naming the class, the
// option and the shapes involved.

const { monai, smp } = compat;
type Factory = (k?: any) => unknown;

const logits = (shape: number[], seed = 1): Tensor => tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * 2), shape);
const labels = (values: number[], shape: number[]): Tensor => tensor(values, shape);

describe('documented example', () => {
  it('compat.monai.DiceLoss({ include_background: false, to_onehot_y: true, softmax: true })(logits, labels) is a Dice loss in [0, 1]', () => {
    const out = compat.monai.DiceLoss({ include_background: false, to_onehot_y: true, softmax: true })(logits([2, 3, 4, 4]), labels(Array.from({ length: 32 }, (_, i) => i % 3), [2, 1, 4, 4]));
    expect(out.shape).toEqual([]);
    expect(out.item()).toBeGreaterThan(0);
    expect(out.item()).toBeLessThan(1);
  });
});

describe('unknown keyword arguments', () => {
  const all: [string, Factory, Record<string, unknown>][] = [
    ['monai.DiceLoss', monai.DiceLoss, {}],
    ['monai.MaskedDiceLoss', monai.MaskedDiceLoss, {}],
    ['monai.GeneralizedDiceLoss', monai.GeneralizedDiceLoss, {}],
    ['monai.TverskyLoss', monai.TverskyLoss, {}],
    ['monai.FocalLoss', monai.FocalLoss, {}],
    ['monai.DiceCELoss', monai.DiceCELoss, {}],
    ['monai.DiceFocalLoss', monai.DiceFocalLoss, {}],
    ['monai.GeneralizedDiceFocalLoss', monai.GeneralizedDiceFocalLoss, {}],
    ['smp.DiceLoss', smp.DiceLoss, { mode: 'binary' }],
    ['smp.JaccardLoss', smp.JaccardLoss, { mode: 'binary' }],
    ['smp.TverskyLoss', smp.TverskyLoss, { mode: 'binary' }],
    ['smp.FocalLoss', smp.FocalLoss, { mode: 'binary' }],
    ['smp.LovaszLoss', smp.LovaszLoss, { mode: 'binary' }],
    ['smp.MCCLoss', smp.MCCLoss, {}],
    ['smp.SoftBCEWithLogitsLoss', smp.SoftBCEWithLogitsLoss, {}],
    ['smp.SoftCrossEntropyLoss', smp.SoftCrossEntropyLoss, {}],
  ];
  for (const [name, factory, base] of all) {
    it(`${name} names the unknown kwarg and the class`, () => {
      expect(() => factory({ ...base, includeBackground: true })).toThrow(`${name}.__init__() got an unexpected keyword argument 'includeBackground'`);
      expect(() => factory({ ...base })).not.toThrow();
    });
  }

  it('smp functional helpers reject unknown options too', () => {
    const x = tensor([0.2, 0.8]);
    expect(() => smp.functional.soft_dice_score(x, x, { smoth: 1 } as any)).toThrow("smp.functional.soft_dice_score() got an unexpected keyword argument 'smoth'");
    expect(() => smp.functional.focal_loss_with_logits(x, x, { gama: 2 } as any)).toThrow("'gama'");
  });

  it('the smp segmentation losses require mode, and only the three modes', () => {
    expect(() => smp.DiceLoss({} as any)).toThrow("smp.DiceLoss.__init__() missing 1 required positional argument: 'mode'");
    expect(() => smp.FocalLoss(undefined as any)).toThrow("'mode'");
    expect(() => smp.JaccardLoss({ mode: 'multi-class' as any })).toThrow(/smp.JaccardLoss: unsupported mode="multi-class"/);
  });
});

describe('activations', () => {
  it('other_act accepts only tanh, sigmoid, log_softmax', () => {
    for (const act of ['tanh', 'sigmoid', 'log_softmax'] as const) expect(() => monai.DiceLoss({ other_act: act })).not.toThrow();
    for (const bad of ['relu', 'softmax', 'log_softmax(dim=1)', 'Tanh']) {
      expect(() => monai.DiceLoss({ other_act: bad as any })).toThrow(`monai.DiceLoss: unsupported other_act=${JSON.stringify(bad)}`);
    }
    expect(() => monai.TverskyLoss({ other_act: ((x: Tensor) => x) as any })).toThrow(/monai.TverskyLoss: unsupported other_act/);
  });

  it('more than one of sigmoid, softmax, other_act is a ValueError', () => {
    expect(() => monai.DiceLoss({ sigmoid: true, softmax: true })).toThrow(/monai.DiceLoss: incompatible values: more than 1 of \[sigmoid=true, softmax=true/);
    expect(() => monai.GeneralizedDiceLoss({ softmax: true, other_act: 'tanh' })).toThrow(/ValueError|incompatible/);
    expect(() => monai.DiceCELoss({ sigmoid: true, other_act: 'tanh' })).toThrow(/incompatible values/);
  });

  it('boolean options must be booleans', () => {
    expect(() => monai.DiceLoss({ sigmoid: 1 as any })).toThrow('monai.DiceLoss: sigmoid must be a boolean, got 1');
  });
});

describe('weights', () => {
  const x = logits([1, 3, 2, 2]);
  const y = labels([0, 1, 2, 1], [1, 1, 2, 2]);

  it('DiceLoss: weight length is checked against the classes left after background removal', () => {
    expect(() => monai.DiceLoss({ to_onehot_y: true, weight: [1, 2, 3] })(x, y)).not.toThrow();
    expect(() => monai.DiceLoss({ to_onehot_y: true, include_background: false, weight: [1, 2, 3] })(x, y)).toThrow(
      'monai.DiceLoss: the number of weight entries (3) must equal the number of classes after background removal (2); input shape [1,3,2,2]',
    );
    expect(() => monai.DiceLoss({ to_onehot_y: true, weight: [1, -2, 3] })(x, y)).toThrow('monai.DiceLoss: weight values must be no less than 0');
  });

  it('DiceLoss: a scalar weight is repeated, and any weight is ignored when one channel remains', () => {
    const plain = monai.DiceLoss({ to_onehot_y: true })(x, y).item();
    expect(monai.DiceLoss({ to_onehot_y: true, weight: 2 })(x, y).item()).toBeCloseTo(2 * plain, 6);
    const one = logits([1, 1, 2, 2]);
    const t = labels([1, 0, 0, 1], [1, 1, 2, 2]);
    expect(monai.DiceLoss({ sigmoid: true, weight: [5, 5, 5] })(one, t).item()).toBe(monai.DiceLoss({ sigmoid: true })(one, t).item());
  });

  it('FocalLoss: weight length mismatch is a ValueError naming the shapes', () => {
    expect(() => monai.FocalLoss({ to_onehot_y: true, weight: [1, 2] })(x, y)).toThrow(/monai.FocalLoss: the number of weight entries \(2\) .* \(3\); input shape \[1,3,2,2\]/);
  });

  it('DiceCELoss: the CE weight must have one entry per input channel; a scalar weight is refused', () => {
    expect(() => monai.DiceCELoss({ to_onehot_y: true, include_background: false, weight: [1, 2] })(x, y)).toThrow(/monai.DiceCELoss/);
    expect(() => monai.DiceCELoss({ weight: 2 as any })).toThrow('monai.DiceCELoss: weight must be a 1-D sequence or tensor');
  });

  it('smp class_weights: refused in binary mode, length checked otherwise', () => {
    expect(() => smp.DiceLoss({ mode: 'binary', class_weights: [1] })).toThrow('smp.DiceLoss: class_weights is not supported with mode=binary');
    expect(() => smp.FocalLoss({ mode: 'binary', class_weights: [1] })).toThrow('smp.FocalLoss: class_weights is not supported with mode=binary');
    const t = labels([0, 1, 2, 1], [1, 2, 2]);
    expect(() => smp.DiceLoss({ mode: 'multiclass', class_weights: [1, 2] })(x, t)).toThrow('smp.DiceLoss: class_weights has 2 entries but there are 3 classes (y_pred [1,3,2,2])');
    expect(() => smp.DiceLoss({ mode: 'binary', classes: [0] })).toThrow('smp.DiceLoss: masking classes is not supported with mode=binary');
  });
});

describe('choices and construction-time errors', () => {
  it('reduction is checked at construction; DiceCELoss refuses none', () => {
    expect(() => monai.DiceLoss({ reduction: 'avg' as any })).toThrow('monai.DiceLoss: unsupported reduction="avg"; available options are "mean", "sum", "none"');
    expect(() => monai.DiceCELoss({ reduction: 'none' as any })).toThrow('monai.DiceCELoss: unsupported reduction="none"; available options are "mean", "sum"');
    expect(() => monai.DiceFocalLoss({ reduction: 'none' })).not.toThrow();
  });

  it('lambdas must be non-negative; w_type and weight_mode are looked up', () => {
    expect(() => monai.DiceCELoss({ lambda_ce: -1 })).toThrow('monai.DiceCELoss: lambda_ce should be no less than 0.0, got -1');
    expect(() => monai.DiceFocalLoss({ lambda_dice: -0.5 })).toThrow('lambda_dice should be no less than 0.0');
    expect(() => monai.GeneralizedDiceLoss({ w_type: 'squared' as any })).toThrow('monai.GeneralizedDiceLoss: unsupported w_type="squared"');
    expect(() => monai.DeepSupervisionLoss(monai.DiceLoss(), { weight_mode: 'linear' as any })).toThrow('monai.DeepSupervisionLoss: unsupported weight_mode="linear"');
  });

  it('targetDtype accepts int64 or float32 only', () => {
    expect(() => smp.SoftCrossEntropyLoss({ smooth_factor: 0, targetDtype: 'int32' as any })).toThrow('smp.SoftCrossEntropyLoss: unsupported targetDtype="int32"');
  });
});

describe('errors at the call, as the peers raise them', () => {
  it('shape mismatches name both shapes', () => {
    const x = logits([2, 2, 3]);
    expect(() => monai.DiceLoss()(x, labels([1, 0, 1, 0, 0, 1], [2, 1, 3]))).toThrow('monai.DiceLoss: ground truth has different shape ([2,1,3]) from input ([2,2,3])');
    expect(() => monai.TverskyLoss({ to_onehot_y: true })(x, tensor(new Array(12).fill(0), [2, 2, 3]))).toThrow('monai.TverskyLoss: to_onehot_y needs a target with one channel, got shape [2,2,3] (input [2,2,3])');
    expect(() => monai.DiceCELoss()(x, tensor([0, 1, 0, 1, 0, 1], [2, 3]))).toThrow('monai.DiceCELoss: the number of dimensions for input and target should be the same, got shape [2,2,3] and [2,3]');
    expect(() => monai.DiceCELoss()(logits([2, 3, 3]), tensor(new Array(12).fill(0), [2, 2, 3]))).toThrow(/number of channels for target is neither 1 .* \[2,3,3\] and \[2,2,3\]/);
  });

  it('include_background false with a one-channel index target and no one-hot fails as in MONAI', () => {
    expect(() => monai.DiceLoss({ include_background: false })(logits([2, 2, 3]), labels([1, 0, 1, 0, 0, 1], [2, 1, 3]))).toThrow(
      'monai.DiceLoss: ground truth has different shape ([2,0,3]) from input ([2,1,3])',
    );
  });

  it('class indices out of range are refused', () => {
    expect(() => monai.DiceLoss({ to_onehot_y: true })(logits([1, 2, 3]), labels([0, 2, 1], [1, 1, 3]))).toThrow('monai.DiceLoss: target class index 2 is out of range for 2 classes (target shape [1,1,3])');
    expect(() => smp.DiceLoss({ mode: 'multiclass' })(logits([1, 2, 3]), labels([0, -1, 1], [1, 3]))).toThrow(/class index -1 is out of range/);
  });

  it('MaskedDiceLoss checks the mask channel and spatial size', () => {
    const x = logits([1, 1, 2, 2]);
    const y = labels([1, 0, 0, 1], [1, 1, 2, 2]);
    expect(() => monai.MaskedDiceLoss()(x, y, tensor(new Array(8).fill(1), [1, 2, 2, 2]))).toThrow('monai.MaskedDiceLoss: mask ([1,2,2,2]) must have only one channel');
    expect(() => monai.MaskedDiceLoss()(x, y, tensor(new Array(6).fill(1), [1, 1, 2, 3]))).toThrow(/spatial size of input \(\[1,1,2,2\]\) and mask \(\[1,1,2,3\]\) must match/);
  });

  it('smp.SoftCrossEntropyLoss() without smooth_factor raises TypeError; smooth_factor 0 is plain CE', () => {
    const x = logits([3, 4]);
    const y = labels([0, 3, 1], [3]);
    expect(() => smp.SoftCrossEntropyLoss()(x, y)).toThrow(/smp.SoftCrossEntropyLoss: unsupported operand type\(s\) for \/: 'NoneType' and 'int'/);
    const lse = (r: number[]): number => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const rows = [0, 1, 2].map((i) => Array.from(x.dataSync().slice(i * 4, i * 4 + 4)));
    const ce = rows.reduce((s, r, i) => s + lse(r) - r[[0, 3, 1][i]], 0) / 3;
    expect(smp.SoftCrossEntropyLoss({ smooth_factor: 0 })(x, y).item()).toBeCloseTo(ce, 5);
  });

  it('smp.SoftBCEWithLogitsLoss refuses an int64 target without smoothing, as BCE does', () => {
    const x = logits([4]);
    const y = labels([0, 1, 1, 0], [4]);
    expect(() => smp.SoftBCEWithLogitsLoss({ targetDtype: 'int64' })(x, y)).toThrow(/smp.SoftBCEWithLogitsLoss: binary_cross_entropy_with_logits needs a floating-point target/);
    expect(() => smp.SoftBCEWithLogitsLoss()(x, y)).not.toThrow();
    expect(() => smp.SoftBCEWithLogitsLoss({ targetDtype: 'int64', smooth_factor: 0.1 })(x, y)).not.toThrow();
  });

  it('smp multiclass targets must be int64 (F.one_hot), SoftCrossEntropyLoss too (gather)', () => {
    expect(() => smp.DiceLoss({ mode: 'multiclass', targetDtype: 'float32' })(logits([1, 2, 3]), labels([0, 1, 1], [1, 3]))).toThrow(/must be int64/);
    expect(() => smp.SoftCrossEntropyLoss({ smooth_factor: 0.1, targetDtype: 'float32' })(logits([3, 4]), labels([0, 1, 2], [3]))).toThrow(/gather\(\) needs an int64 index/);
  });

  it('smp.FocalLoss multilabel with ignore_index raises IndexError, as smp does', () => {
    const err = (() => {
      try {
        smp.FocalLoss({ mode: 'multilabel', ignore_index: -1 })(logits([1, 2, 3]), tensor([1, 0, 1, 0, -1, 1], [1, 2, 3]));
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err?.name).toBe('IndexError');
    expect(err?.message).toMatch(/smp.FocalLoss: multilabel mode with ignore_index fails in smp/);
  });

  it('smp.LovaszLoss ignores from_logits', () => {
    const x = logits([2, 1, 3]);
    const y = labels([1, 0, 0, 0, 1, 1], [2, 1, 3]);
    for (const mode of ['binary', 'multilabel'] as const) {
      expect(smp.LovaszLoss({ mode, from_logits: false })(x, y).item()).toBe(smp.LovaszLoss({ mode, from_logits: true })(x, y).item());
    }
  });
});
