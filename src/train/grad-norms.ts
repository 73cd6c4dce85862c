import { noGrad, tidy, type Tensor } from '../tensor/index.js';
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
 * L2 norms of the gradients of `params`, globally and per layer group. Parameters without a gradient
 * are skipped. The squared sums are gathered on the device and read back at once: on an asynchronous
 * device each read waits for the queue and maps a buffer, so one read a parameter cost a round trip each.
 */
export async function gradNorms(params: readonly [string, Tensor][]): Promise<GradNorms> {
  const withGrad = params.filter(([, p]) => p.grad);
  if (withGrad.length === 0) return { global: 0, groups: {} };
  const squares = tidy(() => noGrad(() => concat(withGrad.map(([, p]) => sum(square(p.grad!)).reshape([1])))));
  const values = await squares.data();
  squares.dispose();
  const groups: Record<string, number> = {};
  let total = 0;
  withGrad.forEach(([name], i) => {
    const v = values[i];
    total += v;
    const g = layerGroup(name);
    groups[g] = (groups[g] ?? 0) + v;
  });
  for (const g of Object.keys(groups)) groups[g] = Math.sqrt(groups[g]);
  return { global: Math.sqrt(total), groups };
}
