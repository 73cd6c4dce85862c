/**
 * Output buffers of webgpu kernels, kept for reuse. gpu.js gives every result of an `immutable`
 * pipeline kernel a new GPU buffer and destroys it on release; creating a buffer (and Dawn clearing it
 * before first use) was most of the cost of a kernel call on a real GPU. The pool hands a released
 * buffer of the same byte size to the next kernel instead. Reuse is safe because every kernel call and
 * release goes through the device's one queue: a buffer is released after the calls that read it were
 * submitted, and WebGPU runs submissions in order.
 *
 * It drives gpu.js 2.24.1's WebGPU kernel through fields of its own (src/backend/web-gpu/kernel.js:
 * `built`, `outputBuffer` with its `_refs` count, `immutable`, `bindGroupDirty`); a kernel without them
 * runs unpooled.
 */

export interface GpuBuffer {
  size: number;
  _refs?: number;
  destroy(): void;
}

interface WebGpuKernel {
  built?: boolean;
  immutable: boolean;
  bindGroupDirty: boolean;
  outputBuffer: GpuBuffer | null;
  _ensureOutputBuffer?: unknown;
  _device: { createBuffer(d: { size: number; usage: number }): GpuBuffer };
}

/** What a pipeline kernel returns in webgpu mode (gpu.js's WebGPUBufferResult). */
export interface BufferResult {
  buffer: GpuBuffer;
  _deleted: boolean;
  toArray(): unknown;
  delete(): void;
}

// GPUBufferUsage.STORAGE | COPY_SRC, what gpu.js gives its output buffers (values fixed by the spec)
const OUTPUT_USAGE = 0x0080 | 0x0004;

export class OutputPool {
  private readonly free = new Map<number, GpuBuffer[]>();
  private bytes = 0;

  /** @param capBytes most bytes kept idle; released buffers past it are destroyed. */
  constructor(private readonly capBytes = 2 ** 30) {}

  /**
   * Calls `kernel` (a gpu.js kernel shortcut) with `args`, its output in a pooled buffer of `bytes`.
   * Returns `undefined` without calling it where the kernel is not built yet (its first call builds it
   * and makes its own buffer) or is not gpu.js's WebGPU kernel.
   */
  run(kernel: (...args: unknown[]) => unknown, args: unknown[], bytes: number): unknown {
    const k = (kernel as unknown as { kernel?: WebGpuKernel }).kernel;
    if (!k?.built || typeof k._ensureOutputBuffer !== 'function' || !('outputBuffer' in k)) return undefined;
    const buf = this.take(k._device, bytes);
    const old = k.outputBuffer;
    if (old && old !== buf && --old._refs! === 0) old.destroy();
    buf._refs = 1;
    k.outputBuffer = buf;
    k.immutable = false;
    k.bindGroupDirty = true;
    try {
      return kernel(...args);
    } finally {
      // the result holds its own reference; the kernel keeps none, so the next call binds a fresh buffer
      k.outputBuffer = null;
      if (--buf._refs === 0) buf.destroy();
    }
  }

  /** A free buffer of `bytes`, or a new one from `device`. */
  take(device: { createBuffer(d: { size: number; usage: number }): GpuBuffer }, bytes: number): GpuBuffer {
    const buf = this.free.get(bytes)?.pop();
    if (!buf) return device.createBuffer({ size: bytes, usage: OUTPUT_USAGE });
    this.bytes -= bytes;
    return buf;
  }

  /** Takes back a released result's buffer (or destroys it when the pool is full). */
  recycle(result: BufferResult): void {
    if (result._deleted) return;
    result._deleted = true;
    const buf = result.buffer;
    if (--buf._refs! > 0) return;
    if (this.bytes + buf.size > this.capBytes) {
      buf.destroy();
      return;
    }
    const list = this.free.get(buf.size);
    if (list) list.push(buf);
    else this.free.set(buf.size, [buf]);
    this.bytes += buf.size;
  }
}
