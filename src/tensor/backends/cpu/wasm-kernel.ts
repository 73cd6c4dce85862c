/**
 * A GEMM micro-kernel in WebAssembly SIMD (f32x4), emitted byte by byte so no toolchain is needed.
 *
 *   kernel(a, b, c, kc, ldb):  C[MR×NR] = Σ_{p<kc} A[p]ᵀ ⊗ B[p]
 *
 * `a` points at a packed A panel (kc steps of MR floats), `b` at the first of kc rows of NR floats that
 * lie `ldb` bytes apart (a packed panel has ldb = 4·NR; an unpacked row-major B is read in place), `c`
 * at an MR×NR row-major tile; all are byte offsets into the imported memory. The MR×NR/4
 * accumulators live in v128 locals, so the inner loop is loads, splats, multiplies and adds only.
 * Returns null where WebAssembly SIMD is unavailable; callers then use the scalar kernel.
 */

export interface WasmKernel {
  memory: WebAssembly.Memory;
  /** The compiled module, for instantiating the same kernel on the same (shared) memory in a worker. */
  module: WebAssembly.Module;
  /** Whether `memory` is shared (a SharedArrayBuffer), so worker threads can use it too. */
  shared: boolean;
  kernel: (a: number, b: number, c: number, kc: number, ldb: number) => void;
}

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

// opcodes
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, I32_CONST = 0x41, I32_ADD = 0x6a, I32_SUB = 0x6b, LOOP = 0x03, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
const V128_LOAD = 0x00, V128_LOAD32_SPLAT = 0x09, V128_STORE = 0x0b, F32X4_ADD = 0xe4, F32X4_MUL = 0xe6;
const memarg = (align: number, offset: number): number[] => [...uleb(align), ...uleb(offset)];

/** The module bytes for an MR × (4·NRV) kernel. */
export function kernelModule(mr: number, nrv: number, memoryPages: number, shared: boolean): Uint8Array {
  const nr = 4 * nrv;
  const [A, B, C, KC, LDB] = [0, 1, 2, 3, 4];
  const acc = (r: number, j: number): number => 5 + r * nrv + j;
  const bv = (j: number): number => 5 + mr * nrv + j;
  const av = 5 + mr * nrv + nrv;
  const nV128 = mr * nrv + nrv + 1;

  const body: number[] = [LOOP, VOID];
  for (let j = 0; j < nrv; j++) body.push(LOCAL_GET, B, ...simd(V128_LOAD, ...memarg(0, 16 * j)), LOCAL_SET, bv(j));
  for (let r = 0; r < mr; r++) {
    body.push(LOCAL_GET, A, ...simd(V128_LOAD32_SPLAT, ...memarg(0, 4 * r)), LOCAL_SET, av);
    for (let j = 0; j < nrv; j++) {
      body.push(LOCAL_GET, acc(r, j), LOCAL_GET, av, LOCAL_GET, bv(j), ...simd(F32X4_MUL), ...simd(F32X4_ADD), LOCAL_SET, acc(r, j));
    }
  }
  body.push(LOCAL_GET, A, I32_CONST, ...sleb(4 * mr), I32_ADD, LOCAL_SET, A);
  body.push(LOCAL_GET, B, LOCAL_GET, LDB, I32_ADD, LOCAL_SET, B);
  body.push(LOCAL_GET, KC, I32_CONST, 1, I32_SUB, LOCAL_SET, KC, LOCAL_GET, KC, BR_IF, 0, END);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nrv; j++) body.push(LOCAL_GET, C, LOCAL_GET, acc(r, j), ...simd(V128_STORE, ...memarg(0, 4 * (r * nr + 4 * j))));
  }
  body.push(END);
  const func = [...vec([[...uleb(nV128), 0x7b]]), ...body];

  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[0x7f], [0x7f], [0x7f], [0x7f], [0x7f]]), 0x00]])),
    // memory limits: flag 1 = min and max, flag 3 = shared with min and max
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, shared ? 0x03 : 0x01, ...uleb(memoryPages), ...uleb(memoryPages)]])),
    ...section(3, vec([[0x00]])),
    ...section(7, vec([[...str('kernel'), 0x00, 0x00]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/**
 * Compiles the kernel into a fresh memory of `bytes` bytes, shared where SharedArrayBuffer exists
 * (browsers without cross-origin isolation lack it), or returns null without WebAssembly SIMD.
 */
export function createWasmKernel(mr: number, nrv: number, bytes: number): WasmKernel | null {
  if (typeof WebAssembly === 'undefined') return null;
  const pages = Math.ceil(bytes / 65536);
  for (const shared of typeof SharedArrayBuffer === 'undefined' ? [false] : [true, false]) {
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
      const module = new WebAssembly.Module(kernelModule(mr, nrv, pages, shared) as Uint8Array<ArrayBuffer>);
      const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
      return { memory, module, shared, kernel: instance.exports.kernel as WasmKernel['kernel'] };
    } catch {
      // no SIMD, or no shared memory: try the next option
    }
  }
  return null;
}
