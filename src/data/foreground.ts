/** How much of a dataset's masks is foreground: the class balance a user should know before choosing a loss. */
import { summarizeDataset } from './summary.js';
import type { Dataset } from './types.js';

/**
 * The share of foreground pixels (for several classes: any class but 0) over up to `max` masks spread
 * evenly through `data`, inside each sample's field of view where it has one (`summarizeDataset`'s count).
 * @example (await foregroundShare(synthetic({ kind: 'vessels', foreground: 0.05 }))).share // ≈ 0.05
 */
export async function foregroundShare(data: Dataset, max = 32): Promise<{ share: number; masks: number }> {
  if (data.length === 0) return { share: NaN, masks: 0 };
  const s = await summarizeDataset(data, max);
  return { share: s.foreground, masks: s.read };
}
