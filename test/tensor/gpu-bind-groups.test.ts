import { describe, expect, it } from 'vitest';
import { BindGroupCache, type BoundBuffer } from '../../src/tensor/backends/gpu/bind-groups.js';
import type { GpuBuffer } from '../../src/tensor/backends/gpu/output-pool.js';

/**
 * The bind groups webgpu-batch.ts keeps for repeated kernel calls (bind-groups.ts), on a fake device:
 * a call gets a kept group from its second sighting on, with its parameters written once into a slot of
 * its own; a call differing in any parameter byte, buffer, offset or size is another call.
 */

interface Store extends GpuBuffer {
  bytes: Uint8Array;
  destroyed: boolean;
}

function fakeDevice(): { queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView): void }; createBuffer(d: { size: number }): Store; writes: number; stores: Store[] } {
  const dev = {
    writes: 0,
    stores: [] as Store[],
    queue: {
      writeBuffer: (b: GpuBuffer, offset: number, data: ArrayBufferView): void => {
        dev.writes++;
        (b as Store).bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      },
    },
    createBuffer: ({ size }: { size: number }): Store => {
      const s: Store = { size, bytes: new Uint8Array(size), destroyed: false, destroy: () => void (s.destroyed = true) };
      dev.stores.push(s);
      return s;
    },
  };
  return dev;
}

const buffer = (size = 1024): GpuBuffer => ({ size, destroy: () => undefined });
const params = (...values: number[]): Uint8Array => new Uint8Array(Uint32Array.from(values).buffer);

describe('webgpu bind-group cache', () => {
  it('keeps a call\'s group from its second sighting, its parameters written once into a slot of their own', () => {
    const cache = new BindGroupCache();
    const dev = fakeDevice();
    const kernel = {};
    const [a, out] = [buffer(), buffer()];
    const made: BoundBuffer[] = [];
    const create = ([slot]: BoundBuffer[]): object => (made.push(slot), { slot });
    const call = (): unknown => cache.group(dev, 256, kernel, [params(8, 1, 1, 8)], [{ buffer: a }, { buffer: out }], create);
    expect(call(), 'first sighting: bound from the arena').toBeUndefined();
    const group = call();
    expect(group).toBeDefined();
    expect(made).toHaveLength(1);
    const slot = made[0];
    expect(slot.size).toBe(16);
    expect(Array.from(new Uint32Array((slot.buffer as Store).bytes.slice(slot.offset!, slot.offset! + 16).buffer))).toEqual([8, 1, 1, 8]);
    for (let k = 0; k < 5; k++) expect(call()).toBe(group);
    expect(dev.writes, 'parameters written once').toBe(1);
    expect(made).toHaveLength(1);
  });

  it('a call differing in a parameter byte, a buffer, an offset, a size or the kernel is another call', () => {
    const cache = new BindGroupCache();
    const dev = fakeDevice();
    const [k1, k2] = [{}, {}];
    const [a, b, out] = [buffer(), buffer(), buffer()];
    let made = 0;
    const groupOf = (kernel: object, p: Uint8Array, bound: BoundBuffer[]): unknown => {
      cache.group(dev, 256, kernel, [p], bound, () => ({ n: made++ }));
      return cache.group(dev, 256, kernel, [p], bound, () => ({ n: made++ }));
    };
    const base = groupOf(k1, params(4, 2), [{ buffer: a, offset: 256, size: 64 }, { buffer: out }]);
    const variants = [
      groupOf(k1, params(4, 3), [{ buffer: a, offset: 256, size: 64 }, { buffer: out }]),
      groupOf(k1, params(4, 2), [{ buffer: b, offset: 256, size: 64 }, { buffer: out }]),
      groupOf(k1, params(4, 2), [{ buffer: a, offset: 512, size: 64 }, { buffer: out }]),
      groupOf(k1, params(4, 2), [{ buffer: a, offset: 256, size: 128 }, { buffer: out }]),
      groupOf(k1, params(4, 2), [{ buffer: a, offset: 256, size: 64 }, { buffer: b }]),
      groupOf(k2, params(4, 2), [{ buffer: a, offset: 256, size: 64 }, { buffer: out }]),
    ];
    expect(new Set([base, ...variants]).size).toBe(7);
    expect(groupOf(k1, params(4, 2), [{ buffer: a, offset: 256, size: 64 }, { buffer: out }])).toBe(base);
  });

  it('keeps the values of a call\'s small host arrays beside its parameters, a slot each: other values, another call', () => {
    const cache = new BindGroupCache();
    const dev = fakeDevice();
    const kernel = {};
    const out = buffer();
    const made: BoundBuffer[][] = [];
    const call = (value: number): unknown => {
      const blobs = [params(1, 1), new Uint8Array(Float32Array.of(value).buffer)];
      cache.group(dev, 256, kernel, blobs, [{ buffer: out }], (slots) => (made.push(slots), { value }));
      return cache.group(dev, 256, kernel, blobs, [{ buffer: out }], (slots) => (made.push(slots), { value }));
    };
    const half = call(0.5);
    expect(call(2)).not.toBe(half);
    expect(call(0.5)).toBe(half);
    expect(made).toHaveLength(2);
    const [, valueSlot] = made[0];
    expect(valueSlot.size).toBe(4);
    expect(valueSlot.offset! % 256).toBe(0);
    const bytes = (valueSlot.buffer as Store).bytes.slice(valueSlot.offset!, valueSlot.offset! + 4);
    expect(new Float32Array(bytes.buffer)[0]).toBe(0.5);
  });

  it('slots sit at the uniform alignment and spill into a new store; clear() frees the stores and forgets every group', () => {
    const cache = new BindGroupCache();
    const dev = fakeDevice();
    const slots: BoundBuffer[] = [];
    const out = buffer();
    const kernel = {};
    for (let k = 0; k < 300; k++) {
      for (let r = 0; r < 2; r++) cache.group(dev, 256, kernel, [params(k)], [{ buffer: out }], ([slot]) => (slots.push(slot), {}));
    }
    expect(slots).toHaveLength(300);
    for (const s of slots) expect(s.offset! % 256).toBe(0);
    // 65536-byte stores hold 256 slots of 256 bytes each
    expect(dev.stores).toHaveLength(2);
    expect(new Set(slots.map((s) => `${dev.stores.indexOf(s.buffer as Store)}@${s.offset}`)).size).toBe(300);
    const bound = [{ buffer: out }];
    cache.group(dev, 256, kernel, [params(1000)], bound, () => ({}));
    const kept = cache.group(dev, 256, kernel, [params(1000)], bound, () => ({}));
    cache.clear();
    expect(dev.stores.every((s) => s.destroyed)).toBe(true);
    expect(cache.group(dev, 256, kernel, [params(1000)], bound, () => ({})), 'forgotten: a first sighting again').toBeUndefined();
    expect(cache.group(dev, 256, kernel, [params(1000)], bound, () => ({}))).not.toBe(kept);
  });

  it('says it is full once a bounded number of calls were sighted, so the encoder starts it over', () => {
    const cache = new BindGroupCache();
    const dev = fakeDevice();
    const out = buffer();
    let calls = 0;
    while (!cache.full && calls < 100_000) cache.group(dev, 256, {}, [params(calls++)], [{ buffer: out }], () => ({}));
    expect(cache.full).toBe(true);
    expect(calls).toBeLessThan(100_000);
    cache.clear();
    expect(cache.full).toBe(false);
  });
});
