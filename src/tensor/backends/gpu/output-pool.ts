/**
 * Output buffers of webgpu kernels, kept for reuse. gpu.js gives every result of an `immutable`
 * pipeline kernel a new GPU buffer and destroys it on release; creating a buffer (and Dawn clearing it
 * before first use) was most of the cost of a kernel call on a real GPU. The pool hands a released
 * buffer of the same byte size to the next kernel (webgpu-batch.ts) instead. Reuse is safe because every
 * kernel call and release goes through the device's one queue: a buffer is released after the calls
 * that read it were recorded, and WebGPU runs dispatches and submissions in order. Buffers count
 * references as gpu.js's own results do (`_refs`), so a buffer a gpu.js kernel still holds is not taken.
 */

export interface GpuBuffer {
  size: number;
  _refs?: number;
  destroy(): void;
}

/** What a pipeline kernel returns in webgpu mode (gpu.js's WebGPUBufferResult). */
export interface BufferResult {
  buffer: GpuBuffer;
  /** A view (webgpu-batch.ts `bufferView`): where its values start in `buffer`, in bytes. */
  byteOffset?: number;
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
