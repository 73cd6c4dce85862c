/**
 * NIfTI-1 volumes (`.nii`, and `.nii.gz` once gunzipped): the header fields a segmentation dataset needs
 * and the voxels as float32 (exact for 8- and 16-bit voxels; half the memory of float64 for CT volumes), scaled by the header's slope and intercept. Pure: works on bytes, so it runs
 * in a browser too; reading and gunzipping files is the dataset's part.
 */

/** A decoded volume: `data[i + nx·(j + ny·(k + nz·t))]`, i fastest, as the file stores it. */
export interface NiftiVolume {
  /** [nx, ny, nz, nt]: voxels along i, j, k and the fourth axis (channels or time; 1 when absent). */
  dims: [number, number, number, number];
  /** Voxel size along i, j, k (the header's pixdim[1…3]). */
  spacing: [number, number, number];
  /** The header's datatype code and its name. */
  datatype: { code: number; name: string };
  data: Float32Array;
  /** The file's 348 header bytes and byte order, so a label volume can be written in its geometry (`niftiLabels`). */
  header: Uint8Array;
  littleEndian: boolean;
}

const HEADER = 348;
type TypedArrayOf = new (buffer: ArrayBuffer) => ArrayLike<number>;
const TYPES: Record<number, { name: string; bytes: number; array: TypedArrayOf; read: (v: DataView, o: number, le: boolean) => number }> = {
  2: { name: 'uint8', bytes: 1, array: Uint8Array, read: (v, o) => v.getUint8(o) },
  4: { name: 'int16', bytes: 2, array: Int16Array, read: (v, o, le) => v.getInt16(o, le) },
  8: { name: 'int32', bytes: 4, array: Int32Array, read: (v, o, le) => v.getInt32(o, le) },
  16: { name: 'float32', bytes: 4, array: Float32Array, read: (v, o, le) => v.getFloat32(o, le) },
  64: { name: 'float64', bytes: 8, array: Float64Array, read: (v, o, le) => v.getFloat64(o, le) },
  256: { name: 'int8', bytes: 1, array: Int8Array, read: (v, o) => v.getInt8(o) },
  512: { name: 'uint16', bytes: 2, array: Uint16Array, read: (v, o, le) => v.getUint16(o, le) },
  768: { name: 'uint32', bytes: 4, array: Uint32Array, read: (v, o, le) => v.getUint32(o, le) },
};

/** True on a little-endian machine (all that Node and browsers run on in practice). */
const NATIVE_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when `bytes` begin like a gzip stream (a `.nii.gz`). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decodes a single-file NIfTI-1 volume of up to four dimensions; `source` names it in errors. NIfTI-2,
 * header/image pairs (`.hdr` + `.img`), complex, RGB and 64-bit integer voxels are errors that say so.
 * @example readNifti(gunzipSync(readFileSync('labelsTr/hippocampus_001.nii.gz')), 'hippocampus_001').dims // [35, 51, 35, 1]
 */
export function readNifti(bytes: Uint8Array, source = 'volume'): NiftiVolume {
  if (isGzip(bytes)) throw new Error(`${source}: is gzip-compressed; gunzip it first (niftiDataset reads .nii.gz files itself)`);
  if (bytes.length < HEADER) throw new Error(`${source}: ${bytes.length} bytes is too short for a NIfTI-1 header (348 bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getInt32(0, true) === HEADER;
  if (!le && view.getInt32(0, false) !== HEADER) {
    if (view.getInt32(0, true) === 540 || view.getInt32(0, false) === 540) throw new Error(`${source}: is NIfTI-2, which segrad does not read; save it as NIfTI-1 (e.g. nibabel.Nifti1Image, or ITK-SNAP / 3D Slicer "Save as .nii.gz")`);
    throw new Error(`${source}: is not a NIfTI-1 file (its header does not start with 348)`);
  }
  const magic = String.fromCharCode(bytes[344], bytes[345], bytes[346]);
  if (magic === 'ni1') throw new Error(`${source}: is the header of a .hdr/.img pair; save the volume as one .nii or .nii.gz file`);
  if (magic !== 'n+1') throw new Error(`${source}: has no NIfTI-1 magic ('n+1'); is it an Analyze 7.5 file? Save it as NIfTI-1`);
  const rank = view.getInt16(40, le);
  if (!(rank >= 1 && rank <= 7)) throw new Error(`${source}: its header gives ${rank} dimensions`);
  const dim = (d: number): number => (d <= rank ? view.getInt16(40 + 2 * d, le) : 1);
  const dims: [number, number, number, number] = [dim(1), dim(2), dim(3), dim(4)];
  for (let d = 5; d <= rank; d++) if (dim(d) > 1) throw new Error(`${source}: has ${rank} dimensions of sizes ${Array.from({ length: rank }, (_, i) => dim(i + 1)).join('×')}; segrad reads up to four (x, y, z and channels)`);
  if (dims.some((d) => !(d >= 1))) throw new Error(`${source}: its header gives dimensions ${dims.join('×')}`);
  const code = view.getInt16(70, le);
  const type = TYPES[code];
  if (!type) throw new Error(`${source}: voxel datatype ${code} is not read (segrad reads uint8, int8, int16, uint16, int32, uint32, float32 and float64)`);
  const offset = Math.max(HEADER, Math.round(view.getFloat32(108, le)));
  const count = dims[0] * dims[1] * dims[2] * dims[3];
  if (offset + count * type.bytes > bytes.length) throw new Error(`${source}: is cut short: ${dims.join('×')} ${type.name} voxels from byte ${offset} need ${offset + count * type.bytes} bytes, the file has ${bytes.length}`);
  const slope = view.getFloat32(112, le);
  const inter = view.getFloat32(116, le);
  // a slope of 0 (or NaN) means "no scaling", as the standard says
  const scaled = Number.isFinite(slope) && slope !== 0;
  const data = new Float32Array(count);
  if (le === NATIVE_LITTLE) {
    // the file's byte order is the machine's: a typed array over an aligned copy of the voxels (fast)
    // (a copy of its own: a Node Buffer's slice shares the pool, and its offset need not be aligned)
    const raw = new Uint8Array(count * type.bytes);
    raw.set(bytes.subarray(offset, offset + raw.length));
    data.set(new type.array(raw.buffer));
  } else {
    for (let q = 0; q < count; q++) data[q] = type.read(view, offset + q * type.bytes, le);
  }
  if (scaled) {
    const add = Number.isFinite(inter) ? inter : 0;
    for (let q = 0; q < count; q++) data[q] = data[q] * slope + add;
  }
  const pix = (d: number): number => Math.abs(view.getFloat32(76 + 4 * d, le)) || 1;
  return { dims, spacing: [pix(1), pix(2), pix(3)], datatype: { code, name: type.name }, data, header: bytes.slice(0, HEADER), littleEndian: le };
}

/** How a volume is cut into 2D slices along one of its first three axes. */
export interface SliceGeometry {
  /** Slices along the axis, and each slice's rows and columns. */
  count: number;
  height: number;
  width: number;
  /** The index (within one channel) of the voxel at row r, column c of slice s: start(s) + r·rowStride + c·colStride. */
  voxel: (s: number, r: number, c: number) => number;
  start: (s: number) => number;
  rowStride: number;
  colStride: number;
  /** The voxel size along the slices, the rows and the columns. */
  spacing: [number, number, number];
}

/**
 * Slices along axis 2 (k: the usual axial slices of CT and MRI) have rows j and columns i; along axis 1,
 * rows k and columns i; along axis 0, rows k and columns j.
 * @example sliceGeometry(volume, 2).voxel(5, 0, 0) // the first voxel of slice k = 5
 */
export function sliceGeometry(volume: Pick<NiftiVolume, 'dims' | 'spacing'>, axis: 0 | 1 | 2): SliceGeometry {
  const [nx, ny, nz] = volume.dims;
  const [dx, dy, dz] = volume.spacing;
  const geometry = (count: number, height: number, width: number, step: number, rowStride: number, colStride: number, spacing: [number, number, number]): SliceGeometry => ({
    count, height, width, rowStride, colStride, spacing,
    start: (s) => s * step,
    voxel: (s, r, c) => s * step + r * rowStride + c * colStride,
  });
  if (axis === 2) return geometry(nz, ny, nx, nx * ny, nx, 1, [dz, dy, dx]);
  if (axis === 1) return geometry(ny, nz, nx, nx, nx * ny, 1, [dy, dz, dx]);
  if (axis === 0) return geometry(nx, nz, ny, 1, nx * ny, nx, [dx, dz, dy]);
  throw new Error(`sliceGeometry: axis must be 0, 1 or 2, got ${String(axis)}`);
}

/**
 * A uint8 label volume in the geometry of `like` (its header kept: orientation, spacing, affine), as the
 * bytes of a `.nii` file (gzip them for `.nii.gz`); `labels` in the order `like.data` has, without its
 * fourth axis.
 * @example writeFileSync('case_mask.nii.gz', gzipSync(niftiLabels(volume, labels)))
 */
export function niftiLabels(like: NiftiVolume, labels: Uint8Array): Uint8Array {
  const [nx, ny, nz] = like.dims;
  if (labels.length !== nx * ny * nz) throw new Error(`niftiLabels: ${labels.length} labels for a volume of ${nx}×${ny}×${nz} voxels`);
  const out = new Uint8Array(HEADER + 4 + labels.length);
  out.set(like.header.subarray(0, HEADER));
  const view = new DataView(out.buffer);
  const le = like.littleEndian;
  view.setInt16(40, 3, le);
  for (let d = 4; d <= 7; d++) view.setInt16(40 + 2 * d, 1, le);
  view.setInt16(70, 2, le); // uint8
  view.setInt16(72, 8, le);
  view.setFloat32(108, HEADER + 4, le); // no extensions: the 4 bytes after the header stay 0
  for (const o of [112, 116, 124, 128]) view.setFloat32(o, 0, le); // no scaling, no display range
  out.set(labels, HEADER + 4);
  return out;
}
