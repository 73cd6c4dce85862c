/** Deterministic train/validation/test splits as views over a dataset (no data is copied). */
import { Rng } from '../tensor/index.js';
import { mixSeed } from './seeds.js';
import { checkIndex, type Dataset, type Sample } from './types.js';

/** The samples of `source` at `indices`, in that order. */
export class SubsetDataset implements Dataset {
  readonly ids: readonly string[];

  constructor(
    readonly source: Dataset,
    readonly indices: readonly number[],
    readonly name: string = `${source.name} subset`,
  ) {
    for (const i of indices) checkIndex(source.name, i, source.length);
    this.ids = indices.map((i) => source.ids[i]);
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
 * @example const { train, test } = split(await isic2018(dir), { seed: 1 });
 */
export function split(dataset: Dataset, opts: SplitOptions = {}): { train: SubsetDataset; val: SubsetDataset; test: SubsetDataset } {
  const { seed = 0, testFraction = 0.2, valFraction = 0 } = opts;
  for (const [name, f] of [['testFraction', testFraction], ['valFraction', valFraction]] as const) {
    if (!(f >= 0 && f < 1)) throw new Error(`split: ${name} must be in [0, 1), got ${f}`);
  }
  if (testFraction + valFraction >= 1) throw new Error(`split: testFraction + valFraction must be < 1, got ${testFraction} + ${valFraction}`);
  const n = dataset.length;
  const perm = new Rng(mixSeed(seed, 0x53504c54)).shuffle(Array.from({ length: n }, (_, i) => i));
  const nTest = Math.round(n * testFraction);
  const nVal = Math.min(Math.round(n * valFraction), n - nTest);
  const part = (from: number, to: number): number[] => perm.slice(from, to).sort((a, b) => a - b);
  return {
    test: new SubsetDataset(dataset, part(0, nTest), `${dataset.name}:test`),
    val: new SubsetDataset(dataset, part(nTest, nTest + nVal), `${dataset.name}:val`),
    train: new SubsetDataset(dataset, part(nTest + nVal, n), `${dataset.name}:train`),
  };
}
