import fc from 'fast-check';
import type { AdamItem, Backend, Conv2dGeometry, Handle, Pool2dGeometry } from '../../src/tensor/backend.js';
import { BINARY_OPS, UNARY_OPS } from '../../src/tensor/backend.js';
import { createCpuBackend } from '../../src/tensor/backends/cpu/index.js';
import { sizeOf, type Shape } from '../../src/tensor/shape.js';
import { CHUNK, rowSplitPlan, SPLIT_FROM, splitPlan } from '../../src/tensor/backends/gpu/split.js';

/**
 * The conformance properties of the gpu backend: every primitive against the cpu backend (the
 * reference) on random shapes (size-1 axes and broadcasting included) and values. Plain fast-check
 * properties with no test-runner dependency, so the same cases run under vitest in Node and bundled
 * in a headless browser (webgl2, webgl, webgpu).
 *
 * Tolerance: |gpu − cpu| ≤ 1e-5·√n·(1 + |cpu|), n the number of terms summed per output (1 for
 * elementwise ops); float32 accumulation error grows like √n for random-signed terms. Layout primitives
 * (copy, permute, slice, concat, pad, broadcast, take) and comparisons must match exactly.
 */

/** One property: `make` builds it for the backend under test; `runs` is its fast-check numRuns. */
export interface Case {
  name: string;
  runs: number;
  // each case draws its own tuple type; the runner only hands the property to fc.assert
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  make(p: Pair): fc.IAsyncProperty<any>;
}

const RUNS = 12;
const cpu = createCpuBackend();

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values in [lo, hi), or integers in [lo, hi] when `ints` (to make ties and equalities common). */
function values(n: number, seed: number, lo = -3, hi = 3, ints = false): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (ints ? Math.floor(lo + r() * (hi - lo + 1)) : lo + r() * (hi - lo)));
}

/** The gpu backend under test. */
export interface Pair {
  gpu: Backend;
}

/** Uploads `inputs` to both backends, runs `op` on each, reads both and disposes everything. */
async function both(p: Pair, inputs: Float32Array[], op: (b: Backend, hs: Handle[]) => Handle, size: number): Promise<[Float32Array, Float32Array]> {
  return (await bothOutputs(p, inputs, (b, hs) => [op(b, hs)], [size]))[0];
}

/** `both` for primitives with several outputs: each output read with its size, [gpu, cpu] per output. */
async function bothOutputs(p: Pair, inputs: Float32Array[], op: (b: Backend, hs: Handle[]) => Handle[], sizes: number[]): Promise<[Float32Array, Float32Array][]> {
  const run = async (b: Backend): Promise<Float32Array[]> => {
    const hs = inputs.map((x) => b.upload(x, 'float32'));
    const outs = op(b, hs);
    const vs = await Promise.all(outs.map(async (o, k) => (await b.read(o, sizes[k], 'float32')) as Float32Array));
    for (const x of [...hs, ...outs]) b.dispose(x);
    return vs;
  };
  const g = await run(p.gpu);
  const c = await run(cpu);
  return g.map((v, k) => [v, c[k]]);
}

/** Throws unless |got − want| ≤ tol·(1 + |want|) elementwise, tol = 1e-5·√n (exact when n = 0). */
function close(got: Float32Array, want: Float32Array, n: number, what: string): void {
  if (got.length !== want.length) throw new Error(`${what}: got ${got.length} values, want ${want.length}`);
  const tol = n === 0 ? 0 : 1e-5 * Math.sqrt(n);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(g) !== Number.isNaN(w)) throw new Error(`${what} [${i}]: got ${g}, want ${w}`);
      continue;
    }
    if (g === w) continue;
    if (!(Math.abs(g - w) <= tol * (1 + Math.abs(w)))) throw new Error(`${what} [${i}]: got ${g}, want ${w} (tol ${tol}·(1+|want|))`);
  }
}

const dim = fc.integer({ min: 1, max: 4 });
const shapeArb = (maxRank = 4): fc.Arbitrary<number[]> => fc.array(dim, { minLength: 0, maxLength: maxRank });
/** An output shape and an input shape that broadcasts to it (axes set to 1, leading axes dropped). */
const broadcastFrom = (out: number[]): fc.Arbitrary<number[]> =>
  fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length })).map(([drop, ones]) =>
    out.slice(drop).map((d, k) => (ones[k + drop] ? 1 : d)),
  );
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

const unaryDomain: Record<string, [number, number]> = { log: [0.05, 4], sqrt: [0, 4], log1p: [-0.9, 4], reciprocal: [0.2, 3], exp: [-10, 10] };
const exactBinary = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'maximum', 'minimum']);

/** Convolutions with kernels of kMin…kMax taps a side and images up to `side` (convArb: the usual small ones). */
const convArbOf = (kMin: number, kMax: number, side: number) => fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: side }),
    w: fc.integer({ min: 1, max: side }),
    kh: fc.integer({ min: kMin, max: kMax }),
    kw: fc.integer({ min: kMin, max: kMax }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    pad: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
  })
  .map((r) => {
    const oh = Math.floor((r.h + r.pad[0] + r.pad[1] - r.dh * (r.kh - 1) - 1) / r.sh) + 1;
    const ow = Math.floor((r.w + r.pad[2] + r.pad[3] - r.dw * (r.kw - 1) - 1) / r.sw) + 1;
    const g: Conv2dGeometry = { stride: [r.sh, r.sw], pad: r.pad, dilation: [r.dh, r.dw], groups: r.groups };
    const xShape = [r.n, r.groups * r.cg, r.h, r.w];
    const wShape = [r.groups * r.og, r.cg, r.kh, r.kw];
    const outShape = [r.n, r.groups * r.og, oh, ow];
    return { g, xShape, wShape, outShape, ok: oh >= 1 && ow >= 1 };
  })
  .filter((c) => c.ok);
const convArb = convArbOf(1, 3, 6);
/** Large kernels: the gpu conv kernel writes out one line per tap. */
const bigConvArb = convArbOf(5, 7, 10);
/**
 * Convolutions whose rows the webgpu kernels split into threads of several outputs: output rows of 8, 4,
 * 6 or 2 (4 or 2 a thread), stride 1 along x where the input gradient and the filter rows (2 to 4 taps)
 * need it, kernels up to 4 wide, any padding, dilation and row stride; other modes run them one a thread.
 */
const wideConvArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 3 }),
    og: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 6 }),
    ow: fc.constantFrom(8, 4, 6, 2),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.constantFrom(1, 1, 2),
    pad: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.constantFrom(1, 1, 2),
  })
  .map((r) => {
    // the narrowest input with r.ow output columns
    const w = (r.ow - 1) * r.sw + r.dw * (r.kw - 1) + 1 - r.pad[2] - r.pad[3];
    const oh = Math.floor((r.h + r.pad[0] + r.pad[1] - r.dh * (r.kh - 1) - 1) / r.sh) + 1;
    const g: Conv2dGeometry = { stride: [r.sh, r.sw], pad: r.pad, dilation: [r.dh, r.dw], groups: r.groups };
    return { g, xShape: [r.n, r.groups * r.cg, r.h, w], wShape: [r.groups * r.og, r.cg, r.kh, r.kw], outShape: [r.n, r.groups * r.og, oh, r.ow], ok: w >= 1 && oh >= 1 };
  })
  .filter((c) => c.ok);
/** Filters whose patches tile the input (stride = kernel, no padding: U-Net's up-convolutions), rows and columns left over or not. */
const patchConvArb = fc
  .record({ n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 3 }), og: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 7 }), w: fc.constantFrom(4, 8, 6, 12, 5, 7), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }) })
  .map((r) => {
    const g: Conv2dGeometry = { stride: [r.kh, r.kw], pad: [0, 0, 0, 0], dilation: [1, 1], groups: r.groups };
    const [oh, ow] = [Math.floor(r.h / r.kh), Math.floor(r.w / r.kw)];
    return { g, xShape: [r.n, r.groups * r.cg, r.h, r.w], wShape: [r.groups * r.og, r.cg, r.kh, r.kw], outShape: [r.n, r.groups * r.og, oh, ow], ok: oh >= 1 && ow >= 1 };
  })
  .filter((c) => c.ok);

const poolArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    pad: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
  })
  .map((r) => {
    // PyTorch allows padding up to half the kernel, so every window holds a real cell
    const pad = r.pad.map((v, k) => Math.min(v, Math.floor((k < 2 ? r.kh : r.kw) / 2))) as [number, number, number, number];
    const oh = Math.floor((r.h + pad[0] + pad[1] - r.kh) / r.sh) + 1;
    const ow = Math.floor((r.w + pad[2] + pad[3] - r.kw) / r.sw) + 1;
    const g: Pool2dGeometry = { kernel: [r.kh, r.kw], stride: [r.sh, r.sw], pad };
    return { g, xShape: [r.n, r.c, r.h, r.w], outShape: [r.n, r.c, oh, ow], ok: oh >= 1 && ow >= 1 };
  })
  .filter((c) => c.ok);

/** Pools whose windows tile the input: stride = kernel, no padding (U-Net's 2×2 max pool); sizes not always multiples. */
const tiledPoolArb = fc
  .record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }) })
  .filter((r) => r.h >= r.kh && r.w >= r.kw)
  .map((r) => {
    const g: Pool2dGeometry = { kernel: [r.kh, r.kw], stride: [r.kh, r.kw], pad: [0, 0, 0, 0] };
    return { g, xShape: [r.n, r.c, r.h, r.w], outShape: [r.n, r.c, Math.floor(r.h / r.kh), Math.floor(r.w / r.kw)] };
  });

/** A convolution and both its gradients, each against the cpu backend. */
const convAndGradients = (p: Pair) => async ({ g, xShape, wShape, outShape }: { g: Conv2dGeometry; xShape: Shape; wShape: Shape; outShape: Shape }, s: number): Promise<void> => {
  const x = values(sizeOf(xShape), s);
  const w = values(sizeOf(wShape), s + 1);
  const dy = values(sizeOf(outShape), s + 2);
  const what = JSON.stringify({ xShape, wShape, outShape, g });
  close(...(await both(p, [x, w], (b, [hx, hw]) => b.conv2d(hx, xShape, hw, wShape, outShape, g, 'float32'), sizeOf(outShape))), wShape[1] * wShape[2] * wShape[3], `conv2d ${what}`);
  close(...(await both(p, [dy, w], (b, [hd, hw]) => b.conv2dBackwardInput(hd, outShape, hw, wShape, xShape, g, 'float32'), sizeOf(xShape))), (wShape[0] / g.groups) * wShape[2] * wShape[3], `conv2dBackwardInput ${what}`);
  close(...(await both(p, [x, dy], (b, [hx, hd]) => b.conv2dBackwardFilter(hx, xShape, hd, outShape, wShape, g, 'float32'), sizeOf(wShape))), outShape[0] * outShape[2] * outShape[3], `conv2dBackwardFilter ${what}`);
};

/** batchNormForward and, from the reference statistics, batchNormBackward of one shape and set of flags against the cpu backend. */
async function batchNormAgainstCpu(p: Pair, shape: readonly number[], hasGamma: boolean, hasBeta: boolean, relu: boolean, s: number): Promise<void> {
  const [n, c, h, w] = shape;
  const size = sizeOf(shape);
  const count = n * h * w;
  const x = values(size, s);
  const what = JSON.stringify({ shape, hasGamma, hasBeta, relu });
  const params = [...(hasGamma ? [values(c, s + 1, 0.5, 2)] : []), ...(hasBeta ? [values(c, s + 2)] : [])];
  const fwd = await bothOutputs(p, [x, ...params], (b, [hx, ...ps]) => {
    const r = b.batchNormForward!(hx, shape, hasGamma ? ps[0] : null, hasBeta ? ps[hasGamma ? 1 : 0] : null, 1e-5, 'float32', relu);
    return [r.y, r.mean, r.variance];
  }, [size, c, c]);
  for (const [k, [got, want]] of fwd.entries()) close(got, want, count, `batchNormForward ${['y', 'mean', 'variance'][k]} ${what}`);
  if (relu && fwd[0][1].some((v) => v < 0)) throw new Error(`batchNormForward with relu gave negative values ${what}`);
  // the backward from the reference statistics (and, with relu, the reference output as the mask),
  // so both backends see the same inputs
  const [[, y], [, mean], [, variance]] = fwd;
  const dy = values(size, s + 3);
  const bwd = await bothOutputs(p, [dy, x, mean, variance, y, ...(hasGamma ? [params[0]] : [])], (b, [hd, hx, hm, hv, hy, hg]) => {
    const r = b.batchNormBackward!(hd, hx, shape, hm, hv, hasGamma ? hg : null, 1e-5, 'float32', relu ? hy : null);
    return [r.dx, r.dgamma, r.dbeta];
  }, [size, c, c]);
  for (const [k, [got, want]] of bwd.entries()) close(got, want, count, `batchNormBackward ${['dx', 'dγ', 'dβ'][k]} ${what}`);
}

/** Every conformance case, in primitive order. */
export const cases: Case[] = [
  { name: 'upload/read round-trips, fill and cast', runs: RUNS, make: (p) => {
    return fc.asyncProperty(fc.integer({ min: 1, max: 50 }), seed, fc.double({ min: -1e6, max: 1e6, noNaN: true }), async (n, s, v) => {
        const x = values(n, s, -1e4, 1e4);
        const [g] = await both(p, [x], (_b, [h]) => h, n);
        close(g, x, 0, 'upload/read');
        close(...(await both(p, [x], (b, [h]) => b.cast(h, n, 'float32', 'float32'), n)), 0, 'cast');
        close(...(await both(p, [], (b) => b.fill(n, v, 'float32'), n)), 0, 'fill');
        // a one-value fill is a host constant on the gpu backend: kernels must read it as they read buffers
        const plusConstant = (b: Backend, [h]: Handle[]): Handle => {
          const c = b.fill(1, v, 'float32');
          const out = b.binary('sub', h, [n], c, [1], [n], 'float32');
          b.dispose(c);
          return out;
        };
        close(...(await both(p, [x], plusConstant, n)), 0, 'x − fill(1, v)');
      });
  } },
  ...UNARY_OPS.map((op): Case => ({ name: `unary ${op}`, runs: RUNS, make: (p) => {
    const [lo, hi] = unaryDomain[op] ?? [-6, 6];
    return fc.asyncProperty(fc.integer({ min: 1, max: 40 }), seed, async (n, s) => {
        const x = values(n, s, lo, hi);
        close(...(await both(p, [x], (b, [h]) => b.unary(op, h, n, 'float32'), n)), 1, op);
      });
  } })),
  ...BINARY_OPS.map((op): Case => ({ name: `binary ${op} with broadcasting`, runs: RUNS, make: (p) => {
    const ints = exactBinary.has(op);
    return fc.asyncProperty(
        shapeArb().chain((out) => fc.tuple(fc.constant(out), broadcastFrom(out), broadcastFrom(out))),
        seed,
        async ([out, as, bs], s) => {
          const a = op === 'pow' ? values(sizeOf(as), s, 0.1, 3) : values(sizeOf(as), s, -2, 2, ints);
          const b = op === 'pow' ? values(sizeOf(bs), s + 1, -3, 3, true) : op === 'div' ? values(sizeOf(bs), s + 1, 0.5, 3) : values(sizeOf(bs), s + 1, -2, 2, ints);
          const [g, c] = await both(p, [a, b], (be, [ha, hb]) => be.binary(op, ha, as, hb, bs, out, 'float32'), sizeOf(out));
          close(g, c, ints ? 0 : 1, `${op} ${JSON.stringify([as, bs, out])}`);
        },
      );
  } })),
  { name: 'pow of negative bases with integer exponents', runs: 1, make: (p) => fc.asyncProperty(fc.constant(0), async () => {
    const a = Float32Array.from([-2, -2, -1.5, -3, 0, 2]);
    const b = Float32Array.from([3, 2, -1, 0, 2, 0.5]);
    close(...(await both(p, [a, b], (be, [ha, hb]) => be.binary('pow', ha, [6], hb, [6], [6], 'float32'), 6)), 1, 'pow');
  }) },
  { name: 'where with broadcasting', runs: RUNS, make: (p) => {
    return fc.asyncProperty(
        shapeArb().chain((out) => fc.tuple(fc.constant(out), broadcastFrom(out), broadcastFrom(out), broadcastFrom(out))),
        seed,
        async ([out, cs, as, bs], s) => {
          const c = values(sizeOf(cs), s, 0, 1, true);
          const [g, w] = await both(p, [c, values(sizeOf(as), s + 1), values(sizeOf(bs), s + 2)], (be, [hc, ha, hb]) => be.where(hc, cs, ha, as, hb, bs, out, 'float32'), sizeOf(out));
          close(g, w, 0, 'where');
        },
      );
  } },
  { name: 'broadcastTo', runs: RUNS, make: (p) => {
    return fc.asyncProperty(shapeArb().chain((out) => fc.tuple(fc.constant(out), broadcastFrom(out))), seed, async ([out, xs], s) => {
        close(...(await both(p, [values(sizeOf(xs), s)], (b, [h]) => b.broadcastTo(h, xs, out, 'float32'), sizeOf(out))), 0, 'broadcastTo');
      });
  } },
  ...(['sum', 'max', 'min'] as const).map((op): Case => ({ name: `reduce ${op} along random axes`, runs: RUNS, make: (p) => {
    return fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((shape) => fc.tuple(fc.constant(shape), fc.subarray(shape.map((_, k) => k), { minLength: 1 }))),
        seed,
        async ([shape, axes], s) => {
          const outSize = sizeOf(shape.map((d, k) => (axes.includes(k) ? 1 : d)));
          const n = sizeOf(axes.map((a) => shape[a]));
          const [g, c] = await both(p, [values(sizeOf(shape), s, -2, 2, op !== 'sum')], (b, [h]) => b.reduce(op, h, shape, axes, 'float32'), outSize);
          close(g, c, op === 'sum' ? n : 0, `${op} ${JSON.stringify([shape, axes])}`);
        },
      );
  } })),
  { name: 'matmul: batched, transposed, batch-1 broadcast', runs: RUNS * 2, make: (p) => {
    const d = fc.integer({ min: 1, max: 6 });
    return fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean(), d, d, d, fc.boolean(), fc.boolean(), seed, async (batch, oneA, oneB, m, k, n, ta, tb, s) => {
        const ba = oneA ? 1 : batch;
        const bb = oneB ? 1 : batch;
        const [g, c] = await both(p, [values(ba * m * k, s), values(bb * k * n, s + 1)], (be, [a, b]) => be.matmul(a, b, ba, bb, m, k, n, ta, tb, 'float32'), Math.max(ba, bb) * m * n);
        close(g, c, k, `matmul ${JSON.stringify({ ba, bb, m, k, n, ta, tb })}`);
      });
  } },
  { name: 'permute', runs: RUNS, make: (p) => {
    return fc.asyncProperty(shapeArb().chain((shape) => fc.tuple(fc.constant(shape), fc.shuffledSubarray(shape.map((_, k) => k), { minLength: shape.length, maxLength: shape.length }))), seed, async ([shape, perm], s) => {
        close(...(await both(p, [values(sizeOf(shape), s)], (b, [h]) => b.permute(h, shape, perm, 'float32'), sizeOf(shape))), 0, `permute ${JSON.stringify([shape, perm])}`);
      });
  } },
  { name: 'slice', runs: RUNS, make: (p) => {
    const box = shapeArb().chain((shape) =>
      fc.tuple(fc.constant(shape), fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: d - b }))))) as fc.Arbitrary<[number, number][]>),
    );
    return fc.asyncProperty(box, seed, async ([shape, bs], s) => {
        const begin = bs.map((x) => x[0]);
        const size = bs.map((x) => x[1]);
        close(...(await both(p, [values(sizeOf(shape), s)], (b, [h]) => b.slice(h, shape, begin, size, 'float32'), sizeOf(size))), 0, `slice ${JSON.stringify([shape, begin, size])}`);
      });
  } },
  { name: 'concat of 1 to 10 inputs along any axis (chunked kernels)', runs: RUNS, make: (p) => {
    const arb = fc.array(dim, { minLength: 1, maxLength: 3 }).chain((base) =>
      fc.tuple(fc.constant(base), fc.integer({ min: 0, max: base.length - 1 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 10 })),
    );
    return fc.asyncProperty(arb, seed, async ([base, axis, extents], s) => {
        const shapes: Shape[] = extents.map((e) => base.map((d, k) => (k === axis ? e : d)));
        const outSize = sizeOf(base.map((d, k) => (k === axis ? extents.reduce((a, b) => a + b, 0) : d)));
        const xs = shapes.map((sh, k) => values(sizeOf(sh), s + k));
        close(...(await both(p, xs, (b, hs) => b.concat(hs, shapes, axis, 'float32'), outSize)), 0, `concat ${JSON.stringify([shapes, axis])}`);
      });
  } },
  { name: 'pad', runs: RUNS, make: (p) => {
    const arb = shapeArb().chain((shape) =>
      fc.tuple(fc.constant(shape), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length })),
    );
    return fc.asyncProperty(arb, seed, fc.float({ min: -5, max: 5, noNaN: true }), async ([shape, before, after], s, v) => {
        const outSize = sizeOf(shape.map((d, k) => d + before[k] + after[k]));
        close(...(await both(p, [values(sizeOf(shape), s)], (b, [h]) => b.pad(h, shape, before, after, v, 'float32'), outSize)), 0, `pad ${JSON.stringify([shape, before, after, v])}`);
      });
  } },
  { name: 'take and scatterAdd (repeated indices)', runs: RUNS, make: (p) => {
    return fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), seed, async (size, count, s) => {
        const idx = values(count, s, 0, size - 1, true);
        close(...(await both(p, [values(size, s + 1), idx], (b, [x, i]) => b.take(x, i, count, 'float32'), count)), 0, 'take');
        const [g, c] = await both(p, [idx, values(count, s + 2)], (b, [i, v]) => b.scatterAdd(i, v, count, size, 'float32'), size);
        close(g, c, count, 'scatterAdd');
      });
  } },
  { name: 'lovaszWeights: rows sorted on the device (ties by position) against Berman\'s lovasz_grad in float64 on the host', runs: RUNS, make: (p) => {
    const len = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 80 }), fc.integer({ min: 200, max: 700 }));
    return fc.asyncProperty(fc.integer({ min: 1, max: 3 }), len, fc.double({ min: 0, max: 1, noNaN: true }), seed, async (rows, n, density, s) => {
        // quarter steps in [0, 2] make ties common; whole rows of 0 or 1 labels come from density near 0 or 1
        const errors = values(rows * n, s, 0, 8, true).map((v) => v / 4);
        const r = rng(s + 1);
        const fg = Float32Array.from({ length: rows * n }, () => (r() < density ? 1 : 0));
        const gpuIn = [errors, fg].map((x) => p.gpu.upload(x, 'float32'));
        const out = p.gpu.lovaszWeights!(gpuIn[0], gpuIn[1], rows, n, 'float32');
        const got = (await p.gpu.read(out, rows * n, 'float32')) as Float32Array;
        for (const h of [...gpuIn, out]) p.gpu.dispose(h);
        for (let row = 0; row < rows; row++) {
          const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => errors[row * n + b] - errors[row * n + a] || a - b);
          const gts = order.reduce((acc, k) => acc + fg[row * n + k], 0);
          let inter = gts;
          let union = gts;
          let prev = 0;
          for (const k of order) {
            inter -= fg[row * n + k];
            union += 1 - fg[row * n + k];
            const jac = 1 - inter / union;
            const want = jac - prev;
            prev = jac;
            const g = got[row * n + k];
            if (!(Math.abs(g - want) <= 1e-6 * Math.abs(want))) throw new Error(`lovaszWeights rows ${rows} × ${n}, row ${row} place ${k}: got ${g}, want ${want}`);
          }
        }
      });
  } },
  { name: 'conv2d, conv2dBackwardInput, conv2dBackwardFilter (groups, stride, padding, dilation)', runs: RUNS * 2, make: (p) => fc.asyncProperty(convArb, seed, convAndGradients(p)) },
  { name: 'conv2d, conv2dBackwardInput, conv2dBackwardFilter with large kernels (5×5 to 7×7)', runs: RUNS, make: (p) => fc.asyncProperty(bigConvArb, seed, convAndGradients(p)) },
  { name: 'conv2d, conv2dBackwardInput, conv2dBackwardFilter on rows of 2 to 8 outputs and on tiling patches (several outputs a thread in webgpu)', runs: RUNS * 2, make: (p) => fc.asyncProperty(fc.oneof(wideConvArb, patchConvArb), seed, convAndGradients(p)) },
  { name: 'conv2dAffine (scale, shift, with and without relu) and convTranspose2dBias', runs: RUNS * 2, make: (p) => {
    return fc.asyncProperty(fc.oneof(convArb, wideConvArb, patchConvArb), seed, fc.boolean(), async ({ g, xShape, wShape, outShape }, s, relu) => {
        const cout = outShape[1];
        const x = values(sizeOf(xShape), s);
        const w = values(sizeOf(wShape), s + 1);
        const [scale, shift] = [values(cout, s + 2), values(cout, s + 3)];
        const what = JSON.stringify({ xShape, wShape, outShape, g, relu });
        const affine = (b: Backend, [hx, hw, hs, hf]: Handle[]): Handle => b.conv2dAffine!(hx, xShape, hw, wShape, outShape, g, hs, hf, relu, 'float32');
        close(...(await both(p, [x, w, scale, shift], affine, sizeOf(outShape))), wShape[1] * wShape[2] * wShape[3] + 1, `conv2dAffine ${what}`);
        // the transposed conv maps outShape-sized input back to xShape, its bias per xShape channel
        const y = values(sizeOf(outShape), s + 4);
        const bias = values(xShape[1], s + 5);
        const transposed = (b: Backend, [hy, hw, hb]: Handle[]): Handle => b.convTranspose2dBias!(hy, outShape, hw, wShape, xShape, g, hb, 'float32');
        close(...(await both(p, [y, w, bias], transposed, sizeOf(xShape))), (wShape[0] / g.groups) * wShape[2] * wShape[3] + 1, `convTranspose2dBias ${what}`);
      });
  } },
  { name: 'maxPool2d and its backward (first maximum wins ties) ', runs: RUNS * 2, make: (p) => {
    return fc.asyncProperty(poolArb, seed, async ({ g, xShape, outShape }, s) => {
        // small integers: ties in most windows
        const x = values(sizeOf(xShape), s, -2, 2, true);
        const dy = values(sizeOf(outShape), s + 1);
        const what = JSON.stringify({ xShape, outShape, g });
        close(...(await both(p, [x], (b, [hx]) => b.maxPool2d(hx, xShape, outShape, g, 'float32'), sizeOf(outShape))), 0, `maxPool2d ${what}`);
        close(...(await both(p, [dy, x], (b, [hd, hx]) => b.maxPool2dBackward(hd, hx, xShape, outShape, g, 'float32'), sizeOf(xShape))), g.kernel[0] * g.kernel[1], `maxPool2dBackward ${what}`);
      });
  } },
  { name: 'maxPool2d backward where windows tile the input (stride = kernel, no padding; one kernel)', runs: RUNS, make: (p) => {
    return fc.asyncProperty(tiledPoolArb, seed, async ({ g, xShape, outShape }, s) => {
        const x = values(sizeOf(xShape), s, -2, 2, true);
        const dy = values(sizeOf(outShape), s + 1);
        close(...(await both(p, [dy, x], (b, [hd, hx]) => b.maxPool2dBackward(hd, hx, xShape, outShape, g, 'float32'), sizeOf(xShape))), 1, `maxPool2dBackward ${JSON.stringify({ xShape, outShape, g })}`);
      });
  } },
  { name: 'avgPool2d and its backward (count_include_pad)', runs: RUNS * 2, make: (p) => {
    return fc.asyncProperty(poolArb, seed, async ({ g, xShape, outShape }, s) => {
        const n = g.kernel[0] * g.kernel[1];
        const what = JSON.stringify({ xShape, outShape, g });
        close(...(await both(p, [values(sizeOf(xShape), s)], (b, [hx]) => b.avgPool2d(hx, xShape, outShape, g, 'float32'), sizeOf(outShape))), n, `avgPool2d ${what}`);
        close(...(await both(p, [values(sizeOf(outShape), s + 1)], (b, [hd]) => b.avgPool2dBackward(hd, xShape, outShape, g, 'float32'), sizeOf(xShape))), n, `avgPool2dBackward ${what}`);
      });
  } },
  { name: 'batchNormRunningUpdate (webgpu: one kernel, two views) against two running averages on the cpu', runs: RUNS, make: (p) => {
    if (p.gpu.info().mode === 'webgpu' && !p.gpu.batchNormRunningUpdate) throw new Error('the webgpu backend should have batchNormRunningUpdate');
    return fc.asyncProperty(fc.integer({ min: 1, max: 150 }), seed, fc.double({ min: 0.01, max: 0.9, noNaN: true }), async (c, s, m) => {
        const varFactor = m * 1.1;
        const inputs = [values(c, s), values(c, s + 1, 0, 2), values(c, s + 2), values(c, s + 3, 0, 2)];
        const outs = await bothOutputs(p, inputs, (b, [rm, rv, mu, va]) => {
          if (b.batchNormRunningUpdate) {
            const r = b.batchNormRunningUpdate(rm, rv, mu, va, m, varFactor, c, 'float32');
            return [r.mean, r.variance];
          }
          // what BatchNorm2d does without it: (1 − m)·a + w·b, composed from primitives
          const average = (a: Handle, x: Handle, w: Handle): Handle => {
            const [ka, kw] = [b.fill(1, 1 - m, 'float32'), w];
            const [ta, tb] = [b.binary('mul', a, [c], ka, [1], [c], 'float32'), b.binary('mul', x, [c], kw, [1], [c], 'float32')];
            const out = b.binary('add', ta, [c], tb, [c], [c], 'float32');
            for (const t of [ka, kw, ta, tb]) b.dispose(t);
            return out;
          };
          return [average(rm, mu, b.fill(1, m, 'float32')), average(rv, va, b.fill(1, varFactor, 'float32'))];
        }, [c, c]);
        for (const [k, [got, want]] of outs.entries()) close(got, want, 2, `batchNormRunningUpdate ${['mean', 'variance'][k]} (c ${c})`);
      });
  } },
  { name: 'axpby (α·a + β·b; the cpu reference composes it)', runs: RUNS, make: (p) => {
    const coef = fc.double({ min: -2, max: 2, noNaN: true });
    return fc.asyncProperty(fc.integer({ min: 1, max: 40 }), seed, coef, coef, async (n, s, alpha, beta) => {
        const op = (b: Backend, [ha, hb]: Handle[]): Handle => {
          if (b.axpby) return b.axpby(ha, alpha, hb, beta, n, 'float32');
          const [ca, cb] = [alpha, beta].map((v) => b.fill(1, v, 'float32'));
          const [ta, tb] = [b.binary('mul', ha, [n], ca, [1], [n], 'float32'), b.binary('mul', hb, [n], cb, [1], [n], 'float32')];
          const out = b.binary('add', ta, [n], tb, [n], [n], 'float32');
          for (const t of [ca, cb, ta, tb]) b.dispose(t);
          return out;
        };
        close(...(await both(p, [values(n, s), values(n, s + 1)], op, n)), 2, `axpby α=${alpha} β=${beta}`);
      });
  } },
  { name: 'sumSquaresMany: 1 to 60 arrays (groups of 7, runs of 49), empty ones, one to several chunks of partial sums', runs: 6, make: (p) => {
    const size = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1000, max: 2600 }));
    return fc.asyncProperty(fc.oneof(fc.array(size, { minLength: 1, maxLength: 16 }), fc.array(size, { minLength: 50, maxLength: 60 })), seed, async (sizes, s) => {
        const nonEmpty = sizes.map((n, k) => [n, k]).filter(([n]) => n > 0);
        // the cpu backend has no sumSquaresMany: a square and a sum of each non-empty array are the reference
        const op = (b: Backend, hs: Handle[]): Handle => {
          const all = sizes.map((n, k) => (n > 0 ? hs[nonEmpty.findIndex(([, j]) => j === k)] : b.fill(0, 0, 'float32')));
          if (b.sumSquaresMany) {
            const out = b.sumSquaresMany(all, sizes, 'float32');
            sizes.forEach((n, k) => n === 0 && b.dispose(all[k]));
            return out;
          }
          const sums = sizes.map((n, k) => {
            const sq = b.binary('mul', all[k], [n], all[k], [n], [n], 'float32');
            const r = b.reduce('sum', sq, [n], [0], 'float32');
            b.dispose(sq);
            return r;
          });
          const out = b.concat(sums, sizes.map(() => [1]), 0, 'float32');
          for (const t of sums) b.dispose(t);
          sizes.forEach((n, k) => n === 0 && b.dispose(all[k]));
          return out;
        };
        const longest = Math.max(...sizes);
        close(...(await both(p, nonEmpty.map(([n], k) => values(n, s + k)), op, sizes.length)), longest, `sumSquaresMany of ${JSON.stringify(sizes)}`);
      });
  } },
  { name: 'reluGrad (dy·step(x), x = 0 included)', runs: RUNS, make: (p) => {
    return fc.asyncProperty(fc.integer({ min: 1, max: 40 }), seed, async (n, s) => {
        const dy = values(n, s);
        const x = values(n, s + 1, -2, 2, true);
        close(...(await both(p, [dy, x], (b, [hd, hx]) => b.reluGrad!(hd, hx, n, 'float32'), n)), 0, 'reluGrad');
      });
  } },
  { name: 'adamUpdate (Adam and AdamW, with and without decay)', runs: RUNS * 2, make: (p) => {
    const scalars = fc.record({
      b1: fc.double({ min: 0, max: 0.99, noNaN: true }),
      b2: fc.double({ min: 0.9, max: 0.9999, noNaN: true }),
      lr: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
      eps: fc.constantFrom(1e-8, 1e-3),
      t: fc.integer({ min: 1, max: 100 }),
      wd: fc.constantFrom(0, 0.01, 0.1),
      decoupled: fc.boolean(),
    });
    return fc.asyncProperty(fc.integer({ min: 1, max: 40 }), seed, scalars, async (n, s, r) => {
        const sc = { b1: r.b1, b2: r.b2, lr: r.lr, eps: r.eps, bc1: 1 - r.b1 ** r.t, bc2: 1 - r.b2 ** r.t, wd: r.wd, decoupled: r.decoupled };
        // v ≥ 0 as Adam keeps it; θ' divides by √v', so a few roundings of slack
        const inputs = [values(n, s), values(n, s + 1), values(n, s + 2, -1, 1), values(n, s + 3, 0, 2)];
        const outs = await bothOutputs(p, inputs, (b, [th, g, m, v]) => Object.values(b.adamUpdate!(th, g, m, v, n, sc)), [n, n, n]);
        for (const [k, [got, want]] of outs.entries()) close(got, want, 4, `adamUpdate ${['θ', 'm', 'v'][k]} ${JSON.stringify(sc)}`);
      });
  } },
  { name: 'adamUpdate twice, the second on the moments of the first (webgpu: views of one buffer), and a moment into another kernel', runs: RUNS, make: (p) => {
    return fc.asyncProperty(fc.integer({ min: 1, max: 150 }), seed, fc.boolean(), async (n, s, decoupled) => {
        const sc = (t: number) => ({ b1: 0.9, b2: 0.999, lr: 0.01, eps: 1e-8, bc1: 1 - 0.9 ** t, bc2: 1 - 0.999 ** t, wd: 0.01, decoupled });
        const inputs = [values(n, s), values(n, s + 1), values(n, s + 2, -1, 1), values(n, s + 3, 0, 2), values(n, s + 4)];
        const outs = await bothOutputs(p, inputs, (b, [th, g, m, v, g2]) => {
          const r1 = b.adamUpdate!(th, g, m, v, n, sc(1));
          const r2 = b.adamUpdate!(r1.theta, g2, r1.m, r1.v, n, sc(2));
          // a moment as the argument of a kernel built for it now or earlier
          const e = b.binary('sub', r2.m, [n], r2.v, [n], [n], 'float32');
          for (const x of Object.values(r1)) b.dispose(x);
          return [r2.theta, r2.m, r2.v, e];
        }, [n, n, n, n]);
        for (const [k, [got, want]] of outs.entries()) close(got, want, 8, `adamUpdate twice: ${['θ', 'm', 'v', 'm − v'][k]}`);
      });
  } },
  { name: 'adamUpdateMany over three steps (webgpu on a hardware adapter: a kernel call a group of parameters)', runs: RUNS, make: (p) => {
    return fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 8 }), seed, fc.boolean(), async (sizes, s, decoupled) => {
        const sc = (t: number) => ({ b1: 0.9, b2: 0.999, lr: 0.01, eps: 1e-8, bc1: 1 - 0.9 ** t, bc2: 1 - 0.999 ** t, wd: 0.01, decoupled });
        const inputs = sizes.flatMap((n, k) => [values(n, s + 4 * k), values(n, s + 4 * k + 1, -1, 1), values(n, s + 4 * k + 2, 0, 2), values(n, s + 4 * k + 3)]);
        const outs = await bothOutputs(p, inputs, (b, hs) => {
          // the cpu backend has no adamUpdateMany: its adamUpdate a parameter at a time is the reference
          const many = (items: AdamItem[], t: number) => (b.adamUpdateMany ? b.adamUpdateMany(items, sc(t)) : items.map((it) => b.adamUpdate!(it.theta, it.grad, it.m, it.v, it.size, sc(t))));
          let state = sizes.map((_, k) => ({ theta: hs[4 * k], m: hs[4 * k + 1], v: hs[4 * k + 2] }));
          for (let t = 1; t <= 3; t++) {
            const next = many(state.map((st, k) => ({ ...st, grad: hs[4 * k + 3], size: sizes[k] })), t);
            if (t > 1) for (const st of state) [st.theta, st.m, st.v].forEach((x) => b.dispose(x));
            state = next;
          }
          return state.flatMap((st) => [st.theta, st.m, st.v]);
        }, sizes.flatMap((n) => [n, n, n]));
        for (const [k, [got, want]] of outs.entries()) close(got, want, 8, `adamUpdateMany step 3, parameter ${Math.floor(k / 3)} of ${JSON.stringify(sizes)}: ${['θ', 'm', 'v'][k % 3]}`);
      });
  } },
  { name: 'a loop of steps repeating their calls and reading each (webgpu: kept bind groups, values replaced every step on two buffers)', runs: 4, make: (p) => {
    return fc.asyncProperty(fc.integer({ min: 1, max: 300 }), seed, async (n, s) => {
        const g = p.gpu;
        const xs = values(n, s, -1, 1);
        let want = Float64Array.from(values(n, s + 1));
        const x = g.upload(xs, 'float32');
        let st = g.upload(Float32Array.from(want), 'float32');
        for (let k = 0; k < 10; k++) {
          // st ← st·x + x on buffers alone (its calls' bind groups kept from the third step on), then
          // k·st − x, whose parameter k changes every step (a group of its own each step)
          const prod = g.binary('mul', st, [n], x, [n], [n], 'float32');
          const next = g.binary('add', prod, [n], x, [n], [n], 'float32');
          g.dispose(prod);
          g.dispose(st);
          st = next;
          want = want.map((v, i) => v * xs[i] + xs[i]);
          close((await g.read(st, n, 'float32')) as Float32Array, Float32Array.from(want), 4, `step ${k}: st·x + x`);
          if (!g.axpby) continue;
          const scaled = g.axpby(st, k, x, -1, n, 'float32');
          close((await g.read(scaled, n, 'float32')) as Float32Array, Float32Array.from(want, (v, i) => k * v - xs[i]), 4, `step ${k}: k·st − x`);
          g.dispose(scaled);
        }
        g.dispose(st);
        g.dispose(x);
      });
  } },
  { name: 'batchNormForward and batchNormBackward (γ, β present or not; with and without relu)', runs: RUNS * 2, make: (p) => {
    const d = fc.integer({ min: 1, max: 5 });
    return fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), d, d, fc.boolean(), fc.boolean(), fc.boolean(), seed, (n, c, h, w, hasGamma, hasBeta, relu, s) =>
      batchNormAgainstCpu(p, [n, c, h, w], hasGamma, hasBeta, relu, s),
    );
  } },
  { name: 'batchNormForward and batchNormBackward, every γ/β/relu combination on one shape (sources kept per shape and flags)', runs: 3, make: (p) => {
    return fc.asyncProperty(fc.constantFrom([2, 3, 4, 4], [1, 2, 3, 5], [2, 2, 48, 48]), seed, async (shape, s) => {
      for (let k = 0; k < 8; k++) await batchNormAgainstCpu(p, shape, (k & 1) > 0, (k & 2) > 0, (k & 4) > 0, s + k);
    });
  } },
  { name: 'batchNormForward with running statistics: the same y, mean and variance; the running ones (webgpu: returned) as batchNormRunningUpdate', runs: RUNS, make: (p) => {
    const d = fc.integer({ min: 1, max: 5 });
    // the split shape of the case below, so the running statistics come from the combining kernel too
    const side = Math.ceil(Math.sqrt((SPLIT_FROM + CHUNK / 2) / 2));
    return fc.asyncProperty(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 3 }), d, d, fc.boolean(), fc.double({ min: 0.01, max: 0.9, noNaN: true }), seed, async (n, c, h, w, split, momentum, s) => {
        const shape = split ? [2, c, side, side] : [n, c, h, w];
        const size = sizeOf(shape);
        const count = shape[0] * shape[2] * shape[3];
        const varFactor = (momentum * count) / (count - 1);
        const [x, rm, rv] = [values(size, s), values(c, s + 1), values(c, s + 2, 0.5, 2)];
        const what = JSON.stringify({ shape, momentum });
        const g = p.gpu;
        const [hx, hm, hv] = [x, rm, rv].map((v) => g.upload(v, 'float32'));
        const plain = g.batchNormForward!(hx, shape, null, null, 1e-5, 'float32', true);
        const withRunning = g.batchNormForward!(hx, shape, null, null, 1e-5, 'float32', true, { mean: hm, variance: hv, momentum, varFactor });
        if (g.info().mode === 'webgpu' && !withRunning.running) throw new Error('webgpu should return the running statistics from batchNormForward');
        const read = async (hs: Handle[], sizes: number[]): Promise<Float32Array[]> => Promise.all(hs.map(async (x, k) => (await g.read(x, sizes[k], 'float32')) as Float32Array));
        const [y0, m0, v0] = await read([plain.y, plain.mean, plain.variance], [size, c, c]);
        const [y1, m1, v1] = await read([withRunning.y, withRunning.mean, withRunning.variance], [size, c, c]);
        for (const [k, [a, b]] of ([[y0, y1], [m0, m1], [v0, v1]] as const).entries()) close(b, a, 0, `batchNormForward ${['y', 'mean', 'variance'][k]} with running statistics against without ${what}`);
        const running = withRunning.running ? await read([withRunning.running.mean, withRunning.running.variance], [c, c]) : [];
        for (const t of [hx, hm, hv, plain.y, plain.mean, plain.variance, withRunning.y, withRunning.mean, withRunning.variance, ...(withRunning.running ? [withRunning.running.mean, withRunning.running.variance] : [])]) g.dispose(t);
        if (!running.length) return;
        // the reference statistics from the cpu backend, then batchNormRunningUpdate's formula in float64
        const hc = cpu.upload(x, 'float32');
        const ref = cpu.batchNormForward!(hc, shape, null, null, 1e-5, 'float32');
        const [mean, variance] = [cpu.readSync!(ref.mean, c, 'float32'), cpu.readSync!(ref.variance, c, 'float32')];
        for (const t of [hc, ref.y, ref.mean, ref.variance]) cpu.dispose(t);
        close(running[0], Float32Array.from(rm, (r, i) => (1 - momentum) * r + momentum * mean[i]), count, `running mean ${what}`);
        close(running[1], Float32Array.from(rv, (r, i) => (1 - momentum) * r + varFactor * variance[i]), count, `running variance ${what}`);
      });
  } },
  { name: 'batchNormEvalAffine (γ, β present or not) against float64 on the host', runs: RUNS, make: (p) => {
    return fc.asyncProperty(fc.integer({ min: 1, max: 20 }), fc.boolean(), fc.boolean(), seed, async (c, hasGamma, hasBeta, s) => {
        const [mean, variance, gamma, beta] = [values(c, s), values(c, s + 1, 0, 3), values(c, s + 2), values(c, s + 3)];
        const hs = [mean, variance, gamma, beta].map((v) => p.gpu.upload(v, 'float32'));
        const r = p.gpu.batchNormEvalAffine!(hs[0], hs[1], hasGamma ? hs[2] : null, hasBeta ? hs[3] : null, 1e-5, c, 'float32');
        const [scale, shift] = [(await p.gpu.read(r.scale, c, 'float32')) as Float32Array, (await p.gpu.read(r.shift, c, 'float32')) as Float32Array];
        for (const x of [...hs, r.scale, r.shift]) p.gpu.dispose(x);
        const wantScale = Float32Array.from(variance, (v, i) => (hasGamma ? gamma[i] : 1) / Math.sqrt(v + 1e-5));
        const wantShift = Float32Array.from(mean, (m, i) => (hasBeta ? beta[i] : 0) - m * wantScale[i]);
        const what = JSON.stringify({ c, hasGamma, hasBeta });
        close(scale, wantScale, 2, `batchNormEvalAffine scale ${what}`);
        close(shift, wantShift, 2, `batchNormEvalAffine shift ${what}`);
      });
  } },
  { name: 'split reductions: long sum, max and min, batch-norm statistics, filter gradients', runs: 3, make: (p) => {
    // N·H·W just past SPLIT_FROM with a short last chunk, so every reduction here runs as two kernels
    const side = Math.ceil(Math.sqrt((SPLIT_FROM + CHUNK / 2) / 2));
    const shape = [2, 3, side, side];
    const terms = 2 * side * side;
    if (splitPlan(terms, 3).P < 2 || terms % CHUNK === 0) throw new Error(`the split case does not split: ${terms} terms`);
    // the filter gradient splits by whole rows, with a short last chunk and chunks across the image boundary
    const rows = rowSplitPlan(2 * side, side, 2 * 3 * 9);
    if (rows.P < 3 || (2 * side) % rows.R === 0 || side % rows.R === 0) throw new Error(`the filter gradient does not split as intended: ${JSON.stringify(rows)}`);
    return fc.asyncProperty(seed, async (s) => {
        const x = values(sizeOf(shape), s);
        for (const op of ['sum', 'max', 'min'] as const) {
          close(...(await both(p, [x], (b, [h]) => b.reduce(op, h, shape, [0, 2, 3], 'float32'), 3)), op === 'sum' ? terms : 0, `reduce ${op} over [0, 2, 3] of ${JSON.stringify(shape)}`);
          close(...(await both(p, [x], (b, [h]) => b.reduce(op, h, shape, [0, 1, 2, 3], 'float32'), 1)), op === 'sum' ? 3 * terms : 0, `reduce ${op} over everything`);
        }
        const fwd = await bothOutputs(p, [x], (b, [hx]) => {
          const r = b.batchNormForward!(hx, shape, null, null, 1e-5, 'float32');
          return [r.y, r.mean, r.variance];
        }, [sizeOf(shape), 3, 3]);
        for (const [k, [got, want]] of fwd.entries()) close(got, want, terms, `batchNormForward ${['y', 'mean', 'variance'][k]}`);
        const dy = values(sizeOf(shape), s + 1);
        const bwd = await bothOutputs(p, [dy, x, fwd[1][1], fwd[2][1]], (b, [hd, hx, hm, hv]) => {
          const r = b.batchNormBackward!(hd, hx, shape, hm, hv, null, 1e-5, 'float32');
          return [r.dx, r.dgamma, r.dbeta];
        }, [sizeOf(shape), 3, 3]);
        for (const [k, [got, want]] of bwd.entries()) close(got, want, terms, `batchNormBackward ${['dx', 'dγ', 'dβ'][k]}`);
        // with γ and after a ReLU (the mask from the reference output)
        const gamma = values(3, s + 3, 0.5, 2);
        const yRelu = (await bothOutputs(p, [x, gamma], (b, [hx, hg]) => {
          const r = b.batchNormForward!(hx, shape, hg, null, 1e-5, 'float32', true);
          b.dispose(r.mean);
          b.dispose(r.variance);
          return [r.y];
        }, [sizeOf(shape)]))[0];
        close(...yRelu, terms, 'batchNormForward with relu');
        const bwdRelu = await bothOutputs(p, [dy, x, fwd[1][1], fwd[2][1], gamma, yRelu[1]], (b, [hd, hx, hm, hv, hg, hy]) => {
          const r = b.batchNormBackward!(hd, hx, shape, hm, hv, hg, 1e-5, 'float32', hy);
          return [r.dx, r.dgamma, r.dbeta];
        }, [sizeOf(shape), 3, 3]);
        for (const [k, [got, want]] of bwdRelu.entries()) close(got, want, terms, `batchNormBackward after relu ${['dx', 'dγ', 'dβ'][k]}`);
        const g: Conv2dGeometry = { stride: [1, 1], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 1 };
        const wShape = [2, 3, 3, 3];
        const outShape = [2, 2, side, side];
        const dyc = values(sizeOf(outShape), s + 2);
        close(...(await both(p, [x, dyc], (b, [hx, hd]) => b.conv2dBackwardFilter(hx, shape, hd, outShape, wShape, g, 'float32'), sizeOf(wShape))), terms, 'conv2dBackwardFilter (split)');
      });
  } },
  { name: 'batchNormForward statistics: channels offset far from zero and constant channels, one kernel and split', runs: 3, make: (p) => {
    // webgpu takes the mean and variance in one pass, from sums of x − x₀: an offset of 1000 must cancel
    // before squaring (Σx² − (Σx)²/n in float32 would lose the variance), a constant channel gives 0
    const side = Math.ceil(Math.sqrt((SPLIT_FROM + CHUNK / 2) / 2));
    return fc.asyncProperty(fc.constantFrom(3, side), seed, async (hw, s) => {
        const shape = [2, 3, hw, hw];
        const plane = hw * hw;
        const terms = 2 * plane;
        const x = values(sizeOf(shape), s);
        for (let i = 0; i < x.length; i++) {
          const ch = Math.floor(i / plane) % 3;
          if (ch === 0) x[i] += 1000;
          if (ch === 2) x[i] = -7.25;
        }
        const fwd = await bothOutputs(p, [x], (b, [hx]) => {
          const r = b.batchNormForward!(hx, shape, null, null, 1e-5, 'float32');
          return [r.y, r.mean, r.variance];
        }, [sizeOf(shape), 3, 3]);
        for (const [k, [got, want]] of fwd.entries()) close(got, want, terms, `batchNormForward ${['y', 'mean', 'variance'][k]} of ${JSON.stringify(shape)}`);
        if (fwd[2][0][2] !== 0) throw new Error(`batchNormForward: a constant channel's variance is ${fwd[2][0][2]}, not 0`);
      });
  } },
  ...(['nearest', 'bilinear'] as const).map((m): Case => ({ name: `resize ${m} and its backward, up and down`, runs: RUNS * 2, make: (p) => {
    const d = fc.integer({ min: 1, max: 6 });
    const o = fc.integer({ min: 1, max: 13 });
    return fc.asyncProperty(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), d, d, o, o, seed, async (n, c, h, w, oh, ow, s) => {
        const xShape = [n, c, h, w];
        const what = JSON.stringify({ xShape, oh, ow, m });
        // each output reads ≤ 4 cells; each input gathers from ≤ (2·out/in + 2)² outputs
        close(...(await both(p, [values(sizeOf(xShape), s)], (b, [hx]) => b.resize(hx, xShape, oh, ow, m, 'float32'), n * c * oh * ow)), 4, `resize ${what}`);
        const fan = (2 * Math.ceil(oh / h) + 2) * (2 * Math.ceil(ow / w) + 2);
        close(...(await both(p, [values(n * c * oh * ow, s + 1)], (b, [hd]) => b.resizeBackward(hd, xShape, oh, ow, m, 'float32'), sizeOf(xShape))), fan, `resizeBackward ${what}`);
      });
  } })),
];
