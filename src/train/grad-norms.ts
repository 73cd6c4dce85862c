import { noGrad, tidy, type Tensor } from '../tensor/index.js';
import { sum, square } from '../autograd/index.js';

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
 * are skipped. Reads one number per parameter (a single readback of a small tensor).
 */
export async function gradNorms(params: readonly [string, Tensor][]): Promise<GradNorms> {
  const withGrad = params.filter(([, p]) => p.grad);
  if (withGrad.length === 0) return { global: 0, groups: {} };
  const squares = tidy(() => noGrad(() => withGrad.map(([, p]) => sum(square(p.grad!)))));
  const values = await Promise.all(squares.map((t) => t.data()));
  squares.forEach((t) => t.dispose());
  const groups: Record<string, number> = {};
  let total = 0;
  withGrad.forEach(([name], i) => {
    const v = values[i][0];
    total += v;
    const g = layerGroup(name);
    groups[g] = (groups[g] ?? 0) + v;
  });
  for (const g of Object.keys(groups)) groups[g] = Math.sqrt(groups[g]);
  return { global: Math.sqrt(total), groups };
}
