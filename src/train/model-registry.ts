import { AttentionUNet, FocusNet, UNet } from '../nn/models/index.js';
import type { Module } from '../nn/module.js';

/** The models `segrad train --model` knows. */
export const MODEL_NAMES = ['unet', 'focusnet', 'attention-unet'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** A model as config.json records it, so eval/predict/resume can rebuild it. */
export interface ModelSpec {
  name: ModelName;
  options: Record<string, unknown>;
}

type Ctor = new (opts: Record<string, unknown>) => Module;

const CONSTRUCTORS: Record<string, Ctor | undefined> = {
  unet: UNet as unknown as Ctor,
  focusnet: FocusNet as unknown as Ctor,
  'attention-unet': AttentionUNet as unknown as Ctor,
};

/**
 * Builds a model from its CLI name and constructor options (the same options the classes take).
 * @example createModel({ name: 'unet', options: { inChannels: 1, outChannels: 1, widths: [8, 16, 32] } })
 */
export function createModel(spec: ModelSpec): Module {
  const ctor = CONSTRUCTORS[spec.name];
  if (!ctor) throw new Error(`unknown model '${spec.name}'; expected one of ${MODEL_NAMES.join(', ')}`);
  return new ctor(spec.options);
}

/** The spatial size a model's input must be a multiple of. */
export function sizeMultiple(spec: ModelSpec): number {
  if (spec.name === 'unet') {
    const widths = (spec.options.widths as number[] | undefined) ?? [32, 64, 128, 256, 512];
    return 2 ** (widths.length - 1);
  }
  return 16; // FocusNet's segmentation branch and the Attention U-Net both halve the size four times
}
