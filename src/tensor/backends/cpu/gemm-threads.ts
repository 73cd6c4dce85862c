import type { LoopBody, LoopKernels } from './loops.js';
import { nodeProcess } from './node-process.js';
import { DOT_COLS, LOOP_EXPORTS, LOOP_FUNCTIONS, type WasmKernel } from './wasm-kernel.js';

/**
 * A second thread for the GEMM and for the cpu backend's parallel loops (parallel.ts): a worker that
 * instantiates the same WebAssembly kernel on the same shared memory and computes part of each GEMM
 * block, or runs some of the chunks of a JS loop over shared arrays. The cpu backend's API is
 * synchronous, so the main thread publishes a job, computes chunks of it itself, and waits
 * (Atomics.wait) only for the chunks the worker has claimed. A worker that has not booted yet, or is
 * busy, simply claims nothing: the main thread then does every chunk, so the result never depends on
 * the worker.
 *
 * Control words (Int32, at word index `ctl` in the shared memory):
 *   0 mc, 1 nc, 2 kc, 3 ldb in bytes, 4 B in place (0/1; `rows`: store, not add), 5 panels per chunk,
 *   6 A byte offset, 7 B byte offset, 8 result-region byte offset, 9 region row stride (floats),
 *   10 CLAIM = tag << 24 | chunks << 12 | next chunk, 11 DONE (chunks finished), 12 SEQ (job number),
 *   13 and 14 chunks computed so far by the worker and by the main thread (for tests),
 *   15 the job's kind (0 `block`, 1 `rows`: word 3 is then the column byte offset and word 7 the
 *   table; 2 `dots`: word 2 is the length, 3 the length of one step in floats, 7 the table, 16 the A
 *   row stride; 3 a JS loop, whose body and arguments come as a message on the worker's port),
 *   17 the columns of a chunk's unit (NR for a B panel, DOT_COLS for a `dots` tile), 18–21 a `rows`
 *   job's dense tiling (tiles a row, row pitch in bytes, rows an image, image pitch in bytes; all 0: none).
 * A JS loop's arrays travel in that message, so they must be views of SharedArrayBuffers (a copy would
 * be written in vain); the message carries the job number, and the worker drops messages of jobs the
 * main thread finished alone.
 * CLAIM holds the job tag and chunk count in one word, so a compare-and-swap succeeds only for a chunk
 * of the job that is still running; its parameters cannot change until that chunk is done.
 */

const CLAIM = 10;
const DONE = 11;
const SEQ = 12;

type Kernels = Pick<WasmKernel, 'block' | 'rows' | 'dots'>;

/** The `rows` kernel's tiling arguments for columns that are not dense. */
export const NO_TILING = [0, 0, 0, 0] as const;

/** This thread's functions for LOOP_EXPORTS, in order. */
export const loopExports = (w: WasmKernel): LoopKernels => LOOP_EXPORTS.map((name) => ((LOOP_FUNCTIONS as readonly string[]).includes(name) ? w[name as (typeof LOOP_FUNCTIONS)[number]] : w.elementwise[name])) as LoopKernels;

/**
 * Adds the tiles of column units [k·per, (k+1)·per) of the published job into the result region with
 * the WebAssembly loops (word 17 says how many columns a unit has). Self-contained: its source is also
 * the worker's code.
 */
function runChunk(w: Kernels, ctl: Int32Array, c0: number, k: number): void {
  const mc = ctl[c0], nc = ctl[c0 + 1], kc = ctl[c0 + 2], ldbBytes = ctl[c0 + 3], inPlace = ctl[c0 + 4], per = ctl[c0 + 5];
  const aBase = ctl[c0 + 6], bBase = ctl[c0 + 7], rBase = ctl[c0 + 8], ldr = ctl[c0 + 9], kind = ctl[c0 + 15];
  const unit = ctl[c0 + 17];
  const j0 = k * per * unit;
  const width = Math.min(nc, (k + 1) * per * unit) - j0;
  if (width <= 0) return;
  if (kind === 2) {
    // the whole length in steps of `ldbBytes` floats, so a tile's B rows stay in L1 across the row groups
    for (let q0 = 0; q0 < kc; q0 += ldbBytes) w.dots(aBase + q0 * 4, ctl[c0 + 16], bBase + j0 * 4, q0 * 4, rBase + j0 * 4, mc, width, Math.min(ldbBytes, kc - q0), ldr * 4);
  } else if (kind === 1) {
    w.rows(aBase, bBase, rBase + j0 * 4, mc, width, kc, inPlace, ldbBytes + j0 * 4, ldr * 4, ctl[c0 + 18], ctl[c0 + 19], ctl[c0 + 20], ctl[c0 + 21]);
  } else {
    const bstep = inPlace ? 32 : 32 * kc;
    w.block(aBase, bBase + (j0 / 8) * bstep, rBase + j0 * 4, mc, width, kc, ldbBytes, bstep, ldr * 4);
  }
}

/** Claims and runs chunks of job `seq` until none is left. Self-contained: also runs in the worker. */
function claimAndRun(w: Kernels, ctl: Int32Array, c0: number, seq: number, run: typeof runChunk, counter: number): void {
  for (;;) {
    const cur = Atomics.load(ctl, c0 + 10);
    if (cur >>> 24 !== (seq & 0xff)) return;
    const next = cur & 0xfff;
    if (next >= ((cur >>> 12) & 0xfff)) return;
    if (Atomics.compareExchange(ctl, c0 + 10, cur, cur + 1) !== cur) continue;
    run(w, ctl, c0, next);
    Atomics.add(ctl, c0 + counter, 1);
    Atomics.add(ctl, c0 + 11, 1);
    Atomics.notify(ctl, c0 + 11);
  }
}

export interface BlockJob {
  mc: number; nc: number; kc: number; ldbBytes: number; inPlace: boolean;
  aByte: number; bByte: number; regionByte: number; ldr: number;
  /** 0 `block` (default), 1 `rows`, 2 `dots` (see the control words above). */
  kind?: 0 | 1 | 2;
  /** `dots`: the A row stride in bytes. */
  aStride?: number;
  /** `rows`: the dense tiling [tiles a row, row pitch in bytes, rows an image, image pitch in bytes] (see WasmKernel.rows). */
  tiling?: readonly [number, number, number, number];
}

export interface GemmHelper {
  /** False while backing off: the main thread recently waited on the worker longer than it computed. */
  wanted(): boolean;
  /** Ends a back-off now. */
  reset(): void;
  /** Adds the block's product into the result region with both threads; returns when every tile is done. */
  run(job: BlockJob): void;
  /** Runs chunks 0 … count−1 of loop body `index` (of the bodies the helper was made with) on both threads. */
  loop(index: number, arrays: ArrayLike<number>[], nums: number[], count: number): void;
  /** Chunks computed so far by each thread. */
  chunks(): { worker: number; main: number };
}

/**
 * Starts the helper worker where Node's worker_threads and shared wasm memory exist; null elsewhere
 * (browsers, or WebAssembly without shared memory). The worker is unref'd: it never keeps the process alive.
 */
export function createGemmHelper(wasm: WasmKernel, ctlWord: number, bodies: readonly LoopBody[]): GemmHelper | null {
  type WorkerThreads = typeof import('node:worker_threads');
  type Os = typeof import('node:os');
  const proc = nodeProcess;
  if (!wasm.shared || typeof proc?.getBuiltinModule !== 'function' || proc.env?.SEGRAD_CPU_THREADS === '1') return null;
  const wt = proc.getBuiltinModule('node:worker_threads') as WorkerThreads | undefined;
  const os = proc.getBuiltinModule('node:os') as Os | undefined;
  if (!wt || !os || os.availableParallelism() < 2) return null;

  const code = `
    const { workerData, receiveMessageOnPort } = require('node:worker_threads');
    const { module, memory, port } = workerData;
    const kernels = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
    const ctl = new Int32Array(memory.buffer);
    const __name = (f) => f;
    const runChunk = (${runChunk.toString()});
    const claimAndRun = (${claimAndRun.toString()});
    const bodies = [${bodies.map((f) => `(${f.toString()})`).join(', ')}];
    // the message of JS loop 'seq', or null where the main thread already finished that job alone
    let early = null;
    const messageOf = (seq) => {
      if (early && early.seq === seq) { const m = early; early = null; return m; }
      for (let r; (r = receiveMessageOnPort(port)); ) {
        if (r.message.seq === seq) return r.message;
        if (r.message.seq > seq) { early = r.message; return null; }
      }
      return null;
    };
    let msg = null;
    const ew = ${JSON.stringify(LOOP_EXPORTS)}.map((name) => kernels[name]);
    const runBody = (w, c, c0, k) => bodies[msg.body](msg.arrays, msg.nums, k, msg.count, ew);
    let seen = 0;
    for (;;) {
      Atomics.wait(ctl, ${ctlWord + SEQ}, seen);
      seen = Atomics.load(ctl, ${ctlWord + SEQ});
      if (Atomics.load(ctl, ${ctlWord + 15}) === 3) {
        msg = messageOf(seen);
        if (msg) claimAndRun(kernels, ctl, ${ctlWord}, seen, runBody, 13);
        msg = null;
      } else {
        claimAndRun(kernels, ctl, ${ctlWord}, seen, runChunk, 13);
      }
    }`;
  let worker: InstanceType<WorkerThreads['Worker']>;
  const channel = new wt.MessageChannel();
  try {
    // a small young generation: the worker allocates little, and the SharedArrayBuffer handles each
    // loop's message brings keep their memory alive until the worker's own collector runs
    worker = new wt.Worker(code, { eval: true, workerData: { module: wasm.module, memory: wasm.memory, port: channel.port2 }, transferList: [channel.port2], resourceLimits: { maxYoungGenerationSizeMb: 1 } });
  } catch {
    return null;
  }
  worker.unref();
  channel.port1.unref();
  const port = channel.port1;
  let alive = true;
  worker.on('error', () => (alive = false));
  worker.on('exit', () => (alive = false));

  const ctl = new Int32Array(wasm.memory.buffer);
  const c0 = ctlWord;
  const ew = loopExports(wasm);
  let seq = 0;
  // On a busy machine the worker may be descheduled while it holds a chunk, and the main thread then
  // waits longer than it computes. Sum both over windows of jobs and stay single-threaded for a while
  // when the waits won; a window, not one job, so that a single late wake-up does not switch it off.
  const WINDOW = 32;
  let waited = 0;
  let computedMs = 0;
  let jobs = 0;
  let skip = 0;
  const helper: GemmHelper = {
    reset: () => {
      skip = 0;
      waited = computedMs = jobs = 0;
    },
    wanted: () => {
      if (skip === 0) return true;
      skip--;
      return false;
    },
    chunks: () => ({ worker: Atomics.load(ctl, c0 + 13), main: Atomics.load(ctl, c0 + 14) }),
    run(job) {
      const unit = job.kind === 2 ? DOT_COLS : 8;
      const panels = Math.ceil(job.nc / unit);
      const chunks = Math.min(panels, 64);
      const per = Math.ceil(panels / chunks);
      const count = Math.ceil(panels / per);
      seq = (seq + 1) & 0x7fffffff;
      const params = [job.mc, job.nc, job.kc, job.ldbBytes, job.inPlace ? 1 : 0, per, job.aByte, job.bByte, job.regionByte, job.ldr];
      params.forEach((v, i) => Atomics.store(ctl, c0 + i, v));
      Atomics.store(ctl, c0 + 16, job.aStride ?? 0);
      Atomics.store(ctl, c0 + 17, unit);
      (job.tiling ?? NO_TILING).forEach((v, i) => Atomics.store(ctl, c0 + 18 + i, v));
      share(job.kind ?? 0, count, runChunk, () => `a ${job.mc}×${job.nc}×${job.kc} GEMM block`);
    },
    loop(index, arrays, nums, count) {
      seq = (seq + 1) & 0x7fffffff;
      if (alive) port.postMessage({ seq, body: index, arrays, nums, count });
      share(3, count, (_w, _c, _c0, k) => bodies[index](arrays, nums, k, count, ew), () => `chunk of parallel loop ${index}`);
    },
  };

  return helper;

  /** Publishes job `seq` of `count` chunks, runs chunks here until none is left, and waits for the worker's. */
  function share(kind: number, count: number, run: typeof runChunk, what: () => string): void {
    Atomics.store(ctl, c0 + 15, kind);
    Atomics.store(ctl, c0 + DONE, 0);
    Atomics.store(ctl, c0 + CLAIM, ((seq & 0xff) << 24) | (count << 12));
    if (alive) {
      Atomics.store(ctl, c0 + SEQ, seq);
      Atomics.notify(ctl, c0 + SEQ);
    }
    const start = performance.now();
    claimAndRun(wasm, ctl, c0, seq, run, 14);
    const computed = performance.now();
    const t0 = Date.now();
    for (let done = Atomics.load(ctl, c0 + DONE); done < count; done = Atomics.load(ctl, c0 + DONE)) {
      // the worker finishes a claimed chunk in milliseconds; minutes mean it died mid-chunk
      if (Atomics.wait(ctl, c0 + DONE, done, 1000) === 'timed-out' && Date.now() - t0 > 60_000) {
        throw new Error(`cpu backend: the helper thread stopped during ${what()}`);
      }
    }
    waited += performance.now() - computed;
    computedMs += computed - start;
    if (++jobs === WINDOW) {
      if (waited > computedMs) skip = 4 * WINDOW;
      waited = computedMs = jobs = 0;
    }
  }
}
