import { keep, noGrad, tidy } from '../tensor/engine.js';
import { fmt, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { gradients } from './gradients.js';
import type { Node } from './graph.js';
import { add } from './ops/elementwise.js';
import { fullLike } from './ops/composite.js';

/** Tensors reachable from `root` through recorded nodes, in topological order (inputs first). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    stack.push([t, true]);
    const node = t._node as Node | null;
    if (node) for (const inp of node.inputs) if (inp.requiresGrad && !seen.has(inp.id)) stack.push([inp, false]);
  }
  return order;
}

/**
 * Back-propagates from `root` and accumulates into `.grad` of every leaf that requires a gradient
 * (leaves: tensors created with requiresGrad, not produced by an op). `gradOutput` defaults to ones
 * for a one-element root. Intermediate gradients are freed; the leaf gradients are kept.
 */
export function backward(root: Tensor, gradOutput?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward: the tensor ${fmt(root.shape)} does not require a gradient (no input had requiresGrad, or it was computed under noGrad)`);
  if (!gradOutput && root.size !== 1) throw new Error(`backward: the root has shape ${fmt(root.shape)}; pass a gradient of that shape or reduce it to a scalar first`);
  if (gradOutput && !sameShape(gradOutput.shape, root.shape)) throw new Error(`backward: gradient shape ${fmt(gradOutput.shape)} does not match the root ${fmt(root.shape)}`);
  if (gradOutput && gradOutput.dtype !== root.dtype) throw new Error(`backward: gradient dtype ${gradOutput.dtype} does not match the root's ${root.dtype}`);
  tidy(() =>
    noGrad(() => {
      const grads = new Map<number, Tensor>();
      grads.set(root.id, gradOutput ?? fullLike(root, 1));
      const order = topoOrder(root);
      for (let i = order.length - 1; i >= 0; i--) {
        const t = order[i];
        const g = grads.get(t.id);
        if (!g) continue;
        const node = t._node as Node | null;
        if (!node) {
          accumulateLeaf(t, g);
          continue;
        }
        const inGrads = gradients[node.op](g, node);
        node.inputs.forEach((inp, k) => {
          const gi = inGrads[k];
          if (!gi || !inp.requiresGrad) return;
          if (!sameShape(gi.shape, inp.shape)) throw new Error(`backward: the rule of '${node.op}' returned ${fmt(gi.shape)} for an input of shape ${fmt(inp.shape)}`);
          const prev = grads.get(inp.id);
          grads.set(inp.id, prev ? add(prev, gi) : gi);
        });
      }
    }),
  );
}

function accumulateLeaf(t: Tensor, g: Tensor): void {
  const old = t.grad;
  const next = old ? add(old, g) : g.view(t.shape);
  keep(next);
  if (old) old.dispose();
  t.grad = next;
}

/**
 * Returns a function computing the gradient of scalar `f` with respect to each argument.
 * @example const df = grad((x) => x.mul(x).sum()); df(tensor([1, 2])) // [2, 4]
 */
export function grad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor[] {
  return (...xs) => valueAndGrad(f)(...xs).grads;
}

/** Returns a function computing `{ value, grads }` of scalar `f` at the given arguments. */
export function valueAndGrad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...xs) => {
    // differentiate through fresh leaves so the caller's tensors (and their .grad) are untouched
    const leaves = xs.map((x) => {
      const l = x.view(x.shape);
      l.requiresGrad = true;
      return l;
    });
    let value = f(...leaves);
    if (value.size !== 1) throw new Error(`grad: the function must return a scalar, got shape ${fmt(value.shape)}`);
    if (value.requiresGrad) backward(value);
    // backward() keeps leaf gradients past every tidy; re-home them in the caller's scope so an
    // enclosing tidy frees them like any other result of f
    const grads = leaves.map((l) => {
      if (!l.grad) return fullLike(l, 0);
      const g = l.grad.view(l.shape);
      l.grad.dispose();
      return g;
    });
    // f may return one of its arguments, i.e. a leaf freed below
    if (leaves.includes(value)) value = value.view(value.shape);
    for (const l of leaves) {
      l.grad = null;
      l.dispose();
    }
    return { value, grads };
  };
}

/** A copy of `x` cut from the graph (shares storage; no gradient flows through it). */
export function detach(x: Tensor): Tensor {
  return x.view(x.shape);
}
