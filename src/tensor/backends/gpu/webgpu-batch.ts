import { BindGroupCache, type BoundBuffer } from './bind-groups.js';
import type { OutputPool, BufferResult, GpuBuffer } from './output-pool.js';

/**
 * Kernel calls of the webgpu mode recorded into one command encoder and submitted together. gpu.js runs
 * each call as its own command encoder, compute pass and queue submission, with its parameters written
 * to the kernel's one uniform buffer (so two calls of a kernel cannot share a submission); on a real GPU
 * those host-side steps, not the kernels, were most of a training step. Here a call of a built kernel
 * writes its parameters (and any host-array arguments) into a per-batch arena, binds them at its own
 * offset (or binds the group kept for the same call seen before, bind-groups.ts), and adds one dispatch
 * to the open compute pass. The batch is submitted before any read, before
 * any call that goes through gpu.js itself, when the arena is full, every FLUSH_EVERY dispatches (so the
 * GPU starts early), and otherwise once the JS that queued the calls has run (a macrotask later). WebGPU orders the dispatches of a pass and the submissions of a
 * queue, so results are those of one submission per call.
 *
 * It reads gpu.js 2.24.1's WebGPU kernel state after its build (src/backend/web-gpu/kernel.js:
 * `computePipeline`, `bindGroupLayout`, `paramsLayout`, `paramsMirror`, `_computeDispatch`, `_device`;
 * it drops the kernel's own `outputBuffer` reference, which only gpu.js's run would reuse)
 * and handles 1-D float kernels with buffer, host-array and float arguments; anything else (a kernel not
 * yet built, random numbers, other argument types) returns `undefined` and runs through gpu.js.
 */

interface ArgRecord {
  index: number;
  dimsOffset: number;
}
interface ScalarRecord {
  index: number;
  offset: number;
  type: string;
}
interface WebGpuDevice {
  limits: { minUniformBufferOffsetAlignment: number; minStorageBufferOffsetAlignment: number };
  queue: {
    writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView, dataOffset?: number, size?: number): void;
    submit(c: unknown[]): void;
    onSubmittedWorkDone(): Promise<void>;
  };
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }[] }): unknown;
  createCommandEncoder(): { beginComputePass(): ComputePass; finish(): unknown };
}
interface ComputePass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
  end(): void;
}
interface BuiltKernel {
  built?: boolean;
  graphical?: boolean;
  output: number[];
  componentCount: number;
  computePipeline?: unknown;
  bindGroupLayout?: unknown;
  paramsMirror?: ArrayBuffer | null;
  outputBuffer?: GpuBuffer | null;
  paramsLayout?: { arrayArgs: ArgRecord[]; scalarArgs: ScalarRecord[]; bufferConstants: { buffer: GpuBuffer }[]; randomSeedOffset: number | null };
  context?: { isLost?: boolean };
  _device: WebGpuDevice;
  _computeDispatch(threadDim: number[]): { groups: number[]; dispatchWidth: number };
  readBufferResult(h: unknown): Promise<unknown>;
}

/** A call's parameter bytes, with views to write them as words. */
class Params {
  readonly bytes: Uint8Array;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  constructor(readonly byteLength: number) {
    this.bytes = new Uint8Array(byteLength);
    this.u32 = new Uint32Array(this.bytes.buffer);
    this.f32 = new Float32Array(this.bytes.buffer);
  }
}

/** What the calls of one kernel over one thread count share (BatchEncoder.shared). */
interface KernelShared {
  threads: number;
  /** The pipeline it was worked out for: gpu.js builds a new one where it rebuilds the kernel. */
  pipeline: unknown;
  mirror: Uint8Array;
  groups: number[];
  constants: BoundBuffer[];
}

// GPUBufferUsage: UNIFORM | STORAGE | COPY_DST (values fixed by the spec)
const ARENA_USAGE = 0x0040 | 0x0080 | 0x0008;
/** Host arrays a kept bind group holds the values of at most (bytes): one-value constants, not uploads. */
const INLINE_BYTES = 256;
/** Dispatches per submission at most. */
const FLUSH_EVERY = 64;
// the setImmediate of load time: dawn-poll.ts makes the global one nap while segrad waits for the device
const immediate = typeof setImmediate === 'function' ? setImmediate : null;
const later: (f: () => void) => void = immediate ? (f) => void immediate(f) : (f) => void setTimeout(f, 0);

export class BatchEncoder {
  private device: WebGpuDevice | null = null;
  private encoder: { beginComputePass(): ComputePass; finish(): unknown } | null = null;
  private pass: ComputePass | null = null;
  private arena: GpuBuffer | null = null;
  private host = new Uint8Array(1 << 16);
  private params = new Params(256);
  private readonly groups = new BindGroupCache();
  private readonly kernels = new WeakMap<BuiltKernel, KernelShared>();
  private used = 0;
  private scheduled = false;
  private dispatches = 0;
  /** Round trip of an empty submission on `device` (ms), measured on the first timed call. */
  private roundTrip: number | null = null;

  /** @param keepGroups whether repeated calls bind kept groups (bind-groups.ts; `SEGRAD_GPU_BIND_GROUPS=0` turns it off, for comparison). */
  constructor(
    private readonly pool: OutputPool,
    private readonly keepGroups = true,
  ) {}

  /**
   * Records a call of `kernel` (a gpu.js kernel shortcut) on `args` with `size` outputs into the open
   * batch and returns its result, or `undefined` where it must run through gpu.js. A kernel returning
   * `width` values a thread (Array(width)) runs size / width threads; gpu.js writes thread t's values at
   * floats t·width … t·width + width − 1, so the result is the plain array of `size` floats.
   */
  encode(kernel: unknown, args: unknown[], size: number, width = 1): BufferResult | undefined {
    const k = (kernel as { kernel?: BuiltKernel }).kernel;
    const layout = k?.paramsLayout;
    if (!k?.built || !layout || !k.paramsMirror || !k.computePipeline || k.graphical || k.output.length !== 1 || k.componentCount !== width) return undefined;
    if (layout.randomSeedOffset !== null || k.context?.isLost) return undefined;
    if (!layout.scalarArgs.every((r) => r.type === 'Float' && typeof args[r.index] === 'number')) return undefined;
    const arrays = layout.arrayArgs.map((r) => args[r.index]);
    if (!arrays.every((a) => a instanceof Float32Array ? a.length > 0 : isBufferResult(a))) return undefined;

    // the buffer of the kernel's first (gpu.js) call: its result holds its own reference, the kernel needs none
    const own = k.outputBuffer;
    if (own) {
      k.outputBuffer = null;
      if (--own._refs! === 0) own.destroy();
    }
    const dev = k._device;
    if ((this.device && this.device !== dev) || this.groups.full) {
      this.flush();
      this.groups.clear();
    }
    this.device = dev;
    const uniformAlign = dev.limits.minUniformBufferOffsetAlignment;
    const storageAlign = dev.limits.minStorageBufferOffsetAlignment;

    // parameters: gpu.js's layout, filled as its _runInternal fills them
    const shared = this.shared(k, size / width);
    const paramBytes = shared.mirror.byteLength;
    if (this.params.byteLength < paramBytes) this.params = new Params(paramBytes);
    const { u32, f32 } = this.params;
    const params = this.params.bytes.subarray(0, paramBytes);
    params.set(shared.mirror);
    for (let j = 0; j < layout.arrayArgs.length; j++) {
      const a = arrays[j] as Float32Array | (BufferResult & { output: number[] });
      const n = a instanceof Float32Array ? a.length : a.output.reduce((p, d) => p * d, 1);
      const at = layout.arrayArgs[j].dimsOffset / 4;
      u32[at] = u32[at + 3] = n;
      u32[at + 1] = u32[at + 2] = 1;
    }
    for (const r of layout.scalarArgs) f32[r.offset / 4] = args[r.index] as number;

    const out = this.pool.take(dev, size * 4);
    const { groups, constants } = shared;
    // (no named closures in this method: see Device.schedule)
    // a call on buffers and small host arrays (one-value constants) may bind a kept group (bind-groups.ts),
    // the arrays' values kept beside its parameters; one with larger host data (an upload) binds the arena
    const hostArrays = arrays.filter((a): a is Float32Array => a instanceof Float32Array);
    const buffers = arrays.filter((a) => !(a instanceof Float32Array)).map((a) => bufferRange(a as BufferResult & { output: number[] }));
    let group: unknown;
    if (this.keepGroups && hostArrays.every((a) => a.byteLength <= INLINE_BYTES)) {
      const blobs = [params, ...hostArrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength))];
      group = this.groups.group(dev, Math.max(uniformAlign, storageAlign), k, blobs, [...buffers, { buffer: out }, ...constants], ([slot, ...hosts]) => bindGroup(dev, k, [slot, ...inOrder(arrays, hosts, buffers), { buffer: out }, ...constants]));
    }
    if (group === undefined) {
      if (this.arena && arenaEnd(this.used, paramBytes, hostArrays, uniformAlign, storageAlign) > this.arena.size) this.flush();
      const need = arenaEnd(0, paramBytes, hostArrays, uniformAlign, storageAlign);
      if (!this.arena || need > this.arena.size) this.growArena(dev, need);
      const pOffset = this.reserve(paramBytes, uniformAlign);
      this.host.set(params, pOffset);
      const hosts = hostArrays.map((a): BoundBuffer => {
        const at = this.reserve(a.byteLength, storageAlign);
        this.host.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
        return { buffer: this.arena!, offset: at, size: a.byteLength };
      });
      group = bindGroup(dev, k, [{ buffer: this.arena!, offset: pOffset, size: paramBytes }, ...inOrder(arrays, hosts, buffers), { buffer: out }, ...constants]);
    }

    if (!this.pass) {
      this.encoder = dev.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(k.computePipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    // a long burst goes out in parts, so the GPU starts while the rest is still being encoded
    if (++this.dispatches >= FLUSH_EVERY) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      later(() => this.flush());
    }
    return result(k, out, size);
  }

  /** Submits the open batch (its parameters first). */
  flush(): void {
    this.scheduled = false;
    if (!this.pass || !this.encoder || !this.device) return;
    this.pass.end();
    const q = this.device.queue;
    if (this.arena && this.used > 0) q.writeBuffer(this.arena, 0, this.host, 0, align(this.used, 4));
    q.submit([this.encoder.finish()]);
    this.pass = null;
    this.encoder = null;
    this.used = 0;
    this.dispatches = 0;
  }

  /**
   * Submits the open batch and resolves, once the device has run it, with the time that took (ms) less
   * the round trip of an empty submission (median of 9, measured once, after the first batch: a
   * submission scheduled meanwhile must not fall into it): the device time of the batch where it holds
   * one call and nothing else runs (profile.ts, device timing).
   */
  async timeToDone(): Promise<{ ms: number; roundTrip: number }> {
    // called right after encode() recorded a call, so the batch has its device
    const dev = this.device!;
    const t0 = performance.now();
    this.flush();
    await dev.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    if (this.roundTrip === null) {
      const trips: number[] = [];
      for (let i = 0; i < 9; i++) {
        const t = performance.now();
        dev.queue.submit([]);
        await dev.queue.onSubmittedWorkDone();
        trips.push(performance.now() - t);
      }
      this.roundTrip = trips.sort((a, b) => a - b)[4];
    }
    return { ms: Math.max(0, ms - this.roundTrip), roundTrip: this.roundTrip };
  }

  /**
   * What every call of `k` over `threads` threads shares, worked out once: its parameter bytes as gpu.js
   * lays them out, with the dispatch filled in (the arguments' sizes and scalars are each call's), its
   * workgroup counts and its constants' bindings.
   */
  private shared(k: BuiltKernel, threads: number): KernelShared {
    let s = this.kernels.get(k);
    if (s?.threads !== threads || s.pipeline !== k.computePipeline) {
      const mirror = new Uint8Array(k.paramsMirror!.slice(0));
      const { groups, dispatchWidth } = k._computeDispatch([threads, 1, 1]);
      new Uint32Array(mirror.buffer, 0, 4).set([threads, 1, 1, dispatchWidth]);
      s = { threads, pipeline: k.computePipeline, mirror, groups, constants: k.paramsLayout!.bufferConstants.map((c): BoundBuffer => ({ buffer: c.buffer })) };
      this.kernels.set(k, s);
    }
    return s;
  }

  private reserve(bytes: number, alignment: number): number {
    const at = align(this.used, alignment);
    this.used = at + bytes;
    return at;
  }

  private growArena(dev: WebGpuDevice, need: number): void {
    // a buffer still read by submitted work is freed once that work is done (WebGPU's destroy())
    this.arena?.destroy();
    const size = align(Math.max(need, 2 * (this.arena?.size ?? 1 << 17)), 256);
    this.arena = dev.createBuffer({ size, usage: ARENA_USAGE });
    if (this.host.byteLength < size) {
      const bigger = new Uint8Array(size);
      bigger.set(this.host.subarray(0, this.used));
      this.host = bigger;
    }
  }
}

/** A bind group of `k`'s layout binding `bound` in order (parameters, arguments, output, constants). */
function bindGroup(dev: WebGpuDevice, k: BuiltKernel, bound: BoundBuffer[]): unknown {
  return dev.createBindGroup({ layout: k.bindGroupLayout, entries: bound.map((resource, binding) => ({ binding, resource })) });
}

/** The arguments' bindings as they come: each host array's slot (`hosts`, in order) or each buffer's range. */
function inOrder(arrays: readonly unknown[], hosts: readonly BoundBuffer[], buffers: readonly BoundBuffer[]): BoundBuffer[] {
  let [h, b] = [0, 0];
  return arrays.map((a) => (a instanceof Float32Array ? hosts[h++] : buffers[b++]));
}

/** Where a call's parameters and host arrays would end in the arena, reserved from `from` on. */
function arenaEnd(from: number, paramBytes: number, hostArrays: readonly Float32Array[], uniformAlign: number, storageAlign: number): number {
  return hostArrays.reduce((at, a) => align(at, storageAlign) + a.byteLength, align(from, uniformAlign) + paramBytes);
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The range of its buffer a buffer argument binds: the whole buffer, or a view's part. */
function bufferRange(b: BufferResult & { output: number[] }): BoundBuffer {
  return b.byteOffset === undefined ? { buffer: b.buffer } : { buffer: b.buffer, offset: b.byteOffset, size: b.output.reduce((p, d) => p * d, 1) * 4 };
}

function isBufferResult(a: unknown): boolean {
  const b = a as { buffer?: unknown; output?: unknown; componentCount?: number; _deleted?: boolean } | null;
  return !!b && typeof b === 'object' && !!b.buffer && Array.isArray(b.output) && (b.componentCount ?? 1) === 1 && !b._deleted;
}

/** Floats a view starts at a multiple of: WebGPU binds storage at offsets of 256 bytes (its default minStorageBufferOffsetAlignment). */
export const VIEW_ALIGN = 64;

/** Floats between the parts of a packed output whose parts hold `size` floats each (Device.parts). */
export const partStride = (size: number): number => Math.ceil(size / VIEW_ALIGN) * VIEW_ALIGN;

/**
 * `size` floats of `base`'s buffer from float `offset` on (a multiple of VIEW_ALIGN), as a result of its
 * own: bound at that offset by the batch (no copy), read back from it, and holding a reference to the
 * buffer, so the buffer lives until base and every view are released.
 */
export function bufferView(base: BufferResult, offset: number, size: number): BufferResult {
  if (offset % VIEW_ALIGN !== 0) throw new Error(`bufferView: offset ${offset} is not a multiple of ${VIEW_ALIGN} floats`);
  const from = base as BufferResult & { kernel: BuiltKernel; context?: { isLost?: boolean } };
  from.buffer._refs = (from.buffer._refs ?? 0) + 1;
  return resultOver(from.kernel, from.context, from.buffer, size, offset);
}

/** Whether a kernel argument is a view (bufferView): gpu.js itself would read it from its buffer's start. */
export const isView = (a: unknown): boolean => isBufferResult(a) && (a as BufferResult).byteOffset !== undefined;

/** A result shaped like gpu.js's WebGPUBufferResult (what Device.read and the pool expect), on a fresh buffer. */
function result(k: BuiltKernel, buffer: GpuBuffer, size: number): BufferResult {
  buffer._refs = 1;
  return resultOver(k, k.context, buffer, size);
}

/** A result over `size` floats of `buffer`, from float `offset` where given (a view); the caller counts its reference. */
function resultOver(k: BuiltKernel, context: BuiltKernel['context'], buffer: GpuBuffer, size: number, offset?: number): BufferResult {
  const r = {
    type: 'WebGPUBuffer',
    kernel: k,
    buffer,
    byteOffset: offset === undefined ? undefined : offset * 4,
    output: [size],
    componentCount: 1,
    context,
    _deleted: false,
    // gpu.js reads a buffer from its start: a view reads through its end and keeps its part
    async toArray(): Promise<unknown> {
      return offset === undefined ? k.readBufferResult(r) : ((await k.readBufferResult({ ...r, output: [offset + size] })) as Float32Array).subarray(offset);
    },
    delete(): void {
      if (r._deleted) return;
      r._deleted = true;
      if (--buffer._refs! === 0) buffer.destroy();
    },
  };
  return r;
}
