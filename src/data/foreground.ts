/** How much of a dataset's masks is foreground: the class balance a user should know before choosing a loss. */
import type { Dataset } from './types.js';

/**
 * The share of foreground pixels (for several classes: any class but 0) over up to `max` masks spread
 * evenly through `data`, inside each sample's field of view where it has one.
 * @example (await foregroundShare(synthetic({ kind: 'vessels', foreground: 0.05 }))).share // ≈ 0.05
 */
export async function foregroundShare(data: Dataset, max = 32): Promise<{ share: number; masks: number }> {
  const n = Math.min(max, data.length);
  let [fg, all] = [0, 0];
  for (let j = 0; j < n; j++) {
    const s = await data.get(Math.floor((j * data.length) / n));
    const plane = s.shape.height * s.shape.width;
    for (let q = 0; q < plane; q++) {
      if (s.fov && !(s.fov[q] > 0.5)) continue;
      all++;
      // one class: its mask; several: not background (channel 0)
      if (s.shape.classes === 1 ? s.mask[q] > 0.5 : !(s.mask[q] > 0.5)) fg++;
    }
  }
  return { share: all ? fg / all : NaN, masks: n };
}
