import { noGrad, Tensor, tidy } from '../tensor/index.js';
import { concat, sum, square } from '../autograd/index.js';

/** Gradient norms of one step: the global L2 norm and one per layer group. */
export interface GradNorms {
  global: number;
  groups: Record<string, number>;
}

/** The layer group of a parameter: its name up to the first dot (`enc0`, `dec3`, `head`, …). */
export function layerGroup(name: string): string {
  const i = name.indexOf('.');
  return i < 0 ? name : name.slice(0, i);
}

/**
 * The squared L2 norm of each gradient of `params` (those that have one) as one tensor on the device,
 * in the order of `names`; null where no parameter has a gradient. normsFromSquares turns its values
 * into GradNorms, so a caller can read them back together with other values of the step.
 */
export function gradSquares(params: readonly [string, Tensor][]): { names: string[]; squares: Tensor } | null {
  const withGrad = params.filter(([, p]) => p.grad);
  if (withGrad.length === 0) return null;
  const grads = withGrad.map(([, p]) => p.grad!);
  const b = grads[0].backend;
  const dtype = grads[0].dtype;
  // the backend's own pass where it has one (gpu: a few kernel calls for all, where each took two or more)
  const squares = b.sumSquaresMany && grads.every((g) => g.backend === b && g.dtype === dtype) && b.supports(dtype)
    ? Tensor.fromHandle(b, b.sumSquaresMany(grads.map((g) => g.handle), grads.map((g) => g.size), dtype), [grads.length], dtype)
    : tidy(() => noGrad(() => concat(grads.map((g) => sum(square(g)).reshape([1])))));
  return { names: withGrad.map(([name]) => name), squares };
}

/** GradNorms from the squared gradient norms `values` of the parameters `names` (see gradSquares). */
export function normsFromSquares(names: readonly string[], values: ArrayLike<number>): GradNorms {
  const groups: Record<string, number> = {};
  let total = 0;
  names.forEach((name, i) => {
    const v = values[i];
    total += v;
    const g = layerGroup(name);
    groups[g] = (groups[g] ?? 0) + v;
  });
  for (const g of Object.keys(groups)) groups[g] = Math.sqrt(groups[g]);
  return { global: Math.sqrt(total), groups };
}

/**
 * L2 norms of the gradients of `params`, globally and per layer group. Parameters without a gradient
 * are skipped. The squared sums are gathered on the device and read back at once: on an asynchronous
 * device each read waits for the queue and maps a buffer, so one read a parameter cost a round trip each.
 */
export async function gradNorms(params: readonly [string, Tensor][]): Promise<GradNorms> {
  const g = gradSquares(params);
  if (!g) return { global: 0, groups: {} };
  const values = await g.squares.data();
  g.squares.dispose();
  return normsFromSquares(g.names, values);
}
