import { UNet, type UNetOptions } from '../nn/models/unet.js';
import * as modelsModule from '../nn/models/index.js';
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

/**
 * Builds a model from its CLI name and constructor options (the same options the classes take).
 * @example createModel({ name: 'unet', options: { inChannels: 1, outChannels: 1, widths: [8, 16, 32] } })
 */
export function createModel(spec: ModelSpec): Module {
  const registry = modelsModule as unknown as Record<string, Ctor | undefined>;
  const className = spec.name === 'unet' ? 'UNet' : spec.name === 'focusnet' ? 'FocusNet' : spec.name === 'attention-unet' ? 'AttentionUNet' : undefined;
  if (!className) throw new Error(`unknown model '${spec.name}'; expected one of ${MODEL_NAMES.join(', ')}`);
  if (className === 'UNet') return new UNet(spec.options as UNetOptions);
  const ctor = registry[className];
  if (!ctor) throw new Error(`model '${spec.name}' is not available in this build`);
  return new ctor(spec.options);
}

/** The spatial size a model's input must be a multiple of. */
export function sizeMultiple(spec: ModelSpec): number {
  if (spec.name === 'unet') {
    const widths = (spec.options.widths as number[] | undefined) ?? [32, 64, 128, 256, 512];
    return 2 ** (widths.length - 1);
  }
  return spec.name === 'focusnet' ? 16 : 16;
}
