import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFromSpec, niftiDataset, niftiLabels, readNifti, sliceGeometry, split, type Dataset } from '../../src/data/index.js';
import { tempDir, writeBytes, writeNifti } from './fixtures.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: root, cleanup } = await tempDir('segrad-nifti-')));
afterAll(() => cleanup());

/** A CT-like voxel value: −1000 … +1000 over i, j and k. */
const hu = (i: number, j: number, k: number): number => -1000 + 100 * i + 37 * j + 11 * k;
/** Labels: class 1 where i < 2, class 2 where j ≥ 3 (and i ≥ 2), only from slice 1 on. */
const label = (i: number, j: number, k: number): number => (k === 0 ? 0 : i < 2 ? 1 : j >= 3 ? 2 : 0);

describe('readNifti', () => {
  it('reads int16, float32 big-endian and scaled uint8 voxels in file order (i fastest), with the spacing', async () => {
    const a = join(root, 'a.nii');
    await writeNifti(a, [6, 5, 4], hu, { pixdim: [0.8, 0.8, 2.5] });
    const v = readNifti(readFileSync(a), a);
    expect(v.dims).toEqual([6, 5, 4, 1]);
    expect(v.datatype).toEqual({ code: 4, name: 'int16' });
    expect(v.spacing.map((s) => Math.fround(s))).toEqual([0.8, 0.8, 2.5].map(Math.fround));
    expect(v.data[3 + 6 * (2 + 5 * 1)]).toBe(hu(3, 2, 1));
    const b = join(root, 'b.nii.gz');
    await writeNifti(b, [3, 2, 2, 2], (i, j, k, t) => i + 10 * j + 100 * k + 0.5 * t, { type: 'float32', bigEndian: true });
    const w = readNifti(gunzipSync(readFileSync(b)), b);
    expect(w.dims).toEqual([3, 2, 2, 2]);
    expect(w.data[2 + 3 * (1 + 2 * (1 + 2 * 1))]).toBe(2 + 10 + 100 + 0.5);
    const c = join(root, 'c.nii');
    await writeNifti(c, [2, 2, 1], (i) => i, { type: 'uint8', slope: 2, inter: -5 });
    expect(Array.from(readNifti(readFileSync(c)).data)).toEqual([-5, -3, -5, -3]);
  });

  it('writes a label volume in the geometry of the volume it was read from, either byte order', async () => {
    for (const bigEndian of [false, true]) {
      const file = join(root, `geo-${bigEndian}.nii`);
      await writeNifti(file, [4, 3, 2], hu, { type: 'float32', bigEndian, pixdim: [0.7, 0.9, 3] });
      const volume = readNifti(readFileSync(file), file);
      const labels = Uint8Array.from({ length: 24 }, (_, q) => q % 3);
      const back = readNifti(niftiLabels(volume, labels), 'labels');
      expect(back.dims).toEqual([4, 3, 2, 1]);
      expect(back.datatype.name).toBe('uint8');
      expect(back.spacing).toEqual(volume.spacing);
      expect(back.littleEndian).toBe(!bigEndian);
      expect(Array.from(back.data)).toEqual(Array.from(labels));
      // the rest of the header (orientation, affine) is the volume's
      expect(Array.from(back.header.subarray(148, 344))).toEqual(Array.from(volume.header.subarray(148, 344)));
      expect(() => niftiLabels(volume, new Uint8Array(5))).toThrow(/5 labels for a volume of 4×3×2 voxels/);
    }
  });

  it('sliceGeometry: slices along k have rows j and columns i; along j, rows k and columns i; along i, rows k and columns j', () => {
    const volume = { dims: [4, 3, 2, 1] as [number, number, number, number], spacing: [0.5, 0.7, 3] as [number, number, number] };
    const index = (i: number, j: number, k: number) => i + 4 * (j + 3 * k);
    const cases = [
      [2, { count: 2, height: 3, width: 4, spacing: [3, 0.7, 0.5] }, (s: number, r: number, c: number) => index(c, r, s)],
      [1, { count: 3, height: 2, width: 4, spacing: [0.7, 3, 0.5] }, (s: number, r: number, c: number) => index(c, s, r)],
      [0, { count: 4, height: 2, width: 3, spacing: [0.5, 3, 0.7] }, (s: number, r: number, c: number) => index(s, c, r)],
    ] as const;
    for (const [axis, want, voxel] of cases) {
      const g = sliceGeometry(volume, axis);
      expect({ count: g.count, height: g.height, width: g.width, spacing: g.spacing }).toEqual(want);
      for (let s0 = 0; s0 < g.count; s0++) for (let r = 0; r < g.height; r++) for (let c = 0; c < g.width; c++) {
        expect(g.voxel(s0, r, c)).toBe(voxel(s0, r, c));
        expect(g.start(s0) + r * g.rowStride + c * g.colStride).toBe(voxel(s0, r, c));
      }
    }
  });

  it('names what it does not read: gzip bytes, NIfTI-2, .hdr/.img pairs, other types and sizes, a cut-short file', async () => {
    const file = join(root, 'x.nii.gz');
    await writeNifti(file, [2, 2, 2], () => 1);
    expect(() => readNifti(readFileSync(file), 'x')).toThrow(/x: is gzip-compressed; gunzip it first/);
    const two = join(root, 'two.nii');
    await writeNifti(two, [2, 2, 2], () => 1, { sizeofHdr: 540 });
    expect(() => readNifti(readFileSync(two), 'two')).toThrow(/two: is NIfTI-2, which segrad does not read; save it as NIfTI-1/);
    const pair = join(root, 'pair.hdr');
    await writeNifti(pair, [2, 2, 2], () => 1, { magic: 'ni1\0' });
    expect(() => readNifti(readFileSync(pair), 'pair')).toThrow(/header of a \.hdr\/\.img pair/);
    const plain = join(root, 'plain.nii');
    await writeNifti(plain, [2, 2, 2], () => 1);
    const bytes = new Uint8Array(readFileSync(plain));
    const rgb = bytes.slice();
    new DataView(rgb.buffer).setInt16(70, 128, true);
    expect(() => readNifti(rgb, 'rgb')).toThrow(/voxel datatype 128 is not read/);
    expect(() => readNifti(bytes.subarray(0, 360), 'short')).toThrow(/short: is cut short: 2×2×2×1 int16 voxels from byte 352 need 368 bytes, the file has 360/);
    const five = join(root, 'five.nii');
    await writeNifti(five, [2, 2, 2, 1, 3], () => 1);
    expect(() => readNifti(readFileSync(five), 'five')).toThrow(/5 dimensions of sizes 2×2×2×1×3; segrad reads up to four/);
  });
});

describe('niftiDataset', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(root, 'Task99_Toy');
    for (const [n, ext] of [[1, '.nii.gz'], [2, '.nii'], [3, '.nii.gz']] as const) {
      await writeNifti(join(dir, 'imagesTr', `toy_00${n}${ext}`), [6, 5, 4], (i, j, k) => hu(i, j, k) + n);
      await writeNifti(join(dir, 'labelsTr', `toy_00${n}.nii.gz`), [6, 5, 4], label, { type: 'uint8' });
    }
    await writeBytes(join(dir, 'dataset.json'), '{}');
  });

  it('cuts each volume into slices along the third axis, row j and column i, scaled by the window, with its labels', async () => {
    const calls: number[][] = [];
    const ds = await niftiDataset(dir, { window: [-1000, 1000], classes: 3, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(ds.length).toBe(12);
    expect(ds.ids.slice(0, 5)).toEqual(['toy_001#0', 'toy_001#1', 'toy_001#2', 'toy_001#3', 'toy_002#0']);
    expect(ds.groups).toEqual(['toy_001', 'toy_001', 'toy_001', 'toy_001', 'toy_002', 'toy_002', 'toy_002', 'toy_002', 'toy_003', 'toy_003', 'toy_003', 'toy_003']);
    const s = await ds.get(6); // toy_002, slice 2
    expect(s.shape).toEqual({ channels: 1, classes: 3, height: 5, width: 6 });
    for (let j = 0; j < 5; j++) {
      for (let i = 0; i < 6; i++) {
        // 8-bit after the window, as the image files' pipeline keeps them
        expect(s.image[j * 6 + i]).toBe(Math.fround(Math.round(((hu(i, j, 2) + 2 + 1000) / 2000) * 255) / 255));
        expect([0, 1, 2].map((c) => s.mask[c * 30 + j * 6 + i])).toEqual([0, 1, 2].map((c) => (c === label(i, j, 2) ? 1 : 0)));
      }
    }
    // binary by default: every label > 0 is foreground
    const binary = await (await niftiDataset(dir, { window: [-1000, 1000] })).get(6);
    expect(binary.shape.classes).toBe(1);
    expect(Array.from(binary.mask)).toEqual(Array.from({ length: 30 }, (_, q) => (label(q % 6, Math.floor(q / 6), 2) > 0 ? 1 : 0)));
  });

  it('scales each volume by its own percentiles without a window, keeps labelled slices on request, and resizes', async () => {
    // the first volume's slices: its lowest voxels at 0, its highest at 1 (past the 99.5th percentile)
    const whole = await niftiDataset(dir, { onWarning: () => undefined });
    const first = await Promise.all([0, 1, 2, 3].map(async (i) => Array.from((await whole.get(i)).image)));
    expect(Math.min(...first.flat())).toBe(0);
    expect(Math.max(...first.flat())).toBe(1);
    expect(new Set(first.flat()).size).toBeGreaterThan(50);
    // CT values (down to −1000 + 1) read without a window: advice to set one, once
    const said: string[] = [];
    await niftiDataset(dir, { onWarning: (m) => said.push(m) });
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/toy_001\.nii\.gz reaches -999, like CT in Hounsfield units; .* \?window=-160,240 \(abdomen\)/);
    await niftiDataset(dir, { window: [-1000, 1000], onWarning: (m) => said.push(m) });
    expect(said).toHaveLength(1);
    // whole volumes carry their voxel size, resized slices' too ([dz, dy, dx]: 5 rows become 10, 6 columns 12)
    expect(whole.groupSpacing?.get('toy_002')).toEqual([1, 1, 1]);
    expect((await niftiDataset(dir, { size: [10, 12], onWarning: () => undefined })).groupSpacing?.get('toy_002')).toEqual([1, 0.5, 0.5]);
    const ds = await niftiDataset(dir, { slices: 'labelled', size: [10, 12], onWarning: () => undefined });
    expect(ds.groupSpacing).toBeUndefined(); // labelled slices leave gaps: no volume in 3D
    expect(ds.length).toBe(9); // slice 0 of each volume has no label
    expect(ds.ids[0]).toBe('toy_001#1');
    const s = await ds.get(0);
    expect(s.shape).toEqual({ channels: 1, classes: 1, height: 10, width: 12 });
    // nearest for the labels: still 0/1 only
    expect(s.mask.every((v) => v === 0 || v === 1)).toBe(true);
    expect(s.mask.some((v) => v === 1)).toBe(true);
  });

  it('split keeps each volume on one side', async () => {
    const ds = await niftiDataset(dir, { window: [-1000, 1000] });
    for (let seed = 0; seed < 8; seed++) {
      const parts = split(ds, { seed, testFraction: 0.3, valFraction: 0.2 });
      const volumes = (d: Dataset) => new Set(d.ids.map((id) => id.split('#')[0]));
      const [train, val, test] = [volumes(parts.train), volumes(parts.val), volumes(parts.test)];
      expect(train.size + val.size + test.size).toBe(3);
      expect(parts.train.length + parts.val.length + parts.test.length).toBe(12);
      expect(train.size).toBeGreaterThan(0);
      for (const d of [parts.train, parts.val, parts.test]) expect(d.length % 4).toBe(0);
      expect(parts.test.groups).toEqual(parts.test.ids.map((id) => id.split('#')[0]));
    }
  });

  it('split picks the same volumes from all slices and from the labelled ones, so a run on one is scored on the other', async () => {
    const all = await niftiDataset(dir, { window: [-1000, 1000] });
    const labelled = await niftiDataset(dir, { window: [-1000, 1000], slices: 'labelled' });
    for (let seed = 0; seed < 6; seed++) {
      const volumes = (d: Dataset) => [...new Set(split(d, { seed, testFraction: 0.34 }).test.groups)];
      expect(volumes(labelled)).toEqual(volumes(all));
    }
  });

  it('is what datasetFromSpec builds from nifti:DIR or the bare folder', async () => {
    const a = await datasetFromSpec(`nifti:${dir}?classes=3&window=-1000,1000&slices=labelled`);
    const b = await datasetFromSpec(`${dir}?classes=3&window=-1000,1000&slices=labelled`);
    expect(b.ids).toEqual(a.ids);
    expect(Array.from((await b.get(2)).image)).toEqual(Array.from((await a.get(2)).image));
    await expect(datasetFromSpec(`nifti:${dir}?slices=some`)).rejects.toThrow(/slices=some .* must be all or labelled/);
    await expect(datasetFromSpec(`nifti:${dir}?channels=3`)).rejects.toThrow(/unknown option 'channels' for nifti/);
  });

  it('axis 0 cuts the volumes across i: each slice holds rows k and columns j, its voxel size follows', async () => {
    const ds = await niftiDataset(dir, { window: [-1000, 1000], classes: 3, axis: 0 });
    expect(ds.length).toBe(3 * 6); // nx = 6 slices a volume
    const s = await ds.get(6 + 4); // toy_002, i = 4
    expect(s.shape).toEqual({ channels: 1, classes: 3, height: 4, width: 5 });
    for (let k = 0; k < 4; k++) for (let j = 0; j < 5; j++) {
      expect(s.image[k * 5 + j]).toBe(Math.fround(Math.round(((hu(4, j, k) + 2 + 1000) / 2000) * 255) / 255));
      expect(s.mask[label(4, j, k) * 20 + k * 5 + j]).toBe(1);
    }
    expect(ds.groupSpacing?.get('toy_002')).toEqual([1, 1, 1]);
    expect((await datasetFromSpec(`nifti:${dir}?axis=1&window=-1000,1000`)).length).toBe(3 * 5);
    await expect(datasetFromSpec(`nifti:${dir}?axis=3`)).rejects.toThrow(/axis=3 .* must be 0, 1 or 2/);
  });

  it('reads a 4D volume\'s fourth axis as the image channels (the Decathlon\'s MRI modalities), each scaled on its own', async () => {
    const mri = join(root, 'mri');
    await writeNifti(join(mri, 'imagesTr', 'brain_001.nii.gz'), [4, 3, 2, 2], (i, j, k, t) => (t === 0 ? i + 4 * j + 12 * k : 1000 - 10 * (i + 4 * j + 12 * k)), { type: 'float32' });
    await writeNifti(join(mri, 'labelsTr', 'brain_001.nii.gz'), [4, 3, 2], (i) => (i > 1 ? 1 : 0), { type: 'uint8' });
    const ds = await niftiDataset(mri);
    const s = await ds.get(1);
    expect(s.shape).toEqual({ channels: 2, classes: 1, height: 3, width: 4 });
    // channel 0 rises with the voxel index and channel 1 falls, whatever their ranges
    expect(s.image[1]).toBeGreaterThan(s.image[0]);
    expect(s.image[12 + 1]).toBeLessThan(s.image[12]);
    expect(s.image[11]).toBe(1);
    expect(s.image[12 + 11]).toBe(0);
  });

  it('names the file of a missing label volume, a shape mismatch, a bad label and a second modality', async () => {
    const bad = join(root, 'bad');
    await writeNifti(join(bad, 'imagesTr', 'a.nii.gz'), [4, 4, 2], () => 0);
    await expect(niftiDataset(bad)).rejects.toThrow(/expected the volumes in imagesTr\/ and their labels in labelsTr\//);
    await writeNifti(join(bad, 'labelsTr', 'b.nii.gz'), [4, 4, 2], () => 0, { type: 'uint8' });
    await expect(niftiDataset(bad)).rejects.toThrow(/a\.nii\.gz: no label volume a\.nii\.gz \(or \.nii\) in .*labelsTr/);
    await writeNifti(join(bad, 'labelsTr', 'a.nii.gz'), [4, 3, 2], () => 0, { type: 'uint8' });
    await expect(niftiDataset(bad)).rejects.toThrow(/a\.nii\.gz: the labels are 4×3×2×1 voxels but the volume .*a\.nii\.gz is 4×4×2; they must match voxel for voxel/);
    await writeNifti(join(bad, 'labelsTr', 'a.nii.gz'), [4, 4, 2], (i) => i * 0.5, { type: 'float32' });
    await expect(niftiDataset(bad)).rejects.toThrow(/a\.nii\.gz: voxel \(1, 0, 0\) has label 0\.5; labels are whole numbers/);
    await writeNifti(join(bad, 'labelsTr', 'a.nii.gz'), [4, 4, 2], (i) => i, { type: 'uint8' });
    await expect(niftiDataset(bad, { classes: 3 })).rejects.toThrow(/voxel \(3, 0, 0\) has label 3; labels are whole numbers 0…2 \(classes=3\)/);
    await writeNifti(join(bad, 'imagesTr', 'a_0001.nii.gz'), [4, 4, 2], () => 0);
    await expect(niftiDataset(bad)).rejects.toThrow(/a_0001\.nii\.gz is a second modality of a case in nnU-Net's layout/);
  });
});
