import { describe, expect, it } from 'vitest';
import { AttentionUNet, FocusNet, UNet } from '../../src/nn/models/index.js';
import { createModel, sizeMultiple, type ModelSpec } from '../../src/train/index.js';

describe('model registry', () => {
  it('builds each CLI model name as its class with the given options', () => {
    const unet = createModel({ name: 'unet', options: { inChannels: 1, outChannels: 2, widths: [4, 8, 16] } });
    expect(unet).toBeInstanceOf(UNet);
    expect(unet.parameterCount()).toBe(new UNet({ inChannels: 1, outChannels: 2, widths: [4, 8, 16] }).parameterCount());
    expect(createModel({ name: 'focusnet', options: { inChannels: 1, widthScale: 1 / 16 } })).toBeInstanceOf(FocusNet);
    expect(createModel({ name: 'attention-unet', options: { inChannels: 1, widthScale: 1 / 16 } })).toBeInstanceOf(AttentionUNet);
  });

  it('rejects an unknown name, listing the known ones', () => {
    expect(() => createModel({ name: 'segnet', options: {} } as unknown as ModelSpec)).toThrow(/unknown model 'segnet'; expected one of unet, focusnet, attention-unet/);
  });

  it('gives the input-size multiple: 2^(levels) for a U-Net, 16 for the others', () => {
    expect(sizeMultiple({ name: 'unet', options: { widths: [4, 8, 16] } })).toBe(4);
    expect(sizeMultiple({ name: 'unet', options: {} })).toBe(16);
    expect(sizeMultiple({ name: 'focusnet', options: {} })).toBe(16);
  });
});
