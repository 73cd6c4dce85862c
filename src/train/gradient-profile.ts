/**
 * How hard each loss pushes the logits as a prediction approaches its mask: the gradient profile behind
 * "ALL multiplies the gradient near the optimum" and "Dice and BCE behave differently as the foreground
 * shrinks", measured with the library's own losses and autograd rather than described.
 */
import { synthetic } from '../data/synthetic.js';
import { dice, lossByName, type Loss } from '../losses/index.js';
import { Rng, tensor, tidy } from '../tensor/index.js';
import { toLossInput } from './outputs.js';

export interface GradientProfileOptions {
  /** Losses by name (`lossByName`, default options) or as built; default ['dice', 'all', 'bce']. */
  losses?: readonly (string | Loss)[];
  /** Foreground fractions of the synthetic masks (default [0.02, 0.2]). */
  foregrounds?: readonly number[];
  /** Side of the square mask (default 64). */
  size?: number;
  /** The logit margins m walked, from the first to the last (default −2 to 10). */
  margins?: readonly [number, number];
  /** Points along the walk (default 101). */
  points?: number;
  /** σ of the per-pixel noise on the margin (default 1), so pixels are not all equally sure. */
  noise?: number;
  /** Seed of the masks (synthetic blobs) and the noise (default 0). */
  seed?: number;
}

/** One loss at one point of the walk. */
export interface GradientPoint {
  loss: string;
  /** The mask's actual foreground fraction. */
  foreground: number;
  /** The margin m: every logit is (2y − 1)·(m + σ·n). */
  margin: number;
  /** The prediction's Dice loss (batch, smooth 1): the x of the paper's Figure 1, ALL's base by default. */
  diceLoss: number;
  /** The loss's value. */
  value: number;
  /** ‖∂L/∂z‖₂ over every pixel, and over the foreground and the background pixels alone. */
  grad: number;
  gradForeground: number;
  gradBackground: number;
}

/**
 * Walks a prediction from wrong to confident and right on a synthetic mask for each foreground fraction,
 * and records each loss's value and the norm of its gradient with respect to the logits, in float64 on
 * the current backend. The logits are z = (2y − 1)·(m + σ·n), n ~ N(0, 1) drawn once per mask.
 * @example gradientProfile({ losses: ['dice', 'all'], foregrounds: [0.02] }).filter((p) => p.diceLoss < 0.1)
 */
export function gradientProfile(opts: GradientProfileOptions = {}): GradientPoint[] {
  const size = opts.size ?? 64;
  const points = opts.points ?? 101;
  const [from, to] = opts.margins ?? [-2, 10];
  const noise = opts.noise ?? 1;
  const seed = opts.seed ?? 0;
  const foregrounds = opts.foregrounds ?? [0.02, 0.2];
  if (!(Number.isInteger(size) && size >= 4)) throw new Error(`gradientProfile: size must be an integer ≥ 4, got ${size}`);
  if (!(Number.isInteger(points) && points >= 2)) throw new Error(`gradientProfile: points must be an integer ≥ 2, got ${points}`);
  if (!(Number.isFinite(from) && Number.isFinite(to) && from < to)) throw new Error(`gradientProfile: margins must be two numbers, the first smaller, got [${from}, ${to}]`);
  if (!(noise >= 0)) throw new Error(`gradientProfile: noise must be ≥ 0, got ${noise}`);
  const losses = (opts.losses ?? ['dice', 'all', 'bce']).map((l) => (typeof l === 'string' ? lossByName(l) : l));
  const diceLoss = dice();
  const out: GradientPoint[] = [];
  for (const f of foregrounds) {
    if (!(f > 0 && f < 1)) throw new Error(`gradientProfile: foreground fractions must lie in (0, 1), got ${f}`);
    const y = synthetic({ kind: 'blobs', count: 1, size, foreground: f, seed }).getSync(0).mask;
    const rng = new Rng(seed);
    const n = Float64Array.from(y, () => rng.normal());
    const foreground = y.reduce((a, v) => a + v, 0) / y.length;
    for (let i = 0; i < points; i++) {
      const margin = from + ((to - from) * i) / (points - 1);
      const z = Float64Array.from(y, (v, q) => (2 * v - 1) * (margin + noise * n[q]));
      const x = tidy(() => {
        const logits = tensor(z, [1, 1, size, size], { dtype: 'float64' });
        return diceLoss(toLossInput(logits, 'probabilities'), tensor(y, [1, 1, size, size], { dtype: 'float64' })).item();
      });
      for (const loss of losses) out.push({ loss: loss.lossName, foreground, margin, diceLoss: x, ...valueAndNorms(loss, z, y, size) });
    }
  }
  return out;
}

function valueAndNorms(loss: Loss, z: Float64Array, y: ArrayLike<number>, size: number): Pick<GradientPoint, 'value' | 'grad' | 'gradForeground' | 'gradBackground'> {
  return tidy(() => {
    const logits = tensor(z, [1, 1, size, size], { dtype: 'float64', requiresGrad: true });
    const value = loss(toLossInput(logits, loss.takes), tensor(Float64Array.from(y), [1, 1, size, size], { dtype: 'float64' }));
    value.backward();
    const g = logits.grad!.dataSync();
    let [all, fg, bg] = [0, 0, 0];
    for (let q = 0; q < g.length; q++) {
      all += g[q] * g[q];
      if (y[q] > 0.5) fg += g[q] * g[q];
      else bg += g[q] * g[q];
    }
    return { value: value.item(), grad: Math.sqrt(all), gradForeground: Math.sqrt(fg), gradBackground: Math.sqrt(bg) };
  });
}

/**
 * The gradient norm of one walk (one loss, one mask, in order) where its Dice loss passes `x`,
 * interpolated linearly between the two steps around it; NaN where the walk does not reach it.
 * @example gradientNormAt(profile.filter((p) => p.loss === 'all' && p.foreground < 0.1), 0.05)
 */
export function gradientNormAt(walk: readonly GradientPoint[], x: number): number {
  for (let i = 0; i + 1 < walk.length; i++) {
    const [a, b] = [walk[i], walk[i + 1]];
    if ((a.diceLoss - x) * (b.diceLoss - x) <= 0 && a.diceLoss !== b.diceLoss) return a.grad + ((b.grad - a.grad) * (x - a.diceLoss)) / (b.diceLoss - a.diceLoss);
  }
  return NaN;
}
