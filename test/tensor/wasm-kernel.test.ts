import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createWasmKernel, DOT_COLS, DOT_ROWS, kernelModule, relaxedSimdAllowed, relaxedSimdProbe } from '../../src/tensor/backends/cpu/wasm-kernel.js';

// The micro-kernel module on its own (ordinary memory, no worker), in both forms: with relaxed SIMD's
// fused multiply-add and with a multiply and an add, each against a float64 reference.
const MR = 4;
const NRV = 2;
const NR = 4 * NRV;
const PAGES = 16;

function instantiate(fma: boolean) {
  if (fma) relaxedSimdAllowed(); // Node 20 compiles relaxed SIMD only once this has set V8's flag
  const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelModule(MR, NRV, PAGES, false, fma) as Uint8Array<ArrayBuffer>), { env: { mem: memory } });
  const f32 = new Float32Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  type Fn = (...args: number[]) => void;
  const ex = instance.exports as Record<string, Fn>;
  return { f32, i32, block: ex.block, rows: ex.rows, dots: ex.dots };
}

/** Float32 values from a seed (a small LCG, so the cases replay). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const maxErr = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]));
  return e;
};

/** Writes A [mc, kc] (row-major) at float A as the kernel's panels: panel ip holds kc steps of MR rows. */
function packPanels(f32: Float32Array, at: number, a: Float32Array, mc: number, kc: number): void {
  for (let ip = 0; ip < mc; ip += MR) for (let p = 0; p < kc; p++) for (let r = 0; r < MR; r++) f32[at + ip * kc + p * MR + r] = a[(ip + r) * kc + p];
}

/** (store ? 0 : c0) + A·B in float64, A [mc, kc], B [kc, nc]. */
function gemmReference(c0: Float32Array, a: Float32Array, b: Float32Array, mc: number, nc: number, kc: number, store = false): number[] {
  return Array.from(c0, (v, idx) => {
    const [i, j] = [Math.floor(idx / nc), idx % nc];
    let s = store ? 0 : v;
    for (let p = 0; p < kc; p++) s += a[i * kc + p] * b[p * nc + j];
    return s;
  });
}

const dims = fc.record({ mp: fc.integer({ min: 1, max: 5 }), np: fc.integer({ min: 1, max: 4 }), kc: fc.integer({ min: 1, max: 70 }), seed: fc.integer() });

describe.each([false, true])('wasm GEMM micro-kernel, fma %s', (fma) => {
  const k = instantiate(fma);

  it('block: C += packed A panels × row-major B, against float64', () => {
    fc.assert(
      fc.property(dims, ({ mp, np, kc, seed }) => {
        const [mc, nc] = [mp * MR, np * NR];
        const a = values(mc * kc, seed); // logical A[i, p]
        const b = values(kc * nc, seed + 1); // B[p, j]
        const c0 = values(mc * nc, seed + 2);
        const [A, B, C] = [0, 4096, 8192]; // float offsets
        packPanels(k.f32, A, a, mc, kc);
        k.f32.set(b, B);
        k.f32.set(c0, C);
        k.block(A * 4, B * 4, C * 4, mc, nc, kc, nc * 4, NR * 4, nc * 4);
        expect(maxErr(k.f32.subarray(C, C + mc * nc), gemmReference(c0, a, b, mc, nc, kc))).toBeLessThan(1e-5 * (kc + 1));
      }),
      { numRuns: 40 },
    );
  });

  it('rows: B rows found through a table; store 1 overwrites C, store 0 adds to it', () => {
    fc.assert(
      fc.property(dims, fc.boolean(), ({ mp, np, kc, seed }, store) => {
        const [mc, nc] = [mp * MR, np * NR];
        const a = values(mc * kc, seed);
        const b = values(kc * nc, seed + 1);
        const c0 = values(mc * nc, seed + 2);
        const [A, T, B, C] = [0, 2048, 4096, 12288];
        packPanels(k.f32, A, a, mc, kc);
        // the rows lie in reverse order and 3 floats apart, so only the table can find them
        const pitch = nc + 3;
        for (let p = 0; p < kc; p++) {
          const at = B + (kc - 1 - p) * pitch;
          k.f32.set(b.subarray(p * nc, (p + 1) * nc), at);
          k.i32[T + p] = at * 4 - 16; // boff adds the 16 bytes back
        }
        k.f32.set(c0, C);
        k.rows(A * 4, T * 4, C * 4, mc, nc, kc, store ? 1 : 0, 16, nc * 4, 0, 0, 0, 0);
        expect(maxErr(k.f32.subarray(C, C + mc * nc), gemmReference(c0, a, b, mc, nc, kc, store))).toBeLessThan(1e-5 * (kc + 1));
      }),
      { numRuns: 40 },
    );
  });

  it('rows with a dense tiling: C holds the pixels of a padded grid alone, from any tile on', () => {
    const tiling = fc.record({
      tpr: fc.integer({ min: 1, max: 3 }), padX: fc.integer({ min: 0, max: 3 }), ho: fc.integer({ min: 1, max: 4 }), padY: fc.integer({ min: 0, max: 2 }), images: fc.integer({ min: 1, max: 3 }),
      mp: fc.integer({ min: 1, max: 3 }), kc: fc.integer({ min: 1, max: 20 }), from: fc.nat(), tiles: fc.nat(), seed: fc.integer(),
    });
    fc.assert(
      fc.property(tiling, ({ tpr, padX, ho, padY, images, mp, kc, from, tiles, seed }) => {
        const [wo, mc] = [NR * tpr, mp * MR];
        const [wp, hp] = [wo + padX, ho + padY];
        const total = images * ho * tpr; // tiles of the dense columns
        const t0 = from % total;
        const nc = NR * (1 + (tiles % (total - t0)));
        const dense = images * ho * wo;
        const a = values(mc * kc, seed);
        const b = values(kc * dense, seed + 1); // the dense B[p, d]
        const [A, T, B, C] = [0, 2048, 4096, 40960];
        packPanels(k.f32, A, a, mc, kc);
        // each depth row on a padded grid of its own, NaN in the padding (read once, it would show)
        const gridLen = images * hp * wp + NR;
        for (let p = 0; p < kc; p++) {
          const at = B + p * gridLen;
          k.f32.fill(Number.NaN, at, at + gridLen);
          for (let d = 0; d < dense; d++) {
            const [img, oy, ox] = [Math.floor(d / (ho * wo)), Math.floor(d / wo) % ho, d % wo];
            k.f32[at + (img * hp + oy) * wp + ox] = b[p * dense + d];
          }
          k.i32[T + p] = at * 4;
        }
        k.rows(A * 4, T * 4, C * 4, mc, nc, kc, 1, t0 * NR * 4, nc * 4, tpr, wp * 4, ho, hp * wp * 4);
        const want = gemmReference(new Float32Array(mc * dense), a, b, mc, dense, kc, true);
        const got = k.f32.subarray(C, C + mc * nc);
        const cols = Array.from({ length: mc * nc }, (_, idx) => want[Math.floor(idx / nc) * dense + t0 * NR + (idx % nc)]);
        expect(maxErr(got, cols)).toBeLessThan(1e-5 * (kc + 1));
      }),
      { numRuns: 60 },
    );
  });

  it('dots: C[i, j] += A row i · the table row j', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (mg, ng, len4, seed) => {
        const [mc, nc, len] = [mg * DOT_ROWS, ng * DOT_COLS, 4 * len4];
        const astride = len + 4;
        const a = values(mc * astride, seed);
        const b = values(nc * len, seed + 1);
        const c0 = values(mc * nc, seed + 2);
        const [A, T, B, C] = [0, 2048, 4096, 12288];
        k.f32.set(a, A);
        k.f32.set(b, B);
        for (let j = 0; j < nc; j++) k.i32[T + j] = (B + j * len) * 4;
        k.f32.set(c0, C);
        k.dots(A * 4, astride * 4, T * 4, 0, C * 4, mc, nc, len, nc * 4);
        const want = Array.from(c0, (v, idx) => {
          const [i, j] = [Math.floor(idx / nc), idx % nc];
          let s = v;
          for (let q = 0; q < len; q++) s += a[i * astride + q] * b[j * len + q];
          return s;
        });
        expect(maxErr(k.f32.subarray(C, C + mc * nc), want)).toBeLessThan(1e-5 * (len + 1));
      }),
      { numRuns: 40 },
    );
  });

  it(`${fma ? 'rounds once per multiply-add (fused)' : 'rounds the product, then the sum'}`, () => {
    // acc = -(1 + 2⁻¹¹), then acc + (1 + 2⁻¹²)²: the exact product is 1 + 2⁻¹¹ + 2⁻²⁴, which float32
    // rounds to 1 + 2⁻¹¹, so only a fused multiply-add leaves the 2⁻²⁴.
    const e = 2 ** -12;
    const [A, B, C] = [0, 64, 128];
    k.f32.set([-(1 + 2 * e), 0, 0, 0, 1 + e, 0, 0, 0], A); // two depth steps of one MR panel
    k.f32.set([1, 0, 0, 0, 0, 0, 0, 0, 1 + e, 0, 0, 0, 0, 0, 0, 0], B);
    k.f32.fill(0, C, C + MR * NR);
    k.block(A * 4, B * 4, C * 4, MR, NR, 2, NR * 4, NR * 4, NR * 4);
    expect(k.f32[C]).toBe(fma ? 2 ** -24 : 0);
  });
});

describe('wasm zip2 (the 2 × 2 up-convolution scatter)', () => {
  const k = createWasmKernel(MR, NRV, PAGES * 65536)!;
  const f32 = new Float32Array(k.memory.buffer);
  // values with the cases an add could change: −0, +0, infinities, NaN
  const special = [-0, 0, Infinity, -Infinity, NaN];
  const cases = fc.record({
    rows: fc.integer({ min: 1, max: 3 }),
    quads: fc.integer({ min: 1, max: 6 }),
    srcGap: fc.integer({ min: 0, max: 5 }),
    dstGap: fc.integer({ min: 0, max: 5 }),
    bias: fc.oneof(fc.constant(-0), fc.float({ noNaN: true, noDefaultInfinity: true })),
    seed: fc.integer(),
  });

  it('interleaves two rows a row, adding the bias in float32, and writes nothing else', () => {
    fc.assert(
      fc.property(cases, ({ rows, quads, srcGap, dstGap, bias, seed }) => {
        const n = 4 * quads;
        const ss = n + srcGap;
        const ds = 2 * n + dstGap;
        const [A, B, D] = [0, 1024, 4096];
        const v = values(2 * rows * ss, seed);
        v.forEach((x, i) => (v[i] = i % 7 === 3 ? special[(i >> 3) % special.length] : x));
        f32.set(v.subarray(0, rows * ss), A);
        f32.set(v.subarray(rows * ss), B);
        f32.fill(7.5, D, D + rows * ds + 8);
        k.zip2(4 * A, 4 * B, 4 * D, rows, n, 4 * ss, 4 * ds, bias);
        const want = new Float32Array(rows * ds + 8).fill(7.5);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < n; j++) {
            want[r * ds + 2 * j] = f32[A + r * ss + j] + bias;
            want[r * ds + 2 * j + 1] = f32[B + r * ss + j] + bias;
          }
        }
        const got = f32.subarray(D, D + want.length);
        return want.every((w, i) => Object.is(w, got[i]));
      }),
      { numRuns: 200 },
    );
  });
});

describe('createWasmKernel', () => {
  const saved = process.env.SEGRAD_WASM_FMA;
  afterEach(() => {
    if (saved === undefined) delete process.env.SEGRAD_WASM_FMA;
    else process.env.SEGRAD_WASM_FMA = saved;
  });

  it('uses fused multiply-adds on Node (relaxed SIMD, flag set where V8 needs it), unless SEGRAD_WASM_FMA=0', () => {
    delete process.env.SEGRAD_WASM_FMA;
    expect(createWasmKernel(MR, NRV, PAGES * 65536)?.fma).toBe(true);
    process.env.SEGRAD_WASM_FMA = '0';
    const plain = createWasmKernel(MR, NRV, PAGES * 65536);
    expect(plain?.fma).toBe(false);
    expect(plain?.shared).toBe(true);
  });

  // Node 22 and 24 no longer know V8's relaxed-SIMD flag, and setting it prints "unrecognized flag": the flag is
  // set only where this probe does not validate, so the probe must validate wherever the fused kernel compiles
  it('the relaxed-SIMD probe validates exactly where the fused kernel compiles', () => {
    delete process.env.SEGRAD_WASM_FMA;
    relaxedSimdAllowed();
    const compiles = (fma: boolean): boolean => WebAssembly.validate(kernelModule(MR, NRV, PAGES, false, fma) as Uint8Array<ArrayBuffer>);
    expect(compiles(false)).toBe(true);
    expect(WebAssembly.validate(relaxedSimdProbe() as Uint8Array<ArrayBuffer>)).toBe(compiles(true));
    expect(compiles(true)).toBe(true);
  });
});
