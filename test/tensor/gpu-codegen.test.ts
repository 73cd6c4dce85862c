import gpujs from 'gpu.js';
import { describe, expect, it, vi } from 'vitest';
import { divMod, floatVars, idiv, intVar, kernel } from '../../src/tensor/backends/gpu/codegen.js';
import { gpuModesHere } from './gpu-modes.js';

/**
 * intVar's integers: gpu.js's WebGPU code generator must declare them i32 (or the conv kernels convert
 * every index from float again, silently, after a gpu.js update), and floatVars must give the GL modes
 * (and every mode under SEGRAD_GPU_INT_INDEX=0) plain float declarations with the same values.
 */

const { modes } = await gpuModesHere();

const source = kernel(['xs'], ['let i = this.thread.x;', ...intVar('at', 'i * 2 + 1'), 'let acc = 0;', 'for (let k = 0; k < 3; k++) {', '  acc = acc + xs[at + k];', '}', 'return acc;']);
const xs = Float32Array.from({ length: 12 }, (_, i) => i * i);
const want = Float32Array.from({ length: 4 }, (_, i) => xs[2 * i + 1] + xs[2 * i + 2] + xs[2 * i + 3]);

describe('intVar and floatVars', () => {
  it('floatVars turns intVar lines back into one float declaration and leaves other lines alone', () => {
    const plain = kernel(['xs'], ['let i = this.thread.x;', 'let at = i * 2 + 1;', 'let acc = 0;', 'for (let k = 0; k < 3; k++) {', '  acc = acc + xs[at + k];', '}', 'return acc;']);
    expect(floatVars(source)).toBe(plain);
    expect(floatVars(plain)).toBe(plain);
  });

  it('gives the same values as a float index in gpu.js cpu mode', () => {
    for (const src of [source, floatVars(source)]) {
      const k = new gpujs.GPU({ mode: 'cpu' }).createKernel(src, { output: [4] });
      expect(Array.from(k(xs) as Float32Array)).toEqual(Array.from(want));
    }
  });

  it('reaches gpu.js as integers, or as floats under SEGRAD_GPU_INT_INDEX=0 (read when the device module loads)', async () => {
    const sources: string[] = [];
    const create = gpujs.GPU.prototype.createKernel;
    const spy = vi.spyOn(gpujs.GPU.prototype, 'createKernel').mockImplementation(function (this: InstanceType<typeof gpujs.GPU>, ...args: Parameters<typeof create>) {
      sources.push(String(args[0]));
      return create.apply(this, args);
    });
    /** The conv2d kernel source gpu.js is handed in its cpu mode, from freshly loaded modules. */
    const convSource = async (): Promise<string> => {
      vi.resetModules();
      sources.length = 0;
      const { createGpuBackend } = await import('../../src/tensor/backends/gpu/index.js');
      const b = createGpuBackend({ mode: 'cpu' });
      const [x, w] = [b.upload(new Float32Array(2 * 3 * 3), 'float32'), b.upload(new Float32Array(2 * 2 * 9), 'float32')];
      const y = b.conv2d(x, [1, 2, 3, 3], w, [2, 2, 3, 3], [1, 2, 3, 3], { stride: [1, 1], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 1 }, 'float32');
      await b.read(y, 18, 'float32');
      for (const h of [x, w, y]) b.dispose(h);
      const conv = sources.find((src) => src.includes('let xc'));
      if (!conv) throw new Error('no conv2d kernel was compiled');
      return conv;
    };
    try {
      expect(await convSource()).toContain('xc++;');
      process.env.SEGRAD_GPU_INT_INDEX = '0';
      const floats = await convSource();
      expect(floats).not.toContain('xc++;');
      expect(floats).toMatch(/let xc = \(cbase/);
    } finally {
      delete process.env.SEGRAD_GPU_INT_INDEX;
      spy.mockRestore();
      vi.resetModules();
    }
  });

  // CI and this machine have SwiftShader's Vulkan driver; only a machine without any driver skips this
  it.skipIf(!modes.includes('webgpu'))('is an i32 in the WGSL gpu.js writes for webgpu', async () => {
    const k = new gpujs.GPU({ mode: 'webgpu' }).createKernel(source, { output: [4], precision: 'single' });
    const out = await (k(xs) as unknown as Promise<Float32Array>);
    expect(Array.from(out)).toEqual(Array.from(want));
    const wgsl = (k as unknown as { compiledSource: string }).compiledSource;
    expect(wgsl).toMatch(/var user_at\s*:\s*i32/);
    expect(wgsl).toMatch(/var user_i\s*:\s*f32/);
  });
});

describe('divMod in integers', () => {
  /**
   * Runs divMod's lines as JavaScript with float32 arithmetic whose division errs by `ulps` units in the
   * last place, the way a GPU's may (WGSL allows 2.5), so the correction steps are exercised: the lines
   * read `a` and set q and r.
   */
  function divModWith(d: number, ulps: number): (a: number) => [number, number] {
    const f = Math.fround;
    // every float quotient is off by `ulps`, up or down as `sign` says, then rounded to float32
    const body = divMod('a', d, 'q', 'r', true)
      .join('\n')
      .replace(/Math\.floor\(\((\w+) \+ 0\.5\) \/ (\d+)\)/g, (_, x: string, dd: string) => `Math.floor(bad(f(f(${x}) + 0.5), ${dd}))`);
    const run = new Function('a', 'f', 'bad', `${body}\nreturn [q, r];`) as (a: number, fr: typeof f, bad: (x: number, y: number) => number) => [number, number];
    let sign = 1;
    const bad = (x: number, y: number): number => {
      sign = -sign;
      const q = f(x / y);
      return f(q * (1 + sign * ulps * 2 ** -23));
    };
    return (a) => run(a, f, bad);
  }

  it('is exact up to 2^31 − 1 even where the float division is off by 2.5 ulp, at both ends of every quotient', () => {
    for (const d of [1, 2, 3, 7, 128, 1000, 4097, 49152, 337561, 1572864, 2 ** 22 + 1]) {
      const dm = divModWith(d, 2.5);
      // the multiples of d near 2^24, 2^30 and 2^31 − 1, and their neighbours, where a rounded quotient flips
      const as: number[] = [0, 1, d - 1, d, d + 1];
      for (const top of [2 ** 24, 2 ** 30, 2 ** 31 - 1]) {
        const k = Math.floor(top / d);
        for (const m of [k - 2, k - 1, k]) for (const e of [-2, -1, 0, 1, 2]) as.push(m * d + e);
        for (let t = 0; t < 50; t++) as.push(top - 1 - t * 7919);
      }
      for (const a of as.filter((v) => v >= 0 && v < 2 ** 31)) {
        expect(dm(a), `${a} / ${d}`).toEqual([Math.floor(a / d), a % d]);
      }
    }
  });

  it('matches idiv and its remainder in floats below 2^22 (the lines are the old ones)', () => {
    expect(divMod('i', 16, 'q1', 'x', false)).toEqual([`let q1 = ${idiv('i', 16)};`, 'let x = i - q1 * 16;']);
  });
});
