import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { predict } from '../../src/cli/commands/predict.js';
import { train } from '../../src/cli/commands/train.js';
import { main } from '../../src/cli/main.js';
import { createModel, probabilities, type ModelSpec } from '../../src/train/index.js';
import { labelComponents } from '../../src/metrics/index.js';
import { noGrad, tensor } from '../../src/tensor/index.js';
import { captured } from '../helpers/cli.js';
import { writePng16 } from '../data/fixtures.js';


const root = mkdtempSync(join(tmpdir(), 'segrad-predict-'));
const run = join(root, 'run');
const img = join(root, 'img');

/** An RGB picture with a bright ellipse on a dark background, `w × h`. */
function ellipse(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = ((x - w / 2) / (w / 3)) ** 2 + ((y - h / 2) / (h / 4)) ** 2 < 1;
      const v = inside ? 210 : 30 + ((x * 7 + y * 3) % 20);
      b.set([v, Math.max(0, v - 10), v], 3 * (y * w + x));
    }
  }
  return b;
}

async function raw(file: string): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  // The channel count stored in the file; sharp's raw output would widen one-channel files to sRGB.
  const { channels } = await sharp(file).metadata();
  const { data, info } = await (channels === 1 ? sharp(file).toColourspace('b-w') : sharp(file)).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(channels);
  return { data, width: info.width, height: info.height, channels: channels! };
}

beforeAll(async () => {
  const r = await captured(() => train.run(['--data', 'synthetic:blobs?count=15&size=16&seed=1', '--widths', '4,8', '--epochs', '2', '--batch', '4', '--lr', '0.01', '--out', run, '--quiet']));
  expect(r.value).toBe(0);
  mkdirSync(img);
  await sharp(ellipse(30, 22), { raw: { width: 30, height: 22, channels: 3 } }).png().toFile(join(img, 'wide.png'));
  await sharp(ellipse(16, 16), { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(img, 'native.png'));
  await sharp(ellipse(20, 28), { raw: { width: 20, height: 28, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(img, 'tall.jpg'));
  writeFileSync(join(img, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\n this is not an image'));
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('segrad predict', () => {
  it('is registered and has an example in --help', () => {
    expect(commands).toContain(predict);
    expect(predict.usage).toMatch(/examples:\n\s+segrad predict /);
  });

  it('writes a 0/255 mask and a red-tinted overlay at each image’s own size', async () => {
    const out = join(root, 'out');
    const r = await captured(() => predict.run([join(img, 'wide.png'), join(img, 'tall.jpg'), '--run', run, '--out', out]));
    expect(r.value).toBe(0);
    for (const [name, w, h, file] of [['wide', 30, 22, 'wide.png'], ['tall', 20, 28, 'tall.jpg']] as const) {
      const mask = await raw(join(out, `${name}_mask.png`));
      expect([mask.width, mask.height, mask.channels]).toEqual([w, h, 1]);
      expect(mask.data.every((v) => v === 0 || v === 255)).toBe(true);
      const overlay = await raw(join(out, `${name}_overlay.png`));
      expect([overlay.width, overlay.height, overlay.channels]).toEqual([w, h, 3]);
      const original = await raw(join(img, file));
      for (let i = 0; i < w * h; i++) {
        const [R, G, B] = [original.data[3 * i], original.data[3 * i + 1], original.data[3 * i + 2]];
        const expected = mask.data[i] ? [Math.round(0.6 * R + 102), Math.round(0.6 * G), Math.round(0.6 * B)] : [R, G, B];
        expect([overlay.data[3 * i], overlay.data[3 * i + 1], overlay.data[3 * i + 2]]).toEqual(expected);
      }
      expect(r.out).toContain(join(out, `${name}_mask.png`));
      expect(r.out).toContain(join(out, `${name}_overlay.png`));
    }
  });

  it('at the training size, the mask is the model’s own probabilities thresholded', async () => {
    const out = join(root, 'native');
    for (const threshold of ['0.5', '0', '1.01']) {
      expect((await captured(() => predict.run([join(img, 'native.png'), '--run', run, '--out', out, '--threshold', threshold]))).value).toBe(0);
      const mask = await raw(join(out, 'native_mask.png'));
      // Independently: rebuild the model from config.json, load best.safetensors, run the grey image through it.
      const config = JSON.parse((await import('node:fs')).readFileSync(join(run, 'config.json'), 'utf8')) as { model: ModelSpec };
      const model = createModel(config.model);
      await model.load(join(run, 'best.safetensors'));
      model.eval();
      const grey = await sharp(join(img, 'native.png')).grayscale().raw().toBuffer();
      const x = tensor(Float32Array.from(grey, (v) => v / 255), [1, 1, 16, 16]);
      const p = noGrad(() => probabilities(model.forward(x))).dataSync();
      const expected = Array.from(p, (v) => (v >= Number(threshold) ? 255 : 0));
      expect(Array.from(mask.data)).toEqual(expected);
      if (threshold === '0') expect(mask.data.every((v) => v === 255)).toBe(true);
      if (threshold === '1.01') expect(mask.data.every((v) => v === 0)).toBe(true);
    }
  });

  it('--tta: the mean of the four mirrored passes (each mirrored back on the host here), thresholded', async () => {
    const out = join(root, 'mirrored');
    const r = await captured(() => predict.run([join(img, 'native.png'), '--run', run, '--out', out, '--tta']));
    expect(r.value).toBe(0);
    expect(r.err).toContain('mirrored (4 passes)');
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { model: ModelSpec };
    const model = createModel(config.model);
    await model.load(join(run, 'best.safetensors'));
    model.eval();
    const grey = Float32Array.from(await sharp(join(img, 'native.png')).grayscale().raw().toBuffer(), (v) => v / 255);
    const mirror = (a: ArrayLike<number>, lr: boolean, ud: boolean) => Float32Array.from({ length: 256 }, (_, q) => a[(ud ? 15 - (q >> 4) : q >> 4) * 16 + (lr ? 15 - (q & 15) : q & 15)]);
    const mean = new Float64Array(256);
    for (const [lr, ud] of [[false, false], [true, false], [false, true], [true, true]]) {
      const p = noGrad(() => probabilities(model.forward(tensor(mirror(grey, lr, ud), [1, 1, 16, 16])))).dataSync();
      mirror(p, lr, ud).forEach((v, q) => (mean[q] += v / 4));
    }
    const mask = await raw(join(out, 'native_mask.png'));
    // pixels within float rounding of the threshold could go either way: none is, here
    expect(mean.every((v) => Math.abs(v - 0.5) > 1e-5)).toBe(true);
    expect(Array.from(mask.data)).toEqual(Array.from(mean, (v) => (v >= 0.5 ? 255 : 0)));
  });

  it('--keep-largest: only the largest predicted object is left in the mask', async () => {
    // two bright discs, 5 and 3 pixels across, far apart: the model finds both
    const discs = Buffer.alloc(16 * 16 * 3);
    for (let q = 0; q < 256; q++) {
      const [y, x] = [q >> 4, q & 15];
      const v = (y - 4) ** 2 + (x - 4) ** 2 <= 6.5 || (y - 11) ** 2 + (x - 11) ** 2 <= 2 ? 220 : 25;
      discs.fill(v, 3 * q, 3 * q + 3);
    }
    await sharp(discs, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(img, 'two.png'));
    const out = join(root, 'largest');
    const plainMask = async () => (await raw(join(out, 'two_mask.png'))).data;
    expect((await captured(() => predict.run([join(img, 'two.png'), '--run', run, '--out', out]))).value).toBe(0);
    const plain = labelComponents(await plainMask(), { height: 16, width: 16 });
    expect(plain.sizes.length).toBeGreaterThan(1);
    const r = await captured(() => predict.run([join(img, 'two.png'), '--run', run, '--out', out, '--keep-largest']));
    expect(r.value).toBe(0);
    expect(r.err).toContain('largest object only');
    const kept = await plainMask();
    const largest = plain.sizes.indexOf(Math.max(...plain.sizes)) + 1;
    expect(Array.from(kept)).toEqual(Array.from(plain.labels, (l) => (l === largest ? 255 : 0)));
  });

  it('a run with classes=K writes each pixel\'s most probable class index and tints each class its own colour', async () => {
    const multi = join(root, 'run-classes');
    cpSync(run, multi, { recursive: true });
    const config = JSON.parse(readFileSync(join(multi, 'config.json'), 'utf8')) as { model: ModelSpec };
    const spec: ModelSpec = { ...config.model, options: { ...config.model.options, outChannels: 3, seed: 7 } };
    writeFileSync(join(multi, 'config.json'), JSON.stringify({ ...config, model: spec }));
    const model = createModel(spec);
    await model.save(join(multi, 'best.safetensors'));
    model.eval();
    const out = join(root, 'classes');
    const r = await captured(() => predict.run([join(img, 'native.png'), '--run', multi, '--out', out]));
    expect(r.value).toBe(0);
    const grey = await sharp(join(img, 'native.png')).grayscale().raw().toBuffer();
    const p = noGrad(() => probabilities(model.forward(tensor(Float32Array.from(grey, (v) => v / 255), [1, 1, 16, 16])))).dataSync();
    const argmax = Array.from({ length: 256 }, (_, i) => [0, 1, 2].reduce((best, k) => (p[k * 256 + i] > p[best * 256 + i] ? k : best), 0));
    expect([...new Set(argmax)].sort()).toEqual([0, 1, 2]); // the checks below see every class
    const mask = await raw(join(out, 'native_mask.png'));
    expect(Array.from(mask.data)).toEqual(argmax);
    const overlay = await raw(join(out, 'native_overlay.png'));
    const rgb = await raw(join(img, 'native.png'));
    const tints: Record<number, number[]> = { 1: [255, 0, 0], 2: [0, 255, 0] };
    for (let i = 0; i < 256; i++) {
      const expected = [0, 1, 2].map((c) => (argmax[i] ? Math.round(0.6 * rgb.data[3 * i + c] + 0.4 * tints[argmax[i]][c]) : rgb.data[3 * i + c]));
      expect(Array.from(overlay.data.subarray(3 * i, 3 * i + 3))).toEqual(expected);
    }
    const share = (k: number) => ((100 * argmax.filter((c) => c === k).length) / 256).toFixed(1);
    expect(r.out).toContain(`native.png (16×16): classes 1: ${share(1)} %, 2: ${share(2)} % →`);
    const threshold = await captured(() => main(['predict', join(img, 'native.png'), '--run', multi, '--threshold', '0.3']));
    expect(threshold.value).toBe(2);
    expect(threshold.err).toMatch(/--threshold applies to one-class runs; .* has 3 classes/);
    const largest = await captured(() => main(['predict', join(img, 'native.png'), '--run', multi, '--keep-largest']));
    expect(largest.value).toBe(2);
    expect(largest.err).toMatch(/--keep-largest keeps the largest object of a one-class run's prediction; .* has 3 classes/);
  });

  it('reads images through the window of the run\'s --data, as training did: a 16-bit image gives the 8-bit one\'s mask and overlay', async () => {
    const windowed = join(root, 'run-window');
    cpSync(run, windowed, { recursive: true });
    const config = JSON.parse(readFileSync(join(windowed, 'config.json'), 'utf8')) as { data: string };
    writeFileSync(join(windowed, 'config.json'), JSON.stringify({ ...config, data: 'folder:/data/cells?window=0,4080' }));
    const eight = await raw(join(img, 'wide.png'));
    // 16 × v over 0…4080 maps back to v exactly
    await writePng16(join(img, 'wide16.png'), eight.height, eight.width, 3, (y, x, c) => 16 * eight.data[3 * (y * eight.width + x) + c]);
    const args = ['--size', '22x30', '--out']; // its own size: sharp resizes 8- and 16-bit pixels with different rounding
    expect((await captured(() => predict.run([join(img, 'wide.png'), '--run', run, ...args, join(root, 'w8')]))).value).toBe(0);
    expect((await captured(() => predict.run([join(img, 'wide16.png'), '--run', windowed, ...args, join(root, 'w16')]))).value).toBe(0);
    for (const kind of ['mask', 'overlay']) {
      const a = await raw(join(root, 'w8', `wide_${kind}.png`));
      const b = await raw(join(root, 'w16', `wide16_${kind}.png`));
      expect(b.data.equals(a.data), kind).toBe(true);
    }
    // without the window the same file reads 16 times darker, so the run's own images read differently
    expect((await captured(() => predict.run([join(img, 'wide16.png'), '--run', run, ...args, join(root, 'w16-plain')]))).value).toBe(0);
    expect((await raw(join(root, 'w16-plain', 'wide16_overlay.png'))).data.equals((await raw(join(root, 'w8', 'wide_overlay.png'))).data)).toBe(false);
  });

  it('takes the input size from config.json, so the run\'s data need not be there; older runs read it from the data', async () => {
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).inputSize).toEqual([16, 16]);
    const moved = join(root, 'run-moved');
    cpSync(run, moved, { recursive: true });
    const config = JSON.parse(readFileSync(join(moved, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(moved, 'config.json'), JSON.stringify({ ...config, data: `folder:${join(root, 'gone')}` }));
    const a = await captured(() => predict.run([join(img, 'native.png'), '--run', moved, '--out', join(root, 'moved-out')]));
    expect(a.value).toBe(0);
    expect(a.err).toContain('input 16×16×1');
    // an older run (no inputSize) whose data has gone needs --size, and says so
    const { inputSize: _, ...older } = config;
    writeFileSync(join(moved, 'config.json'), JSON.stringify({ ...older, data: `folder:${join(root, 'gone')}` }));
    const b = await captured(() => main(['predict', join(img, 'native.png'), '--run', moved, '--out', join(root, 'moved-out')]));
    expect(b.value).toBe(1);
    expect(b.err).toMatch(/cannot read the run's data .* give --size HxW/);
  });

  it('a folder argument stands for its image files (hidden and other files left out); an empty one is an error', async () => {
    const folder = join(root, 'scans');
    mkdirSync(folder);
    cpSync(join(img, 'wide.png'), join(folder, 'wide.png'));
    cpSync(join(img, 'tall.jpg'), join(folder, 'tall.jpg'));
    writeFileSync(join(folder, '._wide.png'), 'a macOS resource fork');
    writeFileSync(join(folder, 'notes.txt'), 'not an image');
    const out = join(root, 'from-folder');
    const r = await captured(() => predict.run([folder, '--run', run, '--out', out]));
    expect(r.value).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['tall_mask.png', 'tall_overlay.png', 'wide_mask.png', 'wide_overlay.png']);
    const single = join(root, 'from-file');
    expect((await captured(() => predict.run([join(img, 'wide.png'), '--run', run, '--out', single]))).value).toBe(0);
    expect(readFileSync(join(out, 'wide_mask.png')).equals(readFileSync(join(single, 'wide_mask.png')))).toBe(true);
    const empty = join(root, 'empty-scans');
    mkdirSync(empty);
    const none = await captured(() => main(['predict', empty, '--run', run]));
    expect(none.value).toBe(1);
    expect(none.err).toMatch(/empty-scans: a folder without image files \(\.png, \.jpg/);
  });

  it('an unreadable image is an error naming the file; the other images are still written (exit 1)', async () => {
    const out = join(root, 'mixed');
    const r = await captured(() => main(['predict', join(img, 'broken.png'), join(img, 'wide.png'), '--run', run, '--out', out]));
    expect(r.value).toBe(1);
    expect(r.err).toContain(join(img, 'broken.png'));
    expect(r.err).toMatch(/not a readable image|cannot decode/);
    expect(existsSync(join(out, 'broken_mask.png'))).toBe(false);
    expect(existsSync(join(out, 'wide_mask.png'))).toBe(true);
    const missing = await captured(() => main(['predict', join(img, 'nothere.png'), '--run', run, '--out', out]));
    expect(missing.value).toBe(1);
    expect(missing.err).toContain(join(img, 'nothere.png'));
  });

  it('usage errors exit with code 2', async () => {
    for (const [argv, message] of [
      [['predict', join(img, 'wide.png')], /--run DIR is required/],
      [['predict', join(img, 'wide.png'), '--run', join(root, 'none')], /does not exist/],
      [['predict', '--run', run], /no images given/],
      [['predict', join(img, 'wide.png'), '--run', run, '--treshold', '0.3'], /unknown option --treshold/],
    ] as [string[], RegExp][]) {
      const r = await captured(() => main(argv));
      expect(r.value, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
  });
});
