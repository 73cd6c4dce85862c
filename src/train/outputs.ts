import { add, flip, mul, sigmoid, slice, softmax, sub } from '../autograd/index.js';
import type { Loss } from '../losses/index.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/index.js';

/** Converts model logits to what `loss` takes: sigmoid for one channel, softmax over channels otherwise. */
export function toLossInput(logits: Tensor, takes: Loss['takes']): Tensor {
  return takes === 'logits' ? logits : probabilities(logits);
}

/** Foreground probabilities from logits: sigmoid for one channel, softmax over axis 1 otherwise. */
export function probabilities(logits: Tensor): Tensor {
  return logits.shape[1] === 1 ? sigmoid(logits) : softmax(logits, 1);
}

/** The binary foreground map scored by the metrics: channel 0 for K = 1, 1 − P(background) for K > 1. */
export function foreground(probs: Tensor): Tensor {
  if (probs.shape[1] === 1) return probs;
  const [n, , h, w] = probs.shape;
  return sub(1, slice(probs, [0, 0, 0, 0], [n, 1, h, w]));
}


/**
 * Test-time augmentation by mirroring, as nnU-Net predicts: the class probabilities of `[N, C, H, W]`
 * images averaged over the images as they are and mirrored left–right, upside down and both, each
 * prediction mirrored back first. Four forward passes; `plain` (the probabilities of the images as they
 * are) saves one where the caller has it. Call it in eval mode, under `noGrad`.
 */
export function mirroredProbabilities(model: Module, images: Tensor, plain?: Tensor): Tensor {
  let sum = plain ?? probabilities(model.forward(images));
  for (const axes of [[3], [2], [2, 3]]) sum = add(sum, flip(probabilities(model.forward(flip(images, axes))), axes));
  return mul(sum, 0.25);
}
