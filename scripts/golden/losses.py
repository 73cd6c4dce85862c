#!/usr/bin/env python3
"""Golden values for segrad's losses, written from /work/shared/spec/losses.md in plain numpy float64,
independently of the TypeScript code. Run once: python3 scripts/golden/losses.py > test/fixtures/golden-losses.json
Probability-taking losses get the probabilities stored here (sigmoid/softmax of the logits)."""
import json
import math

import numpy as np

rng = np.random.default_rng(20260127)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- inputs -------------------------------------------------------------------------------------
# binary: 3 images [3,1,3,4]: ~40 % foreground, an empty mask, a single foreground pixel
bin_logits = rng.normal(0.0, 2.0, size=(3, 1, 3, 4))
bin_mask = np.zeros((3, 1, 3, 4))
bin_mask[0, 0].flat[[0, 1, 4, 5, 9]] = 1
bin_mask[2, 0, 1, 2] = 1
# a near-perfect binary prediction (for the log side of ALL)
good_probs = np.where(bin_mask > 0.5, 0.97, 0.02) + rng.uniform(-0.01, 0.01, size=bin_mask.shape)
# multi-class: 2 images [2,3,3,3], class 2 absent from image 1
mc_logits = rng.normal(0.0, 2.0, size=(2, 3, 3, 3))
mc_index = np.array([[[0, 1, 1], [2, 2, 0], [0, 1, 0]], [[0, 0, 1], [1, 1, 0], [0, 0, 0]]], dtype=float)
mc_onehot = np.stack([(mc_index == c).astype(float) for c in range(3)], axis=1)

CASES = {
    'binary': dict(logits=bin_logits, probabilities=sigmoid(bin_logits), target=bin_mask, onehot=bin_mask),
    'binary-good': dict(logits=None, probabilities=good_probs, target=bin_mask, onehot=bin_mask),
    'multi': dict(logits=mc_logits, probabilities=softmax(mc_logits), target=mc_index[:, None], onehot=mc_onehot),
}


def groups(x, batch):
    """Yields per-group arrays [C, pixels]: one group for the pooled batch, else one per image."""
    n, c = x.shape[:2]
    if batch:
        return [np.moveaxis(x, 1, 0).reshape(c, -1)]
    return [x[i].reshape(c, -1) for i in range(n)]


def reduce_groups(vals, reduction):
    vals = np.array(vals, dtype=float)
    return {'mean': vals.mean(), 'sum': vals.sum(), 'none': vals}[reduction]


def counts(p, g):
    tp = (p * g).sum()
    fp = (p * (1 - g)).sum()
    fn = ((1 - p) * g).sum()
    tn = ((1 - p) * (1 - g)).sum()
    return tp, fp, fn, tn


def overlap(p, g, per_class, combine='mean', batch=True, reduction='mean'):
    out = []
    for pg, gg in zip(groups(p, batch), groups(g, batch)):
        vals = [per_class(*counts(pg[c], gg[c]), pg[c].sum(), gg[c].sum()) for c in range(pg.shape[0])]
        out.append(np.mean(vals) if combine == 'mean' else np.sum(vals))
    return reduce_groups(out, reduction)


def dice(p, g, smooth=1, **kw):
    return overlap(p, g, lambda tp, fp, fn, tn, sp, sg: 1 - (2 * tp + smooth) / (sp + sg + smooth), **kw)


def jaccard(p, g, smooth=1, **kw):
    return overlap(p, g, lambda tp, fp, fn, tn, sp, sg: 1 - (tp + smooth) / (sp + sg - tp + smooth), **kw)


def tversky_index(tp, fp, fn, a_fn, b_fp, s):
    return (tp + s) / (tp + a_fn * fn + b_fp * fp + s)


def tversky(p, g, alphaFN=0.7, betaFP=0.3, smooth=1, **kw):
    return overlap(p, g, lambda tp, fp, fn, tn, sp, sg: 1 - tversky_index(tp, fp, fn, alphaFN, betaFP, smooth), **kw)


def focal_tversky(p, g, alphaFN=0.7, betaFP=0.3, smooth=1, gamma=4 / 3, **kw):
    return overlap(p, g, lambda tp, fp, fn, tn, sp, sg: (1 - tversky_index(tp, fp, fn, alphaFN, betaFP, smooth)) ** (1 / gamma), combine='sum', **kw)


def mcc(p, g, smooth=1, **kw):
    def one(tp, fp, fn, tn, sp, sg):
        return 1 - (tp * tn - fp * fn) / math.sqrt((tp + fp + smooth) * (tp + fn + smooth) * (tn + fp + smooth) * (tn + fn + smooth))
    return overlap(p, g, one, **kw)


def generalized_dice(p, g, weight='square', smooth=1e-5, batch=True, reduction='mean'):
    if p.shape[1] == 1:
        p = np.concatenate([1 - p, p], axis=1)
        g = np.concatenate([1 - g, g], axis=1)
    out = []
    for pg, gg in zip(groups(p, batch), groups(g, batch)):
        num = den = 0.0
        for c in range(pg.shape[0]):
            vol = gg[c].sum()
            w = 1.0 if weight == 'uniform' else (0.0 if vol == 0 else (1 / vol ** 2 if weight == 'square' else 1 / vol))
            num += w * (pg[c] * gg[c]).sum()
            den += w * (pg[c].sum() + gg[c].sum())
        out.append(1 - (2 * num + smooth) / (den + smooth))
    return reduce_groups(out, reduction)


def combo(p, g, alpha=0.5, beta=0.5, smooth=1, batch=True):
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    ce = -np.mean(beta * g * np.log(pc) + (1 - beta) * (1 - g) * np.log(1 - pc))
    coefs = []
    for pg, gg in zip(groups(p, batch), groups(g, batch)):
        coefs.append(sum((2 * (pg[c] * gg[c]).sum() + smooth) / (pg[c].sum() + gg[c].sum() + smooth) for c in range(pg.shape[0])))
    return alpha * ce - (1 - alpha) * np.mean(coefs)


def bce(z, g, posWeight=1.0, reduction='mean'):
    s = sigmoid(z)
    per = -(posWeight * g * np.log(s) + (1 - g) * np.log(1 - s))
    return reduce_groups(per.ravel(), reduction)


def class_probs(z):
    """Per-class probabilities [N, C', ...]: a single channel is the two classes (1 − σ, σ)."""
    if z.shape[1] == 1:
        s = sigmoid(z)
        return np.concatenate([1 - s, s], axis=1)
    return softmax(z)


def two_class_target(g):
    return np.concatenate([1 - g, g], axis=1) if g.shape[1] == 1 else g


def ce(z, g, classWeights=None, reduction='mean'):
    p = class_probs(z)
    g = two_class_target(g)
    w = np.ones(p.shape[1]) if classWeights is None else np.array(classWeights, dtype=float)
    wb = w.reshape(1, -1, *([1] * (p.ndim - 2)))
    per = -(wb * g * np.log(p)).sum(axis=1)
    if reduction == 'mean':
        return per.sum() / ((wb * g).sum() if classWeights is not None else per.size)
    return reduce_groups(per.ravel(), reduction)


def focal(z, g, gamma=2.0, alpha=0.25, reduction='mean'):
    if z.shape[1] == 1:
        p = sigmoid(z)
        pt = np.where(g > 0.5, p, 1 - p)
        at = np.where(g > 0.5, alpha, 1 - alpha)
        per = -at * (1 - pt) ** gamma * np.log(pt)
    else:
        p = softmax(z)
        per = -(alpha * g * (1 - p) ** gamma * np.log(p)).sum(axis=1)
    return reduce_groups(per.ravel(), reduction)


def gce(z, g, q=0.7, reduction='mean'):
    p = class_probs(z)
    g = two_class_target(g)
    pt = (p * g).sum(axis=1)  # one-hot targets: the probability of the true class
    return reduce_groups(((1 - pt ** q) / q).ravel(), reduction)


def wing(p, g, width=10.0, epsilon=2.0, reduction='mean'):
    x = np.abs(p - g)
    C = width - width * math.log(1 + width / epsilon)
    per = np.where(x < width, width * np.log(1 + x / epsilon), x - C)
    return reduce_groups(per.ravel(), reduction)


def lovasz_grad(gt_sorted):
    """Berman et al.'s lovasz_grad, transcribed."""
    gts = gt_sorted.sum()
    intersection = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1 - gt_sorted)
    jac = 1.0 - intersection / union
    jac[1:] = jac[1:] - jac[:-1]
    return jac


def lovasz_hinge(z, g, batch=True, reduction='mean'):
    def flat(zz, gg):
        signs = 2 * gg - 1
        errors = 1 - zz * signs
        order = np.argsort(-errors, kind='stable')
        return np.dot(np.maximum(errors[order], 0), lovasz_grad(gg[order]))
    if batch:
        return reduce_groups([flat(z.ravel(), g.ravel())], reduction)
    return reduce_groups([flat(z[i].ravel(), g[i].ravel()) for i in range(z.shape[0])], reduction)


def lovasz_softmax(p, g, batch=True, reduction='mean', classes='present'):
    p = two_class_target(p)
    g = two_class_target(g)
    out = []
    for pg, gg in zip(groups(p, batch), groups(g, batch)):
        losses = []
        for c in range(pg.shape[0]):
            fg = gg[c]
            if classes == 'present' and fg.sum() == 0:
                continue
            errors = np.abs(fg - pg[c])
            order = np.argsort(-errors, kind='stable')
            losses.append(np.dot(errors[order], lovasz_grad(fg[order])))
        out.append(np.mean(losses) if losses else 0.0)
    return reduce_groups(out, reduction)


def adaptive_log(x, omega=10.0, epsilon=0.5, delta=0.1):
    C = delta - omega * math.log(1 + delta / epsilon)
    return omega * math.log(1 + x / epsilon) if x < delta else x - C


def all_loss(p, g, base=None, omega=10.0, epsilon=0.5, delta=0.1, **base_opts):
    x = (base or dice)(p, g, **base_opts)
    return adaptive_log(x, omega, epsilon, delta)


# name, takes, python function, options, cases
SPECS = [
    ('bce', 'logits', bce, [{}, {'posWeight': 2.5}, {'reduction': 'sum'}], ['binary', 'multi']),
    ('ce', 'logits', ce, [{}, {'reduction': 'sum'}], ['binary', 'multi']),
    ('ce', 'logits', ce, [{'classWeights': [0.2, 1.0, 3.0]}], ['multi']),
    ('dice', 'probabilities', dice, [{}, {'batch': False}, {'batch': False, 'reduction': 'none'}, {'smooth': 0.5}], ['binary', 'binary-good', 'multi']),
    ('jaccard', 'probabilities', jaccard, [{}, {'batch': False}], ['binary', 'multi']),
    ('tversky', 'probabilities', tversky, [{}, {'alphaFN': 0.5, 'betaFP': 0.5}, {'batch': False}], ['binary', 'multi']),
    ('focal-tversky', 'probabilities', focal_tversky, [{}, {'gamma': 1.0}, {'batch': False}], ['binary', 'multi']),
    ('focal', 'logits', focal, [{}, {'gamma': 0.0, 'alpha': 0.5}, {'gamma': 1.5, 'alpha': 0.6}], ['binary', 'multi']),
    ('combo', 'probabilities', combo, [{}, {'alpha': 0.3, 'beta': 0.7}, {'batch': False}], ['binary', 'multi']),
    ('generalized-dice', 'probabilities', generalized_dice, [{}, {'weight': 'simple'}, {'weight': 'uniform'}, {'batch': False}], ['binary', 'multi']),
    ('gce', 'logits', gce, [{}, {'q': 0.3}], ['binary', 'multi']),
    ('lovasz-hinge', 'logits', lovasz_hinge, [{}, {'batch': False}], ['binary']),
    ('lovasz-softmax', 'probabilities', lovasz_softmax, [{}, {'batch': False}, {'classes': 'all'}, {'batch': False, 'classes': 'all'}], ['binary', 'multi']),
    ('wing', 'probabilities', wing, [{}, {'width': 0.5, 'epsilon': 0.1}], ['binary', 'multi']),
    ('mcc', 'probabilities', mcc, [{}, {'batch': False}], ['binary', 'multi']),
    ('all', 'probabilities', all_loss, [{}, {'delta': 0.3, 'omega': 6.0, 'epsilon': 1.0}], ['binary', 'binary-good', 'multi']),
]


def tolist(a):
    return None if a is None else np.asarray(a, dtype=float).tolist()


def main():
    cases = {name: {k: {'shape': list(v.shape), 'data': tolist(v.ravel())} for k, v in case.items() if v is not None} for name, case in CASES.items()}
    results = []
    for name, takes, fn, option_sets, case_names in SPECS:
        for opts in option_sets:
            for case_name in case_names:
                case = CASES[case_name]
                if case[takes] is None:
                    continue
                value = fn(case[takes], case['onehot'], **opts)
                results.append({'loss': name, 'takes': takes, 'options': opts, 'case': case_name, 'expected': tolist(value)})
    print(json.dumps({'generator': 'scripts/golden/losses.py (numpy float64, from spec/losses.md)', 'cases': cases, 'results': results}, indent=1))


if __name__ == '__main__':
    main()
