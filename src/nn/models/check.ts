import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Checks an NCHW model input: rank, channels, and H and W divisible by `factor`. */
export function checkInput(model: string, x: Tensor, channels: number, factor: number): void {
  if (x.rank !== 4 || x.shape[1] !== channels) throw new Error(`${model}: expected input [N, ${channels}, H, W], got ${fmt(x.shape)}`);
  const [, , h, w] = x.shape;
  if (h % factor || w % factor) throw new Error(`${model}: input ${h}x${w} is not divisible by ${factor} (H and W must be multiples of ${factor})`);
}

/** Scales a width, keeping at least 1 channel. */
export const scaled = (w: number, scale: number): number => Math.max(1, Math.round(w * scale));
