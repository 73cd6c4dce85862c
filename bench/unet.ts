import { backendInfo, noGrad, setBackend, tensor, tidy, type Tensor } from '../src/index.js';
import { Adam } from '../src/nn/index.js';
import { UNet } from '../src/nn/models/index.js';
import { peakRssMB, timeIt, type BenchRow } from './table.js';

/**
 * The anchor workload of unet-anchor.json: the benchmark U-Net (widths 16…256, max-pool, transposed
 * conv with bias, BN, no conv bias), batch 8, float32, the JSON's deterministic data, soft Dice loss on
 * sigmoid(logits), Adam lr 1e-4.
 *   train step: forward + loss + backward + Adam update (+ BN running statistics), images/s = 8 / median.
 *   inference:  eval mode (running statistics), forward + sigmoid under noGrad, images/s = 8 / median.
 * Options: --size 64|128 (default both), --backend cpu|gpu[:mode] (default cpu), --reps N (default 5).
 */
const BATCH = 8;

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

export async function run(args: string[]): Promise<BenchRow[]> {
  const sizes = option(args, '--size') ? [Number(option(args, '--size'))] : [64, 128];
  const reps = Number(option(args, '--reps') ?? 5);
  const [backend, mode] = (option(args, '--backend') ?? 'cpu').split(':') as ['cpu' | 'gpu', string | undefined];
  const rows: BenchRow[] = [];
  try {
    setBackend(backend, mode ? { mode } : {});
  } catch (e) {
    return [{ workload: 'unet train', backend: option(args, '--backend') ?? 'cpu', ms: NaN, peakRssMB: peakRssMB(), note: `unavailable: ${(e as Error).message}` }];
  }
  const info = backendInfo();
  const name = `${info.backend}:${info.mode}`;
  for (const size of sizes) {
    const model = new UNet({ widths: [16, 32, 64, 128, 256], down: 'maxpool', up: 'transpose', convBias: false, dropout: 0, seed: 1 });
    const opt = new Adam(model.namedParameters(), { lr: 1e-4 });
    const { x, t } = anchorBatch(size);
    let lastLoss = NaN;
    const trainMs = await timeIt(async () => {
      const loss = tidy(() => {
        const l = diceLoss(model.forward(x), t);
        l.backward();
        return l;
      });
      opt.step();
      opt.zeroGrad();
      lastLoss = (await loss.data())[0];
      loss.dispose();
    }, reps);
    rows.push({ workload: 'unet train', size, backend: name, ms: trainMs, imagesPerSecond: (BATCH * 1000) / trainMs, peakRssMB: peakRssMB(), note: `loss ${lastLoss.toFixed(4)}` });
    model.eval();
    const inferMs = await timeIt(async () => {
      const p = noGrad(() => tidy(() => model.forward(x).sigmoid()));
      await p.data();
      p.dispose();
    }, reps);
    rows.push({ workload: 'unet inference', size, backend: name, ms: inferMs, imagesPerSecond: (BATCH * 1000) / inferMs, peakRssMB: peakRssMB() });
    for (const v of [x, t, ...model.parameters(), ...model.namedBuffers().map(([, b]) => b)]) v.dispose();
    opt.dispose();
  }
  setBackend('cpu');
  return rows;
}
