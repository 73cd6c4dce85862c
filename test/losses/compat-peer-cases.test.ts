import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compat, tensor, type Tensor } from '../../src/index.js';

// Every case that MONAI's and smp's own test suites assert, run through the compatible losses. The
// expected values and tolerances are the peers' (copied from their tests, with the peer's own runtime
// value recorded beside them); nothing here is computed by segrad.

type Nested = number | Nested[];
interface Tolerance {
  rtol?: number | null;
  atol?: number | null;
  rel?: number | null;
  abs?: number | null;
  from: string;
}
interface Side {
  loss: string;
  kwargs: Record<string, unknown>;
  input: Nested;
  target: Nested;
  input_shape: number[];
  target_shape: number[];
  target_dtype: string;
}
interface PeerCase extends Side {
  id: string;
  source: 'monai' | 'smp';
  expected: Nested | { relation: string; also?: string };
  expected_kind: 'value' | 'relation' | 'error';
  tolerance: Tolerance | null;
  forward_extra?: { mask: Nested };
  forward_extra_shape?: { mask: number[] };
  wrapper?: string;
  post_reduce?: 'mean';
  rhs?: Side;
}

const cases = JSON.parse(readFileSync(new URL('../fixtures/peer-loss-cases.json', import.meta.url), 'utf8')) as PeerCase[];
type DType = 'float32' | 'float64';
type AnyFn = (...args: any[]) => Tensor;

const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);
const shapeOf = (x: Nested): number[] => (Array.isArray(x) ? [x.length, ...(x.length ? shapeOf(x[0]) : [])] : []);

/** Python kwargs as the compatible factories take them: other_act by name, the target's integer-ness. */
function kwargsFor(side: Side): Record<string, unknown> {
  const k: Record<string, unknown> = { ...side.kwargs };
  if (typeof k.other_act === 'string') k.other_act = (k.other_act as string).replace(/\(dim=1\)$/, '');
  if (!side.loss.startsWith('soft_') && !side.loss.includes('focal_loss_with_logits') && side.loss !== 'MCCLoss') {
    k.targetDtype = side.target_dtype.startsWith('float') ? 'float32' : 'int64';
  }
  return k;
}

function evaluate(c: PeerCase, side: Side, dtype: DType): Tensor {
  const input = tensor(flat(side.input), side.input_shape, { dtype });
  const target = tensor(flat(side.target), side.target_shape, { dtype });
  const kwargs = kwargsFor(side);
  const fnl = compat.smp.functional as unknown as Record<string, AnyFn>;
  if (side.loss in fnl && c.source === 'smp' && /score|focal_loss_with_logits/.test(side.loss)) {
    const out = fnl[side.loss](input, target, kwargs);
    return c.post_reduce === 'mean' ? out.mean() : out;
  }
  const ns = (c.source === 'monai' ? compat.monai : compat.smp) as unknown as Record<string, (k: unknown) => AnyFn>;
  const factory = ns[side.loss];
  if (!factory) throw new Error(`no compatible ${c.source}.${side.loss}`);
  let loss: AnyFn = factory(kwargs);
  if (c.wrapper?.startsWith('DeepSupervisionLoss')) loss = compat.monai.DeepSupervisionLoss(loss) as AnyFn;
  const mask = c.forward_extra ? tensor(flat(c.forward_extra.mask), c.forward_extra_shape!.mask, { dtype }) : undefined;
  if (c.wrapper?.startsWith('LossMetric')) {
    // LossMetric(reduction='mean') over two identical calls: the mean of the two per-call losses.
    return loss(input, target).add(loss(input, target)).div(2);
  }
  return mask ? loss(input, target, mask) : loss(input, target);
}

function tolerance(tol: Tolerance, expected: number): { bound: number; strict: boolean } {
  if (tol.from.startsWith('np.testing')) return { bound: (tol.atol ?? 0) + (tol.rtol ?? 0) * Math.abs(expected), strict: false };
  if (tol.from.startsWith('assertAlmostEqual')) return { bound: tol.abs!, strict: true }; // round(a − b, 3) == 0
  // pytest.approx: abs alone ignores rel; rel alone keeps the 1e-12 absolute floor.
  if (tol.rel == null && tol.abs != null) return { bound: tol.abs, strict: false };
  return { bound: Math.max((tol.rel ?? 1e-6) * Math.abs(expected), tol.abs ?? 1e-12), strict: false };
}

function assertClose(c: PeerCase, out: Tensor): void {
  const expected = c.expected as Nested;
  expect(out.shape).toEqual(shapeOf(expected));
  const actual = Array.from(out.dataSync());
  flat(expected).forEach((e, i) => {
    const { bound, strict } = tolerance(c.tolerance!, e);
    const err = Math.abs(actual[i] - e);
    const ok = strict ? err < bound : err <= bound;
    if (!ok) throw new Error(`${c.id}: element ${i}: got ${actual[i]}, expected ${e} (|err| ${err.toExponential(3)} > ${bound.toExponential(3)}, ${c.tolerance!.from})`);
  });
}

function assertRelation(c: PeerCase, dtype: DType): void {
  const lhs = evaluate(c, c, dtype).item();
  const rhs = evaluate(c, c.rhs!, dtype).item();
  const rel = (c.expected as { relation: string }).relation;
  if (rel === 'lhs < rhs') expect(lhs).toBeLessThan(rhs);
  else if (rel === 'abs(lhs - rhs) < 0.2') expect(Math.abs(lhs - rhs)).toBeLessThan(0.2);
  else throw new Error(`${c.id}: unknown relation ${rel}`);
  if ((c.expected as { also?: string }).also === 'both finite') {
    expect(Number.isFinite(lhs)).toBe(true);
    expect(Number.isFinite(rhs)).toBe(true);
  }
}

function run(c: PeerCase, dtype: DType): void {
  if (c.expected_kind === 'relation') assertRelation(c, dtype);
  else if (c.expected_kind === 'error') expect(() => evaluate(c, c, dtype)).toThrow();
  else assertClose(c, evaluate(c, c, dtype));
}

describe('peer cases (float32, as the peers ran them)', () => {
  it('the fixture holds the 150 cases of the spec', () => {
    expect(cases).toHaveLength(150);
    expect(new Set(cases.map((c) => c.id)).size).toBe(150);
  });
  for (const c of cases) it(c.id, () => run(c, 'float32'));
});

describe('peer cases (float64)', () => {
  for (const c of cases) it(`${c.id} [float64]`, () => run(c, 'float64'));
});
