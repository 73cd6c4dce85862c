import { broadcastShapes, fmt, sizeOf } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkSame, record, sumTo, wrap, type GradFn } from '../graph.js';
import { broadcastTo, reshape } from './layout.js';

/** a @ b with transposes folded into the kernel; batch axes broadcast. Not recorded. */
function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const { dtype, backend } = checkSame('matmul', [a, b]);
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: both operands need at least 2 dimensions, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  const n = transB ? br : bc;
  if (k !== kb) throw new Error(`matmul: inner dimensions differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} @ ${fmt(b.shape)}${transB ? 'ᵀ' : ''}`);
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  const batch = sizeOf(batchShape);
  const fit = (t: Tensor): Tensor => {
    const own = sizeOf(t.shape.slice(0, -2));
    return own === 1 || own === batch ? t : broadcastTo(t, [...batchShape, ...t.shape.slice(-2)]);
  };
  const A = fit(a);
  const B = fit(b);
  const batchA = sizeOf(A.shape.slice(0, -2));
  const batchB = sizeOf(B.shape.slice(0, -2));
  const h = backend.matmul(A.handle, B.handle, batchA, batchB, m, k, n, transA, transB, dtype);
  return wrap(backend, h, [...batchShape, m, n], dtype);
}

/**
 * Matrix product of the last two axes, batched and broadcasting over the leading axes.
 * @example matmul(randn([8, 3, 4], { seed: 1 }), randn([4, 5], { seed: 2 })) // shape [8, 3, 5]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return record('matmul', [a, b], mm(a, b, false, false));
}

/** Sums a batched gradient back to an operand's (possibly broadcast) batch shape. */
function toOperand(g: Tensor, t: Tensor): Tensor {
  if (g.size === t.size) return reshape(g, t.shape);
  return sumTo(g, t.shape);
}

export const matmulGrads = {
  // d(A·B) = dA·B + A·dB  ⇒  Ā = Ḡ·Bᵀ, B̄ = Aᵀ·Ḡ
  matmul: (g, n) => {
    const [a, b] = n.inputs;
    return [a.requiresGrad ? toOperand(mm(g, b, false, true), a) : null, b.requiresGrad ? toOperand(mm(a, g, true, false), b) : null];
  },
} satisfies Record<'matmul', GradFn>;
