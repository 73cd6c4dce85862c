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
/** Takes a cycle remembers at most (a loop that never reads would otherwise grow the list). */
const MAX_TAKES = 1 << 16;
/** Kinds of cycle remembered (a training step, a validation batch, …), the least recently seen dropped. */
const KINDS = 16;

/** A past cycle: its takes in order, and each buffer's last place among them. */
interface Cycle {
  takes: GpuBuffer[];
  last: Map<GpuBuffer, number>;
}

/** The last two cycles of one kind: cycles whose takes had the same sizes in the same order. */
interface Kind {
  latest: Cycle;
  earlier?: Cycle;
}

export class OutputPool {
  private readonly free = new Map<number, GpuBuffer[]>();
  private bytes = 0;
  /** The buffers handed out since the last cycle() in order. */
  private taken: GpuBuffer[] = [];
  /** Kinds by their sizes, the least recently seen first; those whose takes so far had this cycle's sizes, the latest first. */
  private readonly kinds = new Map<string, Kind>();
  private like: Kind[] = [];
  /** Buffers of values replaced this cycle, which the next cycle of its kind wants back. */
  private readonly kept = new Set<GpuBuffer>();

  /**
   * @param capBytes most bytes kept idle; released buffers past it are destroyed.
   * @param beforeDestroy runs before a buffer is destroyed: WebGPU rejects a submission that uses a
   * buffer destroyed after it was encoded, so the device submits its open batch first (a buffer destroyed
   * after its submission lives until that work is done).
   */
  constructor(
    private readonly capBytes = 2 ** 30,
    private readonly beforeDestroy: () => void = () => {},
  ) {}

  /**
   * A free buffer of `bytes`, or a new one from `device`. The n-th take of a cycle (cycles end at reads)
   * prefers the buffer the n-th take of the latest cycle of its kind got, then that of the one before
   * (its kind: the latest seen whose takes so far had this cycle's sizes), so a loop whose steps repeat
   * their calls gets the same buffers every step, validation between epochs or not (bind-groups.ts
   * then reuses the calls' bind groups), and a value replaced every step (a running mean, Adam's
   * parameters: the last buffer is still live) alternates between two.
   */
  take(device: { createBuffer(d: { size: number; usage: number }): GpuBuffer }, bytes: number): GpuBuffer {
    const list = this.free.get(bytes) ?? [];
    const n = this.taken.length;
    if (this.like.some((k) => k.latest.takes[n]?.size !== bytes)) this.like = this.like.filter((k) => k.latest.takes[n]?.size === bytes);
    const kind = this.like[0];
    const again = kind?.latest.takes[n];
    let buf = pick(list, again);
    // the latest cycle's buffer still live: a value replaced every step, whose buffer is freed later this
    // cycle; the next cycle wants it back, so no later take of this one may have it
    if (!buf && again) this.kept.add(again);
    buf ??= pick(list, kind?.earlier?.takes[n]) ?? this.spare(list, n);
    if (buf) this.bytes -= bytes;
    else buf = device.createBuffer({ size: bytes, usage: OUTPUT_USAGE });
    if (n < MAX_TAKES) this.taken.push(buf);
    return buf;
  }

  /** Ends a cycle: the device reads a result back (a step of a loop ends with one; a read right after another ends none). */
  cycle(): void {
    if (this.taken.length === 0) return;
    const last = new Map<GpuBuffer, number>();
    this.taken.forEach((b, n) => last.set(b, n));
    const sizes = this.taken.map((b) => b.size).join(',');
    const before = this.kinds.get(sizes);
    this.kinds.delete(sizes);
    this.kinds.set(sizes, { latest: { takes: this.taken, last }, earlier: before?.latest });
    if (this.kinds.size > KINDS) this.kinds.delete(this.kinds.keys().next().value!);
    this.like = [...this.kinds.values()].reverse();
    this.taken = [];
    this.kept.clear();
  }

  /**
   * A free buffer for take n when neither preferred one is free: one no later take of this cycle wants,
   * else none (a new buffer). Taking one a later take wants would push that take onto another buffer,
   * and so on down the cycle, and values replaced every step would walk through all buffers of their
   * size (as handing out the last freed buffer did); a loop that repeats its steps makes new buffers
   * only until it settles.
   */
  private spare(list: GpuBuffer[], n: number): GpuBuffer | undefined {
    const kind = this.like[0];
    const wanted = (b: GpuBuffer): boolean => this.kept.has(b) || (kind?.latest.last.get(b) ?? -1) > n || (kind?.earlier?.last.get(b) ?? -1) > n;
    for (let i = list.length - 1; i >= 0; i--) if (!wanted(list[i])) return list.splice(i, 1)[0];
    return undefined;
  }

  /** Takes back a released result's buffer (or destroys it when the pool is full). */
  recycle(result: BufferResult): void {
    if (result._deleted) return;
    result._deleted = true;
    const buf = result.buffer;
    if (--buf._refs! > 0) return;
    if (this.bytes + buf.size > this.capBytes) {
      this.beforeDestroy();
      buf.destroy();
      return;
    }
    const list = this.free.get(buf.size);
    if (list) list.push(buf);
    else this.free.set(buf.size, [buf]);
    this.bytes += buf.size;
  }
}

/** Removes `want` from `list` where it is there. */
function pick(list: GpuBuffer[], want: GpuBuffer | undefined): GpuBuffer | undefined {
  const at = want ? list.lastIndexOf(want) : -1;
  return at >= 0 ? list.splice(at, 1)[0] : undefined;
}
