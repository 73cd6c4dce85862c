import gpujs from 'gpu.js';
import type { GPU as GPUInstance, IKernelRunShortcut } from 'gpu.js';
import { TensorSizeLimitError } from '../../backend.js';
import { isDeviceTiming, isProfiling, recordDeviceKernel, recordQueuedKernel } from '../../profile.js';
import { importNodeOnly } from '../../node-only.js';
import { floatVars, isIntegerIndexed, kernel } from './codegen.js';
import { patiently, usePatientPolling } from './dawn-poll.js';
import { OutputPool, type BufferResult } from './output-pool.js';
import { BatchEncoder, bufferView, isView, partStride } from './webgpu-batch.js';

/**
 * One gpu.js mode as a device: the shared GPU instance, the kernel cache, the live-output count and, in
 * asynchronous modes (webgpu), the queue every kernel call and release is chained on.
 */

/** gpu.js modes the gpu backend can run, best first for automatic selection. */
export const GPU_MODES = ['webgpu', 'webgl2', 'webgl', 'headlessgl', 'webasm', 'cpu'] as const;
export type GpuMode = (typeof GPU_MODES)[number];
const GL_MODES: ReadonlySet<GpuMode> = new Set(['webgl2', 'webgl', 'headlessgl']);
/**
 * `SEGRAD_GPU_INT_INDEX=0`: every mode compiles intVar's offsets as floats, as the GL modes must (the
 * kernels' results are the same; bench/gpu.sh times a step both ways to show what the integers save).
 */
/** An environment variable where there is a process (Node), else undefined (browsers): the SEGRAD_GPU_* knobs. */
export const env = (name: string): string | undefined => (typeof process !== 'undefined' ? process.env?.[name] : undefined);
const floatIndices = env('SEGRAD_GPU_INT_INDEX') === '0';
/** `SEGRAD_GPU_WIDE=0`: kernels compute one output a thread in webgpu too (conv, batch norm; bench/gpu.sh compares). */
const narrow = env('SEGRAD_GPU_WIDE') === '0';
/**
 * `SEGRAD_GPU_WIDE_MIN_THREADS=N`: a kernel computes several outputs a thread only where it still runs at
 * least N threads (default 0: always). Fewer, longer threads load less but may leave a large GPU idle on
 * small layers; bench/gpu.sh times a step with a floor, and `npm run bench -- widths` each conv shape.
 */
const minThreads = Math.max(0, Number(env('SEGRAD_GPU_WIDE_MIN_THREADS') ?? 0) || 0);

/** What a kernel hands back with `pipeline: true`: a typed array (cpu, webasm) or a device object. */
type DeviceValue = Float32Array | { toArray(): unknown; delete(): void };

/**
 * A tensor's storage on the gpu backend. In asynchronous modes `value` is filled in when the kernel that
 * produces it has been encoded (at once where the queue is empty, else when its turn comes; `ready`
 * settles then); the GPU runs it later, and a read waits for that.
 */
export class GpuHandle {
  value: DeviceValue | null = null;
  error: Error | null = null;
  ready: Promise<void> | null = null;
  released = false;
  /** Host data passed to kernels as a plain array (gpu.js copies it in with the call): uploads, constants. */
  host = false;
  constructor(readonly device: Device, readonly size: number) {}
}

/**
 * Largest tensor (elements) a kernel may read or write where index arithmetic runs in float32 (every
 * mode but cpu): flat indices stay exact below 2^23 (measured: webasm mis-indexes from 2^23 + 3, webgpu
 * from about 1.5·2^23). Larger tensors are refused rather than computed wrongly, except in webgpu by a
 * kernel whose indices are all integers (codegen.ts's `kernel(…, exact)`): there `this.thread.x` and
 * intVar's variables are i32 and gpu.js indexes its arrays by them exactly (gpu-large.test.ts, past 2^24).
 */
export const MAX_ELEMENTS_FLOAT_INDEX = 2 ** 23;

/** Largest tensor a webgpu kernel with integer indices (codegen.ts's `indexInts`) may read or write: i32 offsets. */
const MAX_ELEMENTS_INT_INDEX = 2 ** 31 - 1;

// `this.thread.x` is an integer: exact at any size
const UPLOAD_SOURCE = kernel(['a'], ['return a[this.thread.x];'], true);

/** An argument of a kernel call: a tensor handle or a scalar uniform. */
export type KernelArg = GpuHandle | number;

const { GPU } = gpujs;

interface Probe {
  ok: boolean;
  reason: string;
  adapter?: string;
  /** webgpu: the adapter is a software one (isFallbackAdapter: SwiftShader, a CPU). */
  software?: boolean;
}

const probes = new Map<GpuMode, Probe>();
const devices = new Map<GpuMode, Device>();

/** Loads Node's WebGPU (the `webgpu` package) when no `navigator.gpu` exists; returns why not, or ''. */
async function installNodeWebGPU(): Promise<string> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return '';
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) return 'this browser has no navigator.gpu (WebGPU disabled or unsupported)';
  try {
    const mod = await importNodeOnly<{ create(flags: string[]): unknown; globals: Record<string, unknown> }>('webgpu');
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    const gpu = mod.create([]);
    // `SEGRAD_GPU_POLL=spin`: Dawn's own polling at full speed while segrad waits (bench/gpu.sh compares)
    usePatientPolling(env('SEGRAD_GPU_POLL') !== 'spin');
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else (globalThis as Record<string, unknown>).navigator = { gpu };
    return '';
  } catch (e) {
    return `the 'webgpu' package did not load (${(e as Error).message})`;
  }
}

function describeAdapter(adapter: { info?: Record<string, unknown> } | null): string | undefined {
  const info = adapter?.info;
  if (!info) return undefined;
  const parts = ['vendor', 'architecture', 'device', 'description'].map((k) => info[k]).filter((v) => typeof v === 'string' && v !== '');
  return parts.length ? parts.join(' ') : undefined;
}

/**
 * Probes a gpu.js mode (asynchronous: WebGPU adapters are requested asynchronously). In Node it first
 * loads the `webgpu` package for mode `webgpu`. Resolves to whether the mode runs here and why not.
 * @example const p = await prepareGpu('webgpu'); if (p.ok) setBackend('gpu', { mode: 'webgpu' });
 */
export async function prepareGpu(mode: GpuMode): Promise<Probe> {
  if (mode !== 'webgpu') {
    const p = probeSync(mode);
    return { ...p };
  }
  const cached = probes.get('webgpu');
  if (cached) return { ...cached };
  let probe: Probe;
  const why = await installNodeWebGPU();
  if (why) probe = { ok: false, reason: why };
  else {
    try {
      const nav = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<{ info?: Record<string, unknown> } | null> } } }).navigator;
      const adapter = await nav.gpu.requestAdapter();
      probe = adapter
        ? { ok: true, reason: '', adapter: describeAdapter(adapter), software: adapter.info?.isFallbackAdapter === true }
        : { ok: false, reason: 'navigator.gpu.requestAdapter() returned no adapter (no GPU or Vulkan driver; in Node without a GPU set VK_ICD_FILENAMES to a SwiftShader ICD)' };
    } catch (e) {
      probe = { ok: false, reason: `requesting a WebGPU adapter failed: ${(e as Error).message}` };
    }
  }
  probes.set('webgpu', probe);
  return { ...probe };
}

/** The synchronous availability check of a mode; webgpu needs `prepareGpu('webgpu')` first. */
function probeSync(mode: GpuMode): Probe {
  const cached = probes.get(mode);
  if (cached) return cached;
  let probe: Probe;
  if (mode === 'webgpu') {
    const hasNavigatorGpu = !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
    return hasNavigatorGpu
      ? { ok: false, reason: "its adapter has not been probed yet: await prepareGpu('webgpu') before setBackend (WebGPU adapters are requested asynchronously)" }
      : { ok: false, reason: "navigator.gpu is absent: await prepareGpu('webgpu') first (in Node it loads the 'webgpu' package)" };
  }
  const support: Record<Exclude<GpuMode, 'webgpu'>, () => boolean> = {
    cpu: () => true,
    webasm: () => GPU.isWebAssemblySupported,
    webgl: () => GPU.isWebGLSupported,
    webgl2: () => GPU.isWebGL2Supported,
    headlessgl: () => GPU.isHeadlessGLSupported,
  };
  if (!support[mode]()) {
    const hint = mode === 'headlessgl' ? " (needs the optional 'gl' package and an X display, e.g. xvfb-run)" : '';
    probe = { ok: false, reason: `gpu.js reports ${mode} unsupported in this environment${hint}` };
  } else {
    // gpu.js may quietly run another kernel class than the one asked for: run one and check which ran
    try {
      const gpu = new GPU({ mode });
      const k = gpu.createKernel('function(a) { return a[this.thread.x] * 2 + 1; }', { output: [3], precision: 'single', tactic: 'precision' });
      const out = k(new Float32Array([1, 2, 3])) as ArrayLike<number>;
      const ran = runningMode(k);
      if (ran !== mode) probe = { ok: false, reason: `gpu.js ran the probe kernel in mode '${ran}' instead` };
      else if (out[0] !== 3 || out[1] !== 5 || out[2] !== 7) probe = { ok: false, reason: `the probe kernel computed [${Array.from(out).join(', ')}] instead of [3, 5, 7]` };
      else probe = { ok: true, reason: '', adapter: glRenderer(k) };
      k.destroy();
      void gpu.destroy();
    } catch (e) {
      probe = { ok: false, reason: `creating a ${mode} kernel failed: ${(e as Error).message}` };
    }
  }
  probes.set(mode, probe);
  return probe;
}

/** The GL renderer string behind a GL kernel (e.g. SwiftShader, a GPU model), where the browser tells it. */
function glRenderer(k: IKernelRunShortcut): string | undefined {
  type GL = { getExtension(n: string): { UNMASKED_RENDERER_WEBGL: number } | null; getParameter(p: number): unknown; RENDERER: number };
  const ctx = (k as unknown as { context?: GL }).context;
  if (!ctx || typeof ctx.getParameter !== 'function') return undefined;
  try {
    const ext = ctx.getExtension('WEBGL_debug_renderer_info');
    const name = ctx.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : ctx.RENDERER);
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The mode a kernel really runs in; GL kernel classes all report 'gpu', so tell them apart by class. */
function runningMode(k: IKernelRunShortcut): string {
  const inner = (k as unknown as { kernel?: object }).kernel ?? k;
  const { HeadlessGLKernel, WebGL2Kernel, WebGLKernel } = gpujs as unknown as Record<string, (new () => object) | undefined>;
  if (HeadlessGLKernel && inner instanceof HeadlessGLKernel) return 'headlessgl';
  if (WebGL2Kernel && inner instanceof WebGL2Kernel) return 'webgl2';
  if (WebGLKernel && inner instanceof WebGLKernel) return 'webgl';
  return String((inner.constructor as { mode?: string }).mode);
}

/** The modes usable now without waiting (webgpu only once `prepareGpu('webgpu')` found an adapter). */
export function availableGpuModes(): GpuMode[] {
  return GPU_MODES.filter((m) => probeSync(m).ok);
}

/** Throws a clear error when `mode` cannot run here; returns the shared device of that mode. */
export function deviceFor(mode: GpuMode): Device {
  const existing = devices.get(mode);
  if (existing) return existing;
  const probe = probeSync(mode);
  if (!probe.ok) throw new Error(`setBackend('gpu', { mode: '${mode}' }): mode '${mode}' is unavailable: ${probe.reason}`);
  const d = new Device(mode, probe.adapter, probe.software);
  devices.set(mode, d);
  return d;
}

/** A gpu.js mode with its one GPU instance and the kernels compiled on it. */
export class Device {
  readonly gpu: GPUInstance;
  readonly synchronous: boolean;
  /** Device outputs not yet released. */
  live = 0;
  /** Compiled kernels by source, then by output size and argument kinds (a kept source string hashes once). */
  private readonly kernels = new Map<string, Map<string, IKernelRunShortcut>>();
  private queue: Promise<void> = Promise.resolve();
  /** Calls, reads and releases on the queue that have not finished; at 0 a call is encoded at once. */
  private pending = 0;
  /** webgpu: released output buffers for reuse (output-pool.ts). */
  private readonly pool: OutputPool | null;
  /** webgpu: kernel calls recorded for one submission (webgpu-batch.ts). */
  private readonly batch: BatchEncoder | null;
  /**
   * Most outputs a kernel may compute a thread (run's `width`): 4 in webgpu, else 1 (and 1 under
   * SEGRAD_GPU_WIDE=0). Kernel sources are kept per width, so lowering it later is safe: the widths bench does.
   */
  widest: number;
  /** The fewest threads a kernel may be narrowed to by computing several outputs each (SEGRAD_GPU_WIDE_MIN_THREADS). */
  minThreads = minThreads;

  /** @param software webgpu on a software adapter (SwiftShader): it runs every branch of a thread group. */
  constructor(readonly mode: GpuMode, readonly adapter: string | undefined, readonly software = false) {
    this.gpu = new GPU({ mode });
    this.synchronous = mode !== 'webgpu';
    this.pool = mode === 'webgpu' ? new OutputPool(2 ** 30, () => this.batch?.flush()) : null;
    this.batch = this.pool ? new BatchEncoder(this.pool, env('SEGRAD_GPU_BIND_GROUPS') !== '0') : null;
    this.widest = this.batch && !narrow ? 4 : 1;
  }

  /**
   * Most outputs a thread for a kernel of `outputs` outputs: the largest of 4, 2, 1 up to `widest` that
   * still leaves `minThreads` threads (1 where none does).
   */
  mostFor(outputs: number): number {
    for (let w = this.widest; w > 1; w >>= 1) if (outputs / w >= this.minThreads) return w;
    return 1;
  }

  /** Number of distinct kernels compiled so far (each (primitive, shape signature) compiles once). */
  get kernelCount(): number {
    let n = 0;
    for (const bySignature of this.kernels.values()) n += bySignature.size;
    return n;
  }

  /**
   * Runs the kernel with `source` over a 1-D output of `size` elements. The source is plain text so
   * neither TypeScript nor a bundler can rewrite what gpu.js parses. In async modes the call is queued
   * behind every earlier one, so inputs are ready and releases never overtake their readers; where
   * nothing is queued (every earlier call has been encoded, no read is in flight) it is encoded at once
   * (webgpu-batch.ts): no promise per call, and the GPU starts on the first submissions while the rest
   * of the step is still being built. Either way a failure is kept for read(), not thrown by the op.
   * A kernel that returns `width` > 1 values (an array) runs size / width threads; webgpu only, where the
   * batch binds its output as size consecutive floats.
   */
  run(op: string, source: string, size: number, args: readonly KernelArg[], width = 1): GpuHandle {
    if (width !== 1 && (!this.batch || size % width !== 0)) throw new Error(`${op} (gpu ${this.mode}): ${width} outputs a thread need webgpu and a multiple of ${width} outputs (${size})`);
    if (this.mode !== 'cpu') {
      const biggest = Math.max(size, ...args.map((a) => (typeof a === 'number' ? 0 : a.size)));
      if (biggest > MAX_ELEMENTS_FLOAT_INDEX) this.checkSize(op, source, biggest);
    }
    const out = new GpuHandle(this, size);
    this.live++;
    if (size === 0) {
      out.value = new Float32Array(0);
      return out;
    }
    // gpu.js compiles a kernel for its arguments' kinds: host arrays and device buffers get kernels of their own
    const signature = `${size}|${args.map((a) => (typeof a === 'number' ? 'n' : a.host ? `h${a.size}` : a.size)).join(',')}`;
    if (this.synchronous) {
      try {
        this.invoke(op, source, signature, size, args, width, out);
      } catch (e) {
        this.live--;
        throw wrapError(op, this.mode, e);
      }
      return out;
    }
    this.schedule(op, out, () => this.invoke(op, source, signature, size, args, width, out));
    return out;
  }

  /**
   * Past the float32 index limit only webgpu runs a kernel, one whose indices are integers (codegen.ts's
   * `indexInts`), up to 2^31 − 1 elements; anything else is refused rather than mis-indexed.
   */
  private checkSize(op: string, source: string, elements: number): void {
    const ints = this.mode === 'webgpu' && !floatIndices && isIntegerIndexed(source);
    const limit = ints ? MAX_ELEMENTS_INT_INDEX : MAX_ELEMENTS_FLOAT_INDEX;
    if (elements <= limit) return;
    const why = ints ? '32-bit integer index arithmetic' : `float32 index arithmetic${this.mode === 'webgpu' ? ' (this kernel has no integer form)' : ''}`;
    throw new TensorSizeLimitError(op, elements, limit, `${op} (gpu backend, mode '${this.mode}'): a tensor of ${elements} elements exceeds the ${limit}-element limit of ${why}; use smaller batches or the cpu backend`);
  }

  /** The call of run(): encoded into the batch where it can be, else through gpu.js; sets out.value. */
  private invoke(op: string, source: string, signature: string, size: number, args: readonly KernelArg[], width: number, out: GpuHandle): Promise<void> | void {
    const vals = args.map((a) => {
      if (typeof a === 'number') return a;
      if (a.error) throw a.error;
      // queued releases run after every call queued before them, so a missing value means misuse
      if (!a.value) throw new Error(`${op} (gpu ${this.mode}): an input was released before use`);
      return a.value;
    });
    const kernel = this.kernel(source, signature, size / width);
    const batched = this.batch?.encode(kernel, vals, size, width);
    if (batched) {
      out.value = batched;
      // device timing: this call alone on the device, and what comes next waits for it
      if (isDeviceTiming()) return this.batch!.timeToDone().then(({ ms, roundTrip }) => recordDeviceKernel(op, ms, roundTrip));
      return;
    }
    // gpu.js submits on its own: what the batch holds goes first
    this.batch?.flush();
    // gpu.js would hand back an array result other kernels cannot read (width > 1)
    if (vals.some(isView) || width > 1) return this.buildThenEncode(op, kernel, vals, size, width, out);
    const r = (kernel as unknown as (...v: unknown[]) => unknown)(...vals);
    const ran = runningMode(kernel);
    if (ran !== this.mode) throw new Error(`gpu.js ran the kernel in mode '${ran}' instead of '${this.mode}'`);
    if (this.synchronous) out.value = r as DeviceValue;
    else return patiently(r as Promise<DeviceValue>).then((v) => void (out.value = v));
  }

  /**
   * webgpu: the `count` parts of a packed output h, `size` floats each and partStride(size) apart, as
   * handles of their own that share h's buffer (no copy; the buffer lives until every part is released);
   * h itself is released.
   */
  parts(h: GpuHandle, count: number, size: number): GpuHandle[] {
    const views = this.views(h, Array.from({ length: count }, (_, k) => ({ offset: k * partStride(size), size })));
    this.release(h);
    return views;
  }

  /**
   * webgpu: views of the buffer under `h` (its own output, or the buffer a view of it lies in), `size`
   * floats each from float `offset` of the buffer on (multiples of VIEW_ALIGN). `h` stays the caller's.
   */
  views(h: GpuHandle, spans: readonly { offset: number; size: number }[]): GpuHandle[] {
    if (!this.batch) throw new Error(`views (gpu ${this.mode}): buffer views exist in webgpu mode only`);
    return spans.map(({ offset, size }) => {
      const out = new GpuHandle(this, size);
      this.live++;
      this.schedule(null, out, () => {
        if (h.error) throw h.error;
        if (!h.value) throw new Error(`views (gpu ${this.mode}): the buffer was released before use`);
        out.value = bufferView(h.value as unknown as BufferResult, offset, size);
      });
      return out;
    });
  }

  /**
   * A kernel gpu.js has not built yet whose call the batch must record: one with a view among its
   * arguments (gpu.js would read the view from its buffer's start) or with several outputs a thread. The
   * kernel is built on a call through gpu.js, with views read from their buffer's start (a result thrown
   * away), and the real call is then recorded by the batch, which binds views at their offset.
   */
  private buildThenEncode(op: string, kernel: IKernelRunShortcut, vals: unknown[], size: number, width: number, out: GpuHandle): Promise<void> {
    const plain = vals.map((v) => (isView(v) ? { ...(v as object), byteOffset: undefined } : v));
    const r = patiently((kernel as unknown as (...v: unknown[]) => Promise<DeviceValue>)(...plain));
    return r.then((built) => {
      (built as { delete(): void }).delete();
      const batched = this.batch?.encode(kernel, vals, size, width);
      if (!batched) throw new Error(`${op}: the webgpu batch cannot record this kernel (a buffer view, an optimizer's state, among its arguments, or ${width} outputs a thread); copy the tensor first`);
      out.value = batched;
    });
  }

  /**
   * Runs `call` now where nothing is queued (async modes), else queues it; a failure is kept in out.error.
   * `kernel` names the kernel call for the profile (null: no kernel runs, as for a view).
   */
  private schedule(kernel: string | null, out: GpuHandle, call: () => Promise<void> | void): void {
    // no named closures here: the bundles keep function names (esbuild keepNames), which costs a
    // defineProperty per closure made, and this runs for every kernel call and view
    if (this.pending === 0) {
      try {
        const r = this.timed(kernel, call);
        // a gpu.js call (a kernel's first): its result arrives later, so what comes next waits for it
        if (r)
          this.enqueue(
            (out.ready = r.then(
              () => undefined,
              (e) => {
                throw this.keep(kernel, out, e);
              },
            )),
          );
      } catch (e) {
        this.keep(kernel, out, e);
      }
      return;
    }
    this.enqueue(
      (out.ready = this.queue
        .then(() => this.timed(kernel, call))
        .then(
          () => undefined,
          (e) => {
            throw this.keep(kernel, out, e);
          },
        )),
    );
  }

  /** Runs `call`, timed for the profile where one is recorded (a view, `kernel` null, is not). */
  private timed(kernel: string | null, call: () => Promise<void> | void): Promise<void> | void {
    if (!isProfiling() || kernel === null) return call();
    const t0 = performance.now();
    const r = call();
    recordQueuedKernel(kernel, performance.now() - t0);
    return r;
  }

  /** Keeps `e` as the failure of the op that makes `out` (read() throws it). */
  private keep(kernel: string | null, out: GpuHandle, e: unknown): Error {
    return (out.error = wrapError(kernel ?? 'view', this.mode, e));
  }

  /** Makes `step` the queue's tail, counted in `pending` until it settles (its failure stays with its handle). */
  private enqueue(step: Promise<unknown>): void {
    this.pending++;
    this.queue = step.then(
      () => void this.pending--,
      () => void this.pending--,
    );
  }

  /** A handle holding `data` (already float32) as a device output. */
  upload(data: Float32Array): GpuHandle {
    return this.run('upload', UPLOAD_SOURCE, data.length, [this.hostArray(data)]);
  }

  /**
   * A one-value tensor held on the host: kernels that read it take it as an argument, so making it runs
   * no kernel (scalars in `x.mul(0.9)` are such tensors; a fill kernel each cost as much as the op).
   */
  constant(value: number): GpuHandle {
    const h = this.hostArray(Float32Array.of(value));
    this.live++;
    return h;
  }

  /** Wraps host data as a kernel argument without counting it as a live output. */
  private hostArray(data: Float32Array): GpuHandle {
    const h = new GpuHandle(this, data.length);
    h.value = data;
    h.host = true;
    return h;
  }

  async read(h: GpuHandle, size: number): Promise<Float32Array> {
    const readNow = async (): Promise<Float32Array> => {
      if (h.error) throw h.error;
      const v = h.value;
      if (!v) throw new Error(`read (gpu ${this.mode}): the buffer was released`);
      this.batch?.flush();
      this.pool?.cycle();
      const arr = v instanceof Float32Array ? v : ((await patiently(v.toArray() as Promise<unknown>)) as Float32Array);
      return Float32Array.from(arr.subarray(0, size));
    };
    if (this.synchronous) return readNow();
    // on the queue, so a dispose right after `data()` cannot free the buffer mid-readback
    const r = this.queue.then(readNow);
    this.enqueue(r);
    return r;
  }

  readSync(h: GpuHandle, size: number): Float32Array {
    if (h.error) throw h.error;
    const v = h.value;
    if (!v || h.released) throw new Error(`readSync (gpu ${this.mode}): the buffer was released`);
    const arr = v instanceof Float32Array ? v : (v.toArray() as Float32Array);
    return Float32Array.from(arr.subarray(0, size));
  }

  release(h: GpuHandle): void {
    if (h.released) return;
    h.released = true;
    this.live--;
    if (this.synchronous || this.pending === 0) this.free(h);
    else
      this.enqueue(
        this.queue.then(
          () => this.free(h),
          () => this.free(h),
        ),
      );
  }

  /** Gives a released handle's buffer back to the pool (or to gpu.js). */
  private free(h: GpuHandle): void {
    const v = h.value;
    h.value = null;
    if (!v || v instanceof Float32Array) return;
    if (this.pool && 'buffer' in v) this.pool.recycle(v as unknown as BufferResult);
    else v.delete();
  }

  private kernel(source: string, signature: string, size: number): IKernelRunShortcut {
    let bySignature = this.kernels.get(source);
    if (!bySignature) this.kernels.set(source, (bySignature = new Map()));
    let k = bySignature.get(signature);
    if (!k) {
      k = this.gpu.createKernel(floatIndices || GL_MODES.has(this.mode) ? floatVars(source) : source, { output: [size], pipeline: true, immutable: true, precision: 'single', tactic: 'precision' });
      bySignature.set(signature, k);
    }
    return k;
  }
}

/** Errors already named with their op (a failed input, passed on down the queue) are not wrapped again. */
const wrapped = new WeakSet<Error>();

function wrapError(op: string, mode: string, e: unknown): Error {
  if (e instanceof Error && wrapped.has(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const err = new Error(`${op} (gpu backend, mode '${mode}'): ${msg}`, { cause: e });
  wrapped.add(err);
  return err;
}
