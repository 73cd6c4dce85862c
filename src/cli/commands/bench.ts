import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { listOpt, numberOpt, parseArgs, UsageError } from '../args.js';
import { markdownTable } from '../bench-table.js';
import type { Command } from '../command.js';
import { buildLoss, selectBackend } from '../common.js';
import { ANCHOR_BATCH, runUnetBench, type UnetWorkload } from '../unet-bench.js';

const NAME = 'bench';

const usage = `segrad bench: time the benchmark U-Net's train step and inference on this machine

usage: segrad bench [options]

Runs the anchor workload every speed figure of segrad is quoted on (unet-anchor.json: the U-Net of
widths 16…256, 1,942,289 parameters, soft Dice loss, Adam; deterministic data, so nothing to download):
the first step timed apart (kernels compiled, caches cold), --warmup untimed steps, then the median of
--reps. Prints one line per step on stderr and a Markdown table (time, GFLOP/s of the convolutions,
images/s, peak RSS) on stdout. PyTorch side by side and the kernel suites: 'npm run bench' in the
repository.

options:
  --backend B       cpu (default) | gpu[:mode], e.g. gpu:webgpu on a machine with a GPU
  --size LIST       image sizes, multiples of 16 (default 64,128)
  --workload LIST   train and/or inference (default both), or fit: the trainer's own step (train.fit on
                    synthetic blobs, ALL over Dice, gradient norms every step, as segrad train runs it)
  --loss NAME       the train step's loss in place of the anchor's soft Dice (any of segrad train's
                    --loss names, with --loss-opt k=v): e.g. lovasz-hinge, which sorts on the device
                    in gpu:webgpu
  --batch N         images per step (default ${ANCHOR_BATCH}, the anchor's)
  --reps N          timed steps, the median is reported (default 7)
  --warmup N        untimed steps after the first (default 3)
  --profile         after the timing, one more step with the time per op kind (see SEGRAD_PROFILE);
                    on gpu:webgpu a third step runs each kernel call alone for its device time
  --json FILE       also write the rows as JSON: workload, size, backend, ms, imagesPerSecond, gflops,
                    peakRssMB, firstStepMs

examples:
  segrad bench
  segrad bench --backend gpu:webgpu --size 128 --profile
  segrad bench --size 256 --batch 2 --workload inference --json speed.json
  segrad bench --backend gpu:webgpu --size 128 --workload train --loss lovasz-hinge`;

const WORKLOADS: readonly UnetWorkload[] = ['train', 'inference'];
const KNOWN: readonly UnetWorkload[] = [...WORKLOADS, 'fit'];

function count(options: Parameters<typeof numberOpt>[0], key: string, fallback: number, min: number): number {
  const v = numberOpt(options, key, fallback, NAME);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${NAME}: --${key} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

export const bench: Command = {
  name: NAME,
  summary: 'time the benchmark U-Net (train step and inference) on this machine and backend',
  usage,
  async run(argv: string[]): Promise<number> {
    const { options, positional } = parseArgs(argv, { flags: ['profile'], known: ['backend', 'size', 'workload', 'loss', 'loss-opt', 'batch', 'reps', 'warmup', 'profile', 'json'] }, NAME);
    if (positional.length) throw new UsageError(`${NAME}: unexpected argument '${positional[0]}' (see 'segrad ${NAME} --help')`);
    const sizes = listOpt(options, 'size', ['64', '128']).map((s) => {
      const v = Number(s);
      // four 2×2 poolings halve the image four times
      if (!Number.isInteger(v) || v < 16 || v % 16 !== 0) throw new UsageError(`${NAME}: --size values must be multiples of 16 (the U-Net pools four times), got '${s}'`);
      return v;
    });
    const workloads = listOpt(options, 'workload', WORKLOADS).map((w) => {
      if (!(KNOWN as readonly string[]).includes(w)) throw new UsageError(`${NAME}: --workload takes train, inference and/or fit, got '${w}'`);
      return w as UnetWorkload;
    });
    const batch = count(options, 'batch', ANCHOR_BATCH, 1);
    const reps = count(options, 'reps', 7, 1);
    const warmup = count(options, 'warmup', 3, 0);
    const json = typeof options.json === 'string' ? resolve(options.json) : undefined;
    const loss = typeof options.loss === 'string' ? buildLoss(options.loss, options) : undefined;
    const backend = await selectBackend(typeof options.backend === 'string' ? options.backend : undefined);
    console.error(`segrad bench: the anchor U-Net, batch ${batch}, on ${backend}`);
    const rows = await runUnetBench({
      sizes,
      batch,
      workloads,
      reps,
      warmup,
      loss,
      onStep: (what, step, steps, ms) => console.error(`  ${what}: step ${step}/${steps} ${ms.toFixed(1)} ms${step === 1 ? ' (first: kernels compiled)' : step <= 1 + warmup ? ' (warm-up)' : ''}`),
      onProfile: options.profile ? (text) => console.log(text) : undefined,
    });
    console.log(markdownTable(rows));
    if (json) {
      await mkdir(dirname(json), { recursive: true });
      await writeFile(json, JSON.stringify(rows, null, 2) + '\n');
    }
    return 0;
  },
};
