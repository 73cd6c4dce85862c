import type { Module } from '../nn/module.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import { loadSafetensors, saveSafetensors } from '../nn/safetensors.js';
import type { Tensor } from '../tensor/index.js';

/** What a checkpoint carries besides tensors: where training stands, so `resume` continues exactly. */
export interface CheckpointMeta {
  epoch: number;
  step: number;
  optimizer: Record<string, number>;
  scheduler?: Record<string, number | boolean>;
  best?: { metric: string; value: number; epoch: number };
  badEpochs?: number;
}

/**
 * Writes model weights (`model.<name>`, PyTorch names) and optimizer state (`optim.<name>`) into one
 * safetensors file, atomically (the file is replaced only once the new one is complete).
 */
export async function saveCheckpoint(path: string, model: Module, optimizer: Optimizer, meta: CheckpointMeta): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) tensors[`model.${k}`] = t;
  const state = optimizer.stateDict();
  for (const [k, t] of Object.entries(state.tensors)) tensors[`optim.${k}`] = t;
  await saveSafetensors(path, tensors, { format: 'segrad-checkpoint', meta: JSON.stringify({ ...meta, optimizer: state.scalars }) });
}

/** Restores a checkpoint into `model` and `optimizer`; returns its metadata. */
export async function loadCheckpoint(path: string, model: Module, optimizer?: Optimizer): Promise<CheckpointMeta> {
  const { tensors, metadata } = await loadSafetensors(path);
  if (metadata.format !== 'segrad-checkpoint' || !metadata.meta) throw new Error(`loadCheckpoint: ${path} is not a segrad checkpoint (no training metadata)`);
  const meta = JSON.parse(metadata.meta) as CheckpointMeta;
  const modelState: Record<string, Tensor> = {};
  const optimState: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) modelState[k.slice(6)] = t;
    else if (k.startsWith('optim.')) optimState[k.slice(6)] = t;
  }
  model.loadStateDict(modelState);
  if (optimizer) {
    optimizer.loadStateDict({ tensors: optimState, scalars: meta.optimizer });
    if (typeof meta.optimizer.step === 'number') optimizer.stepCount = meta.optimizer.step;
    if (typeof meta.optimizer.lr === 'number') optimizer.lr = meta.optimizer.lr;
  }
  for (const t of Object.values(tensors)) t.dispose();
  return meta;
}
