/**
 * Pixel conversions shared by the Node decoders and the browser: interleaved 8-bit pixels to planar
 * float arrays, mask binarisation and one-hot encoding, and plain-JS resizing. Nothing here touches
 * the file system, so the browser bundle can use it with canvas `ImageData`.
 */
import type { Sample } from './types.js';

/** The part of the DOM `ImageData` this module needs: RGBA bytes, row-major. */
export interface ImageDataLike {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

/** Pixel values at or below this are background in 0/255 binary masks (255 is foreground). */
export const MASK_THRESHOLD = 127;

/** Interleaved `[H, W, C]` bytes → planar `[C, H, W]` floats in [0, 1]. */
export function interleavedToPlanar(bytes: ArrayLike<number>, height: number, width: number, channels: number): Float32Array {
  const plane = height * width;
  if (bytes.length !== plane * channels) throw new Error(`interleavedToPlanar: expected ${plane * channels} bytes for ${height}×${width}×${channels}, got ${bytes.length}`);
  const out = new Float32Array(plane * channels);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) out[c * plane + p] = bytes[p * channels + c] / 255;
  }
  return out;
}

/**
 * One byte per pixel → binary mask `[1, H, W]`. A 0/255 mask (the usual PNG) is foreground above
 * {@link MASK_THRESHOLD}; a mask whose largest value is 1 (a 0/1 label map, as numpy, nnU-Net and many
 * exports write it) is foreground at its 1s, which the threshold would have read as all background.
 * Any other largest value at or below the threshold (2…127: class indices, a faint mask) throws, naming
 * `source`, rather than train towards an empty mask.
 */
export function binaryMask(bytes: ArrayLike<number>, source = 'mask'): Float32Array {
  let max = 0;
  for (let p = 0; p < bytes.length; p++) if (bytes[p] > max) max = bytes[p];
  if (max > 1 && max <= MASK_THRESHOLD) {
    throw new Error(
      `${source}: the mask's largest value is ${max}, so it is neither a 0/255 mask (foreground > ${MASK_THRESHOLD}) nor a 0/1 mask, and read as either it would be all background; ` +
        `if its values are class indices, pass classes: K (K classes, background included; on the command line --data '…?classes=K')`,
    );
  }
  const threshold = max === 1 ? 0 : MASK_THRESHOLD;
  const out = new Float32Array(bytes.length);
  for (let p = 0; p < bytes.length; p++) out[p] = bytes[p] > threshold ? 1 : 0;
  return out;
}

/**
 * One class index per pixel → one-hot mask `[K, H, W]` (index 0 is usually background).
 * Throws, naming `source`, when an index is `>= classes`, negative or fractional.
 */
export function oneHotMask(indices: ArrayLike<number>, classes: number, source = 'mask'): Float32Array {
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`${source}: classes must be an integer >= 2 for index masks, got ${classes}`);
  const plane = indices.length;
  const out = new Float32Array(plane * classes);
  for (let p = 0; p < plane; p++) {
    const k = indices[p];
    if (!(Number.isInteger(k) && k >= 0 && k < classes)) throw new Error(`${source}: pixel ${p} has class index ${k}, expected < ${classes} and a whole number ≥ 0 (set the classes option or check the mask)`);
    out[k * plane + p] = 1;
  }
  return out;
}

/**
 * Browser decoding: canvas `ImageData` (RGBA) → planar image `[C, H, W]` in [0, 1].
 * `channels` 3 drops alpha; 1 takes the luminance 0.299 R + 0.587 G + 0.114 B (default 3).
 */
export function fromImageData(img: ImageDataLike, opts: { channels?: 1 | 3 } = {}): Float32Array {
  const channels = opts.channels ?? 3;
  const { width, height, data } = img;
  const plane = width * height;
  if (data.length !== plane * 4) throw new Error(`fromImageData: expected ${plane * 4} RGBA bytes for ${width}×${height}, got ${data.length}`);
  const out = new Float32Array(plane * channels);
  for (let p = 0; p < plane; p++) {
    const r = data[4 * p], g = data[4 * p + 1], b = data[4 * p + 2];
    if (channels === 3) {
      out[p] = r / 255;
      out[plane + p] = g / 255;
      out[2 * plane + p] = b / 255;
    } else {
      out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    }
  }
  return out;
}

/**
 * Browser decoding of a mask: `ImageData` → `[1, H, W]` binary (each pixel's brightest colour channel, so
 * colour masks on black read as drawn; then {@link binaryMask}) or, with `classes`,
 * one-hot `[K, H, W]` from the class index in the red channel.
 */
export function maskFromImageData(img: ImageDataLike, opts: { classes?: number } = {}): Float32Array {
  const plane = img.width * img.height;
  if (img.data.length !== plane * 4) throw new Error(`maskFromImageData: expected ${plane * 4} RGBA bytes for ${img.width}×${img.height}, got ${img.data.length}`);
  const values = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    const r = img.data[4 * p], g = img.data[4 * p + 1], b = img.data[4 * p + 2];
    values[p] = opts.classes ? r : Math.max(r, g, b);
  }
  return opts.classes ? oneHotMask(values, opts.classes, 'maskFromImageData') : binaryMask(values, 'maskFromImageData');
}

/** Builds a {@link Sample} from a browser image and mask of the same size. */
export function sampleFromImageData(image: ImageDataLike, mask: ImageDataLike, opts: { id?: string; channels?: 1 | 3; classes?: number } = {}): Sample {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(`sampleFromImageData: image is ${image.width}×${image.height} but mask is ${mask.width}×${mask.height} (W×H); they must match`);
  }
  const channels = opts.channels ?? 3;
  const m = maskFromImageData(mask, { classes: opts.classes });
  return {
    image: fromImageData(image, { channels }),
    mask: m,
    shape: { channels, classes: opts.classes ?? 1, height: image.height, width: image.width },
    id: opts.id ?? 'image',
  };
}

/**
 * Bilinear resize of planar `[C, H, W]` data to `[C, outH, outW]`, half-pixel centres (as
 * align_corners = false in PyTorch). No antialiasing: for strong downsampling prefer sharp or canvas.
 */
export function resizeBilinear(data: Float32Array, channels: number, height: number, width: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(channels * outH * outW);
  const sy = height / outH, sx = width / outW;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, height - 1), wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, width - 1), wx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const base = c * height * width;
        const top = data[base + y0 * width + x0] * (1 - wx) + data[base + y0 * width + x1] * wx;
        const bottom = data[base + y1 * width + x0] * (1 - wx) + data[base + y1 * width + x1] * wx;
        out[c * outH * outW + y * outW + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** Nearest-neighbour resize of planar `[C, H, W]` data (for masks: keeps values in {0, 1}). */
export function resizeNearest(data: Float32Array, channels: number, height: number, width: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(channels * outH * outW);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(Math.floor(((y + 0.5) * height) / outH), height - 1);
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(Math.floor(((x + 0.5) * width) / outW), width - 1);
      for (let c = 0; c < channels; c++) out[c * outH * outW + y * outW + x] = data[c * height * width + sy * width + sx];
    }
  }
  return out;
}
