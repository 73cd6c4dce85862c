import { describe, expect, it } from 'vitest';
import { compat, tensor, type Tensor } from '../../src/index.js';

// Paths the peers' own test suites leave untested (Lovász, smp multiclass focal, DiceCE smoothing and
// weights, GDL batch, the 'none' shapes, deep supervision over several heads), checked against values
// worked out by hand or against plain float64 loops written from the formulas in spec/compat.md.

const { monai, smp } = compat;
const f64 = { dtype: 'float64' as const };
const seq = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.round(Math.sin(seed * 12.9898 + i * 78.233) * 3000) / 1000);
const sig = (v: number): number => 1 / (1 + Math.exp(-v));
const softmaxAt = (x: number[], s: number, b: number, C: number, S: number): number[] => {
  const row = Array.from({ length: C }, (_, k) => x[(b * C + k) * S + s]);
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const z = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / z);
};
const close = (actual: Tensor, expected: number, digits = 10): void => expect(actual.item()).toBeCloseTo(expected, digits);

describe('smp.LovaszLoss (values worked by hand)', () => {
  it('binary hinge: errors [−1, 0, 1.5] sorted, Lovász gradient [1/2, 1/6, 1/3] → 0.75', () => {
    // logits [2, −1, 0.5], labels [1, 0, 0]: errors 1 − x·(2y−1) = [−1, 0, 1.5].
    const loss = smp.LovaszLoss({ mode: 'binary' })(tensor([2, -1, 0.5], [1, 1, 3], f64), tensor([1, 0, 0], [1, 1, 3], f64));
    close(loss, 0.75);
  });

  it('multiclass softmax: classes 0 and 1 give 0.175 and 0.25, mean 0.2125', () => {
    // Pixel 0: logits (0, ln 3) → p = (1/4, 3/4), label 1. Pixel 1: logits (ln 9, 0) → p = (9/10, 1/10), label 0.
    const x = tensor([0, Math.log(9), Math.log(3), 0], [1, 2, 2], f64);
    close(smp.LovaszLoss({ mode: 'multiclass' })(x, tensor([1, 0], [1, 2], f64)), 0.2125);
    // Labels [1, 1]: class 0 is absent and skipped (classes='present'); class 1 has errors |1 − p₁| =
    // [1/4, 9/10], sorted [9/10, 1/4], Lovász gradient [1/2, 1/2] → 0.575.
    close(smp.LovaszLoss({ mode: 'multiclass' })(x, tensor([1, 1], [1, 2], f64)), 0.575);
  });

  it('per_image averages the per-image losses; ignored pixels are removed', () => {
    const x = tensor([2, -1, 0.5, 2, -1, 0.5], [2, 1, 3], f64);
    const y = tensor([1, 0, 0, 1, 0, 0], [2, 1, 3], f64);
    close(smp.LovaszLoss({ mode: 'binary', per_image: true })(x, y), 0.75);
    // Ignoring the third pixel leaves errors [−1, 0]: relu gives 0.
    close(smp.LovaszLoss({ mode: 'binary', ignore_index: 255 })(tensor([2, -1, 0.5], [1, 1, 3], f64), tensor([1, 0, 255], [1, 1, 3], f64)), 0);
  });
});

describe('smp.FocalLoss multiclass and binary (plain loops)', () => {
  const B = 2;
  const C = 3;
  const S = 4;
  const xs = seq(B * C * S, 3);
  const ys = [0, 2, 1, 1, 2, 0, -1, 1];
  const focal = (x: number, t: number, gamma: number, alpha: number | null): number => {
    const bce = Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
    const pt = Math.exp(-bce);
    const a = alpha === null ? 1 : alpha * t + (1 - alpha) * (1 - t);
    return a * (1 - pt) ** gamma * bce;
  };

  it('multiclass: per-class sigmoid focal on x[:, c] vs (y == c), ignored entries removed, averaged over classes', () => {
    const perClass = Array.from({ length: C }, (_, c) => {
      const vals: number[] = [];
      for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) if (ys[b * S + s] !== -1) vals.push(focal(xs[(b * C + c) * S + s], Number(ys[b * S + s] === c), 2, null));
      return vals.reduce((a, v) => a + v, 0) / vals.length;
    });
    const loss = smp.FocalLoss({ mode: 'multiclass', ignore_index: -1 })(tensor(xs, [B, C, S], f64), tensor(ys, [B, S], f64));
    close(loss, perClass.reduce((a, v) => a + v, 0) / C);
    const w = [1, 2, 5];
    const weighted = smp.FocalLoss({ mode: 'multiclass', ignore_index: -1, class_weights: w })(tensor(xs, [B, C, S], f64), tensor(ys, [B, S], f64));
    close(weighted, perClass.reduce((a, v, c) => a + w[c] * v, 0) / 8);
  });

  it('binary with from_logits false: exact logit of the clamped probability, alpha, sum', () => {
    const p = [0.2, 0.9, 0.5, 1];
    const t = [0, 1, 1, 1];
    const eps = 1e-7;
    const want = p.reduce((a, v, i) => {
      const q = Math.min(Math.max(v, eps), 1 - eps);
      return a + focal(Math.log(q / (1 - q)), t[i], 2, 0.25);
    }, 0);
    close(smp.FocalLoss({ mode: 'binary', from_logits: false, alpha: 0.25, reduction: 'sum' })(tensor(p, [1, 1, 4], f64), tensor(t, [1, 1, 4], f64)), want, 8);
  });
});

describe('monai.DiceCELoss cross-entropy paths (plain loops)', () => {
  const B = 2;
  const C = 3;
  const S = 4;
  const xs = seq(B * C * S, 5);
  const ys = [0, 2, 1, 1, 2, 2, 0, 1];
  const w = [0.2, 1, 2];
  const eps = 0.1;
  const logp = (b: number, s: number): number[] => softmaxAt(xs, s, b, C, S).map(Math.log);

  it('index target: weighted mean Σ[(1−ε)·w_y·nll + ε/C·Σ_c w_c·(−log p_c)] / Σ w_y', () => {
    let num = 0;
    let den = 0;
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const lp = logp(b, s);
        const y = ys[b * S + s];
        num += (1 - eps) * w[y] * -lp[y] + (eps / C) * lp.reduce((a, v, c) => a - w[c] * v, 0);
        den += w[y];
      }
    }
    const loss = monai.DiceCELoss({ to_onehot_y: true, softmax: true, weight: w, label_smoothing: eps, lambda_dice: 0 });
    close(loss(tensor(xs, [B, C, S], f64), tensor(ys, [B, 1, S], f64)), num / den);
  });

  it('probability target: t ← t(1−ε)+ε/C, −Σ_c w_c·t_c·log p_c, mean over B·spatial (not over weights)', () => {
    let total = 0;
    const onehot: number[] = new Array(B * C * S).fill(0);
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const lp = logp(b, s);
        const y = ys[b * S + s];
        onehot[(b * C + y) * S + s] = 1;
        total += lp.reduce((a, v, c) => a - w[c] * (Number(c === y) * (1 - eps) + eps / C) * v, 0);
      }
    }
    const loss = monai.DiceCELoss({ weight: w, label_smoothing: eps, lambda_dice: 0, reduction: 'sum' });
    close(loss(tensor(xs, [B, C, S], f64), tensor(onehot, [B, C, S], f64)), total);
  });

  it('the Dice term gets weight[1:] without background, the CE term all channels', () => {
    let dice = 0;
    for (let b = 0; b < B; b++) {
      for (let c = 1; c < C; c++) {
        let inter = 0;
        let ps = 0;
        let gs = 0;
        for (let s = 0; s < S; s++) {
          const p = softmaxAt(xs, s, b, C, S)[c];
          const g = Number(ys[b * S + s] === c);
          inter += p * g;
          ps += p;
          gs += g;
        }
        dice += w[c] * (1 - (2 * inter + 1e-5) / (ps + gs + 1e-5));
      }
    }
    const loss = monai.DiceCELoss({ to_onehot_y: true, softmax: true, include_background: false, weight: w, lambda_ce: 0 });
    close(loss(tensor(xs, [B, C, S], f64), tensor(ys, [B, 1, S], f64)), dice / (B * (C - 1)));
  });
});

describe('monai reductions and quirks', () => {
  const B = 2;
  const C = 2;
  const S = 6;
  const xs = seq(B * C * S, 9);
  const g = [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]; // (b=1, c=0) is empty
  const x = tensor(xs, [B, C, 2, 3], f64);
  const t = tensor(g, [B, C, 2, 3], f64);
  const at = (b: number, c: number, s: number): number => (b * C + c) * S + s;

  it("FocalLoss 'sum' is a spatial mean per (b, c), then a sum; gamma 0 'mean' is BCE with logits", () => {
    let quirk = 0;
    let bce = 0;
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        let m = 0;
        for (let s = 0; s < S; s++) {
          const v = xs[at(b, c, s)];
          const y = g[at(b, c, s)];
          const l = Math.max(v, 0) - v * y + Math.log1p(Math.exp(-Math.abs(v)));
          const pt = y === 1 ? sig(v) : 1 - sig(v);
          m += (1 - pt) ** 2 * l;
          bce += l;
        }
        quirk += m / S;
      }
    }
    close(monai.FocalLoss({ reduction: 'sum' })(x, t), quirk);
    close(monai.FocalLoss({ gamma: 0 })(x, t), bce / (B * C * S));
  });

  it('FocalLoss use_softmax without background: softmax over the remaining channels, alpha dropped', () => {
    const x3 = tensor(seq(1 * 3 * 4, 2), [1, 3, 4], f64);
    const y3 = tensor([0, 1, 2, 2], [1, 1, 4], f64);
    const kept = monai.FocalLoss({ to_onehot_y: true, use_softmax: true, include_background: false, alpha: 0.9 })(x3, y3);
    const noAlpha = monai.FocalLoss({ to_onehot_y: true, use_softmax: true, include_background: false })(x3, y3);
    expect(kept.item()).toBe(noAlpha.item());
    // Channels 1..2 only: −(1 − q)²·log q for the true class among them, mean over 2·4 entries.
    const v = x3.dataSync();
    let total = 0;
    [0, 1, 2, 2].forEach((y, s) => {
      if (y === 0) return;
      const a = v[4 + s];
      const b = v[8 + s];
      const lq = (y === 1 ? a : b) - Math.log(Math.exp(a) + Math.exp(b));
      total += -((1 - Math.exp(lq)) ** 2) * lq;
    });
    close(noAlpha, total / 8);
  });

  it('DiceLoss: an empty class gives 1 − nr/(Σp + dr); reduction none with batch is (C, 1, 1)', () => {
    const none = monai.DiceLoss({ sigmoid: true, reduction: 'none' })(x, t);
    expect(none.shape).toEqual([2, 2, 1, 1]);
    let sp = 0;
    for (let s = 0; s < S; s++) sp += sig(xs[at(1, 0, s)]);
    expect(none.dataSync()[2]).toBeCloseTo(1 - 1e-5 / (sp + 1e-5), 12);
    expect(monai.DiceLoss({ sigmoid: true, reduction: 'none', batch: true })(x, t).shape).toEqual([2, 1, 1]);
  });

  it("TverskyLoss 'none' is (B, C) or (C,); GDL 'none' is (B, 1, 1) or (1, 1, 1)", () => {
    expect(monai.TverskyLoss({ reduction: 'none' })(x, t).shape).toEqual([2, 2]);
    expect(monai.TverskyLoss({ reduction: 'none', batch: true })(x, t).shape).toEqual([2]);
    expect(monai.GeneralizedDiceLoss({ reduction: 'none' })(x, t).shape).toEqual([2, 1, 1, 1]);
    expect(monai.GeneralizedDiceLoss({ reduction: 'none', batch: true })(x, t).shape).toEqual([1, 1, 1]);
    expect(monai.FocalLoss({ reduction: 'none' })(x, t).shape).toEqual([2, 2, 2, 3]);
  });

  it('GeneralizedDiceLoss: the empty class takes the largest weight of its sample; batch pools samples', () => {
    const p = xs.map(sig);
    const sums = (b: number, c: number, f: (s: number) => number): number => Array.from({ length: S }, (_, s) => f(at(b, c, s))).reduce((a, v) => a + v, 0);
    const perSample = [0, 1].map((b) => {
      const gs = [0, 1].map((c) => sums(b, c, (i) => g[i]));
      const raw = gs.map((v) => 1 / (v * v));
      const maxW = Math.max(...raw.map((v) => (Number.isFinite(v) ? v : 0)));
      const w = raw.map((v) => (Number.isFinite(v) ? v : maxW));
      const num = 2 * [0, 1].reduce((a, c) => a + w[c] * sums(b, c, (i) => p[i] * g[i]), 0) + 1e-5;
      const den = [0, 1].reduce((a, c) => a + w[c] * (sums(b, c, (i) => p[i]) + gs[c]), 0) + 1e-5;
      return 1 - num / den;
    });
    close(monai.GeneralizedDiceLoss({ sigmoid: true })(x, t), (perSample[0] + perSample[1]) / 2);
    const gs = [0, 1].map((c) => sums(0, c, (i) => g[i]) + sums(1, c, (i) => g[i]));
    const w = gs.map((v) => 1 / (v * v));
    const tp = [0, 1].map((c) => sums(0, c, (i) => p[i] * g[i]) + sums(1, c, (i) => p[i] * g[i]));
    const den = [0, 1].map((c) => sums(0, c, (i) => p[i]) + sums(1, c, (i) => p[i]) + gs[c]);
    close(monai.GeneralizedDiceLoss({ sigmoid: true, batch: true })(x, t), 1 - (2 * (w[0] * tp[0] + w[1] * tp[1]) + 1e-5) / (w[0] * den[0] + w[1] * den[1] + 1e-5));
  });

  it('DeepSupervisionLoss: Σ_l w_l·loss(head_l, target resized nearest-exact), exp weights 1, 0.5', () => {
    const fine = tensor(seq(1 * 2 * 16, 4), [1, 2, 4, 4], f64);
    const coarse = tensor(seq(1 * 2 * 4, 6), [1, 2, 2, 2], f64);
    const labels = [0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0];
    // nearest-exact 4 → 2 reads rows/cols floor((i + 0.5)·2) = 1 and 3.
    const resized = [labels[5], labels[7], labels[13], labels[15]];
    const base = monai.DiceCELoss({ to_onehot_y: true, softmax: true });
    const want = base(fine, tensor(labels, [1, 1, 4, 4], f64)).item() + 0.5 * base(coarse, tensor(resized, [1, 1, 2, 2], f64)).item();
    close(monai.DeepSupervisionLoss(base)([fine, coarse], tensor(labels, [1, 1, 4, 4], f64)), want, 12);
    const two = monai.DeepSupervisionLoss(base, { weights: [0.3, 2] })([fine, coarse], tensor(labels, [1, 1, 4, 4], f64));
    close(two, 0.3 * base(fine, tensor(labels, [1, 1, 4, 4], f64)).item() + 2 * base(coarse, tensor(resized, [1, 1, 2, 2], f64)).item(), 12);
  });
});

describe('smp quirks', () => {
  it('an all-background target gives loss 0 whatever the prediction (absent classes are zeroed)', () => {
    const x = tensor(seq(8, 1), [2, 1, 4], f64);
    const y = tensor(new Array(8).fill(0), [2, 1, 4], f64);
    for (const f of [smp.DiceLoss, smp.JaccardLoss, smp.TverskyLoss]) expect(f({ mode: 'binary' })(x, y).item()).toBe(0);
  });

  it('multiclass Dice with ignore_index: ignored pixels are zeroed in both p and t', () => {
    const xs = seq(1 * 2 * 4, 8);
    const y = [1, 0, 255, 1];
    const keep = [1, 1, 0, 1];
    let loss = 0;
    for (let c = 0; c < 2; c++) {
      let sp = 0;
      let st = 0;
      let diff = 0;
      for (let s = 0; s < 4; s++) {
        const p = softmaxAt(xs, s, 0, 2, 4)[c] * keep[s];
        const t = Number(y[s] === c) * keep[s];
        sp += p;
        st += t;
        diff += Math.abs(p - t);
      }
      const tp = (sp + st - diff) / 2;
      loss += 1 - (2 * tp) / Math.max(sp + st, 1e-7);
    }
    close(smp.DiceLoss({ mode: 'multiclass', ignore_index: 255 })(tensor(xs, [1, 2, 4], f64), tensor(y, [1, 4], f64)), loss / 2);
  });

  it("SoftBCEWithLogitsLoss: weight and pos_weight as in PyTorch; SoftCrossEntropyLoss 'none' keeps dim with ignore_index", () => {
    const x = [0.3, -1.2, 2.0, -0.4];
    const y = [1, 0, 1, 0];
    const w = [1, 2, 0.5, 1];
    const pw = 3;
    const sp = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    const want = x.reduce((a, v, i) => a + w[i] * (pw * y[i] * sp(-v) + (1 - y[i]) * sp(v)), 0) / 4;
    close(smp.SoftBCEWithLogitsLoss({ weight: w, pos_weight: pw })(tensor(x, [4], f64), tensor(y, [4], f64)), want);
    const ce = smp.SoftCrossEntropyLoss({ smooth_factor: 0.1, reduction: 'none' });
    expect(ce(tensor(seq(12, 2), [3, 4], f64), tensor([0, 1, -100], [3], f64)).shape).toEqual([3, 1]);
    expect(smp.SoftCrossEntropyLoss({ smooth_factor: 0.1, reduction: 'none', ignore_index: null })(tensor(seq(12, 2), [3, 4], f64), tensor([0, 1, 3], [3], f64)).shape).toEqual([3]);
  });
});
