import { datasetFromSpec, split, summarizeDataset } from '../../data/index.js';
import { numberOpt, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { invertedMasksWarning, sliceLeakWarning } from '../common.js';
import { countBar } from '../progress.js';

const NAME = 'inspect';

const usage = `segrad inspect: what a dataset holds, before a long training run

usage: segrad inspect --data SPEC [options]

Reads the dataset as 'segrad train --data SPEC' would (every file checked, bad ones named) and a sample
of up to --samples of its images and masks spread through it, then prints: the number of samples and
their shape, the groups (patients, volumes), the train/val/test split train makes with this seed, each
class's share of the pixels, how many masks are empty, the image values, and the warnings train would
give (inverted masks, slices of one scan split at random).

options:
  --data SPEC         the dataset (see 'segrad train --help'); required
  --samples N         images and masks to read for the shares and values (default 64)
  --seed N            seed of the split shown (default 0)
  --val-fraction X    validation share of the split shown (default 0.1)
  --skip-bad          leave out unreadable or mismatched files with a warning, as train would

examples:
  segrad inspect --data folder:/data/mine?size=256
  segrad inspect --data "nifti:/data/Task03_Liver?window=-160,240&classes=3"`;

const percent = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 1)} %` : 'n/a');

export const inspect: Command = {
  name: NAME,
  summary: 'what a dataset holds: sizes, classes and their shares, empty masks, groups, the split',
  usage,
  async run(argv) {
    const { options: o, positional } = parseArgs(argv, { known: ['data', 'samples', 'seed', 'val-fraction', 'skip-bad'], flags: ['skip-bad'] }, NAME);
    if (positional.length) throw new UsageError(`${NAME}: unexpected argument '${positional[0]}'; give the dataset as --data SPEC`);
    if (typeof o.data !== 'string') throw new UsageError(`${NAME}: --data SPEC is required (see 'segrad train --help' for the forms)`);
    const samples = numberOpt(o, 'samples', 64, NAME);
    if (!Number.isInteger(samples) || samples < 1) throw new UsageError(`${NAME}: --samples must be a positive integer, got ${samples}`);
    const bar = countBar('reading', 'volumes');
    const data = await datasetFromSpec(o.data, { skipBad: Boolean(o['skip-bad']), onProgress: bar.update }).finally(bar.stop);
    const s = await summarizeDataset(data, samples);
    const parts = split(data, { seed: numberOpt(o, 'seed', 0, NAME), testFraction: 0.2, valFraction: numberOpt(o, 'val-fraction', 0.1, NAME) });
    const { channels, classes, height, width } = s.shape;
    const lines = [
      `${data.name}: ${s.samples} samples, images ${channels}×${height}×${width}, masks of ${classes === 1 ? '1 class (binary)' : `${classes} classes (0 = background)`}${s.skipped ? `; ${s.skipped} bad file(s) left out` : ''}`,
      `groups: ${s.groups !== undefined ? `${s.groups} (each kept whole by the split)` : 'none (the split is by sample)'}`,
      `split: ${parts.train.length} train / ${parts.val.length} val / ${parts.test.length} test`,
      `read ${s.read} of them:`,
      `  foreground: ${percent(s.foreground)} of the pixels${classes > 1 ? ` (${s.classShares.slice(1).map((c, k) => `class ${k + 1}: ${percent(c)}`).join(', ')})` : ''}; one mask's share from ${percent(s.maskShareRange[0])} to ${percent(s.maskShareRange[1])}`,
      `  empty masks: ${s.emptyMasks} of ${s.read}`,
      `  image values: ${s.imageValues.min.toFixed(3)} to ${s.imageValues.max.toFixed(3)}, mean ${s.imageValues.mean.toFixed(3)}`,
    ];
    if (data.groupSpacing?.size) {
      // NIfTI volumes: the voxel sizes the 3D boundary distances are measured in
      const range = (k: number): string => {
        const vs = [...data.groupSpacing!.values()].map((v) => v[k]);
        const [a, b] = [Math.min(...vs), Math.max(...vs)];
        return a === b ? a.toPrecision(3) : `${a.toPrecision(3)}–${b.toPrecision(3)}`;
      };
      lines.splice(2, 0, `voxel size (z × y × x, as the slices are given): ${range(0)} × ${range(1)} × ${range(2)}`);
    }
    console.log(lines.join('\n'));
    const warnings = [
      ...[invertedMasksWarning(s.foreground)].filter((w): w is string => w !== null),
      ...(s.emptyMasks === s.read ? ['warning: every mask read is empty; is the mask suffix or folder right?'] : []),
      ...(s.imageValues.max < 0.1 ? [`warning: the images reach only ${s.imageValues.max.toFixed(3)} of 1: very dark as read; a window (?window=LO,HI) may be missing`] : []),
      ...[sliceLeakWarning(data)].filter((w): w is string => w !== null),
    ];
    for (const w of warnings) console.error(w);
    return 0;
  },
};
