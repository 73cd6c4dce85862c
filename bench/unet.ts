import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runUnetBench, type UnetWorkload } from '../src/cli/unet-bench.js';
import { setBackend } from '../src/index.js';
import { LOSS_NAMES, lossByName } from '../src/losses/index.js';
import { useBackend } from './backend.js';
import { peakRssMB, type BenchRow } from './table.js';

/**
 * The anchor workload of unet-anchor.json (src/cli/unet-bench.ts, which `segrad bench` runs too), batch 8.
 *
 * Each (size, workload) runs in a fresh child process, so each row's peak RSS is that workload's own
 * (as for the PyTorch rows). Then, when `/usr/bin/python3` (or `python3`) imports torch, the same model
 * in PyTorch (bench/peers/pytorch_unet.py, CPU, 2 threads) is timed and its rows added, with the ratio
 * segrad/PyTorch of images/s and of peak RSS on each segrad row.
 *
 * Options: --size 64|128 (default both), --workload train|inference|fit (default train and inference;
 *   fit is the trainer's own step, src/cli/unet-bench.ts, which PyTorch has no row for),
 *   --backend cpu|gpu[:mode] (default cpu), --reps N (default 7), --warmup N (untimed steps after the first,
 *   default 3; PyTorch gets the same), --profile (after the timing, print the per-op profile of one train
 *   step and of one inference call), --no-peer (skip PyTorch), --peer-device cpu|cuda (where PyTorch runs;
 *   bench/gpu.sh passes cuda: eager PyTorch on the same card), --in-process (no child processes:
 *   peak RSS is then cumulative over the rows), --loss NAME (the train step's loss in place of the anchor's
 *   Dice, any of segrad train's --loss names; no PyTorch rows then), --json FILE (bench/run.ts writes the rows).
 */
function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Options {
  sizes: number[];
  workloads: UnetWorkload[];
  backendArg: string;
  reps: number;
  warmup: number;
  profile: boolean;
  /** Where the PyTorch peer runs: `cpu` (2 threads) or a torch device such as `cuda` (bench/gpu.sh). */
  peerDevice: string;
  /** The train step's loss by name in place of the anchor's soft Dice (no PyTorch rows then: its script times Dice). */
  loss?: string;
}

/** Options that take a value, and flags: anything else is refused, not silently ignored. */
const VALUED = ['--size', '--workload', '--backend', '--loss', '--reps', '--warmup', '--peer-device', '--json', '--profile-out'];
const FLAGS = ['--profile', '--no-peer', '--in-process'];

/** The suite's options from `args` (the first of a repeated option wins: bench/gpu.sh puts the user's first). */
export function parse(args: string[]): Options {
  for (let i = 0; i < args.length; i++) {
    if (VALUED.includes(args[i])) i++;
    else if (!FLAGS.includes(args[i])) {
      const hint = args[i] === '--batch' ? '; the suite times the anchor batch of 8 (`segrad bench --batch N` times others)' : '';
      throw new Error(`bench unet: unknown option '${args[i]}' (options: ${[...VALUED, ...FLAGS].join(' ')})${hint}`);
    }
  }
  const size = option(args, '--size');
  const workload = option(args, '--workload');
  if (size !== undefined && size !== '64' && size !== '128') throw new Error(`bench unet: --size must be 64 or 128, got '${size}'`);
  if (workload !== undefined && workload !== 'train' && workload !== 'inference' && workload !== 'fit') throw new Error(`bench unet: --workload must be train, inference or fit, got '${workload}'`);
  const loss = option(args, '--loss');
  if (loss !== undefined && !(LOSS_NAMES as readonly string[]).includes(loss)) throw new Error(`bench unet: --loss must be one of ${LOSS_NAMES.join(', ')}, got '${loss}'`);
  return {
    sizes: size ? [Number(size)] : [64, 128],
    workloads: workload ? [workload] : ['train', 'inference'],
    backendArg: option(args, '--backend') ?? 'cpu',
    reps: Number(option(args, '--reps') ?? 7),
    warmup: Number(option(args, '--warmup') ?? 3),
    profile: args.includes('--profile'),
    peerDevice: option(args, '--peer-device') ?? 'cpu',
    ...(loss ? { loss } : {}),
  };
}

/** Runs the workloads here, in this process (peak RSS accumulates over the rows). */
async function runHere(o: Options, profileOut?: string): Promise<BenchRow[]> {
  try {
    await useBackend(o.backendArg);
  } catch (e) {
    return [{ workload: 'unet train', backend: o.backendArg, ms: NaN, peakRssMB: peakRssMB(), note: `unavailable: ${(e as Error).message}` }];
  }
  let profiles = '';
  // a child writes its profiles to a file the parent prints
  const onProfile = (text: string): void => (profileOut ? writeFileSync(profileOut, (profiles += text + '\n')) : console.log(text));
  const rows = await runUnetBench({ sizes: o.sizes, workloads: o.workloads, reps: o.reps, warmup: o.warmup, loss: o.loss ? lossByName(o.loss) : undefined, onProfile: o.profile ? onProfile : undefined });
  setBackend('cpu');
  return rows;
}

/** Runs one (size, workload) in a fresh Node process (this same bench bundle) and returns its rows. */
function runChild(o: Options, size: number, workload: UnetWorkload, dir: string, bundle: string): BenchRow[] {
  const json = join(dir, `${workload}-${size}.json`);
  const profileOut = join(dir, `${workload}-${size}.profile.md`);
  const args = [bundle, 'unet', '--in-process', '--size', String(size), '--workload', workload, '--backend', o.backendArg, '--reps', String(o.reps), '--warmup', String(o.warmup), '--json', json];
  if (o.profile) args.push('--profile', '--profile-out', profileOut);
  if (o.loss) args.push('--loss', o.loss);
  const r = spawnSync(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 20 * 60_000 });
  if (existsSync(profileOut)) console.log(readFileSync(profileOut, 'utf8'));
  if (r.status === 0 && existsSync(json)) return JSON.parse(readFileSync(json, 'utf8')) as BenchRow[];
  const why = r.error ? r.error.message : r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
  return [{ workload: `unet ${workload}`, size, backend: o.backendArg, ms: NaN, peakRssMB: NaN, note: `failed: ${why}` }];
}

/** The python that imports torch: Debian's first (python3-torch), then whatever `python3` is. */
function torchPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** The PyTorch rows (bench/peers/pytorch_unet.py, each workload in its own process), or a reason. */
function runPeer(o: Options): BenchRow[] | string {
  const py = torchPython();
  if (!py) return 'PyTorch side by side skipped: neither /usr/bin/python3 nor python3 imports torch (apt-get install python3-torch)';
  const script = resolve('bench/peers/pytorch_unet.py');
  if (!existsSync(script)) return `PyTorch side by side skipped: ${script} not found (run from the repository root)`;
  const rows: BenchRow[] = [];
  for (const size of o.sizes)
    for (const workload of o.workloads.filter((w) => w !== 'fit')) {
      const r = spawnSync(py, [script, '--size', String(size), '--workload', workload, '--reps', String(o.reps), '--warmup', String(o.warmup), '--device', o.peerDevice], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 });
      const line = r.status === 0 ? r.stdout.trim().split('\n').pop() : undefined;
      rows.push(line ? (JSON.parse(line) as BenchRow) : { workload: `unet ${workload}`, size, backend: `pytorch ${o.peerDevice}`, ms: NaN, peakRssMB: NaN, note: `failed: exit ${r.status}` });
    }
  return rows;
}

/**
 * The speed issue's targets for the anchor workload, checked against `rows`: on cpu the train steps
 * (64² ≥ 30, 128² ≥ 10 img/s), inference 128² ≥ 40 img/s, the first train step < 3 s and the 128²
 * step's peak RSS ≤ 2× PyTorch's (where PyTorch ran); on a gpu the 128² train step ≥ 0.25× PyTorch's
 * images/s on the same card. One line a target whose row is there, saying met or not met.
 */
export function targetLines(rows: readonly BenchRow[]): string[] {
  const lines: string[] = [];
  const say = (what: string, got: number | undefined, ok: (v: number) => boolean, unit: string): void => {
    if (got === undefined || !Number.isFinite(got)) return;
    lines.push(`target ${what}: ${got.toFixed(2)}${unit}, ${ok(got) ? 'met' : 'not met'}`);
  };
  for (const r of rows) {
    if (r.backend.startsWith('cpu')) {
      const at = `${r.workload} ${r.size}² on ${r.backend}`;
      if (r.workload === 'unet train' && r.size === 64) say(`${at} ≥ 30 img/s`, r.imagesPerSecond, (v) => v >= 30, ' img/s');
      if (r.workload === 'unet train' && r.size === 128) say(`${at} ≥ 10 img/s`, r.imagesPerSecond, (v) => v >= 10, ' img/s');
      if (r.workload === 'unet inference' && r.size === 128) say(`${at} ≥ 40 img/s`, r.imagesPerSecond, (v) => v >= 40, ' img/s');
      if (r.workload === 'unet train') say(`${at}, first step < 3 s`, r.firstStepMs, (v) => v < 3000, ' ms');
      if (r.workload === 'unet train' && r.size === 128) say(`${at}, peak RSS ≤ 2× PyTorch's`, r.rssVsPeer, (v) => v <= 2, '×');
    } else if (r.backend.startsWith('gpu') && r.workload === 'unet train' && r.size === 128) {
      say(`unet train 128² on ${r.backend} ≥ 0.25× PyTorch's images/s on the same card`, r.speedVsPeer, (v) => v >= 0.25, '×');
    }
  }
  return lines;
}

export async function run(args: string[]): Promise<BenchRow[]> {
  const o = parse(args);
  if (args.includes('--in-process')) return runHere(o, option(args, '--profile-out'));
  const dir = mkdtempSync(join(tmpdir(), 'segrad-bench-unet-'));
  // The children run a private copy of this bench bundle (beside it, so its packages resolve): another
  // `npm run bench` rewrites .cache/bench_run.mjs while this one runs.
  const bundle = `${process.argv[1].replace(/\.m?js$/, '')}.${process.pid}.mjs`;
  copyFileSync(process.argv[1], bundle);
  const rows: BenchRow[] = [];
  try {
    for (const size of o.sizes)
      for (const w of o.workloads) {
        const got = runChild(o, size, w, dir, bundle);
        rows.push(...got);
        // progress on stderr, so a run stopped by a timeout still shows what it measured
        for (const r of got) console.error(`${r.workload} ${size}² on ${r.backend}: ${r.ms.toFixed(1)} ms, ${(r.imagesPerSecond ?? NaN).toFixed(2)} images/s, peak RSS ${r.peakRssMB} MB${r.note ? ` (${r.note})` : ''}`);
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(bundle, { force: true });
  }
  const peer = withPeer(o, args, rows);
  // the targets are the anchor's (its Dice loss): another loss times other work
  if (!o.loss) for (const line of targetLines(rows)) console.log(line);
  return [...rows, ...peer];
}

/** PyTorch's rows where they apply (none with --no-peer or --loss, or without torch: said why), with each segrad row's ratios to them set. */
function withPeer(o: Options, args: string[], rows: BenchRow[]): BenchRow[] {
  if (args.includes('--no-peer')) return [];
  if (o.loss) {
    console.log(`PyTorch side by side skipped: its script times the anchor's Dice, not ${o.loss}`);
    return [];
  }
  const peer = runPeer(o);
  if (typeof peer === 'string') {
    console.log(peer);
    return [];
  }
  for (const r of rows) {
    const p = peer.find((q) => q.workload === r.workload && q.size === r.size);
    if (!p || !r.imagesPerSecond || !p.imagesPerSecond) continue;
    r.speedVsPeer = r.imagesPerSecond / p.imagesPerSecond;
    r.rssVsPeer = r.peakRssMB / p.peakRssMB;
  }
  const train128 = rows.find((r) => r.workload === 'unet train' && r.size === 128 && r.speedVsPeer !== undefined);
  if (train128) console.log(`segrad / PyTorch (${o.peerDevice}), 128² train step: ${train128.speedVsPeer!.toFixed(2)}× the images/s, ${train128.rssVsPeer!.toFixed(2)}× the peak RSS`);
  return peer;
}
