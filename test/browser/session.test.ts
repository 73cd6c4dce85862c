import { describe, expect, it } from 'vitest';
import { hostDataFromSamples, loadData, pairImageFiles } from '../../web/session.js';

describe('playground data (web/session.ts)', () => {
  it('pairs chosen files by name: <name>_mask, _seg, _segmentation, _gt, _label (any case, - or _) with <name>', () => {
    const { pairs, unpaired } = pairImageFiles(['b.png', 'a.jpg', 'a_mask.png', 'b-GT.png', 'c.png', 'c_segmentation.tif', 'd.png', 'e_label.png', 'notes.txt']);
    expect(pairs).toEqual([
      { image: 'a.jpg', mask: 'a_mask.png' },
      { image: 'b.png', mask: 'b-GT.png' },
      { image: 'c.png', mask: 'c_segmentation.tif' },
    ]);
    expect(unpaired).toEqual(['d.png', 'e_label.png', 'notes.txt']);
    // a name that itself contains a suffix word is still an image when nothing else claims it
    expect(pairImageFiles(['my_mask_study.png', 'my_mask_study_mask.png']).pairs).toEqual([{ image: 'my_mask_study.png', mask: 'my_mask_study_mask.png' }]);
  });

  it('host data keeps the samples in order and holds out the last 20 % (at least one)', async () => {
    const settings = { kind: 'own' as const, foreground: 0, size: 2, count: 0, seed: 1 };
    const images = [0, 1, 2].map((i) => Float32Array.from([i, i, i, i]));
    const masks = [0, 1, 2].map((i) => Float32Array.from([i % 2, 0, 0, 1]));
    const d = hostDataFromSamples(images, masks, settings);
    expect(d.settings.count).toBe(3);
    expect(Array.from(d.images)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(Array.from(d.masks)).toEqual([0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1]);
    expect([d.train, d.val]).toEqual([[0, 1], [2]]);
    await expect(loadData(settings)).rejects.toThrow(/own images are read from files/);
  });
});
