// Builds tiny datasets in the official layouts, in a temp folder, with sharp.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export async function tempDir(prefix = 'segrad-data-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Interleaved bytes of an H×W×C image whose value at (y, x, c) is f(y, x, c). */
export function pixels(h: number, w: number, c: number, f: (y: number, x: number, c: number) => number): Buffer {
  const b = Buffer.alloc(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) b[(y * w + x) * c + k] = f(y, x, k);
  return b;
}

/** Writes raw pixels to `file` in the format its extension names (png, jpg, tif lossless, gif), with an EXIF `orientation` if given. */
export async function writeImage(file: string, h: number, w: number, c: 1 | 3 | 4, f: (y: number, x: number, c: number) => number, opts: { palette?: boolean; orientation?: number } = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  let img = sharp(pixels(h, w, c, f), { raw: { width: w, height: h, channels: c } });
  // without this sharp stores one-channel data as RGB
  if (c === 1) img = img.toColourspace('b-w');
  // the pixels stay as given (the stored picture); viewers show them turned as EXIF says
  if (opts.orientation) img = img.withMetadata({ orientation: opts.orientation });
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  const out = ext === 'png' ? img.png({ palette: opts.palette ?? false }) : ext === 'jpg' || ext === 'jpeg' ? img.jpeg({ quality: 100 }) : ext === 'tif' || ext === 'tiff' ? img.tiff({ compression: 'lzw' }) : img.gif();
  await out.toFile(file);
}

/** Writes a 16-bit grey (c 1) or RGB (c 3) PNG: sharp writes 16-bit PNGs only from 16-bit images, not from raw input. */
export async function writePng16(file: string, h: number, w: number, c: 1 | 3, f: (y: number, x: number, c: number) => number): Promise<void> {
  const chunk = (type: string, body: Buffer): Buffer => {
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const out = Buffer.alloc(typed.length + 8);
    out.writeUInt32BE(body.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed), typed.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header[8] = 16; // bit depth
  header[9] = c === 1 ? 0 : 2; // colour type: grey or RGB; no interlace
  const pitch = 1 + 2 * w * c; // each row: filter byte 0, then big-endian samples
  const rows = Buffer.alloc(h * pitch);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) rows.writeUInt16BE(f(y, x, k), y * pitch + 1 + 2 * (x * c + k));
  const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
  await writeBytes(file, png);
}

export async function writeBytes(file: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
}

/** An RGB test pattern, distinct per (sample, y, x, c). */
export const rgb = (seed: number) => (y: number, x: number, c: number): number => (seed * 37 + y * 11 + x * 7 + c * 61) % 256;

/** The FOV used for DRIVE fixtures: a disc. */
export const inDisc = (h: number, w: number) => (y: number, x: number): boolean => (y - h / 2 + 0.5) ** 2 + (x - w / 2 + 0.5) ** 2 <= (Math.min(h, w) / 2 - 1) ** 2;

/**
 * Writes an uncompressed one-strip TIFF of signed 16-bit (`int16`) or 32-bit float (`float32`) samples, one
 * channel: sharp writes neither from raw input.
 */
export async function writeTiff(file: string, h: number, w: number, format: 'int16' | 'float32', f: (y: number, x: number) => number): Promise<void> {
  const bytesPerSample = format === 'int16' ? 2 : 4;
  // tag, type (3 short, 4 long), value; all counts 1
  const tags: [number, number, number][] = [
    [256, 3, w], [257, 3, h], [258, 3, 8 * bytesPerSample], [259, 3, 1], [262, 3, 1], [273, 4, 0],
    [277, 3, 1], [278, 3, h], [279, 4, h * w * bytesPerSample], [339, 3, format === 'int16' ? 2 : 3],
  ];
  const dataAt = 8 + 2 + 12 * tags.length + 4;
  const buf = Buffer.alloc(dataAt + h * w * bytesPerSample);
  buf.write('II', 0);
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(tags.length, 8);
  tags.forEach(([tag, type, value], i) => {
    const at = 10 + 12 * i;
    buf.writeUInt16LE(tag, at);
    buf.writeUInt16LE(type, at + 2);
    buf.writeUInt32LE(1, at + 4);
    const v = tag === 273 ? dataAt : value;
    if (type === 3) buf.writeUInt16LE(v, at + 8);
    else buf.writeUInt32LE(v, at + 8);
  });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const at = dataAt + (y * w + x) * bytesPerSample;
      if (format === 'int16') buf.writeInt16LE(f(y, x), at);
      else buf.writeFloatLE(f(y, x), at);
    }
  }
  await writeBytes(file, buf);
}

/** NIfTI-1 voxel types the writer knows: datatype code, bytes, DataView setter. */
const NIFTI_TYPES = {
  uint8: [2, 1, 'setUint8'], int16: [4, 2, 'setInt16'], float32: [16, 4, 'setFloat32'], float64: [64, 8, 'setFloat64'], uint16: [512, 2, 'setUint16'],
} as const;

/**
 * Writes a single-file NIfTI-1 volume of `dims` ([nx, ny, nz] or with a fourth axis) whose voxel (i, j, k, t)
 * is f(i, j, k, t), gzipped when the name ends in .gz; the header written field by field from the standard.
 */
export async function writeNifti(
  file: string,
  dims: readonly number[],
  f: (i: number, j: number, k: number, t: number) => number,
  opts: { type?: keyof typeof NIFTI_TYPES; bigEndian?: boolean; slope?: number; inter?: number; pixdim?: readonly number[]; magic?: string; sizeofHdr?: number } = {},
): Promise<void> {
  const [code, bytes, setter] = NIFTI_TYPES[opts.type ?? 'int16'];
  const le = !opts.bigEndian;
  const [nx, ny, nz, nt = 1] = dims;
  const count = nx * ny * nz * nt;
  const buf = Buffer.alloc(352 + count * bytes);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  v.setInt32(0, opts.sizeofHdr ?? 348, le);
  v.setInt16(40, dims.length, le);
  dims.forEach((d, i) => v.setInt16(42 + 2 * i, d, le));
  v.setInt16(70, code, le);
  v.setInt16(72, 8 * bytes, le);
  (opts.pixdim ?? [1, 1, 1]).forEach((p, i) => v.setFloat32(80 + 4 * i, p, le));
  v.setFloat32(108, 352, le);
  v.setFloat32(112, opts.slope ?? 0, le);
  v.setFloat32(116, opts.inter ?? 0, le);
  buf.write(opts.magic ?? 'n+1\0', 344, 'latin1');
  let q = 0;
  for (let t = 0; t < nt; t++) for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    (v[setter] as (o: number, x: number, le?: boolean) => void).call(v, 352 + q * bytes, f(i, j, k, t), le);
    q++;
  }
  await writeBytes(file, file.endsWith('.gz') ? gzipSync(buf) : buf);
}
