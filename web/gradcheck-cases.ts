import {
  backendInfo, conv2d, gradcheck, losses, matmul, maxPool2d, mul, nn, randn, setBackend, sigmoid, softmax, sum, tensor, tidy, valueAndGrad,
  type GradcheckReport, type Tensor,
} from './lib.js';

/** One entry of the gradcheck panel: a scalar function of float64 inputs, and where its gradient lives. */
export interface GradcheckCase {
  id: string;
  label: string;
  /** The file with the forward and backward rule, relative to the repository root. */
  source: string;
  /** Fresh float64 inputs (on the cpu backend) and the scalar function to check. */
  make(): { inputs: Tensor[]; f: (...xs: Tensor[]) => Tensor };
}

const f64 = { dtype: 'float64' as const };
/** Σ op(x)·r with a fixed random r: a scalar whose gradient exercises every output element. */
const weighted = (y: Tensor, seed: number): Tensor => sum(mul(y, randn(y.shape, { seed, ...f64 })));

/** A mask that mostly agrees with sigmoid(z), so the Dice loss is small: x < δ, ALL's log branch. */
function nearlyRight(seed: number, scale: number): { z: Tensor; g: Tensor } {
  const z0 = randn([1, 1, 4, 4], { seed, ...f64 }).dataSync();
  const g = Float64Array.from(z0, (v) => (v > 0 ? 1 : 0));
  const z = Float64Array.from(z0, (v) => (v > 0 ? scale : -scale) + 0.3 * v);
  return { z: tensor(z, [1, 1, 4, 4], f64), g: tensor(g, [1, 1, 4, 4], f64) };
}

export const GRADCHECK_CASES: readonly GradcheckCase[] = [
  { id: 'sigmoid', label: 'sigmoid', source: 'src/autograd/ops/elementwise.ts', make: () => ({ inputs: [randn([2, 3], { seed: 1, ...f64 })], f: (x) => weighted(sigmoid(x), 9) }) },
  { id: 'softmax', label: 'softmax (last axis)', source: 'src/autograd/ops/composite.ts', make: () => ({ inputs: [randn([2, 4], { seed: 2, ...f64 })], f: (x) => weighted(softmax(x, -1), 9) }) },
  { id: 'matmul', label: 'matmul [2,3]·[3,2]', source: 'src/autograd/ops/matmul.ts', make: () => ({ inputs: [randn([2, 3], { seed: 3, ...f64 }), randn([3, 2], { seed: 4, ...f64 })], f: (a, b) => weighted(matmul(a, b), 9) }) },
  {
    id: 'conv2d', label: 'conv2d 3×3, padding 1', source: 'src/autograd/ops/image.ts',
    make: () => ({ inputs: [randn([1, 2, 5, 5], { seed: 5, ...f64 }), randn([2, 2, 3, 3], { seed: 6, ...f64 })], f: (x, w) => weighted(conv2d(x, w, { padding: 1 }), 9) }),
  },
  { id: 'maxPool2d', label: 'maxPool2d 2×2', source: 'src/autograd/ops/image.ts', make: () => ({ inputs: [randn([1, 2, 4, 4], { seed: 7, ...f64 })], f: (x) => weighted(maxPool2d(x, { kernel: 2 }), 9) }) },
  {
    id: 'batchnorm', label: 'BatchNorm2d (training mode)', source: 'src/nn/layers/batchnorm.ts',
    make: () => {
      const bn = new nn.BatchNorm2d(2, { dtype: 'float64' });
      return { inputs: [randn([2, 2, 3, 3], { seed: 8, ...f64 })], f: (x) => weighted(bn.forward(x), 9) };
    },
  },
  {
    id: 'dice', label: 'Dice loss of sigmoid(z)', source: 'src/losses/region.ts',
    make: () => {
      const loss = losses.dice();
      const g = tensor(Float64Array.from(randn([16], { seed: 10, ...f64 }).dataSync(), (v) => (v > 0 ? 1 : 0)), [1, 1, 4, 4], f64);
      return { inputs: [randn([1, 1, 4, 4], { seed: 11, ...f64 })], f: (z) => loss(sigmoid(z), g) };
    },
  },
  {
    id: 'all-log', label: 'ALL of Dice, x < δ (log branch)', source: 'src/losses/adaptive-log.ts',
    make: () => {
      const loss = losses.all({ omega: 10, epsilon: 0.5, delta: 0.1 });
      const { z, g } = nearlyRight(12, 3);
      return { inputs: [z], f: (x) => loss(sigmoid(x), g) };
    },
  },
  {
    id: 'all-linear', label: 'ALL of Dice, x ≥ δ (linear branch)', source: 'src/losses/adaptive-log.ts',
    make: () => {
      const loss = losses.all({ omega: 10, epsilon: 0.5, delta: 0.1 });
      const g = tensor(Float64Array.from(randn([16], { seed: 13, ...f64 }).dataSync(), (v) => (v > 0 ? 1 : 0)), [1, 1, 4, 4], f64);
      return { inputs: [randn([1, 1, 4, 4], { seed: 14, ...f64 })], f: (z) => loss(sigmoid(z), g) };
    },
  },
];

export interface GradcheckResult {
  report: GradcheckReport;
  /** The first elements of the first input: analytic and central-difference gradients. */
  rows: { index: number; analytic: number; numeric: number }[];
  /** For the ALL cases: the Dice loss x at the input, to show which branch was checked. */
  base?: number;
  seconds: number;
}

/**
 * Runs `gradcheck` (float64, central differences) on the cpu backend, whatever backend trains, and
 * switches back. Synchronous, so no training step can run on the wrong backend in between.
 */
export function runGradcheck(c: GradcheckCase, maxRows = 12): GradcheckResult {
  const before = backendInfo();
  const t0 = performance.now();
  setBackend('cpu');
  try {
    return tidy(() => {
      const { inputs, f } = c.make();
      const report = gradcheck(f, inputs, { noThrow: true, mode: 'elementwise' });
      const { grads } = valueAndGrad(f)(...inputs);
      const analytic = grads[0].dataSync();
      const x = Float64Array.from(inputs[0].dataSync());
      const eps = 1e-6;
      const at = (v: Float64Array): number => f(tensor(v, inputs[0].shape, f64), ...inputs.slice(1)).item();
      const rows: GradcheckResult['rows'] = [];
      for (let i = 0; i < Math.min(maxRows, x.length); i++) {
        const old = x[i];
        x[i] = old + eps;
        const up = at(x);
        x[i] = old - eps;
        const down = at(x);
        x[i] = old;
        rows.push({ index: i, analytic: analytic[i], numeric: (up - down) / (2 * eps) });
      }
      let base: number | undefined;
      if (c.id.startsWith('all')) {
        const loss = losses.all();
        // the base value: invert ALL (monotonic, continuous) at the input
        const v = f(...inputs).item();
        const { omega, epsilon, delta, C } = losses.adaptiveLogParams(loss.options);
        base = v < losses.adaptiveLogValue(delta, { omega, epsilon, delta }) ? epsilon * Math.expm1(v / omega) : v + C;
      }
      return { report, rows, base, seconds: (performance.now() - t0) / 1000 };
    });
  } finally {
    if (before.backend === 'gpu') setBackend('gpu', { mode: before.mode });
    else setBackend('cpu');
  }
}
