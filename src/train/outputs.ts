import { sigmoid, slice, softmax, sub } from '../autograd/index.js';
import type { Loss } from '../losses/index.js';
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

