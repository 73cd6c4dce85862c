import { afterAll, describe, expect, it } from 'vitest';
import { synthetic } from '../../src/data/index.js';
import { dice } from '../../src/losses/index.js';
import { availableGpuModes, setBackend, TensorSizeLimitError } from '../../src/index.js';
import { withBatchHint } from '../../src/train/batch-limit.js';
import { createModel, evaluateModel, fit } from '../../src/train/index.js';

const LIMIT = 2 ** 23;

describe('withBatchHint', () => {
  it('names the largest batch that keeps the failing tensor under the limit: ⌊batch · limit / elements⌋', () => {
    // a U-Net with widths from 32 at 192×256, batch 16: the first decoder concat holds 16·64·192·256 values
    const e = new TensorSizeLimitError('concat', 16 * 64 * 192 * 256, LIMIT, 'concat (gpu backend): too large');
    const hinted = withBatchHint(e, 16, 'fit, epoch 1, step 1') as TensorSizeLimitError;
    expect(hinted).toBeInstanceOf(TensorSizeLimitError);
    expect([hinted.op, hinted.elements, hinted.limit]).toEqual(['concat', 50331648, LIMIT]);
    expect(hinted.message).toBe(
      'fit, epoch 1, step 1, a batch of 16 images: concat (gpu backend): too large. The tensors grow with the batch: this one stays under the limit up to a batch of 2 (the model\'s later, larger ones may need fewer).',
    );
    // exactly at the limit fits: 8 images of 2^20 values each
    expect((withBatchHint(new TensorSizeLimitError('conv2d', 9 * 2 ** 20, LIMIT, 'm'), 9, 'w') as Error).message).toMatch(/up to a batch of 8 \(/);
  });

  it('says when not even one image fits, and leaves every other error as it is', () => {
    const one = withBatchHint(new TensorSizeLimitError('conv2d', LIMIT + 1, LIMIT, 'm'), 1, 'evaluating the model') as Error;
    expect(one.message).toBe('evaluating the model, a batch of 1 images: m. Even one image makes a tensor over the limit: use smaller images or patches, or the cpu backend.');
    const other = new Error('shape mismatch');
    expect(withBatchHint(other, 4, 'fit')).toBe(other);
  });
});

// gpu.js's webasm mode runs everywhere Node does; the limit is checked before any kernel runs, so this is quick
const mode = availableGpuModes().find((m) => m === 'webasm');

describe.skipIf(!mode)('a batch too large for the gpu backend', () => {
  afterAll(() => void setBackend('cpu'));
  // 9 images of 128²: the first conv's output, 9·64·128², is over 2^23; 8 images make exactly 2^23
  const data = synthetic({ kind: 'blobs', count: 9, size: 128, seed: 3 });
  const model = () => createModel({ name: 'unet', options: { inChannels: 1, outChannels: 1, widths: [64, 128], dropout: 0, seed: 1 } });

  it('stops fit() with the step, the op and the batch that fits', async () => {
    setBackend('gpu', { mode: mode! });
    try {
      const m = model();
      const run = fit(m, dice(), data, { epochs: 1, batchSize: 9, lr: 1e-3, seed: 1 });
      await expect(run).rejects.toBeInstanceOf(TensorSizeLimitError);
      await expect(run).rejects.toThrow(/^fit, epoch 0, step 1, a batch of 9 images: conv2d\w* \(gpu backend, mode 'webasm'\): a tensor of 9437184 elements exceeds .* stays under the limit up to a batch of 8 \(the model's later, larger ones may need fewer\)\.$/);
    } finally {
      setBackend('cpu');
    }
  });

  it('stops evaluateModel the same way', async () => {
    setBackend('gpu', { mode: mode! });
    try {
      const run = evaluateModel(model(), null, data, { batchSize: 9 });
      await expect(run).rejects.toThrow(/^evaluating the model, a batch of 9 images: conv2d\w* .* stays under the limit up to a batch of 8 \(the model's later, larger ones may need fewer\)\.$/);
    } finally {
      setBackend('cpu');
    }
  });
});
