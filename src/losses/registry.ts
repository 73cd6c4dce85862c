import { adaptiveLog } from './adaptive-log.js';
import { combo } from './combo.js';
import { bce, crossEntropy, focal, generalizedCrossEntropy } from './distribution.js';
import { generalizedDice } from './generalized-dice.js';
import { lovaszHinge, lovaszSoftmax } from './lovasz.js';
import { dice, focalTversky, jaccard, mcc, tversky } from './region.js';
import type { Loss, LossInput } from './types.js';
import { wing } from './wing.js';

/** The loss names the CLI accepts. */
export const LOSS_NAMES = ['bce', 'ce', 'dice', 'jaccard', 'tversky', 'focal', 'combo', 'focal-tversky', 'generalized-dice', 'gce', 'lovasz-hinge', 'lovasz-softmax', 'wing', 'mcc', 'all'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

type OptionValue = number | string | boolean;
type Kind = 'number' | 'boolean' | readonly string[];

const REDUCTION = ['mean', 'sum', 'none'] as const;
const overlapOptions = { batch: 'boolean', smooth: 'number', reduction: REDUCTION } as const;
const tverskyOptions = { ...overlapOptions, alphaFN: 'number', betaFP: 'number' } as const;
const allOptions = { omega: 'number', epsilon: 'number', delta: 'number' } as const;

interface Entry {
  options: Record<string, Kind>;
  /** Defaults as shown in the table. */
  defaults: string;
  takes: LossInput;
  paper: string;
  make: (opts: Record<string, any>) => Loss;
}

const ENTRIES: Record<Exclude<LossName, 'all'>, Entry> = {
  bce: { options: { posWeight: 'number', weight: 'number', reduction: REDUCTION }, defaults: 'posWeight=1, reduction=mean', takes: 'logits', paper: '—', make: bce },
  ce: { options: { reduction: REDUCTION }, defaults: 'reduction=mean', takes: 'logits', paper: '—', make: crossEntropy },
  dice: { options: overlapOptions, defaults: 'smooth=1, batch=true', takes: 'probabilities', paper: 'Milletari et al. 2016 (V-Net)', make: dice },
  jaccard: { options: overlapOptions, defaults: 'smooth=1, batch=true', takes: 'probabilities', paper: 'Rahman & Wang 2016', make: jaccard },
  tversky: { options: tverskyOptions, defaults: 'alphaFN=0.7, betaFP=0.3, smooth=1, batch=true', takes: 'probabilities', paper: 'Salehi et al. 2017', make: tversky },
  focal: { options: { gamma: 'number', alpha: 'number', reduction: REDUCTION }, defaults: 'gamma=2, alpha=0.25', takes: 'logits', paper: 'Lin et al. 2017', make: focal },
  combo: { options: { alpha: 'number', beta: 'number', smooth: 'number', batch: 'boolean' }, defaults: 'alpha=0.5, beta=0.5, smooth=1', takes: 'probabilities', paper: 'Taghanaki et al. 2019', make: combo },
  'focal-tversky': { options: { ...tverskyOptions, gamma: 'number' }, defaults: 'alphaFN=0.7, betaFP=0.3, gamma=4/3, smooth=1', takes: 'probabilities', paper: 'Abraham & Khan 2019', make: focalTversky },
  'generalized-dice': { options: { ...overlapOptions, weight: ['square', 'simple', 'uniform'] }, defaults: 'weight=square, smooth=1e-5', takes: 'probabilities', paper: 'Sudre et al. 2017', make: generalizedDice },
  gce: { options: { q: 'number', reduction: REDUCTION }, defaults: 'q=0.7', takes: 'logits', paper: 'Zhang & Sabuncu 2018', make: generalizedCrossEntropy },
  'lovasz-hinge': { options: { batch: 'boolean', reduction: REDUCTION }, defaults: 'batch=true', takes: 'logits', paper: 'Berman et al. 2018', make: lovaszHinge },
  'lovasz-softmax': { options: { batch: 'boolean', reduction: REDUCTION, classes: ['present', 'all'] }, defaults: 'batch=true, classes=present', takes: 'probabilities', paper: 'Berman et al. 2018', make: lovaszSoftmax },
  wing: { options: { width: 'number', epsilon: 'number', reduction: REDUCTION }, defaults: 'width=10, epsilon=2', takes: 'probabilities', paper: 'Feng et al. 2018', make: wing },
  mcc: { options: overlapOptions, defaults: 'smooth=1, batch=true', takes: 'probabilities', paper: 'Abhishek & Hamarneh 2021', make: mcc },
};

/** One row per loss, for the README's loss table and `--help`. */
export interface LossTableRow {
  name: LossName;
  /** Options with their defaults, e.g. 'smooth=1, batch=true'. */
  options: string;
  takes: LossInput;
  paper: string;
}

export const lossTable: readonly LossTableRow[] = [
  ...Object.entries(ENTRIES).map(([name, e]) => ({ name: name as LossName, options: e.defaults, takes: e.takes, paper: e.paper })),
  { name: 'all', options: 'base=dice, omega=10, epsilon=0.5, delta=0.1', takes: 'probabilities', paper: 'Kaul et al. (ALL; Wing-form reconstruction)' },
];

function parseOptions(name: string, given: Record<string, OptionValue>, allowed: Record<string, Kind>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [key, raw] of Object.entries(given)) {
    const kind = allowed[key];
    if (!kind) throw new Error(`lossByName: loss '${name}' has no option '${key}'; its options are: ${Object.keys(allowed).join(', ') || 'none'}`);
    if (kind === 'number') {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(v)) throw new Error(`lossByName: option '${key}' of '${name}' must be a number, got ${JSON.stringify(raw)}`);
      out[key] = v;
    } else if (kind === 'boolean') {
      if (typeof raw === 'boolean') out[key] = raw;
      else if (raw === 'true' || raw === 'false') out[key] = raw === 'true';
      else throw new Error(`lossByName: option '${key}' of '${name}' must be true or false, got ${JSON.stringify(raw)}`);
    } else {
      if (!kind.includes(String(raw))) throw new Error(`lossByName: option '${key}' of '${name}' must be one of ${kind.join(', ')}, got ${JSON.stringify(raw)}`);
      out[key] = String(raw);
    }
  }
  return out;
}

/**
 * A loss from its CLI name and options (numbers, booleans, strings; strings are parsed). For 'all',
 * `base` names the base loss (default 'dice'), omega/epsilon/delta go to ALL and every other option to
 * the base. Unknown names and options throw, listing what is accepted.
 * @example lossByName('tversky', { alphaFN: 0.6, betaFP: 0.4 })
 */
export function lossByName(name: string, opts: Record<string, OptionValue> = {}): Loss {
  if (name === 'all') {
    const { base = 'dice', ...rest } = opts;
    const baseName = String(base);
    if (baseName === 'all' || !(baseName in ENTRIES)) throw new Error(`lossByName: unknown base '${baseName}' for 'all'; expected one of ${Object.keys(ENTRIES).join(', ')}`);
    const allKeys = Object.keys(allOptions);
    const own = Object.fromEntries(Object.entries(rest).filter(([k]) => allKeys.includes(k)));
    const forBase = Object.fromEntries(Object.entries(rest).filter(([k]) => !allKeys.includes(k)));
    return adaptiveLog(lossByName(baseName, forBase), parseOptions('all', own, allOptions));
  }
  const entry = (ENTRIES as Record<string, Entry | undefined>)[name];
  if (!entry) throw new Error(`lossByName: unknown loss '${name}'; expected one of ${LOSS_NAMES.join(', ')}`);
  return entry.make(parseOptions(name, opts, entry.options));
}
