import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memory, tensor, tidy, zeros, type Tensor } from '../../src/index.js';
import {
  BatchNorm2d, Conv2d, Dropout, Linear, Module, decodeSafetensors, encodeSafetensors, functionalCall, loadSafetensors, saveSafetensors,
} from '../../src/nn/index.js';
import { UNet } from '../../src/nn/models/index.js';
import { writeFileAtomic } from '../../src/train/run-folder.js';

class Block extends Module {
  conv = new Conv2d(1, 2, { kernel: 3, bias: false, seed: 1 });
  bn = new BatchNorm2d(2);
  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}
class Net extends Module {
  scale: Tensor;
  blocks = [new Block(), new Block()];
  head = new Linear(2, 1, { seed: 3 });
  private _drop = new Dropout(0.5, 1);
  constructor() {
    super();
    this.scale = this.param(tensor([1, 2], [2]));
  }
  forward(x: Tensor): Tensor {
    return this._drop.forward(x);
  }
}

describe('Module', () => {
  it('names parameters and buffers by property path, own tensors first, arrays by index', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual(['scale', 'blocks.0.conv.weight', 'blocks.0.bn.weight', 'blocks.0.bn.bias', 'blocks.1.conv.weight', 'blocks.1.bn.weight', 'blocks.1.bn.bias', 'head.weight', 'head.bias']);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['blocks.0.bn.running_mean', 'blocks.0.bn.running_var', 'blocks.1.bn.running_mean', 'blocks.1.bn.running_var']);
    expect(net.parameterCount()).toBe(2 + 2 * (18 + 4) + 3);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(net.namedBuffers().every(([, b]) => !b.requiresGrad)).toBe(true);
  });

  it('train() and eval() reach every submodule', () => {
    const net = new Net();
    net.eval();
    expect([...net.modules()].every((m) => !m.training)).toBe(true);
    net.train();
    expect([...net.modules()].every((m) => m.training)).toBe(true);
  });

  it('loadStateDict copies values and reports missing, unexpected and mis-shaped entries with both shapes', () => {
    const a = new Block();
    const b = new Block();
    b.loadStateDict(a.stateDict());
    expect(Array.from(b.conv.weight.dataSync())).toEqual(Array.from(a.conv.weight.dataSync()));
    const sd = { ...a.stateDict() };
    delete (sd as Record<string, Tensor>)['bn.bias'];
    expect(() => b.loadStateDict(sd)).toThrow(/Block\.loadStateDict: missing: bn\.bias/);
    expect(() => b.loadStateDict({ ...a.stateDict(), extra: zeros([1]) })).toThrow(/unexpected: extra/);
    expect(() => b.loadStateDict({ ...a.stateDict(), 'conv.weight': zeros([2, 1, 5, 5]) })).toThrow(/conv\.weight: expected shape \[2,1,3,3\], got \[2,1,5,5\]/);
    // non-strict tolerates missing/unexpected but never a wrong shape
    b.loadStateDict({ 'bn.bias': tensor([5, 6], [2]), extra: zeros([1]) }, { strict: false });
    expect(Array.from(b.bn.bias!.dataSync())).toEqual([5, 6]);
    expect(() => b.loadStateDict({ 'bn.bias': zeros([3]) }, { strict: false })).toThrow(/bn\.bias: expected shape \[2\], got \[3\]/);
    // PyTorch's counter is ignored
    b.loadStateDict({ ...a.stateDict(), 'bn.num_batches_tracked': zeros([]) });
  });

  it('loadStateDict casts to the parameter dtype and keeps the parameter object', () => {
    const c = new Conv2d(1, 1, { kernel: 1, dtype: 'float64' });
    const w = c.weight;
    c.loadStateDict({ weight: tensor([0.5], [1, 1, 1, 1]), bias: tensor([1.5], [1]) });
    expect(c.weight).toBe(w);
    expect(c.weight.dtype).toBe('float64');
    expect(c.weight.dataSync()[0]).toBe(0.5);
    expect(c.weight.requiresGrad).toBe(true);
  });

  it('functionalCall swaps parameters for one call and restores them', () => {
    const lin = new Linear(2, 1);
    const w = lin.weight;
    const y = functionalCall(lin, { weight: tensor([[1, 1]]), bias: tensor([3], [1]) }, tensor([[2, 5]]));
    expect(y.dataSync()[0]).toBe(10);
    expect(lin.weight).toBe(w);
    expect(() => functionalCall(lin, { nope: zeros([1]) }, tensor([[2, 5]]))).toThrow(/Linear has no parameter or buffer 'nope'/);
    expect(() => functionalCall(lin, { weight: zeros([2, 2]) }, tensor([[2, 5]]))).toThrow(/'weight' expects shape \[1,2\], got \[2,2\]/);
  });
});

describe('safetensors', () => {
  it('encodes the documented byte layout: u64 LE header length, JSON header, contiguous offsets, raw LE data', () => {
    const a = tensor([1.5, -2, 3.25], [3]);
    const b = tensor([[1, 2], [3, 4]], undefined, { dtype: 'float64' });
    const bytes = encodeSafetensors({ a, b }, { format: 'pt' });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header.a).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    expect(header.b).toEqual({ dtype: 'F64', shape: [2, 2], data_offsets: [12, 44] });
    expect(bytes.length).toBe(8 + n + 44);
    const d = 8 + n;
    expect([0, 1, 2].map((i) => view.getFloat32(d + 4 * i, true))).toEqual([1.5, -2, 3.25]);
    expect([0, 1, 2, 3].map((i) => view.getFloat64(d + 12 + 8 * i, true))).toEqual([1, 2, 3, 4]);
  });

  it('round-trips tensors and metadata; rejects malformed files naming the entry', () => {
    const t = tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]);
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors({ 'x.weight': t }, { epoch: '3' }));
    expect(metadata).toEqual({ epoch: '3' });
    expect(tensors['x.weight'].shape).toEqual([2, 3]);
    expect(tensors['x.weight'].dtype).toBe('float32');
    expect(Array.from(tensors['x.weight'].dataSync())).toEqual(Array.from(t.dataSync()));
    const forge = (header: object, dataBytes: number): Uint8Array => {
      const h = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + h.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    expect(() => decodeSafetensors(forge({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4))).toThrow(/tensor 'w' F32 \[2\] needs 8 bytes, its offsets span 4/);
    expect(() => decodeSafetensors(forge({ w: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, 4))).toThrow(/tensor 'w' has dtype BF16/);
    expect(() => decodeSafetensors(forge({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 16] } }, 8))).toThrow(/'w' has invalid data_offsets/);
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow(/file too short/);
    const skipped = decodeSafetensors(forge({ 'bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, 8));
    expect(skipped.skipped).toEqual(['bn.num_batches_tracked']);
  });

  it('saves atomically (no temporary file left) and a model loads its own file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segrad-nn-'));
    const path = join(dir, 'unet.safetensors');
    const a = new UNet({ widths: [2, 4], seed: 1 });
    const b = new UNet({ widths: [2, 4], seed: 2 });
    await a.save(path);
    expect(readdirSync(dir)).toEqual(['unet.safetensors']);
    const before = Array.from(b.head.weight.dataSync());
    await b.load(path);
    for (const [name, t] of Object.entries(a.stateDict())) expect(Array.from(b.stateDict()[name].dataSync())).toEqual(Array.from(t.dataSync()));
    expect(Array.from(b.head.weight.dataSync())).not.toEqual(before);
    const { metadata } = await loadSafetensors(path);
    expect(metadata.format).toBe('pt');
    // overwrite in place
    await saveSafetensors(path, { x: zeros([1]) });
    expect(Object.keys((await loadSafetensors(path)).tensors)).toEqual(['x']);
  });

  it('a write that fails names the file, removes its temporary file and leaves what was there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segrad-nn-'));
    const taken = join(dir, 'taken');
    mkdirSync(join(taken, 'inside'), { recursive: true }); // a folder where the file would go: the rename fails
    await expect(saveSafetensors(taken, { x: zeros([1]) })).rejects.toThrow(/^saveSafetensors: could not write .*taken: /);
    expect(readdirSync(dir)).toEqual(['taken']);
    // the run folder's JSON and reports go through the same writer
    await expect(writeFileAtomic(taken, '{}')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readdirSync(taken)).toEqual(['inside']);
  });

  it('loading a file with a wrong shape fails naming the parameter, both shapes and the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segrad-nn-'));
    const path = join(dir, 'bad.safetensors');
    const wide = new UNet({ widths: [2, 4], seed: 1 });
    const sd = { ...wide.stateDict(), 'head.weight': zeros([1, 3, 1, 1]) };
    writeFileSync(path, encodeSafetensors(sd));
    const model = new UNet({ widths: [2, 4], seed: 1 });
    await expect(model.load(path)).rejects.toThrow(/UNet\.loadStateDict: head\.weight: expected shape \[1,2,1,1\], got \[1,3,1,1\] \(loading .*bad\.safetensors\)/);
    expect(readFileSync(path).length).toBeGreaterThan(8);
  });

  it('load frees the decoded tensors: the live-tensor count returns to its baseline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segrad-nn-'));
    const path = join(dir, 'm.safetensors');
    const m = new UNet({ widths: [2, 4], seed: 1 });
    await m.save(path);
    const base = memory().numTensors;
    await m.load(path);
    tidy(() => undefined);
    expect(memory().numTensors).toBe(base);
  });
});
