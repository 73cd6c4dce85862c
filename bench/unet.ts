import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { backendInfo, noGrad, setBackend, tensor, tidy, type Tensor } from '../src/index.js';
import { Adam } from '../src/nn/index.js';
import { UNet } from '../src/nn/models/index.js';
import { enableProfiling, formatProfile, resetProfile } from '../src/tensor/profile.js';
import { useBackend } from './backend.js';
import { median, peakRssMB, type BenchRow } from './table.js';

/**
 * The anchor workload of unet-anchor.json: the benchmark U-Net (widths 16…256, max-pool, transposed
 * conv with bias, BN, no conv bias), batch 8, float32, the JSON's deterministic data, soft Dice loss on
 * sigmoid(logits), Adam lr 1e-4.
 *   train step: forward + loss + backward + Adam update (+ BN running statistics), images/s = 8 / median.
 *   inference:  eval mode (running statistics), forward + sigmoid under noGrad, images/s = 8 / median.
 * The first iteration (kernels compiled, caches cold) is timed apart: `firstStepMs`, and in the note.
 *
 * Each (size, workload) runs in a fresh child process, so each row's peak RSS is that workload's own
 * (as for the PyTorch rows). Then, when `/usr/bin/python3` (or `python3`) imports torch, the same model
 * in PyTorch (bench/peers/pytorch_unet.py, CPU, 2 threads) is timed and its rows added, with the ratio
 * segrad/PyTorch of images/s and of peak RSS on each segrad row.
 *
 * Options: --size 64|128 (default both), --workload train|inference (default both),
 *   --backend cpu|gpu[:mode] (default cpu), --reps N (default 7), --warmup N (untimed steps after the first,
 *   default 3; PyTorch gets the same), --profile (after the timing, print the per-op profile of one train
 *   step and of one inference call), --no-peer (skip PyTorch), --peer-device cpu|cuda (where PyTorch runs;
 *   bench/gpu.sh passes cuda: eager PyTorch on the same card), --in-process (no child processes:
 *   peak RSS is then cumulative over the rows), --json FILE (bench/run.ts writes the rows).
 */
const BATCH = 8;
/** Convolution FLOPs per image, from unet-anchor.json (train = forward, input grad, weight grad). */
const FLOPS: Record<number, { forward: number; train: number }> = {
  64: { forward: 376700928, train: 1128923136 },
  128: { forward: 1506803712, train: 4515692544 },
};
type Workload = 'train' | 'inference';

function anchorBatch(size: number): { x: Tensor; t: Tensor } {
  const x = new Float32Array(BATCH * size * size);
  const t = new Float32Array(x.length);
  for (let n = 0; n < BATCH; n++)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const k = (n * size + i) * size + j;
        x[k] = 0.5 + 0.5 * Math.sin(0.3 * i + 0.7 * n) * Math.cos(0.2 * j - 0.5 * n);
        t[k] = x[k] > 0.5 ? 1 : 0;
      }
  return { x: tensor(x, [BATCH, 1, size, size]), t: tensor(t, [BATCH, 1, size, size]) };
}

/** Soft Dice over the whole batch, smooth 1: 1 − (2Σpt + 1)/(Σp + Σt + 1), p = σ(logits). */
function diceLoss(logits: Tensor, t: Tensor): Tensor {
  const p = logits.sigmoid();
  return p.mul(t).sum().mul(2).add(1).div(p.sum().add(t.sum()).add(1)).neg().add(1);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Options {
  sizes: number[];
  workloads: Workload[];
  backendArg: string;
  reps: number;
  warmup: number;
  profile: boolean;
  /** Where the PyTorch peer runs: `cpu` (2 threads) or a torch device such as `cuda` (bench/gpu.sh). */
  peerDevice: string;
}

function parse(args: string[]): Options {
  const size = option(args, '--size');
  const workload = option(args, '--workload');
  if (size !== undefined && !(Number(size) in FLOPS)) throw new Error(`bench unet: --size must be 64 or 128, got '${size}'`);
  if (workload !== undefined && workload !== 'train' && workload !== 'inference') throw new Error(`bench unet: --workload must be train or inference, got '${workload}'`);
  return {
    sizes: size ? [Number(size)] : [64, 128],
    workloads: workload ? [workload] : ['train', 'inference'],
    backendArg: option(args, '--backend') ?? 'cpu',
    reps: Number(option(args, '--reps') ?? 7),
    warmup: Number(option(args, '--warmup') ?? 3),
    profile: args.includes('--profile'),
    peerDevice: option(args, '--peer-device') ?? 'cpu',
  };
}

/** Times `fn` once cold, runs it `warmup` times untimed, then times it `reps` times; returns the cold time and the median, in ms. */
async function timeFirstAndMedian(fn: () => Promise<unknown>, reps: number, warmup: number): Promise<{ first: number; ms: number }> {
  let t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  // the next few steps still run partly unoptimized JS and fill the buffer pool
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { first, ms: median(times) };
}

/** Runs the workloads here, in this process (peak RSS accumulates over the rows). */
async function runHere(o: Options, profileOut?: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  try {
    await useBackend(o.backendArg);
  } catch (e) {
    return [{ workload: 'unet train', backend: o.backendArg, ms: NaN, peakRssMB: peakRssMB(), note: `unavailable: ${(e as Error).message}` }];
  }
  const info = backendInfo();
  const name = `${info.backend}:${info.mode}`;
  let profiles = '';
  /** Runs `fn` once with per-op profiling and prints (or, in a child, writes) the table. */
  const profileOnce = async (what: string, fn: () => Promise<void>): Promise<void> => {
    enableProfiling(true);
    resetProfile();
    const t0 = performance.now();
    await fn();
    const wall = performance.now() - t0;
    enableProfiling(false);
    const how = info.synchronous
      ? 'synchronous backend: each time is the kernel\'s wall time; the rest is JS outside the primitives: autograd, optimizer bookkeeping, GC'
      : 'asynchronous backend: kernel times are dispatch only; the device time is paid in read';
    const text = `Profile of ${what}, ${name}, wall time ${wall.toFixed(0)} ms (${how}).\n\n${formatProfile()}\n`;
    resetProfile();
    if (profileOut) writeFileSync(profileOut, (profiles += text + '\n'));
    else console.log(text);
  };
  for (const size of o.sizes) {
    const model = new UNet({ widths: [16, 32, 64, 128, 256], down: 'maxpool', up: 'transpose', convBias: false, dropout: 0, seed: 1 });
    const opt = new Adam(model.namedParameters(), { lr: 1e-4 });
    const { x, t } = anchorBatch(size);
    let lastLoss = NaN;
    const trainStep = async (): Promise<void> => {
      const loss = tidy(() => {
        const l = diceLoss(model.forward(x), t);
        l.backward();
        return l;
      });
      opt.step();
      opt.zeroGrad();
      lastLoss = (await loss.data())[0];
      loss.dispose();
    };
    if (o.workloads.includes('train')) {
      const { first, ms } = await timeFirstAndMedian(trainStep, o.reps, o.warmup);
      const note = `first step ${first.toFixed(0)} ms, loss ${lastLoss.toFixed(4)}`;
      rows.push({ workload: 'unet train', size, backend: name, ms, imagesPerSecond: (BATCH * 1000) / ms, gflops: (FLOPS[size].train * BATCH) / (ms * 1e6), peakRssMB: peakRssMB(), firstStepMs: first, note });
      if (o.profile) await profileOnce(`one train step, ${size}²`, trainStep);
    }
    if (o.workloads.includes('inference')) {
      model.eval();
      const infer = async (): Promise<void> => {
        const p = noGrad(() => tidy(() => model.forward(x).sigmoid()));
        await p.data();
        p.dispose();
      };
      const { first, ms } = await timeFirstAndMedian(infer, o.reps, o.warmup);
      rows.push({ workload: 'unet inference', size, backend: name, ms, imagesPerSecond: (BATCH * 1000) / ms, gflops: (FLOPS[size].forward * BATCH) / (ms * 1e6), peakRssMB: peakRssMB(), firstStepMs: first, note: `first call ${first.toFixed(0)} ms` });
      if (o.profile) await profileOnce(`one inference call, ${size}²`, infer);
    }
    for (const v of [x, t, ...model.parameters(), ...model.namedBuffers().map(([, b]) => b)]) v.dispose();
    opt.dispose();
  }
  setBackend('cpu');
  return rows;
}

/** Runs one (size, workload) in a fresh Node process (this same bench bundle) and returns its rows. */
function runChild(o: Options, size: number, workload: Workload, dir: string, bundle: string): BenchRow[] {
  const json = join(dir, `${workload}-${size}.json`);
  const profileOut = join(dir, `${workload}-${size}.profile.md`);
  const args = [bundle, 'unet', '--in-process', '--size', String(size), '--workload', workload, '--backend', o.backendArg, '--reps', String(o.reps), '--warmup', String(o.warmup), '--json', json];
  if (o.profile) args.push('--profile', '--profile-out', profileOut);
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
    for (const workload of o.workloads) {
      const r = spawnSync(py, [script, '--size', String(size), '--workload', workload, '--reps', String(o.reps), '--warmup', String(o.warmup), '--device', o.peerDevice], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 });
      const line = r.status === 0 ? r.stdout.trim().split('\n').pop() : undefined;
      rows.push(line ? (JSON.parse(line) as BenchRow) : { workload: `unet ${workload}`, size, backend: `pytorch ${o.peerDevice}`, ms: NaN, peakRssMB: NaN, note: `failed: exit ${r.status}` });
    }
  return rows;
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
  if (args.includes('--no-peer')) return rows;
  const peer = runPeer(o);
  if (typeof peer === 'string') {
    console.log(peer);
    return rows;
  }
  for (const r of rows) {
    const p = peer.find((q) => q.workload === r.workload && q.size === r.size);
    if (!p || !r.imagesPerSecond || !p.imagesPerSecond) continue;
    r.speedVsPeer = r.imagesPerSecond / p.imagesPerSecond;
    r.rssVsPeer = r.peakRssMB / p.peakRssMB;
  }
  const train128 = rows.find((r) => r.workload === 'unet train' && r.size === 128 && r.speedVsPeer !== undefined);
  if (train128) console.log(`segrad / PyTorch (${o.peerDevice}), 128² train step: ${train128.speedVsPeer!.toFixed(2)}× the images/s, ${train128.rssVsPeer!.toFixed(2)}× the peak RSS`);
  return [...rows, ...peer];
}
