import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The PyTorch side-by-side model is the anchor U-Net: same parameter names' count, shapes and BN buffers
// as unet-anchor.json, and the same data formula. Runs only where a python with torch exists.

const python = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
const anchor = JSON.parse(readFileSync('test/fixtures/unet-anchor.json', 'utf8')) as { param_count: number; params: { name: string; shape: number[] }[]; batchnorm: { buffers: { count: number } } };

describe.skipIf(!python)('bench/peers/pytorch_unet.py', () => {
  it('builds the anchor U-Net: parameter shapes in order, param count, BN buffer count, data formula', () => {
    const script = `
import sys, json; sys.path.insert(0, 'bench/peers'); import torch, pytorch_unet as p
m = p.build(torch); x, t = p.anchor_batch(torch, 16)
print(json.dumps({'shapes': [list(q.shape) for q in m.parameters()], 'count': sum(q.numel() for q in m.parameters()),
  'buffers': sum(b.numel() for n, b in m.named_buffers() if 'running' in n), 'x': x[3, 0, 5, 7].item(), 't': t[3, 0, 5, 7].item(),
  'out': list(m(x).shape)}))`;
    const got = JSON.parse(execFileSync(python!, ['-c', script], { encoding: 'utf8' })) as { shapes: number[][]; count: number; buffers: number; x: number; t: number; out: number[] };
    expect(got.count).toBe(anchor.param_count);
    expect(got.buffers).toBe(anchor.batchnorm.buffers.count);
    // the decoder is registered in another order than the JSON lists it: compare the multiset of shapes
    const key = (s: number[]) => s.join('x');
    expect(got.shapes.map(key).sort()).toEqual(anchor.params.map((q) => key(q.shape)).sort());
    const x = Math.fround(0.5 + 0.5 * Math.sin(0.3 * 5 + 0.7 * 3) * Math.cos(0.2 * 7 - 0.5 * 3));
    expect(got.x).toBe(x);
    expect(got.t).toBe(x > 0.5 ? 1 : 0);
    expect(got.out).toEqual([8, 1, 16, 16]);
  });
});
