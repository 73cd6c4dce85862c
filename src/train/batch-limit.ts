import { TensorSizeLimitError, tidy } from '../tensor/index.js';

/**
 * `e` with the largest batch that fits added, where `e` is a TensorSizeLimitError raised while a batch of
 * `batch` images ran (any other error is returned as it is). A model's activations grow with the batch,
 * so a batch of ⌊batch · limit / elements⌋ images keeps the tensor that failed under the limit (the first
 * op over it: tensors later in the model may be larger still); below one image only smaller images
 * (patches) or another backend help.
 */
export function withBatchHint(e: unknown, batch: number, what: string): unknown {
  if (!(e instanceof TensorSizeLimitError)) return e;
  const fits = Math.floor((batch * e.limit) / e.elements);
  const hint =
    fits >= 1
      ? `The tensors grow with the batch: this one stays under the limit up to a batch of ${fits} (the model's later, larger ones may need fewer).`
      : 'Even one image makes a tensor over the limit: use smaller images or patches, or the cpu backend.';
  return new TensorSizeLimitError(e.op, e.elements, e.limit, `${what}, a batch of ${batch} images: ${e.message}. ${hint}`);
}

/** tidy(f) for a batch of `batch` images, where a tensor too large for the backend is reported by `what` with the batch that fits. */
export function tidyBatch<T>(what: string, batch: number, f: () => T): T {
  try {
    return tidy(f);
  } catch (e) {
    throw withBatchHint(e, batch, what);
  }
}
