import { afterAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/autograd/index.js';
import {
  getBackend, linspace, rand, randint, randn, registerBackend, setBackend, tensor, zeros, type Backend,
} from '../../src/tensor/index.js';
import { f64 } from '../helpers/tensors.js';

// Errors name the op, the shapes (or dtypes/backends) involved, and what was expected (STYLE.md).

describe('shape errors name the op and both shapes', () => {
  it('broadcasting binary ops', () => {
    expect(() => zeros([2, 3]).add(zeros([4]))).toThrow('add: cannot broadcast [2,3] with [4]');
    expect(() => ops.mul(zeros([3, 1]), zeros([2, 2]))).toThrow('mul: cannot broadcast [3,1] with [2,2]');
    expect(() => ops.where(zeros([2]), zeros([3]), 0)).toThrow('where: cannot broadcast [2] with [3]');
  });

  it('matmul inner-dimension mismatch and rank', () => {
    expect(() => zeros([2, 3]).matmul(zeros([4, 5]))).toThrow('matmul: inner dimensions differ: [2,3] @ [4,5]');
    expect(() => ops.matmul(zeros([2, 2, 3]), zeros([3, 3, 1]))).toThrow('matmul: cannot broadcast [2] with [3]');
    expect(() => ops.matmul(zeros([3]), zeros([3, 1]))).toThrow('matmul: both operands need at least 2 dimensions, got [3] and [3,1]');
  });

  it('reshape size mismatch', () => {
    expect(() => zeros([2, 3]).reshape([4])).toThrow('reshape: cannot reshape [2,3] (6 elements) into [4]');
    expect(() => zeros([2, 3]).reshape([4, -1])).toThrow('reshape: cannot reshape [2,3] into [4,-1]');
  });

  it('layout ops: broadcastTo, axes, permutations, slices, concat, stack, squeeze', () => {
    expect(() => zeros([3]).broadcastTo([2, 2])).toThrow('broadcastTo: cannot broadcast [3] with [2,2]');
    expect(() => zeros([3, 1]).broadcastTo([3])).toThrow('broadcastTo: cannot broadcast [3,1] to [3]');
    expect(() => zeros([2, 3]).sum(2)).toThrow('sum: axis 2 is out of range for shape [2,3]');
    expect(() => zeros([2, 3]).softmax(-3)).toThrow('softmax: axis -3 is out of range for shape [2,3]');
    expect(() => zeros([2, 3]).permute([0, 0])).toThrow('permute: [0,0] is not a permutation of the axes of [2,3]');
    expect(() => zeros([2, 3]).slice([1, 2], [2, 1])).toThrow('slice: begin [1,2] size [2,1] is outside shape [2,3]');
    expect(() => ops.concat([zeros([2, 3]), zeros([3, 3])], 1)).toThrow('concat: shapes [2,3] and [3,3] differ outside axis 1');
    expect(() => ops.stack([zeros([2]), zeros([3])])).toThrow('stack: shapes [2] and [3] differ');
    expect(() => zeros([2, 3]).squeeze(0)).toThrow('squeeze: axis 0 of [2,3] has size 2, not 1');
    expect(() => zeros([2]).pad([[-1, 0]])).toThrow(/pad: widths must be non-negative integers/);
  });

  it('creation with inconsistent data', () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow('tensor: 3 values do not fill shape [2,2] (4 elements)');
    expect(() => tensor([[1, 2], [3]])).toThrow('tensor: ragged nested array: expected shape [2,2]');
    expect(() => zeros([2, -1])).toThrow('full: invalid shape [2,-1]: dimensions must be non-negative integers');
    expect(() => zeros([2], { dtype: 'int32' as 'float32' })).toThrow("unknown dtype 'int32': expected 'float32' or 'float64'");
    expect(() => randint([2], 3, 3, { seed: 1 })).toThrow('randint: high (3) must exceed low (3)');
  });
});

describe('dtype, seed, backward and gradcheck errors', () => {
  it('float32 + float64 names both dtypes and shapes', () => {
    expect(() => zeros([2]).add(zeros([2], { dtype: 'float64' }))).toThrow('add: dtype mismatch: float32 [2] vs float64 [2]; cast one with .cast()');
    expect(() => ops.matmul(zeros([1, 2], { dtype: 'float64' }), zeros([2, 1]))).toThrow('matmul: dtype mismatch: float64 [1,2] vs float32 [2,1]');
  });

  it('random creation without a seed is refused with a clear message', () => {
    const noSeed = {} as { seed: number };
    expect(() => randn([2], noSeed)).toThrow('randn: a seed is required ({ seed: 42 }); segrad never draws unseeded numbers');
    // JavaScript callers may omit the options altogether
    expect(() => (randn as unknown as (s: number[]) => unknown)([2])).toThrow('randn: a seed is required');
    expect(() => (rand as unknown as (s: number[]) => unknown)([2])).toThrow('rand: a seed is required');
    expect(() => randint([2], 0, 3, noSeed)).toThrow('randint: a seed is required');
  });

  it('backward without a gradient path, gradcheck in float32', () => {
    expect(() => zeros([1]).backward()).toThrow('backward: the tensor [1] does not require a gradient');
    expect(() => ops.gradcheck((x) => x.sum(), [zeros([2])])).toThrow('gradcheck: inputs must be float64 (finite differences in float32 are not a gradient test), got float32 [2]');
  });
});

describe('backends', () => {
  afterAll(() => {
    setBackend('cpu');
  });

  it('unknown backend name lists the available ones', () => {
    expect(() => setBackend('tpu' as 'cpu')).toThrow(/setBackend: unknown backend 'tpu'; available: cpu, gpu/);
  });

  it('selecting cpu again keeps earlier tensors usable with new ones', () => {
    const before = f64([1, 2], [2]);
    setBackend('cpu');
    const after = f64([10, 20], [2]);
    expect(Array.from(before.add(after).dataSync())).toEqual([11, 22]);
  });

  it('dataSync on an asynchronous backend throws and points to data(); data() works', async () => {
    const cpu = getBackend();
    registerBackend('fake-async', (): Backend => {
      const { readSync: _dropped, ...rest } = cpu;
      return { ...rest, name: 'gpu', info: () => ({ ...cpu.info(), backend: 'gpu', mode: 'fake-async', synchronous: false }) };
    });
    const onCpu = tensor([1, 2]);
    const info = setBackend('fake-async' as 'gpu');
    expect(info.mode).toBe('fake-async');
    const t = tensor([1, 2, 3]).mul(2);
    expect(() => t.dataSync()).toThrow("dataSync: the gpu backend in mode 'fake-async' is asynchronous; use 'await t.data()'");
    expect(() => t.toArray()).toThrow(/dataSync: the gpu backend in mode 'fake-async' is asynchronous/);
    expect(() => t.sum().item()).toThrow(/is asynchronous/);
    expect(Array.from(await t.data())).toEqual([2, 4, 6]);
    expect(t.toString()).toBe('Tensor(shape=[3], dtype=float32)');
    expect(() => t.add(onCpu.reshape([2, 1]))).toThrow('add: tensors live on different backends (gpu and cpu)');
  });
});

describe('errors found while testing the engine core', () => {
  it('backward with an output gradient of another dtype names both dtypes', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    expect(() => x.mul(2).backward(f64([1, 1], [2]))).toThrow("backward: gradient dtype float64 does not match the root's float32");
  });

  it('variance and stack name themselves in axis errors', () => {
    expect(() => zeros([2]).variance(3)).toThrow('variance: axis 3 is out of range for shape [2]');
    expect(() => ops.stack([zeros([2])], 3)).toThrow('stack: axis 3 is out of range for stacking tensors of shape [2]');
    expect(() => ops.stack([zeros([2])], -3)).toThrow('stack: axis -3 is out of range');
  });

  it('linspace with a negative count', () => {
    expect(() => linspace(0, 1, -1)).toThrow('linspace: num must be a non-negative integer, got -1');
  });
});
