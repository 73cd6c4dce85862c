import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { getBackend, mul, setBackend, sum, tensor, type Tensor } from '../../src/index.js';
import { gradNorms, layerGroup } from '../../src/train/index.js';

/**
 * Parameters named as a model names them, each given the gradient `grads[i]` by backpropagating
 * Σ p·g; the last parameter takes no part, so it has no gradient.
 */
function withGradients(grads: number[][], dtype: 'float32' | 'float64'): [string, Tensor][] {
  const names = ['enc0.conv1.weight', 'enc0.bn1.bias', 'dec1.up.weight', 'head.weight'];
  const params = grads.map((g) => tensor(g.map(() => 0.5), [g.length], { dtype, requiresGrad: true }));
  const loss = params.map((p, i) => sum(mul(p, tensor(grads[i], [grads[i].length], { dtype })))).reduce((a, b) => a.add(b));
  loss.backward();
  const idle = tensor([1, 2], [2], { dtype, requiresGrad: true });
  return [...params.map((p, i): [string, Tensor] => [names[i], p]), ['head.bias', idle]];
}

/** The norms worked out in float64 from the gradients themselves. */
function expected(grads: number[][]): { global: number; groups: Record<string, number> } {
  const names = ['enc0', 'enc0', 'dec1', 'head'];
  const squares: Record<string, number> = {};
  grads.forEach((g, i) => (squares[names[i]] = (squares[names[i]] ?? 0) + g.reduce((a, v) => a + v * v, 0)));
  const total = Object.values(squares).reduce((a, b) => a + b, 0);
  return { global: Math.sqrt(total), groups: Object.fromEntries(Object.entries(squares).map(([k, v]) => [k, Math.sqrt(v)])) };
}

const gradsArb = fc.tuple(...[3, 5, 2, 4].map((n) => fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n })));

describe('gradNorms', () => {
  afterAll(() => void setBackend('cpu'));

  it('groups parameters by the name before the first dot', () => {
    expect(layerGroup('enc0.conv1.weight')).toBe('enc0');
    expect(layerGroup('head')).toBe('head');
  });

  it('gives the global and per-group L2 norms of the gradients, skipping parameters without one (cpu, float64)', async () => {
    await fc.assert(
      fc.asyncProperty(gradsArb, async (grads) => {
        const got = await gradNorms(withGradients(grads, 'float64'));
        const want = expected(grads);
        expect(got.global).toBeCloseTo(want.global, 10);
        expect(Object.keys(got.groups).sort()).toEqual(['dec1', 'enc0', 'head']);
        for (const [g, v] of Object.entries(want.groups)) expect(got.groups[g], g).toBeCloseTo(v, 10);
      }),
      { numRuns: 25 },
    );
  });

  it('gives the same norms on the gpu backend (gpu.js cpu mode, float32), read back at once', async () => {
    setBackend('gpu', { mode: 'cpu' });
    const backend = getBackend();
    const { read } = backend;
    let reads = 0;
    backend.read = (...args) => (reads++, read.apply(backend, args));
    try {
      await fc.assert(
        fc.asyncProperty(gradsArb, async (grads) => {
          const params = withGradients(grads, 'float32');
          reads = 0;
          const got = await gradNorms(params);
          // an asynchronous device waits for its queue and maps a buffer on every read
          expect(reads).toBe(1);
          const want = expected(grads);
          expect(Math.abs(got.global - want.global)).toBeLessThanOrEqual(1e-5 * Math.max(1, want.global));
          for (const [g, v] of Object.entries(want.groups)) expect(Math.abs(got.groups[g] - v), g).toBeLessThanOrEqual(1e-5 * Math.max(1, v));
        }),
        { numRuns: 10 },
      );
    } finally {
      backend.read = read;
      setBackend('cpu');
    }
  });

  it('is zero with no gradient at all', async () => {
    expect(await gradNorms([['w', tensor([1, 2], [2], { requiresGrad: true })]])).toEqual({ global: 0, groups: {} });
  });
});
