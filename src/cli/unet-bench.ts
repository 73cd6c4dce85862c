import { backendInfo, enableProfiling, formatProfile, noGrad, profileReport, resetProfile, tensor, tidy, type ProfileTable, type Tensor } from '../index.js';
import { synthetic } from '../data/index.js';
import { all, type Loss } from '../losses/index.js';
import { Adam } from '../nn/index.js';
import { UNet } from '../nn/models/index.js';
import { median, peakRssMB, type BenchRow } from './bench-table.js';
import { fit, toLossInput } from '../train/index.js';

/**
 * The anchor workload of unet-anchor.json (test/fixtures/ in the repository), timed by `segrad bench`
 * and `npm run bench -- unet`: the benchmark U-Net (widths 16…256, max-pool, transposed conv with bias, BN, no conv bias), float32,
 * the JSON's deterministic data, soft Dice loss on sigmoid(logits), Adam lr 1e-4.
 *   train step: forward + loss + backward + Adam update (+ BN running statistics), images/s = batch / median.
 *   inference:  eval mode (running statistics), forward + sigmoid under noGrad, images/s = batch / median.
 * The first iteration (kernels compiled, caches cold) is timed apart (`firstStepMs`).
 */

/** The anchor's batch. */
export const ANCHOR_BATCH = 8;

/**
 * Convolution FLOPs per image at `size`² (a multiple of 16): forward, and a train step's (forward, input
 * and weight gradients, less the first layer's unneeded input gradient). unet-anchor.json gives them at
 * 64²; every layer's count grows with its pixels, so they scale with size².
 */
export function anchorFlops(size: number): { forward: number; train: number } {
  const scale = (size / 64) ** 2;
  return { forward: 376700928 * scale, train: 1128923136 * scale };
}

/**
 * 'train': the bare step (forward, loss, backward, Adam, the loss read back); 'inference'; 'fit': the
 * trainer's own step, `train.fit` on synthetic blobs with ALL over Dice (a batch loaded, gradient norms
 * recorded, loss, base loss and norms read back, Adam), which `segrad train` runs.
 */
export type UnetWorkload = 'train' | 'inference' | 'fit';

export interface UnetBenchOptions {
  sizes: readonly number[];
  batch?: number;
  workloads: readonly UnetWorkload[];
  /** Timed iterations (the median is reported). */
  reps: number;
  /** Untimed iterations after the first. */
  warmup: number;
  /** Called with each iteration's time: progress for long runs. */
  onStep?: (what: string, step: number, steps: number, ms: number) => void;
  /** The train step's loss in place of the anchor's soft Dice, given the logits as it takes them (sigmoid for 'probabilities'). */
  loss?: Loss;
  /** Where given, one more iteration of each workload runs with per-op profiling, and its table goes here. */
  onProfile?: (text: string) => void;
}

/** The anchor's input and target for `batch` images of `size`²: x = ½ + ½·sin(0.3i + 0.7n)·cos(0.2j − 0.5n), t = [x > ½]. */
export function anchorBatch(size: number, batch = ANCHOR_BATCH): { x: Tensor; t: Tensor } {
  const x = new Float32Array(batch * size * size);
  const t = new Float32Array(x.length);
  for (let n = 0; n < batch; n++)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const k = (n * size + i) * size + j;
        x[k] = 0.5 + 0.5 * Math.sin(0.3 * i + 0.7 * n) * Math.cos(0.2 * j - 0.5 * n);
        t[k] = x[k] > 0.5 ? 1 : 0;
      }
  return { x: tensor(x, [batch, 1, size, size]), t: tensor(t, [batch, 1, size, size]) };
}

/** The anchor U-Net (unet-anchor.json: 1,942,289 parameters), seeded. */
const anchorModel = (): UNet => new UNet({ widths: [16, 32, 64, 128, 256], down: 'maxpool', up: 'transpose', convBias: false, dropout: 0, seed: 1 });

/** Frees a model's parameters and buffers. */
function freeModel(model: UNet): void {
  for (const v of [...model.parameters(), ...model.namedBuffers().map(([, b]) => b)]) v.dispose();
}

/** The anchor's loss, soft Dice over the whole batch with smooth 1: 1 − (2Σpt + 1)/(Σp + Σt + 1), p = σ(logits). */
export function anchorDiceLoss(logits: Tensor, t: Tensor): Tensor {
  const p = logits.sigmoid();
  return p.mul(t).sum().mul(2).add(1).div(p.sum().add(t.sum()).add(1)).neg().add(1);
}

/** Calls and milliseconds of one profile table (profile.ts). */
function total(table: ProfileTable): { calls: number; ms: number } {
  return profileReport(table).reduce((t, r) => ({ calls: t.calls + r.calls, ms: t.ms + r.totalMs }), { calls: 0, ms: 0 });
}

/**
 * What bounds a step on an asynchronous device: the device's busy time (its kernel calls, each timed
 * alone) as a share of the step's wall time, beside the JS thread's time encoding and submitting them.
 */
export function boundLine(what: string, wallMs: number, deviceMs: number, host: { calls: number; ms: number }): string {
  const share = (100 * deviceMs) / wallMs;
  const verdict = share >= 80 ? 'the device is the bound' : share >= 50 ? 'device and host both count' : 'the host is the bound (JS, encoding, submission, waits)';
  const over = share > 100 ? ', more than the step: alone, calls lose the overlap they have in it' : '';
  return `What bounds ${what}: the device was busy ${deviceMs.toFixed(1)} ms of its ${wallMs.toFixed(1)} ms (${share.toFixed(0)} %; each kernel call timed alone${over}), the JS thread spent ${host.ms.toFixed(1)} ms encoding and submitting its ${host.calls} kernel calls: ${verdict}.`;
}

/** Times the anchor U-Net's workloads on the current backend; one row per (size, workload). */
export async function runUnetBench(o: UnetBenchOptions): Promise<BenchRow[]> {
  const batch = o.batch ?? ANCHOR_BATCH;
  const info = backendInfo();
  const name = `${info.backend}:${info.mode}`;
  const rows: BenchRow[] = [];
  /** Times `fn` once cold, runs it `warmup` times untimed, then times it `reps` times; the cold time and the median, in ms. */
  const timeFirstAndMedian = async (what: string, fn: () => Promise<unknown>): Promise<{ first: number; ms: number }> => {
    const steps = 1 + o.warmup + o.reps;
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      o.onStep?.(what, i + 1, steps, ms);
      times.push(ms);
    }
    // the steps after the first still run partly unoptimized JS and fill the buffer pool: untimed
    return { first: times[0], ms: median(times.slice(1 + o.warmup)) };
  };
  /** Runs `fn` once profiled; resolves with its wall time (ms). */
  const profiled = async (fn: () => Promise<void>, deviceTime: boolean): Promise<number> => {
    enableProfiling(true, { deviceTime });
    resetProfile();
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      enableProfiling(false);
    }
    return performance.now() - t0;
  };
  const profileOnce = async (what: string, fn: () => Promise<void>): Promise<void> => {
    if (!o.onProfile) return;
    const wall = await profiled(fn, false);
    const how = info.synchronous
      ? "synchronous backend: each time is the kernel's wall time; the rest is JS outside the primitives: autograd, optimizer bookkeeping, GC"
      : 'asynchronous backend: kernel times are dispatch only; the device time is paid in read';
    o.onProfile(`Profile of ${what}, ${name}, wall time ${wall.toFixed(0)} ms (${how}).\n\n${formatProfile()}\n`);
    if (!info.synchronous) {
      const host = total('queued');
      // once more with each kernel call alone on the device: where the device's time goes
      const slow = await profiled(fn, true);
      o.onProfile(`Device time of ${what}, ${name} (wall time ${slow.toFixed(0)} ms with every call waited for).\n\n${formatProfile(undefined, ['device'])}\n`);
      o.onProfile(boundLine(what, wall, total('device').ms, host) + '\n');
    }
    resetProfile();
  };
  for (const size of o.sizes) {
    if (o.workloads.includes('train') || o.workloads.includes('inference')) await stepRows(size);
    if (o.workloads.includes('fit')) rows.push(await fitRow(size));
  }
  return rows;

  /** The bare train step's and inference's rows at `size` (those asked for). */
  async function stepRows(size: number): Promise<void> {
    const flops = anchorFlops(size);
    const model = anchorModel();
    const opt = new Adam(model.namedParameters(), { lr: 1e-4 });
    const { x, t } = anchorBatch(size, batch);
    try {
      let lastLoss = NaN;
      const custom = o.loss;
      const lossOf = custom ? (logits: Tensor): Tensor => custom(toLossInput(logits, custom.takes), t) : (logits: Tensor): Tensor => anchorDiceLoss(logits, t);
      const trainStep = async (): Promise<void> => {
        const loss = tidy(() => {
          const l = lossOf(model.forward(x));
          l.backward();
          return l;
        });
        opt.step();
        opt.zeroGrad();
        lastLoss = (await loss.data())[0];
        loss.dispose();
      };
      if (o.workloads.includes('train')) {
        const { first, ms } = await timeFirstAndMedian(`train ${size}²`, trainStep);
        const note = `first step ${first.toFixed(0)} ms, ${o.loss ? `${o.loss.lossName} ` : ''}loss ${lastLoss.toFixed(4)}`;
        rows.push({ workload: 'unet train', size, backend: name, ms, imagesPerSecond: (batch * 1000) / ms, gflops: (flops.train * batch) / (ms * 1e6), peakRssMB: peakRssMB(), firstStepMs: first, note });
        await profileOnce(`one train step, ${size}²`, trainStep);
      }
      if (o.workloads.includes('inference')) {
        model.eval();
        const infer = async (): Promise<void> => {
          const p = noGrad(() => tidy(() => model.forward(x).sigmoid()));
          await p.data();
          p.dispose();
        };
        const { first, ms } = await timeFirstAndMedian(`inference ${size}²`, infer);
        rows.push({ workload: 'unet inference', size, backend: name, ms, imagesPerSecond: (batch * 1000) / ms, gflops: (flops.forward * batch) / (ms * 1e6), peakRssMB: peakRssMB(), firstStepMs: first, note: `first call ${first.toFixed(0)} ms` });
        await profileOnce(`one inference call, ${size}²`, infer);
      }
    } finally {
      x.dispose();
      t.dispose();
      freeModel(model);
      opt.dispose();
    }
  }

  /** One epoch of `fit` over 1 + warmup + reps batches; its steps timed between the trainer's onStep calls. */
  async function fitRow(size: number): Promise<BenchRow> {
    const what = `fit ${size}²`;
    const steps = 1 + o.warmup + o.reps;
    const fitModel = anchorModel();
    const data = synthetic({ kind: 'blobs', count: steps * batch, size, seed: 1 });
    const times: number[] = [];
    let lastLoss = NaN;
    let t0 = performance.now();
    try {
      await fit(fitModel, all(), data, {
        epochs: 1,
        batchSize: batch,
        lr: 1e-4,
        seed: 1,
        onStep: (s) => {
          const now = performance.now();
          times.push(now - t0);
          o.onStep?.(what, times.length, steps, now - t0);
          lastLoss = s.loss;
          t0 = now;
        },
      });
    } finally {
      freeModel(fitModel);
    }
    const ms = median(times.slice(1 + o.warmup));
    const note = `first step ${times[0].toFixed(0)} ms, ALL loss ${lastLoss.toFixed(4)}, gradient norms every step`;
    return { workload: 'unet fit', size, backend: name, ms, imagesPerSecond: (batch * 1000) / ms, gflops: (anchorFlops(size).train * batch) / (ms * 1e6), peakRssMB: peakRssMB(), firstStepMs: times[0], note };
  }
}
