import { adamCoefficients, type AdamItem, type AdamScalars, type Handle } from '../../backend.js';
import { I, kept, kernel } from './codegen.js';
import { env, type Device, type GpuHandle } from './device.js';
import * as K from './kernels.js';
import { partStride } from './webgpu-batch.js';

/**
 * webgpu: Adam steps of many parameters in a few kernel calls. One parameter's step is one kernel whose
 * output holds m′, v′ and θ′ (a block of three parts, partStride(n) apart), handed on as three views.
 * Here the blocks of up to GROUP parameters lie end to end in one output, so the next step reads the
 * whole group's state through one binding and its gradients through one each: a call a group instead of
 * one a parameter (the U-Net's 64 parameters: 13 calls, and one more that uploads the step's
 * coefficients, which every group reads from a buffer so that its calls repeat and keep their bind
 * groups). A group whose state is not such a block yet (the first step, or a parameter assigned from
 * elsewhere) takes one call a parameter, as before, and the step after that gathers those blocks into
 * one (a call a group) before its update.
 *
 * A thread reads its gradient behind a branch per parameter of the group. On a GPU a warp's threads lie
 * in one parameter (but for the warps at a block's ends), so they should take one branch together (not
 * measured on a card yet); a software adapter (SwiftShader) runs every branch of its thread groups, each
 * load masked, and a group's call took 1.5–1.9× the device time of its parameters' own calls there. So groups are on where the adapter is hardware, off on a
 * software one; `SEGRAD_GPU_ADAM_GROUPS=1` or `=0` decides instead (tests, and bench/gpu.sh's comparison).
 */

/** Parameters a group call takes: its state, GROUP gradients, the coefficients and its output are 8 storage buffers, WebGPU's default limit. */
export const GROUP = 5;

/** Where a view of an Adam output sits: the output (`of`), the block sizes it holds, its parameter and part (0 m, 1 v, 2 θ). */
interface Slot {
  of: object;
  sizes: readonly number[];
  index: number;
  part: number;
}

/** Floats before each block of a group and their total. */
function layout(sizes: readonly number[]): { starts: number[]; total: number } {
  const starts: number[] = [];
  let total = 0;
  for (const n of sizes) {
    starts.push(total);
    total += 3 * partStride(n);
  }
  return { starts, total };
}

/** Lines that set `item`, `base` (its block's start), `n` (its size) and `s` (its part stride) for output i. */
function blockOf(sizes: readonly number[]): string[] {
  const { starts } = layout(sizes);
  return [
    `let item = 0; let base = 0; let n = ${sizes[0]}; let s = ${partStride(sizes[0])};`,
    ...sizes.slice(1).map((sz, j) => `if (i >= ${starts[j + 1]}) { item = ${j + 1}; base = ${starts[j + 1]}; n = ${sz}; s = ${partStride(sz)}; }`),
  ];
}

/**
 * A group's step: state `st` in the group layout, gradients g0 … g(k−1), the coefficients in `cf` (b1, c1,
 * b2, c2, l2, decay, epsScaled, stepScaled: adamCoefficients); the output in the same layout
 * (adamStepSource's formulas). The coefficients come in a buffer, not as parameters, because the bias
 * corrections change them every step: so a group's call binds the same bytes and buffers step after
 * step, and its bind group is kept (bind-groups.ts).
 */
export const adamGroupSource = (sizes: readonly number[]): string =>
  kept(`adamGroup|${sizes}`, () => {
    const grads = sizes.map((_, j) => `g${j}`);
    return kernel(['st', ...grads, 'cf'], [
      I,
      ...blockOf(sizes),
      ...['b1', 'c1', 'b2', 'c2', 'l2', 'decay', 'epsScaled', 'stepScaled'].map((c, j) => `let ${c} = cf[${j}];`),
      'let r = i - base;',
      'let part = Math.min(Math.floor((r + 0.5) / s), 2);',
      'let e = r - part * s;',
      'if (e >= n) { return 0; }',
      'let gv = 0;',
      ...grads.map((g, j) => `if (item == ${j}) { gv = ${g}[e]; }`),
      'let p = st[base + 2 * s + e];',
      'let g = gv + l2 * p;',
      'let m1 = b1 * st[base + e] + c1 * g;',
      'if (part < 0.5) { return m1; }',
      'let v1 = b2 * st[base + s + e] + c2 * g * g;',
      'if (part < 1.5) { return v1; }',
      'return p * decay - m1 / (Math.sqrt(v1) + epsScaled) * stepScaled;',
    ]);
  });

/** The blocks b0 … b(k−1) of single-parameter outputs copied end to end into the group layout. */
export const adamGatherSource = (sizes: readonly number[]): string =>
  kept(`adamGather|${sizes}`, () => kernel(sizes.map((_, j) => `b${j}`), [I, ...blockOf(sizes), 'let r = i - base;', ...sizes.map((_, j) => `if (item == ${j}) { return b${j}[r]; }`), 'return 0;']));

type Update = { theta: Handle; m: Handle; v: Handle };

/** adamUpdate of the gpu backend in webgpu mode, and adamUpdateMany where groups are on (see above). */
export function webgpuAdam(dev: Device): {
  adamUpdate: (theta: Handle, grad: Handle, m: Handle, v: Handle, size: number, s: AdamScalars) => Update;
  adamUpdateMany?: (items: readonly AdamItem[], s: AdamScalars) => Update[];
} {
  const knob = env('SEGRAD_GPU_ADAM_GROUPS');
  const groups = knob === '1' || (knob !== '0' && !dev.software);
  const slots = new WeakMap<GpuHandle, Slot>();
  const h = (x: Handle): GpuHandle => x as GpuHandle;
  const coefficients = (s: AdamScalars): number[] => {
    const c = adamCoefficients(s);
    return [c.b1, c.c1, c.b2, c.c2, c.l2, c.decay, c.epsScaled, c.stepScaled];
  };
  /** The three views of each block of an Adam output `all`, recorded as its slots; `all` is released. */
  const split = (all: GpuHandle, sizes: readonly number[]): Update[] => {
    const { starts } = layout(sizes);
    const views = dev.views(all, sizes.flatMap((n, j) => [0, 1, 2].map((part) => ({ offset: starts[j] + part * partStride(n), size: n }))));
    dev.release(all);
    views.forEach((view, k) => slots.set(view, { of: all, sizes, index: Math.floor(k / 3), part: k % 3 }));
    return sizes.map((_, j) => ({ theta: views[3 * j + 2], m: views[3 * j], v: views[3 * j + 1] }));
  };
  /** Whether item j's θ, m and v are the views of block j of one output holding `sizes`. */
  const inBlock = (it: AdamItem, j: number, of: object | undefined, sizes: readonly number[]): boolean =>
    [it.m, it.v, it.theta].every((x, part) => {
      const slot = slots.get(h(x));
      return !!slot && slot.of === of && slot.index === j && slot.part === part && slot.sizes.length === sizes.length && slot.sizes.every((n, k) => n === sizes[k]);
    });
  /** The whole buffer under the view `x`, `floats` long, as a handle of its own (released by the caller). */
  const whole = (x: Handle, floats: number): GpuHandle => dev.views(h(x), [{ offset: 0, size: floats }])[0];

  const adamUpdate = (theta: Handle, grad: Handle, m: Handle, v: Handle, size: number, s: AdamScalars): Update => {
    const all = dev.run('adamUpdate', K.adamStepSource(size, partStride(size)), 3 * partStride(size), [h(grad), h(theta), h(m), h(v), ...coefficients(s)]);
    return split(all, [size])[0];
  };

  /** The step of a group of parameters; `cf` holds `s`'s coefficients (adamGroupSource). */
  const group = (items: readonly AdamItem[], s: AdamScalars, cf: GpuHandle): Update[] => {
    const sizes = items.map((it) => it.size);
    const { total } = layout(sizes);
    const grads = items.map((it) => h(it.grad));
    const of = slots.get(h(items[0].theta))?.of;
    let state: GpuHandle;
    if (items.every((it, j) => inBlock(it, j, of, sizes))) state = whole(items[0].theta, total);
    else if (items.every((it) => inBlock(it, 0, slots.get(h(it.theta))?.of, [it.size]))) {
      // each parameter's state in a block of its own (last step's single updates): gathered first
      const blocks = items.map((it) => whole(it.theta, 3 * partStride(it.size)));
      try {
        state = dev.run('adamUpdate', adamGatherSource(sizes), total, blocks);
      } finally {
        blocks.forEach((b) => dev.release(b));
      }
    } else return items.map((it) => adamUpdate(it.theta, it.grad, it.m, it.v, it.size, s));
    try {
      return split(dev.run('adamUpdate', adamGroupSource(sizes), total, [state, ...grads, cf]), sizes);
    } finally {
      dev.release(state);
    }
  };

  if (!groups) return { adamUpdate };
  return {
    adamUpdate,
    adamUpdateMany: (items, s) => {
      const cf = dev.upload(new Float32Array(coefficients(s)));
      try {
        const out: Update[] = [];
        for (let i = 0; i < items.length; i += GROUP) out.push(...(items.length - i === 1 ? [adamUpdate(items[i].theta, items[i].grad, items[i].m, items[i].v, items[i].size, s)] : group(items.slice(i, i + GROUP), s, cf)));
        return out;
      } finally {
        dev.release(cf);
      }
    },
  };
}
