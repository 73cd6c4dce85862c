import type { WasmKernel } from './wasm-kernel.js';

/**
 * A second thread for the GEMM: a worker that instantiates the same WebAssembly kernel on the same
 * shared memory and computes part of each GEMM block. The cpu backend's API is synchronous, so the
 * main thread publishes a block, computes chunks of it itself, and waits (Atomics.wait) only for the
 * chunks the worker has claimed. A worker that has not booted yet, or is busy, simply claims nothing:
 * the main thread then does every chunk, so the result never depends on the worker.
 *
 * Control words (Int32, at word index `ctl` in the shared memory):
 *   0 mc, 1 nc, 2 kc, 3 ldb in bytes, 4 B in place (0/1), 5 panels per chunk, 6 A byte offset,
 *   7 B byte offset, 8 result-region float offset, 9 region row stride (floats),
 *   10 CLAIM = tag << 24 | chunks << 12 | next chunk, 11 DONE (chunks finished), 12 SEQ (job number),
 *   13 and 14 chunks computed so far by the worker and by the main thread (for tests).
 * CLAIM holds the job tag and chunk count in one word, so a compare-and-swap succeeds only for a chunk
 * of the job that is still running; its parameters cannot change until that chunk is done.
 */

const CLAIM = 10;
const DONE = 11;
const SEQ = 12;

/**
 * Computes the tiles of panels [k·per, (k+1)·per) of the published block into the result region
 * (MR = 4, NR = 8 are fixed here). Self-contained: its source is also the worker's code.
 */
function runChunk(kernel: WasmKernel['kernel'], mem: Float32Array, ctl: Int32Array, c0: number, k: number, tileByte: number): void {
  const mc = ctl[c0], nc = ctl[c0 + 1], kc = ctl[c0 + 2], ldbBytes = ctl[c0 + 3], inPlace = ctl[c0 + 4], per = ctl[c0 + 5];
  const aBase = ctl[c0 + 6], bBase = ctl[c0 + 7], rBase = ctl[c0 + 8], ldr = ctl[c0 + 9];
  const t = tileByte >> 2;
  const end = Math.min(nc, (k + 1) * per * 8);
  for (let jp = k * per * 8; jp < end; jp += 8) {
    const bAt = bBase + (inPlace ? jp : jp * kc) * 4;
    for (let ip = 0; ip < mc; ip += 4) {
      kernel(aBase + ip * kc * 4, bAt, tileByte, kc, ldbBytes);
      let o = rBase + ip * ldr + jp;
      for (let r = 0; r < 4; r++, o += ldr) {
        for (let j = 0; j < 8; j++) mem[o + j] = mem[t + r * 8 + j];
      }
    }
  }
}

/** Claims and runs chunks of job `seq` until none is left. Self-contained: also runs in the worker. */
function claimAndRun(kernel: WasmKernel['kernel'], mem: Float32Array, ctl: Int32Array, c0: number, seq: number, tileByte: number, run: typeof runChunk, counter: number): void {
  for (;;) {
    const cur = Atomics.load(ctl, c0 + 10);
    if (cur >>> 24 !== (seq & 0xff)) return;
    const next = cur & 0xfff;
    if (next >= ((cur >>> 12) & 0xfff)) return;
    if (Atomics.compareExchange(ctl, c0 + 10, cur, cur + 1) !== cur) continue;
    run(kernel, mem, ctl, c0, next, tileByte);
    Atomics.add(ctl, c0 + counter, 1);
    Atomics.add(ctl, c0 + 11, 1);
    Atomics.notify(ctl, c0 + 11);
  }
}

export interface BlockJob {
  mc: number; nc: number; kc: number; ldbBytes: number; inPlace: boolean;
  aByte: number; bByte: number; regionFloat: number; ldr: number;
}

export interface GemmHelper {
  /** False while backing off: the main thread recently waited on the worker longer than it computed. */
  wanted(): boolean;
  /** Ends a back-off now. */
  reset(): void;
  /** Computes the block into the result region with both threads; returns when every tile is written. */
  run(job: BlockJob): void;
  /** Chunks computed so far by each thread. */
  chunks(): { worker: number; main: number };
}

/**
 * Starts the helper worker where Node's worker_threads and shared wasm memory exist; null elsewhere
 * (browsers, or WebAssembly without shared memory). The worker is unref'd: it never keeps the process alive.
 */
export function createGemmHelper(wasm: WasmKernel, ctlWord: number, workerTileByte: number, mainTileByte: number): GemmHelper | null {
  type WorkerThreads = typeof import('node:worker_threads');
  type Os = typeof import('node:os');
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; env?: Record<string, string | undefined> } }).process;
  if (!wasm.shared || typeof proc?.getBuiltinModule !== 'function' || proc.env?.SEGRAD_CPU_THREADS === '1') return null;
  const wt = proc.getBuiltinModule('node:worker_threads') as WorkerThreads | undefined;
  const os = proc.getBuiltinModule('node:os') as Os | undefined;
  if (!wt || !os || os.availableParallelism() < 2) return null;

  const code = `
    const { workerData } = require('node:worker_threads');
    const { module, memory } = workerData;
    const kernel = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.kernel;
    const mem = new Float32Array(memory.buffer);
    const ctl = new Int32Array(memory.buffer);
    const __name = (f) => f;
    const runChunk = (${runChunk.toString()});
    const claimAndRun = (${claimAndRun.toString()});
    let seen = 0;
    for (;;) {
      Atomics.wait(ctl, ${ctlWord + SEQ}, seen);
      seen = Atomics.load(ctl, ${ctlWord + SEQ});
      claimAndRun(kernel, mem, ctl, ${ctlWord}, seen, ${workerTileByte}, runChunk, 13);
    }`;
  let worker: InstanceType<WorkerThreads['Worker']>;
  try {
    worker = new wt.Worker(code, { eval: true, workerData: { module: wasm.module, memory: wasm.memory } });
  } catch {
    return null;
  }
  worker.unref();
  let alive = true;
  worker.on('error', () => (alive = false));
  worker.on('exit', () => (alive = false));

  const mem = new Float32Array(wasm.memory.buffer);
  const ctl = new Int32Array(wasm.memory.buffer);
  const c0 = ctlWord;
  let seq = 0;
  // On a busy machine the worker may be descheduled while it holds a chunk, and the main thread then
  // waits longer than it computes. Track the ratio and stay single-threaded for a while when it is bad.
  let waitRatio = 0;
  let skip = 0;
  return {
    reset: () => {
      skip = 0;
      waitRatio = 0;
    },
    wanted: () => {
      if (skip === 0) return true;
      skip--;
      return false;
    },
    chunks: () => ({ worker: Atomics.load(ctl, c0 + 13), main: Atomics.load(ctl, c0 + 14) }),
    run(job) {
      const panels = Math.ceil(job.nc / 8);
      const chunks = Math.min(panels, 32);
      const per = Math.ceil(panels / chunks);
      const count = Math.ceil(panels / per);
      seq = (seq + 1) & 0x7fffffff;
      const params = [job.mc, job.nc, job.kc, job.ldbBytes, job.inPlace ? 1 : 0, per, job.aByte, job.bByte, job.regionFloat, job.ldr];
      params.forEach((v, i) => Atomics.store(ctl, c0 + i, v));
      Atomics.store(ctl, c0 + DONE, 0);
      Atomics.store(ctl, c0 + CLAIM, ((seq & 0xff) << 24) | (count << 12));
      if (alive) {
        Atomics.store(ctl, c0 + SEQ, seq);
        Atomics.notify(ctl, c0 + SEQ);
      }
      const start = performance.now();
      claimAndRun(wasm.kernel, mem, ctl, c0, seq, mainTileByte, runChunk, 14);
      const computed = performance.now();
      const t0 = Date.now();
      for (let done = Atomics.load(ctl, c0 + DONE); done < count; done = Atomics.load(ctl, c0 + DONE)) {
        // the worker finishes a claimed chunk in milliseconds; minutes mean it died mid-chunk
        if (Atomics.wait(ctl, c0 + DONE, done, 1000) === 'timed-out' && Date.now() - t0 > 60_000) {
          throw new Error(`cpu gemm: the helper thread stopped during a ${job.mc}×${job.nc}×${job.kc} block`);
        }
      }
      const ratio = (performance.now() - computed) / Math.max(computed - start, 1e-3);
      waitRatio = 0.8 * waitRatio + 0.2 * ratio;
      if (waitRatio > 0.5) {
        skip = 200;
        waitRatio = 0;
      }
    },
  };
}
