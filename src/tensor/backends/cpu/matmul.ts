import type { DType, TypedArray } from '../../dtype.js';
import { allocate } from './buffers.js';
import { gemmF32 } from './gemm.js';

/**
 * Batched matmul on typed arrays. float32 runs the packed SIMD GEMM of gemm.ts, which reads transposed
 * operands through strides. float64 (the gradient-check path) copies transposed operands to row-major
 * first so the inner loop runs over contiguous rows of b and out (i-k-j order).
 */
export function matmul(a: TypedArray, b: TypedArray, batchA: number, batchB: number, m: number, k: number, n: number, transA: boolean, transB: boolean, dtype: DType): TypedArray {
  const batch = Math.max(batchA, batchB);
  const out = allocate(dtype, batch * m * n);
  if (dtype === 'float32') {
    for (let bi = 0; bi < batch; bi++) {
      const aOff = (batchA === 1 ? 0 : bi) * m * k;
      const bOff = (batchB === 1 ? 0 : bi) * k * n;
      gemmF32(m, n, k, a as Float32Array, aOff, transA ? 1 : k, transA ? m : 1, b as Float32Array, bOff, transB ? 1 : n, transB ? k : 1, out as Float32Array, bi * m * n, n, undefined, true);
    }
    return out;
  }
  const aRow = allocate(dtype, transA ? m * k : 0);
  const bRow = allocate(dtype, transB ? k * n : 0);
  for (let bi = 0; bi < batch; bi++) {
    const aOff = (batchA === 1 ? 0 : bi) * m * k;
    const bOff = (batchB === 1 ? 0 : bi) * k * n;
    let A: TypedArray = a.subarray(aOff, aOff + m * k);
    let B: TypedArray = b.subarray(bOff, bOff + k * n);
    if (transA) A = transposeInto(A, k, m, aRow);
    if (transB) B = transposeInto(B, n, k, bRow);
    gemm(A, B, out, bi * m * n, m, k, n);
  }
  return out;
}

function transposeInto(x: TypedArray, rows: number, cols: number, out: TypedArray): TypedArray {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

const BLOCK_K = 128;

/** out[off + i·n + j] = Σ_p A[i·k + p] · B[p·n + j]. */
export function gemm(A: TypedArray, B: TypedArray, out: TypedArray, off: number, m: number, k: number, n: number): void {
  for (let p0 = 0; p0 < k; p0 += BLOCK_K) {
    const p1 = Math.min(k, p0 + BLOCK_K);
    for (let i = 0; i < m; i++) {
      const o = off + i * n;
      for (let p = p0; p < p1; p++) {
        const av = A[i * k + p];
        if (av === 0) continue;
        const bo = p * n;
        for (let j = 0; j < n; j++) out[o + j] += av * B[bo + j];
      }
    }
  }
}
