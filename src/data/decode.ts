/**
 * Node decoding with sharp: JPEG, PNG, TIFF and GIF files to 8-bit interleaved pixels, turned as an EXIF
 * orientation says (as viewers and annotation tools show them, so a mask drawn on the shown picture
 * lines up) and resized on the way (images bilinear, masks nearest so labels are never blended). Node
 * only; sharp is loaded lazily.
 */
import { loadSharp, nodeFs } from './node-env.js';

/** Decoded 8-bit pixels, interleaved `[H, W, C]`. */
export interface RawPixels {
  data: Uint8Array;
  channels: number;
  height: number;
  width: number;
}

/**
 * How to decode a file.
 * - `kind: 'image'`: `channels` 3 (RGB; alpha dropped, grey expanded) or 1 (luminance); resized with
 *   sharp's `linear` (bilinear) kernel. 16-bit images are scaled to 8 bits (value / 257); signed and float
 *   images (one channel) have no range to scale by and need a `window`.
 * - `kind: 'mask'`: one channel, each pixel's brightest colour channel (so a red, green or blue mask on
 *   black reads 255 where it is drawn, which its luminance, 127 for pure red, would not), resized nearest;
 *   binarised later (`binaryMask`). Masks of more than 8 bits keep their values (0/1 stays 0/1; see `decodeLabelValues`).
 * - `kind: 'index'`: one channel of class indices, resized nearest. A palette PNG gives the palette
 *   index of each pixel; any other file gives its first channel (wider files their values, not scaled).
 * `size` is `[height, width]`, or null to keep the file's size. Aspect ratio is not preserved (fit 'fill').
 * `window` (images): the file's values lo…hi map to 0…255, clipped, read at the file's own precision
 * (16-bit, signed and float files too), for images that use part of their type's range (a 12-bit camera:
 * [0, 4095]) or have none (CT in Hounsfield units: [-1000, 400], the lung window).
 */
export interface DecodeOptions {
  kind: 'image' | 'mask' | 'index';
  channels?: 1 | 3;
  size?: readonly [number, number] | null;
  window?: readonly [number, number];
}

let decodes = 0;

/** How many files sharp has decoded to pixels in this process (metadata reads do not count). Tests use it to see cache hits. */
export function decodeCount(): number {
  return decodes;
}

/** The header of an image file: size as shown (EXIF orientation applied) and channel count. Throws naming the file when it is not a readable image. */
export async function readImageInfo(file: string): Promise<{ width: number; height: number; channels: number; format: string; depth: string; orientation: number }> {
  const sharp = await loadSharp();
  try {
    const m = await sharp(file).metadata();
    if (!m.width || !m.height) throw new Error('no width/height in the header');
    // as shown: an EXIF orientation of 5…8 (a phone or camera held upright) swaps them
    const shown = m.autoOrient ?? { width: m.width, height: m.height };
    return { width: shown.width, height: shown.height, channels: m.channels ?? 0, format: m.format ?? 'unknown', depth: m.depth ?? 'uchar', orientation: m.orientation ?? 1 };
  } catch (e) {
    throw new Error(`${file}: not a readable image (${(e as Error).message})`);
  }
}

/** Decodes one file to 8-bit pixels per {@link DecodeOptions}. Errors name the file. */
export async function decodeFile(file: string, opts: DecodeOptions): Promise<RawPixels> {
  const sharp = await loadSharp();
  decodes++;
  try {
    if (opts.kind === 'index' && /\.png$/i.test(file)) {
      const palette = pngPalette(await (await nodeFs()).readFile(file));
      if (palette) return await decodePaletteIndices(sharp, file, palette, opts.size ?? null);
    }
    const meta = await sharp(file).metadata();
    if (opts.kind === 'image' && opts.window) return await decodeWindowed(sharp, file, meta, opts.channels ?? 3, opts.size ?? null, opts.window);
    const depth = meta.depth ?? 'uchar';
    if (opts.kind === 'image' && depth !== 'uchar' && depth !== 'ushort') {
      throw new Error(`a ${sampleFormat(depth)} image needs a window: [lo, hi], the values that map to 0 and 1 (on the command line ?window=lo,hi); read as 8 bits it would be clipped`);
    }
    if (opts.kind !== 'image' && depth !== 'uchar') return await decodeLabelValues(sharp, file, meta, opts.kind, opts.size ?? null);
    let p = sharp(file).autoOrient();
    if (opts.kind === 'image') p = opts.channels === 1 ? p.removeAlpha().grayscale() : p.removeAlpha().toColourspace('srgb');
    else if (opts.kind === 'mask') p = p.removeAlpha().toColourspace('srgb');
    else p = p.extractChannel(0);
    if (opts.size) p = p.resize({ height: opts.size[0], width: opts.size[1], fit: 'fill', kernel: opts.kind === 'image' ? 'linear' : 'nearest' });
    if (opts.kind === 'index') p = p.toColourspace('b-w'); // keep one channel: sharp may widen it back to sRGB
    const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const px = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), channels: info.channels, height: info.height, width: info.width };
    return opts.kind === 'mask' ? brightestChannel(px) : px;
  } catch (e) {
    throw new Error(`${file}: cannot decode ${opts.kind === 'image' ? 'image' : 'mask'} (${(e as Error).message})`);
  }
}

/** An image at its file's precision, values lo…hi mapped to 0…255 (clipped); one channel is libvips' luminance, as `grayscale()`. */
async function decodeWindowed(sharp: Sharp, file: string, meta: Metadata, channels: 1 | 3, size: readonly [number, number] | null, range: readonly [number, number]): Promise<RawPixels> {
  checkWindow(range, file);
  const [lo, hi] = range;
  const { values, ...shape } = await fileValues(sharp, file, meta, channels === 1 ? 'grey' : 'colour', size, 'linear');
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(((values[i] - lo) * 255) / (hi - lo))));
  return { data: out, ...shape };
}

type Sharp = Awaited<ReturnType<typeof loadSharp>>;
/** A file's header as sharp reads it (read once a decode). */
type Metadata = Awaited<ReturnType<ReturnType<Sharp>['metadata']>>;
/** The channels of a file that are not alpha. */
const colourBands = (meta: Metadata): number => (meta.channels ?? 1) - (meta.hasAlpha ? 1 : 0);
/** Sample values as a file stores them, after sharp: 8- and 16-bit, signed 16-bit (shifted back), float. */
type Values = Uint8Array | Uint16Array | Int32Array | Float32Array | Float64Array;

/** What a libvips sample format is called in an error. */
export function sampleFormat(depth: string): string {
  const names: Record<string, string> = { uchar: '8-bit', char: 'signed 8-bit', ushort: '16-bit', short: 'signed 16-bit', uint: '32-bit integer', int: 'signed 32-bit', float: '32-bit float', double: '64-bit float' };
  return names[depth] ?? `${depth}-sample`;
}

/**
 * A file's sample values as they are stored (16-bit, signed and float files unscaled), interleaved:
 * `grey` one channel (libvips' luminance of a colour file), `colour` three (a one-channel file's
 * repeated), `first` the file's first channel. Signed and float files must have one channel.
 */
async function fileValues(sharp: Sharp, file: string, meta: Metadata, want: 'grey' | 'colour' | 'first', size: readonly [number, number] | null, kernel: 'linear' | 'nearest'): Promise<{ values: Values; channels: number; height: number; width: number }> {
  const depth = meta.depth ?? 'uchar';
  const bands = colourBands(meta);
  let p = sharp(file).autoOrient().removeAlpha();
  if (want === 'first' && bands > 1) p = p.extractChannel(0);
  if (size) p = p.resize({ height: size[0], width: size[1], fit: 'fill', kernel });
  let values: Values;
  let info: { channels: number; height: number; width: number };
  // Each output space is named, or sharp converts to 8-bit sRGB on the way out.
  if (depth === 'uchar' || depth === 'ushort') {
    const wide = depth === 'ushort';
    const out = await p.toColourspace(want === 'colour' ? (wide ? 'rgb16' : 'srgb') : wide ? 'grey16' : 'b-w').raw({ depth: wide ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    ({ info } = out);
    values = wide ? typed(out.data, Uint16Array) : new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
  } else if (bands !== 1) {
    throw new Error(`${sampleFormat(depth)} images with ${bands} channels are not read; save them with one channel`);
  } else if (depth === 'short') {
    // libvips calls a one-channel short image grey16 and clips it to 0…65535 on the way out: shifted, nothing is lost
    const out = await p.linear(1, 32768).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    ({ info } = out);
    values = Int32Array.from(typed(out.data, Uint16Array), (v) => v - 32768);
  } else {
    const out = await p.toColourspace('b-w').raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
    ({ info } = out);
    values = typed(out.data, Float32Array);
  }
  if (want === 'colour' && info.channels === 1) {
    const plane = values;
    return { values: Float64Array.from({ length: 3 * plane.length }, (_, i) => plane[Math.floor(i / 3)]), channels: 3, height: info.height, width: info.width };
  }
  return { values, channels: info.channels, height: info.height, width: info.width };
}

/** The smallest and largest value in a file's first channel, as stored (sharp's `stats()` rounds float values to integers). Errors name the file. */
export async function valueRange(file: string): Promise<[number, number]> {
  const sharp = await loadSharp();
  const { values } = await fileValues(sharp, file, await sharp(file).metadata(), 'first', null, 'nearest').catch((e: Error) => {
    throw new Error(`${file}: ${e.message}`);
  });
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < values.length; i++) [lo, hi] = [Math.min(lo, values[i]), Math.max(hi, values[i])];
  return [lo, hi];
}

/** sharp's raw output as typed numbers (copied: the buffer's offset need not be aligned). */
function typed<T extends Uint16Array | Float32Array>(data: Buffer, Kind: { new (b: ArrayBuffer): T }): T {
  return new Kind(data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer);
}

/** Throws unless `window` is two finite numbers, lo < hi; `where` names the file or dataset. */
export function checkWindow(window: readonly number[], where: string): void {
  if (window.length !== 2 || !window.every(Number.isFinite) || !(window[0] < window[1])) {
    throw new Error(`${where}: window must be [lo, hi] with lo < hi (the file values that map to 0 and 1), got ${JSON.stringify(window)}`);
  }
}

/**
 * A mask of more than 8 bits read by its values. sharp's 8-bit conversion divides 16-bit values by 257
 * (and clips signed ones), which turns a 0/1 or class-index label map into zeros: here class indices stay
 * as they are (up to 255), and a binary mask keeps values up to 255 (0/1, 0/255), takes the high byte of
 * larger 16-bit ones (0/65535 → 0/255) and reads any other larger value as 255; each pixel its brightest
 * channel. A label must be a whole number ≥ 0: a soft (probability) mask is an error.
 */
async function decodeLabelValues(sharp: Sharp, file: string, meta: Metadata, kind: 'mask' | 'index', size: readonly [number, number] | null): Promise<RawPixels> {
  const px = await fileValues(sharp, file, meta, kind === 'mask' && colourBands(meta) >= 3 ? 'colour' : 'first', size, 'nearest');
  const values = brightest(px.values, px.channels);
  const out = new Uint8Array(values.length);
  for (let q = 0; q < out.length; q++) {
    const v = values[q];
    if (!(v >= 0) || !Number.isInteger(v)) throw new Error(`pixel ${q} has value ${v}; a mask holds whole numbers ≥ 0 (0/1, 0/255 or class indices): threshold a soft mask first`);
    if (kind === 'index' && v > 255) throw new Error(`pixel ${q} has class index ${v}; class-index masks hold at most 256 classes`);
    out[q] = v <= 255 ? v : meta.depth === 'ushort' ? v >> 8 : 255;
  }
  return { data: out, channels: 1, height: px.height, width: px.width };
}

/** Interleaved pixels → one channel holding each pixel's largest channel value. */
function brightestChannel(px: RawPixels): RawPixels {
  return px.channels === 1 ? px : { ...px, data: brightest(px.data, px.channels), channels: 1 };
}

/** Each pixel's largest value over its `channels` interleaved values, in an array of the input's kind. */
function brightest<T extends Values>(values: T, channels: number): T {
  if (channels === 1) return values;
  const plane = values.length / channels;
  const out = new (values.constructor as new (n: number) => T)(plane);
  for (let q = 0, at = 0; q < plane; q++, at += channels) {
    let m = values[at];
    for (let c = 1; c < channels; c++) if (values[at + c] > m) m = values[at + c];
    out[q] = m;
  }
  return out;
}

/** Resizes one-channel label pixels with nearest neighbour (used after merging masks at native size). */
export async function resizeLabels(px: RawPixels, size: readonly [number, number]): Promise<RawPixels> {
  if (px.height === size[0] && px.width === size[1]) return px;
  const sharp = await loadSharp();
  const { data, info } = await sharp(Buffer.from(px.data.buffer, px.data.byteOffset, px.data.length), { raw: { width: px.width, height: px.height, channels: px.channels as 1 | 3 | 4 } })
    .resize({ height: size[0], width: size[1], fit: 'fill', kernel: 'nearest' })
    // sharp turns one-channel raw input into sRGB on output unless told otherwise
    .toColourspace(px.channels === 1 ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), channels: info.channels, height: info.height, width: info.width };
}

async function decodePaletteIndices(sharp: Awaited<ReturnType<typeof loadSharp>>, file: string, palette: number[][], size: readonly [number, number] | null): Promise<RawPixels> {
  let p = sharp(file).autoOrient().removeAlpha().toColourspace('srgb');
  if (size) p = p.resize({ height: size[0], width: size[1], fit: 'fill', kernel: 'nearest' });
  const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  // sharp expands palettes to RGB; map each colour back to its first palette index.
  const lookup = new Map<number, number>();
  palette.forEach(([r, g, b], i) => {
    const key = (r << 16) | (g << 8) | b;
    if (!lookup.has(key)) lookup.set(key, i);
  });
  const plane = info.width * info.height;
  const out = new Uint8Array(plane);
  for (let q = 0; q < plane; q++) {
    const key = (data[3 * q] << 16) | (data[3 * q + 1] << 8) | data[3 * q + 2];
    const k = lookup.get(key);
    if (k === undefined) throw new Error(`pixel ${q} has colour rgb(${data[3 * q]}, ${data[3 * q + 1]}, ${data[3 * q + 2]}), which is not in the palette`);
    out[q] = k;
  }
  return { data: out, channels: 1, height: info.height, width: info.width };
}

/** The PLTE entries of an indexed-colour PNG (colour type 3), or null for any other PNG. */
export function pngPalette(buf: Uint8Array): number[][] | null {
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (buf.length < 33 || signature.some((b, i) => buf[i] !== b)) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf[25] !== 3) return null; // IHDR colour type
  let at = 8;
  while (at + 8 <= buf.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]);
    if (type === 'PLTE') {
      const entries: number[][] = [];
      for (let i = 0; i + 2 < length; i += 3) entries.push([buf[at + 8 + i], buf[at + 9 + i], buf[at + 10 + i]]);
      return entries;
    }
    if (type === 'IDAT' || type === 'IEND') return null;
    at += 12 + length;
  }
  return null;
}
