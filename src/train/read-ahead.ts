/**
 * Batch predictions whose reads may be pending while the next batch is submitted (evaluateModel,
 * predictSlidingWindow). On an asynchronous device the host then encodes a batch while the device runs
 * the one before, and the device holds the outputs of at most this many batches, not of the whole set.
 */
export const READ_AHEAD = 2;

/** Waits until fewer than READ_AHEAD of `reads` (in submission order) are pending. */
export async function readAhead(reads: readonly Promise<unknown>[]): Promise<void> {
  if (reads.length >= READ_AHEAD) await reads[reads.length - READ_AHEAD];
}
