import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFromSpec, decodeFile, drive, DrivePatches, dsb2018, folderDataset, isic2018, slidingWindow, split, reassemble } from '../../src/data/index.js';
import { inDisc, rgb, tempDir, writeImage, writePng16, writeTiff } from './fixtures.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const at = (a: Float32Array, H: number, W: number, c: number, y: number, x: number) => a[c * H * W + y * W + x];

describe('folderDataset', () => {
  it('groups: one patient\'s slices stay on one side of the split (a separator, a RegExp or a function)', async () => {
    const dir = join(root, 'patients');
    for (let p = 0; p < 5; p++) {
      for (let k = 0; k <= p % 3; k++) {
        await writeImage(join(dir, 'images', `patient${p}_slice${k}.png`), 4, 4, 1, () => 10 * k);
        await writeImage(join(dir, 'masks', `patient${p}_slice${k}.png`), 4, 4, 1, (y) => (y > 1 ? 255 : 0));
      }
    }
    const ds = await folderDataset(dir, { cacheDir: false, groupBy: '_' });
    expect(ds.groups).toEqual(ds.ids.map((id) => id.split('_')[0]));
    expect(new Set(ds.groups).size).toBe(5);
    for (let seed = 0; seed < 6; seed++) {
      const parts = split(ds, { seed, testFraction: 0.4 });
      const test = new Set(parts.test.groups);
      expect(test.size).toBe(2); // round(5 · 0.4) patients
      for (const g of parts.train.groups!) expect(test.has(g)).toBe(false);
    }
    expect((await folderDataset(dir, { cacheDir: false, groupBy: /^patient(\d)/ })).groups![0]).toBe('0');
    expect((await folderDataset(dir, { cacheDir: false, groupBy: (id) => id.slice(0, 8) })).groups).toEqual(ds.groups);
    expect((await datasetFromSpec(`folder:${dir}?groups=_slice&cache=off`)).groups).toEqual(ds.groups);
    await expect(folderDataset(dir, { cacheDir: false, groupBy: '-' })).rejects.toThrow(/sample patient0_slice0 has no '-' after its first character, so groupBy \(groups=-\) cannot tell its patient/);
    await expect(folderDataset(dir, { cacheDir: false, groupBy: /^case/ })).rejects.toThrow(/does not match groupBy \/\^case\//);
  });

  it('loads png images exactly, binarises masks at 127, keeps sizes by default', async () => {
    const dir = join(root, 'folder-rgb');
    for (const [k, name] of ['a', 'b'].entries()) {
      await writeImage(join(dir, 'images', `${name}.png`), 6, 5, 3, rgb(k));
      await writeImage(join(dir, 'masks', `${name}.png`), 6, 5, 1, (y, x) => [0, 100, 127, 128, 255][x]);
    }
    const ds = await folderDataset(dir, { cacheDir: false });
    expect(ds.ids).toEqual(['a', 'b']);
    const s = await ds.get(1);
    expect(s.shape).toEqual({ channels: 3, classes: 1, height: 6, width: 5 });
    for (const [c, y, x] of [[0, 0, 0], [2, 5, 4], [1, 3, 2]]) expect(at(s.image, 6, 5, c, y, x)).toBeCloseTo(rgb(1)(y, x, c) / 255, 6);
    expect(Array.from(s.mask.subarray(0, 5))).toEqual([0, 0, 0, 1, 1]);
  });

  it('reads 0/1 masks (numpy and nnU-Net exports) by their 1s; a mask of small class indices is an error naming it', async () => {
    const dir = join(root, 'folder-01');
    await writeImage(join(dir, 'images', 'a.png'), 4, 4, 1, (y, x) => 16 * y + x);
    await writeImage(join(dir, 'masks', 'a.png'), 4, 4, 1, (y, x) => (x === y ? 1 : 0));
    await writeImage(join(dir, 'images', 'b.png'), 4, 4, 1, (y, x) => 16 * y + x);
    await writeImage(join(dir, 'masks', 'b.png'), 4, 4, 1, (_y, x) => x % 3);
    const ds = await folderDataset(dir, { cacheDir: false });
    expect(Array.from((await ds.get(0)).mask)).toEqual(Array.from({ length: 16 }, (_, q) => (q % 5 === 0 ? 1 : 0)));
    await expect(ds.get(1)).rejects.toThrow(/masks[\\/]b\.png: the mask's largest value is 2, .*all background.*classes=K/);
    const classes = await folderDataset(dir, { classes: 3, cacheDir: false });
    expect(Array.from((await classes.get(1)).mask.subarray(16, 20))).toEqual([0, 1, 0, 0]);
  });

  it('reads colour masks by their brightest channel: red, green or blue on black is foreground where drawn', async () => {
    const dir = join(root, 'folder-colour');
    const drawn = (y: number, x: number) => x >= y;
    for (const [k, colour] of [[255, 0, 0], [0, 0, 255], [0, 160, 0]].entries()) {
      await writeImage(join(dir, 'images', `c${k}.png`), 4, 4, 3, rgb(k));
      await writeImage(join(dir, 'masks', `c${k}.png`), 4, 4, 3, (y, x, c) => (drawn(y, x) ? colour[c] : 0));
    }
    const expected = Array.from({ length: 16 }, (_, q) => (drawn(Math.floor(q / 4), q % 4) ? 1 : 0));
    for (const size of [undefined, [8, 8] as [number, number]]) {
      const ds = await folderDataset(dir, { cacheDir: false, size });
      for (let i = 0; i < 3; i++) {
        const m = (await ds.get(i)).mask;
        expect(m.length).toBe(size ? 64 : 16);
        if (!size) expect(Array.from(m)).toEqual(expected);
        else expect(Array.from({ length: 16 }, (_, q) => m[16 * Math.floor(q / 4) + 2 * (q % 4)])).toEqual(expected);
      }
    }
  });

  it('reads 16-bit masks by their values: 0/1, 0/65535 and red binary masks, class indices (sharp alone would divide by 257)', async () => {
    const dir = join(root, 'folder-16');
    const drawn = (y: number, x: number) => x > y;
    for (const [name, c, high] of [['full', 1, 65535], ['one', 1, 1], ['red', 3, 65535]] as const) {
      await writeImage(join(dir, 'images', `${name}.png`), 4, 4, 1, (y, x) => 16 * y + x);
      await writePng16(join(dir, 'masks', `${name}.png`), 4, 4, c, (y, x, k) => (drawn(y, x) && k === 0 ? high : 0));
    }
    const expected = Array.from({ length: 16 }, (_, q) => (drawn(Math.floor(q / 4), q % 4) ? 1 : 0));
    const ds = await folderDataset(dir, { cacheDir: false });
    for (const i of [0, 1, 2]) expect(Array.from((await ds.get(i)).mask)).toEqual(expected);
    for (const i of [1, 2]) {
      const resized = await (await folderDataset(dir, { cacheDir: false, size: 8 })).get(i);
      expect(Array.from({ length: 16 }, (_, q) => resized.mask[16 * Math.floor(q / 4) + 2 * (q % 4)])).toEqual(expected);
    }

    const idx = join(root, 'folder-16-index');
    await writeImage(join(idx, 'images', 'k.png'), 2, 3, 1, (y, x) => 40 * y + x);
    await writePng16(join(idx, 'masks', 'k.png'), 2, 3, 1, (y, x) => (x + y) % 3);
    const k = await (await folderDataset(idx, { classes: 3, cacheDir: false })).get(0);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) for (let c = 0; c < 3; c++) expect(at(k.mask, 2, 3, c, y, x)).toBe((x + y) % 3 === c ? 1 : 0);
    await writePng16(join(idx, 'masks', 'k.png'), 2, 3, 1, (y, x) => (x === 2 ? 300 : 0));
    await expect((await folderDataset(idx, { classes: 3, cacheDir: false })).get(0)).rejects.toThrow(/k\.png: cannot decode mask \(pixel 2 has class index 300; .*at most 256 classes\)/);
  });

  it('images of several sizes without a size option are an error at once, listing the sizes; with one they load', async () => {
    const dir = join(root, 'folder-sizes');
    for (const [name, h, w] of [['a', 4, 4], ['b', 4, 4], ['c', 6, 5]] as const) {
      await writeImage(join(dir, 'images', `${name}.png`), h, w, 3, rgb(1));
      await writeImage(join(dir, 'masks', `${name}.png`), h, w, 1, () => 255);
    }
    await expect(folderDataset(dir, { cacheDir: false })).rejects.toThrow(/the images have 2 sizes and are not resized: 4×4 \(W×H\): 2 image\(s\), such as .*a\.png; 5×6 \(W×H\): 1 image\(s\), such as .*c\.png\. Pass a size .*\?size=256/);
    const resized = await folderDataset(dir, { cacheDir: false, size: 8 });
    expect((await resized.get(2)).shape).toEqual({ channels: 3, classes: 1, height: 8, width: 8 });
  });

  it('window maps image values lo…hi to 0…1 at the file\'s precision (16-bit too); a dim 16-bit folder is warned about once', async () => {
    const dir = join(root, 'folder-window');
    const level = (y: number, x: number) => 1000 * y + 7 * x; // up to 3021 of 65535: a 12-bit camera
    await writePng16(join(dir, 'images', 'g.png'), 4, 4, 1, level);
    await writePng16(join(dir, 'images', 'h.png'), 4, 4, 3, (y, x, c) => level(y, x) + 100 * c);
    for (const n of ['g', 'h']) await writeImage(join(dir, 'masks', `${n}.png`), 4, 4, 1, (y) => (y > 1 ? 255 : 0));
    const warnings: string[] = [];
    const plain = await folderDataset(dir, { cacheDir: false, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/g\.png is a 16-bit image whose values reach only 3021; .* keeps 12 grey levels of 256\. Pass window: \[0, 4095\] .*window=0,4095/);
    expect((await plain.get(0)).image[15]).toBeCloseTo(Math.round(3021 / 257) / 255, 6); // sharp's 8 bits: v / 257

    const windowed = await folderDataset(dir, { cacheDir: false, window: [0, 4095], onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    const g = await windowed.get(0);
    expect(g.shape.channels).toBe(1);
    for (let q = 0; q < 16; q++) expect(g.image[q]).toBeCloseTo(Math.round((level(Math.floor(q / 4), q % 4) * 255) / 4095) / 255, 6);
    const rgbWindow = await folderDataset(dir, { cacheDir: false, window: [0, 4095], channels: 3 });
    const h = await rgbWindow.get(1);
    for (const c of [0, 1, 2]) expect(at(h.image, 4, 4, c, 3, 2)).toBeCloseTo(Math.round(((level(3, 2) + 100 * c) * 255) / 4095) / 255, 6);
    // one channel from colour: libvips' luminance, as sharp's grayscale() gives 8-bit files, between the channels
    const lum = (await windowed.get(1)).image[3 * 4 + 2] * 4095;
    expect(lum).toBeGreaterThan(3014 + 30);
    expect(lum).toBeLessThan(3214 - 30);

    // 8-bit files: the window clips, and it is part of the cache key
    const eight = join(root, 'folder-window-8');
    await writeImage(join(eight, 'images', 'e.png'), 1, 4, 1, (_y, x) => [0, 50, 100, 200][x]);
    await writeImage(join(eight, 'masks', 'e.png'), 1, 4, 1, () => 0);
    const cacheDir = join(root, 'window-cache');
    const clipped = await (await folderDataset(eight, { cacheDir, window: [50, 150] })).get(0);
    expect(Array.from(clipped.image, (v) => Math.round(v * 255))).toEqual([0, 0, 128, 255]);
    expect(Array.from((await (await folderDataset(eight, { cacheDir })).get(0)).image, (v) => Math.round(v * 255))).toEqual([0, 50, 100, 200]);
    await expect(folderDataset(eight, { window: [5, 5] })).rejects.toThrow(/window must be \[lo, hi\] with lo < hi .*got \[5,5\]/);
  });

  it('signed 16-bit and float TIFFs: an error names the file and its range without a window; with one they are read by their values, masks too', async () => {
    const dir = join(root, 'folder-signed');
    const hu = (y: number, x: number) => -1024 + 400 * y + 50 * x; // CT in Hounsfield units: −1024…326
    await writeTiff(join(dir, 'images', 'ct.tif'), 4, 4, 'int16', hu);
    await writeTiff(join(dir, 'masks', 'ct.tif'), 4, 4, 'int16', (y) => (y > 1 ? 1 : 0)); // read as 8 bits: all 0
    await expect(folderDataset(dir, { cacheDir: false })).rejects.toThrow(
      /ct\.tif is a signed 16-bit image \(values -1024…326\), .*window=-1024,326' \(this file's range\), or for CT in Hounsfield units .*-1000,400 \(lung\)/,
    );
    const ds = await folderDataset(dir, { cacheDir: false, window: [-1000, 400] });
    const s = await ds.get(0);
    expect(s.shape).toEqual({ channels: 1, classes: 1, height: 4, width: 4 });
    for (let q = 0; q < 16; q++) {
      const v = hu(Math.floor(q / 4), q % 4);
      expect(s.image[q]).toBeCloseTo(Math.min(255, Math.max(0, Math.round(((v + 1000) * 255) / 1400))) / 255, 6);
    }
    expect(Array.from(s.mask)).toEqual(Array.from({ length: 16 }, (_, q) => (q >= 8 ? 1 : 0)));
    // resized, and as three channels: each channel the same bilinear values
    const big = await (await folderDataset(dir, { cacheDir: false, window: [-1024, 326], size: 8, channels: 3 })).get(0);
    expect(big.shape).toEqual({ channels: 3, classes: 1, height: 8, width: 8 });
    for (let q = 0; q < 64; q++) expect(big.image[64 + q]).toBe(big.image[q]);
    expect(big.image[0]).toBe(0);
    expect(big.image[63]).toBe(1);
    expect(Array.from(big.mask.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(big.mask.subarray(56, 64))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);

    const float = join(root, 'folder-float');
    await writeTiff(join(float, 'images', 'f.tif'), 2, 3, 'float32', (y, x) => 0.25 * x - 0.5 * y); // −0.5…0.5
    await writeTiff(join(float, 'masks', 'f.tif'), 2, 3, 'float32', (_y, x) => (x === 1 ? 1 : 0));
    await expect(folderDataset(float, { cacheDir: false })).rejects.toThrow(/f\.tif is a 32-bit float image \(values -0\.5…0\.5\), .*window=-0\.5,0\.5'/);
    const f = await (await folderDataset(float, { cacheDir: false, window: [0, 0.5] })).get(0);
    expect(Array.from(f.image, (v) => Math.round(v * 255))).toEqual([0, 128, 255, 0, 0, 0]);
    expect(Array.from(f.mask)).toEqual([0, 1, 0, 0, 1, 0]);
    // a soft mask is not a label map
    await writeTiff(join(float, 'masks', 'f.tif'), 2, 3, 'float32', (_y, x) => x / 4);
    await expect((await folderDataset(float, { cacheDir: false, window: [0, 1] })).get(0)).rejects.toThrow(/masks[\\/]f\.tif: cannot decode mask \(pixel 1 has value 0\.25; .*threshold a soft mask first/);
    // decodeFile without a window (segrad predict on a run that had none) names the file
    await expect(decodeFile(join(float, 'images', 'f.tif'), { kind: 'image', channels: 1 })).rejects.toThrow(/f\.tif: cannot decode image \(a 32-bit float image needs a window/);
  });

  it('an EXIF orientation is applied: images and masks are read as shown, so a mask drawn on the shown picture lines up', async () => {
    const dir = join(root, 'folder-exif');
    // stored 4 wide × 2 tall; orientation 6 shows it turned 90° clockwise, 2 wide × 4 tall
    await writeImage(join(dir, 'images', 'phone.png'), 2, 4, 1, (y, x) => 30 * (4 * y + x), { orientation: 6 });
    const shown = [120, 0, 150, 30, 180, 60, 210, 90]; // row by row, as a viewer shows it
    await writeImage(join(dir, 'masks', 'phone.png'), 4, 2, 1, (y, x) => (shown[2 * y + x] >= 120 ? 255 : 0));
    const s = await (await folderDataset(dir, { cacheDir: false, channels: 1 })).get(0);
    expect(s.shape).toMatchObject({ height: 4, width: 2 });
    expect(Array.from(s.image, (v) => Math.round(v * 255))).toEqual(shown);
    expect(Array.from(s.mask)).toEqual(shown.map((v) => (v >= 120 ? 1 : 0)));
    // a mask that fits the stored pixels instead: the error says why
    await writeImage(join(dir, 'masks', 'phone.png'), 2, 4, 1, () => 255);
    await expect(folderDataset(dir, { cacheDir: false })).rejects.toThrow(/image is 2×4 \(as shown\) but .*phone\.png is 4×2 \(W×H\); the image carries EXIF orientation 6 and is read as shown/);
    // … resized too, where the sizes would no longer tell and the mask would lie across the picture
    await expect(folderDataset(dir, { cacheDir: false, size: 8 })).rejects.toThrow(/phone\.png is 4×2 \(W×H\); the image carries EXIF orientation 6/);
  });

  it('grey images default to one channel; channels: 3 expands them; RGB with channels: 1 gives luminance', async () => {
    const dir = join(root, 'folder-grey');
    await writeImage(join(dir, 'images', 'g.png'), 4, 4, 1, (y, x) => 16 * y + x);
    await writeImage(join(dir, 'masks', 'g_mask.gif'), 4, 4, 1, (y) => (y < 2 ? 255 : 0));
    const grey = await (await folderDataset(dir, { maskSuffix: '_mask', cacheDir: false })).get(0);
    expect(grey.shape.channels).toBe(1);
    expect(grey.image[5]).toBeCloseTo(17 / 255, 6);
    expect(Array.from(grey.mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const three = await (await folderDataset(dir, { maskSuffix: '_mask', channels: 3, cacheDir: false })).get(0);
    expect(three.shape.channels).toBe(3);
    expect(at(three.image, 4, 4, 2, 1, 1)).toBeCloseTo(17 / 255, 6);

    const rgbDir = join(root, 'folder-lum');
    await writeImage(join(rgbDir, 'images', 'r.png'), 2, 2, 3, (_y, _x, c) => [200, 100, 50][c]);
    await writeImage(join(rgbDir, 'masks', 'r.png'), 2, 2, 1, () => 0);
    const lum = await (await folderDataset(rgbDir, { channels: 1, cacheDir: false })).get(0);
    const expected = (0.2126 * 200 + 0.7152 * 100 + 0.0722 * 50) / 255; // Rec. 709 weights; sRGB gamma makes it approximate
    expect(Math.abs(lum.image[0] - expected)).toBeLessThan(0.08);
  });

  it('resizes images bilinearly and masks nearest', async () => {
    const dir = join(root, 'folder-resize');
    await writeImage(join(dir, 'images', 'r.tif'), 16, 16, 3, (_y, x) => (x < 8 ? 40 : 200));
    await writeImage(join(dir, 'masks', 'r.png'), 16, 16, 1, (_y, x) => (x < 8 ? 255 : 0));
    const s = await (await folderDataset(dir, { size: [8, 12], cacheDir: false })).get(0);
    expect(s.shape).toEqual({ channels: 3, classes: 1, height: 8, width: 12 });
    expect(s.mask.every((v) => v === 0 || v === 1)).toBe(true);
    for (let y = 0; y < 8; y++) expect(Array.from(s.mask.subarray(y * 12, y * 12 + 12))).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(at(s.image, 8, 12, 0, 3, 0)).toBeCloseTo(40 / 255, 2);
    expect(at(s.image, 8, 12, 0, 3, 11)).toBeCloseTo(200 / 255, 2);
    // the edge is blended, not a step: some value strictly between the two levels
    const row = Array.from({ length: 12 }, (_, x) => at(s.image, 8, 12, 0, 3, x));
    expect(row.some((v) => v > 45 / 255 && v < 195 / 255)).toBe(true);
  });

  it('reads class-index masks (grey and palette PNGs) as one-hot with classes', async () => {
    const dir = join(root, 'folder-multi');
    const cls = (y: number, x: number) => (x + y) % 3;
    await writeImage(join(dir, 'images', 'm.png'), 3, 4, 3, rgb(3));
    await writeImage(join(dir, 'masks', 'm.png'), 3, 4, 1, cls);
    await writeImage(join(dir, 'images', 'p.png'), 3, 4, 3, rgb(4));
    // palette colours 0, 90, 180 (grey) → indices by order of appearance in the palette
    await writeImage(join(dir, 'masks', 'p.png'), 3, 4, 1, (y, x) => cls(y, x) * 90, { palette: true });
    const ds = await folderDataset(dir, { classes: 3, cacheDir: false });
    const m = await ds.get(0);
    expect(m.shape.classes).toBe(3);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) for (let k = 0; k < 3; k++) expect(at(m.mask, 3, 4, k, y, x)).toBe(cls(y, x) === k ? 1 : 0);
    const p = await ds.get(1);
    // each pixel is one-hot and pixels of equal class share their channel
    const channelOf = (y: number, x: number) => [0, 1, 2].find((k) => at(p.mask, 3, 4, k, y, x) === 1)!;
    for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) {
      expect([0, 1, 2].reduce((acc, k) => acc + at(p.mask, 3, 4, k, y, x), 0)).toBe(1);
      expect(channelOf(y, x)).toBe(channelOf(0, cls(y, x)));
    }
    expect(new Set([channelOf(0, 0), channelOf(0, 1), channelOf(0, 2)]).size).toBe(3);
    const resized = await (await folderDataset(dir, { classes: 3, size: [6, 8], cacheDir: false })).get(1);
    expect(resized.mask.length).toBe(3 * 6 * 8);
    for (let q = 0; q < 48; q++) expect(resized.mask[q] + resized.mask[48 + q] + resized.mask[96 + q]).toBe(1);
    await expect((await folderDataset(dir, { classes: 2, cacheDir: false })).get(0)).rejects.toThrow(/m\.png.*class index 2, expected < 2/);
  });
});

describe('isic2018', () => {
  it('reads the official layout and resizes to 192×256 by default', async () => {
    const dir = join(root, 'isic');
    const ids = ['ISIC_0000000', 'ISIC_0000001', 'ISIC_0000003'];
    for (const id of ids) {
      await writeImage(join(dir, 'ISIC2018_Task1-2_Training_Input', `${id}.jpg`), 24, 32, 3, (_y, _x, c) => [220, 120, 60][c]);
      await writeImage(join(dir, 'ISIC2018_Task1_Training_GroundTruth', `${id}_segmentation.png`), 24, 32, 1, (_y, x) => (x < 16 ? 255 : 0));
    }
    await writeImage(join(dir, 'ISIC2018_Task1-2_Training_Input', 'LICENSE.txt.png'), 2, 2, 1, () => 0).catch(() => undefined);
    const ds = await isic2018(dir, { cacheDir: false });
    expect(ds.ids).toEqual(ids);
    const s = await ds.get(2);
    expect(s.id).toBe('ISIC_0000003');
    expect(s.shape).toEqual({ channels: 3, classes: 1, height: 192, width: 256 });
    expect(at(s.image, 192, 256, 0, 100, 100)).toBeCloseTo(220 / 255, 1);
    expect(at(s.image, 192, 256, 2, 100, 100)).toBeCloseTo(60 / 255, 1);
    expect(at(s.mask, 192, 256, 0, 10, 127)).toBe(1);
    expect(at(s.mask, 192, 256, 0, 10, 128)).toBe(0);
    const square = await (await isic2018(dir, { size: 256, cacheDir: false })).get(0);
    expect(square.shape).toMatchObject({ height: 256, width: 256 });
  });
});

describe('dsb2018', () => {
  it('drops alpha and merges the per-nucleus masks by union, at native size and resized', async () => {
    const dir = join(root, 'dsb');
    const squares = [[0, 0], [8, 4], [4, 12]]; // 4×4 nuclei at (y, x)
    for (const id of ['abc', 'def']) {
      await writeImage(join(dir, 'stage1_train', id, 'images', `${id}.png`), 16, 16, 4, (y, x, c) => (c === 3 ? 128 : rgb(1)(y, x, c)));
      for (const [k, [sy, sx]] of squares.entries()) {
        await writeImage(join(dir, 'stage1_train', id, 'masks', `m${k}.png`), 16, 16, 1, (y, x) => (y >= sy && y < sy + 4 && x >= sx && x < sx + 4 ? 255 : 0));
      }
    }
    const inUnion = (y: number, x: number) => squares.some(([sy, sx]) => y >= sy && y < sy + 4 && x >= sx && x < sx + 4);
    const native = await (await dsb2018(dir, { size: null, cacheDir: false })).get(1);
    expect(native.id).toBe('def');
    expect(native.shape).toEqual({ channels: 3, classes: 1, height: 16, width: 16 });
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) expect(native.mask[y * 16 + x]).toBe(inUnion(y, x) ? 1 : 0);
    expect(at(native.image, 16, 16, 1, 5, 9)).toBeCloseTo(rgb(1)(5, 9, 1) / 255, 6); // not premultiplied by alpha
    const ds = await dsb2018(join(dir, 'stage1_train'), { size: 8, cacheDir: false }); // the stage folder itself works too
    const small = await ds.get(0);
    expect(small.shape).toMatchObject({ height: 8, width: 8 });
    const got = Array.from(small.mask).join(""), want = Array.from({ length: 64 }, (_, q) => (inUnion(2 * Math.floor(q / 8), 2 * (q % 8)) ? 1 : 0)).join("");
    expect(got).toBe(want);
    expect((await dsb2018(dir, { cacheDir: false })).length).toBe(2);
    expect((await (await dsb2018(dir, { cacheDir: false })).get(0)).shape).toMatchObject({ height: 256, width: 256 });
  });
});

describe('drive', () => {
  const H = 24, W = 20;
  const disc = inDisc(H, W);
  async function writeDrive(dir: string, subset: 'training' | 'test', ids: string[]) {
    for (const [k, id] of ids.entries()) {
      await writeImage(join(dir, subset, 'images', `${id}_${subset}.tif`), H, W, 3, rgb(k + 5));
      await writeImage(join(dir, subset, '1st_manual', `${id}_manual1.gif`), H, W, 1, (y, x) => ((x + k) % 5 === 0 ? 255 : 0));
      await writeImage(join(dir, subset, 'mask', `${id}_${subset}_mask.gif`), H, W, 1, (y, x) => (disc(y, x) ? 255 : 0));
    }
  }

  it('full images carry the field of view; test/ uses the _test names', async () => {
    const dir = join(root, 'drive');
    await writeDrive(dir, 'training', ['21', '22']);
    await writeDrive(dir, 'test', ['01']);
    const test = await drive(dir, { subset: 'test', cacheDir: false });
    expect(test.ids).toEqual(['01_test']);
    const s = await test.get(0);
    expect(s.shape).toEqual({ channels: 3, classes: 1, height: H, width: W });
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      expect(s.fov![y * W + x]).toBe(disc(y, x) ? 1 : 0);
      expect(s.mask[y * W + x]).toBe(x % 5 === 0 ? 1 : 0);
    }
    expect(at(s.image, H, W, 2, 7, 3)).toBeCloseTo(rgb(5)(7, 3, 2) / 255, 6);
    const full = await drive(dir, { mode: 'full', cacheDir: false });
    expect(full.ids).toEqual(['21_training', '22_training']);
    // evaluation path: sliding window over a full image and back
    const { patches, positions } = slidingWindow(s.image, s.shape, 8, 4);
    expect(Array.from(reassemble(patches, positions, s.shape, 8))).toEqual(Array.from(s.image));
  });

  it('training patches are seeded, centred inside the FOV, and equal the crops of the full images', async () => {
    const dir = join(root, 'drive');
    const P = 8;
    const patches = (await drive(dir, { patches: 300, patchSize: P, seed: 4, cacheDir: false })) as DrivePatches;
    expect(patches.length).toBe(300);
    const again = (await drive(dir, { patches: 300, patchSize: P, seed: 4, cacheDir: false })) as DrivePatches;
    const other = (await drive(dir, { patches: 300, patchSize: P, seed: 5, cacheDir: false })) as DrivePatches;
    expect(again.ids).toEqual(patches.ids);
    expect(other.ids).not.toEqual(patches.ids);
    const full = await drive(dir, { mode: 'full', cacheDir: false });
    const images = [await full.get(0), await full.get(1)];
    const used = new Set<number>();
    for (let j = 0; j < 300; j += 7) {
      const s = await patches.get(j);
      const m = /^(\d+)_training@(\d+),(\d+)$/.exec(s.id)!;
      expect(m).not.toBeNull();
      const k = ['21', '22'].indexOf(m[1]);
      used.add(k);
      const y0 = Number(m[2]), x0 = Number(m[3]);
      expect(y0 >= 0 && x0 >= 0 && y0 + P <= H && x0 + P <= W).toBe(true);
      expect(disc(y0 + P / 2, x0 + P / 2)).toBe(true);
      expect(s.shape).toEqual({ channels: 3, classes: 1, height: P, width: P });
      for (const [c, y, x] of [[0, 0, 0], [2, 7, 7], [1, 3, 5]]) {
        expect(s.image[c * P * P + y * P + x]).toBe(images[k].image[c * H * W + (y0 + y) * W + x0 + x]);
      }
      expect(s.mask[3 * P + 2]).toBe((x0 + 2 + k) % 5 === 0 ? 1 : 0);
      expect(s.fov![(P / 2) * P + P / 2]).toBe(1);
    }
    expect(used.size).toBe(2);
  });
});
