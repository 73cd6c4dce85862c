/** Deterministic train/validation/test splits as views over a dataset (no data is copied). */
import { Rng } from '../tensor/index.js';
import { mixSeed } from './seeds.js';
import { checkIndex, type Dataset, type Sample } from './types.js';

/** The samples of `source` at `indices`, in that order. */
export class SubsetDataset implements Dataset {
  readonly ids: readonly string[];
  readonly groups?: readonly string[];
  readonly groupSpacing?: ReadonlyMap<string, readonly [number, number, number]>;

  constructor(
    readonly source: Dataset,
    readonly indices: readonly number[],
    readonly name: string = `${source.name} subset`,
  ) {
    for (const i of indices) checkIndex(source.name, i, source.length);
    this.ids = indices.map((i) => source.ids[i]);
    if (source.groups) this.groups = indices.map((i) => source.groups![i]);
    // a split keeps groups whole, so a whole volume stays one
    if (source.groupSpacing) this.groupSpacing = source.groupSpacing;
  }

  get length(): number {
    return this.indices.length;
  }

  get(i: number): Promise<Sample> {
    checkIndex(this.name, i, this.length);
    return this.source.get(this.indices[i]);
  }
}

export interface SplitOptions {
  /** Seed of the permutation. Default 0. */
  seed?: number;
  /** Fraction of samples in `test`, rounded to the nearest count. Default 0.2 (the 80:20 protocol). */
  testFraction?: number;
  /** Fraction of samples in `val`, taken from the remainder. Default 0. */
  valFraction?: number;
}

/**
 * Splits `dataset` into disjoint `train`, `val` and `test` subsets that together cover it, from a
 * seeded permutation: the same seed and length always give the same split. Each part keeps the
 * dataset's order. Sizes: test = round(n·testFraction), val = round(n·valFraction), train = the rest.
 * A dataset with `groups` (the slices of one volume, the images of one patient) is split by group, so no
 * group has samples on two sides: round(G·testFraction) of its G groups to test, round(G·valFraction) to
 * val, and train keeps at least one.
 * @example const { train, test } = split(await isic2018(dir), { seed: 1 });
 */
export function split(dataset: Dataset, opts: SplitOptions = {}): { train: SubsetDataset; val: SubsetDataset; test: SubsetDataset } {
  const { seed = 0, testFraction = 0.2, valFraction = 0 } = opts;
  for (const [name, f] of [['testFraction', testFraction], ['valFraction', valFraction]] as const) {
    if (!(f >= 0 && f < 1)) throw new Error(`split: ${name} must be in [0, 1), got ${f}`);
  }
  if (testFraction + valFraction >= 1) throw new Error(`split: testFraction + valFraction must be < 1, got ${testFraction} + ${valFraction}`);
  const n = dataset.length;
  const nTest = Math.round(n * testFraction);
  const nVal = Math.min(Math.round(n * valFraction), n - nTest);
  const parts = dataset.groups ? groupParts(dataset.groups, seed, testFraction, valFraction, nTest, nVal) : sampleParts(n, seed, nTest, nVal);
  return {
    test: new SubsetDataset(dataset, parts.test, `${dataset.name}:test`),
    val: new SubsetDataset(dataset, parts.val, `${dataset.name}:val`),
    train: new SubsetDataset(dataset, parts.train, `${dataset.name}:train`),
  };
}

type Parts = { test: number[]; val: number[]; train: number[] };

function sampleParts(n: number, seed: number, nTest: number, nVal: number): Parts {
  const perm = new Rng(mixSeed(seed, 0x53504c54)).shuffle(Array.from({ length: n }, (_, i) => i));
  const part = (from: number, to: number): number[] => perm.slice(from, to).sort((a, b) => a - b);
  return { test: part(0, nTest), val: part(nTest, nTest + nVal), train: part(nTest + nVal, n) };
}

/**
 * Whole groups in a seeded order: the first round(G·testFraction) to test, the next round(G·valFraction)
 * to val, the rest (always at least one) to train. Counted in groups, not samples, so the same groups are
 * chosen whatever share of each group's samples a dataset holds (all of a volume's slices, or only those
 * with foreground). With a single group there is nothing to keep apart, and the samples are split one by one.
 */
function groupParts(groups: readonly string[], seed: number, testFraction: number, valFraction: number, nTest: number, nVal: number): Parts {
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => (members.get(g) ?? members.set(g, []).get(g)!).push(i));
  if (members.size < 2) return sampleParts(groups.length, seed, nTest, nVal);
  const order = new Rng(mixSeed(seed, 0x47525053)).shuffle([...members.keys()]);
  const G = order.length;
  const gTest = Math.min(Math.round(G * testFraction), G - 1);
  const gVal = Math.min(Math.round(G * valFraction), G - 1 - gTest);
  const out: Parts = { test: [], val: [], train: [] };
  order.forEach((g, k) => (k < gTest ? out.test : k < gTest + gVal ? out.val : out.train).push(...members.get(g)!));
  for (const side of Object.values(out)) side.sort((a, b) => a - b);
  return out;
}
