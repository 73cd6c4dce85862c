import { fromTyped } from '../tensor/creation.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import { fmt, sizeOf } from '../tensor/shape.js';
import { nodeFs, writeFileAtomic } from '../tensor/node-only.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The safetensors format (https://github.com/huggingface/safetensors), readable by PyTorch's
 * `safetensors.torch.load_file`: 8 bytes little-endian header length N, N bytes of JSON
 * `{ name: { dtype: 'F32'|'F64', shape, data_offsets: [begin, end] }, __metadata__?: {…} }`, then the raw
 * little-endian data; offsets count from the first byte after the header. segrad writes F32 and F64.
 */

const DTYPE_CODES: Record<DType, 'F32' | 'F64'> = { float32: 'F32', float64: 'F64' };
const CODE_DTYPES: Record<string, DType> = { F32: 'float32', F64: 'float64' };

/** Host-side tensor contents, as written to or read from a file. */
export interface HostTensor {
  dtype: DType;
  shape: readonly number[];
  data: TypedArray;
}

export interface DecodedSafetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
  /** Entries of integer dtype named `*num_batches_tracked` (PyTorch BatchNorm counters) that were skipped. */
  skipped: string[];
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function hostOf(t: Tensor): HostTensor {
  return { dtype: t.dtype, shape: t.shape, data: t.dataSync() };
}

/** Serialises host arrays; names keep their insertion order in the data section. */
export function encodeHost(tensors: Record<string, HostTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors: metadata value '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error("safetensors: '__metadata__' is reserved and cannot name a tensor");
    if (t.data.length !== sizeOf(t.shape)) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values for shape ${fmt(t.shape)}`);
    const bytes = t.data.length * (t.dtype === 'float64' ? 8 : 4);
    header[name] = { dtype: DTYPE_CODES[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // the reference writer pads the header with spaces so the data starts 8-byte aligned
  const jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  json += ' '.repeat(padded - jsonBytes.length);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const [, t] of entries) {
    const width = t.dtype === 'float64' ? 8 : 4;
    if (littleEndian) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length * width), pos);
    } else {
      for (let i = 0; i < t.data.length; i++) {
        if (width === 8) view.setFloat64(pos + i * 8, t.data[i], true);
        else view.setFloat32(pos + i * 4, t.data[i], true);
      }
    }
    pos += t.data.length * width;
  }
  return out;
}

/**
 * Serialises tensors (read synchronously: cpu backend or a synchronous gpu.js mode; use
 * `saveSafetensors`, which awaits the reads, for asynchronous backends).
 * @example const bytes = encodeSafetensors({ w: zeros([2, 2]) }, { format: 'pt' });
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const host: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(tensors)) host[name] = hostOf(t);
  return encodeHost(host, metadata);
}

/** Parses a safetensors file into host arrays. Throws naming the entry for malformed headers. */
export function decodeHost(bytes: Uint8Array): { tensors: Record<string, HostTensor>; metadata: Record<string, string>; skipped: string[] } {
  if (bytes.length < 8) throw new Error(`safetensors: file too short (${bytes.length} bytes); expected an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new Error(`safetensors: header length ${n} exceeds the file (${bytes.length} bytes)`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`safetensors: the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('safetensors: the header must be a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = header.__metadata__ ?? {};
  const tensors: Record<string, HostTensor> = {};
  const skipped: string[] = [];
  const spans: [number, number, string][] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const shape = e?.shape;
    const offs = e?.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) throw new Error(`safetensors: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !(offs[0] <= offs[1]) || offs[1] > dataLength) throw new Error(`safetensors: tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)} (data section is ${dataLength} bytes)`);
    spans.push([offs[0], offs[1], name]);
    const dtype = CODE_DTYPES[e.dtype as string];
    if (!dtype) {
      if (/^[IU](8|16|32|64)$/.test(e.dtype) && name.endsWith('num_batches_tracked')) {
        skipped.push(name);
        continue;
      }
      throw new Error(`safetensors: tensor '${name}' has dtype ${e.dtype}; segrad reads F32 and F64`);
    }
    const width = dtype === 'float64' ? 8 : 4;
    const count = sizeOf(shape);
    if (offs[1] - offs[0] !== count * width) throw new Error(`safetensors: tensor '${name}' ${e.dtype} ${fmt(shape)} needs ${count * width} bytes, its offsets span ${offs[1] - offs[0]}`);
    const data = dtype === 'float64' ? new Float64Array(count) : new Float32Array(count);
    const start = dataStart + offs[0];
    if (littleEndian) {
      // copy through a fresh buffer: the file's data need not be aligned for a typed-array view
      new Uint8Array(data.buffer).set(bytes.subarray(start, start + count * width));
    } else {
      for (let i = 0; i < count; i++) data[i] = width === 8 ? view.getFloat64(start + i * 8, true) : view.getFloat32(start + i * 4, true);
    }
    tensors[name] = { dtype, shape, data };
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw new Error(`safetensors: tensors '${spans[i - 1][2]}' and '${spans[i][2]}' overlap`);
  }
  return { tensors, metadata, skipped };
}

/** Parses a safetensors file into tensors on the active backend. */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  const { tensors: host, metadata, skipped } = decodeHost(bytes);
  const tensors: Record<string, Tensor> = {};
  for (const [name, h] of Object.entries(host)) tensors[name] = fromTyped(h.data, h.shape, { dtype: h.dtype });
  return { tensors, metadata, skipped };
}

/**
 * Writes tensors to `path` atomically (`writeFileAtomic`: a temporary file in the same folder, fsync,
 * then a rename), so a crash never leaves a half-written checkpoint. Node only (the file system is
 * imported on demand).
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  const host: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(tensors)) host[name] = { dtype: t.dtype, shape: t.shape, data: await t.data() };
  const bytes = encodeHost(host, metadata);
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw new Error(`saveSafetensors: could not write ${path}: ${(e as Error).message}`);
  }
}

/** Reads a safetensors file into tensors on the active backend. Node only. */
export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  const fs = await nodeFs();
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    throw new Error(`loadSafetensors: could not read ${path}: ${(e as Error).message}`);
  }
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`${(e as Error).message} (in ${path})`);
  }
}
