/**
 * Disk cache of decoded, resized pixels (Node only). An entry is keyed by the source files' paths,
 * modification times and sizes plus the decode options, so editing a file or changing the resize
 * makes a new entry. Entries hold the 8-bit pixels sharp produced (lossless, 4× smaller than floats).
 * File format: "SGD1" magic, then channels, height, width as little-endian uint32, then the bytes.
 */
import type { RawPixels } from './decode.js';
import { nodeCrypto, nodeFs, nodePath } from './node-env.js';

/** The default cache folder, relative to the current working folder. */
export const DEFAULT_CACHE_DIR = '.cache/segrad-data';

const MAGIC = 0x31444753; // "SGD1" read as little-endian uint32
const HEADER_BYTES = 16;
/** Part of every key: raised when a decoder's output changes (2: masks by their brightest channel; 3: signed and float masks by their values; 4: EXIF orientation applied), so older entries are not reused. */
const DECODER_VERSION = 4;

let hits = 0;
let misses = 0;

/** Disk-cache hits and misses in this process. */
export function cacheStats(): { hits: number; misses: number } {
  return { hits, misses };
}

/**
 * Returns the cached pixels for (`files`, `options`) from `dir`, or runs `compute` and stores its
 * result. `dir` null disables the cache. A damaged entry is recomputed; failing to write is not an
 * error (a read-only folder just means no cache).
 */
export async function cached(dir: string | null, files: readonly string[], options: unknown, compute: () => Promise<RawPixels>): Promise<RawPixels> {
  if (dir === null) return compute();
  const fs = await nodeFs();
  const path = await nodePath();
  const crypto = await nodeCrypto();
  const stamps = await Promise.all(
    files.map(async (f) => {
      const s = await fs.stat(f).catch(() => {
        throw new Error(`${f}: file not found`);
      });
      return [path.resolve(f), s.mtimeMs, s.size];
    }),
  );
  const key = crypto.createHash('sha256').update(JSON.stringify({ stamps, options, decoder: DECODER_VERSION })).digest('hex').slice(0, 40);
  const entry = path.join(dir, `${key}.u8`);
  try {
    const buf = await fs.readFile(entry);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.length >= HEADER_BYTES && view.getUint32(0, true) === MAGIC) {
      const channels = view.getUint32(4, true), height = view.getUint32(8, true), width = view.getUint32(12, true);
      if (buf.length === HEADER_BYTES + channels * height * width) {
        hits++;
        return { data: new Uint8Array(buf.buffer, buf.byteOffset + HEADER_BYTES, channels * height * width), channels, height, width };
      }
    }
  } catch {
    // not cached yet
  }
  misses++;
  const px = await compute();
  const out = new Uint8Array(HEADER_BYTES + px.data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, px.channels, true);
  view.setUint32(8, px.height, true);
  view.setUint32(12, px.width, true);
  out.set(px.data, HEADER_BYTES);
  try {
    await fs.mkdir(dir, { recursive: true });
    // Write then rename so a reader in a parallel run never sees half an entry.
    const tmp = `${entry}.${crypto.randomUUID()}.tmp`;
    await fs.writeFile(tmp, out);
    await fs.rename(tmp, entry);
  } catch {
    // caching is an optimisation only
  }
  return px;
}
