import type { GpuBuffer } from './output-pool.js';

/**
 * Bind groups of repeated webgpu kernel calls, kept and reused (webgpu-batch.ts). Dawn's
 * `createBindGroup` was the largest single host cost of a batched call (SwiftShader's host, U-Net 16²
 * step: 25 µs of about 75), and a training step repeats its calls step after step: the same kernels
 * with the same parameters on the same buffers, since the output pool hands its buffers out in the same
 * order every step. A call is known by its kernel, its parameter bytes, the values of any small host
 * arrays it takes (one-value constants) and its buffers (each with its offset and size). On its second
 * sighting its parameters and those values get slots of their own, written once, and its bind group is
 * kept; from the third on the call binds that group and writes nothing. A call seen once (a one-off
 * shape, a scalar that changes every step) stays on the batch's arena.
 */

/** One binding's buffer range. */
export interface BoundBuffer {
  buffer: GpuBuffer;
  offset?: number;
  size?: number;
}

interface SlotDevice {
  queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView): void };
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
}

// GPUBufferUsage.UNIFORM | STORAGE | COPY_DST (values fixed by the spec): parameters and small host arrays
const SLOT_USAGE = 0x0040 | 0x0080 | 0x0008;
const STORE_BYTES = 1 << 16;
/** Kept groups and sighted keys at most; past either, the encoder starts over (clear()). */
const MAX_GROUPS = 4096;
const MAX_SEEN = 16384;

export class BindGroupCache {
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly groups = new Map<string, unknown>();
  private readonly seen = new Set<string>();
  private stores: GpuBuffer[] = [];
  private storeUsed = STORE_BYTES;

  /** Whether the cache must be cleared before the next call (after the open batch is submitted). */
  get full(): boolean {
    return this.groups.size >= MAX_GROUPS || this.seen.size >= MAX_SEEN;
  }

  /**
   * The kept bind group of a call of `kernel` whose bound bytes are `blobs` (its uniform parameters, then
   * any small host arrays it takes) and which binds `buffers` (its device inputs, output and constants),
   * or `undefined` where the call must bind its bytes itself. On a call's second sighting this writes each
   * blob into a slot of its own and keeps `create(slots)`.
   */
  group(device: SlotDevice, alignment: number, kernel: object, blobs: Uint8Array[], buffers: BoundBuffer[], create: (slots: BoundBuffer[]) => unknown): unknown {
    if (blobs.some((b) => b.byteLength > STORE_BYTES)) return undefined;
    let key = `${this.id(kernel)}`;
    for (const b of blobs) key += `:${b.byteLength}:${String.fromCharCode.apply(null, new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1) as unknown as number[])}`;
    for (const b of buffers) key += `:${this.id(b.buffer)}@${b.offset ?? ''}+${b.size ?? ''}`;
    const kept = this.groups.get(key);
    if (kept !== undefined) return kept;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      return undefined;
    }
    const group = create(blobs.map((b) => this.slot(device, alignment, b)));
    this.groups.set(key, group);
    return group;
  }

  /** Forgets every group and frees the slots; the caller has submitted every call that binds them. */
  clear(): void {
    // a store still read by submitted work is freed once that work is done (WebGPU's destroy())
    for (const s of this.stores) s.destroy();
    this.stores = [];
    this.storeUsed = STORE_BYTES;
    this.groups.clear();
    this.seen.clear();
  }

  private id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  private slot(device: SlotDevice, alignment: number, bytes: Uint8Array): BoundBuffer {
    let at = Math.ceil(this.storeUsed / alignment) * alignment;
    if (at + bytes.byteLength > STORE_BYTES) {
      this.stores.push(device.createBuffer({ size: STORE_BYTES, usage: SLOT_USAGE }));
      at = 0;
    }
    this.storeUsed = at + bytes.byteLength;
    const buffer = this.stores[this.stores.length - 1];
    // queued before the submission of the batch that first binds it (WebGPU orders the queue's work)
    device.queue.writeBuffer(buffer, at, bytes);
    return { buffer, offset: at, size: bytes.byteLength };
  }
}

