import { datasetFromSpec, decodeFile, imageFiles, interleavedToPlanar, isGzip, loadSharp, niftiLabels, readImageInfo, readNifti, resizeBilinear, sliceGeometry, volumeSlicer, windowFromSpec } from '../../data/index.js';
import { classIndices, keepLargestComponent, labelComponents, largestLabel } from '../../metrics/index.js';
import { mirroredProbabilities, probabilities } from '../../train/index.js';
import { noGrad, tensor, tidy } from '../../tensor/index.js';
import { numberOpt, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { selectBackend } from '../common.js';
import { loadRunModel, openRun, type RunConfig } from './eval.js';

const usage = `segrad predict: segment images with a trained run; writes a mask and an overlay per image

usage: segrad predict IMAGE|FOLDER... --run DIR [options]

  --run DIR           run folder written by 'segrad train'
  --out DIR           where to write <name>_mask.png and <name>_overlay.png, or <name>_mask.nii.gz
                      (default DIR/predictions)
  --threshold X       one-class runs: foreground where the probability is >= X (default 0.5)
  --checkpoint C      best (default) | last
  --size HxW          the model's input size (default: the run's, as config.json records it)
  --tta               test-time augmentation: average the prediction with those of the image mirrored
                      left-right, upside down and both (four passes, as nnU-Net does)
  --keep-largest      keep only the largest predicted object of each image (one object per image, such
                      as a skin lesion), of each volume in 3D (one organ); one-class runs
  --backend B         cpu (default) | gpu[:mode]

Each image is read as the run's training images were (with the window of its --data, if it has one),
resized to the training size, segmented, and the probability map is resized back to the image's own
size (bilinear) before thresholding. The mask is 0/255; a run with classes=K writes each pixel's most
probable class index 0…K−1 instead (read back with ?classes=K). The overlay tints the predicted
foreground red (40 %), or class 1 red, 2 green, 3 blue, 4 yellow, 5 magenta, 6 cyan.
JPEG, PNG, TIFF, GIF and WebP are read; a folder stands for the image files in it. A NIfTI volume
(.nii, .nii.gz; a run trained on nifti: data) is segmented slice by slice, each slice read as training
read them, into <name>_mask.nii.gz: uint8 labels in the volume's own geometry.

examples:
  segrad predict scans/*.png --run runs/unet-all --out predictions
  segrad predict scans/ --run runs/unet-all
  segrad predict ISIC_0000000.jpg --run runs/isic-all --threshold 0.4 --checkpoint last`;

const KNOWN = ['run', 'out', 'threshold', 'checkpoint', 'size', 'tta', 'keep-largest', 'backend'];

/** Overlay tints: one class red; several classes these in turn (class 1 red, 2 green, …). */
const CLASS_COLOURS: readonly (readonly [number, number, number])[] = [[255, 0, 0], [0, 255, 0], [0, 96, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]];

/** A one-channel probability map → 0/255 bytes at `threshold`. */
function thresholded(prob: ArrayLike<number>, threshold: number): Buffer {
  const out = Buffer.alloc(prob.length);
  for (let i = 0; i < out.length; i++) out[i] = prob[i] >= threshold ? 255 : 0;
  return out;
}

/** The image's name without folder and extension. */
function stem(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

export const predict: Command = {
  name: 'predict',
  summary: 'segment images with a trained run (masks and overlays), or NIfTI volumes (label volumes)',
  usage,
  async run(argv) {
    const { options: o, positional } = parseArgs(argv, { known: KNOWN, flags: ['tta', 'keep-largest'] }, 'predict');
    const { run, config } = await openRun(o, 'predict');
    if (positional.length === 0) throw new UsageError(`predict: no images given (usage: segrad predict IMAGE|FOLDER... --run DIR)`);
    const files = await imageFiles(positional, { volumes: true });
    const threshold = numberOpt(o, 'threshold', 0.5, 'predict');
    const backend = await selectBackend(o.backend as string | undefined);
    const { model, file: weights } = await loadRunModel(run, config, String(o.checkpoint ?? 'best'), 'predict');
    model.eval();

    const size = await trainingSize(o.size, config);
    const channels = Number(config.model.options.inChannels ?? 1);
    const classes = Number(config.model.options.outChannels ?? 1);
    if (classes > 1 && o.threshold !== undefined) throw new UsageError(`predict: --threshold applies to one-class runs; ${run.dir} has ${classes} classes and each pixel takes its most probable one`);
    if (classes > 1 && o['keep-largest']) throw new UsageError(`predict: --keep-largest keeps the largest object of a one-class run's prediction; ${run.dir} has ${classes} classes`);
    const window = windowFromSpec(config.data);
    if (channels !== 1 && channels !== 3 && !files.every(isVolume)) throw new Error(`the model of ${run.dir} takes ${channels} channels; predict reads 1- or 3-channel images (and volumes of any channel count)`);
    const out = String(o.out ?? run.path('predictions'));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(out, { recursive: true });
    const sharp = await loadSharp();
    console.error(`segrad predict: ${config.model.name} from ${weights} · input ${size[0]}×${size[1]}×${channels} · threshold ${threshold}${o.tta ? ' · mirrored (4 passes)' : ''}${o['keep-largest'] ? ' · largest object only' : ''} · backend ${backend}`);
    /** The model's class probabilities `[n, K, H, W]` of n planar images at the training size. */
    const probabilitiesOf = async (x: Float32Array, n: number): Promise<Float32Array> => {
      const prob = tidy(() =>
        noGrad(() => {
          const input = tensor(x, [n, channels, size[0], size[1]]);
          return o.tta ? mirroredProbabilities(model, input) : probabilities(model.forward(input));
        }),
      );
      try {
        return Float32Array.from(await prob.data());
      } finally {
        prob.dispose();
      }
    };

    const used = new Map<string, number>();
    let failed = 0;
    for (const file of files) {
      try {
        if (isVolume(file)) {
          const name = unique(volumeStem(file), used);
          const written = await predictVolume(file, `${out}/${name}_mask.nii.gz`, { size, channels, classes, threshold, window, axis: axisFromSpec(config.data), probabilitiesOf, keepLargest: Boolean(o['keep-largest']) });
          console.log(written);
          continue;
        }
        const info = await readImageInfo(file);
        const [H, W] = [info.height, info.width];
        const px = await decodeFile(file, { kind: 'image', channels: channels as 1 | 3, size, window });
        const x = interleavedToPlanar(px.data, px.height, px.width, channels);
        const small = await probabilitiesOf(x, 1);
        const resized = size[0] === H && size[1] === W ? small : resizeBilinear(small, classes, size[0], size[1], H, W);
        const full = o['keep-largest'] ? keepLargestComponent(resized, { shape: [1, 1, H, W], threshold }) : resized;
        const mask = classes === 1 ? thresholded(full, threshold) : Buffer.from(classIndices(full, classes, H * W));
        const rgb = await decodeFile(file, { kind: 'image', channels: 3, size: null, window });
        if (rgb.channels !== 3 || rgb.height !== H || rgb.width !== W) throw new Error(`${file}: decoded to ${rgb.width}×${rgb.height}×${rgb.channels}, expected ${W}×${H}×3`);
        const overlay = Buffer.from(rgb.data);
        for (let i = 0; i < mask.length; i++) {
          if (!mask[i]) continue;
          const tint = CLASS_COLOURS[(classes === 1 ? 0 : mask[i] - 1) % CLASS_COLOURS.length];
          for (let c = 0; c < 3; c++) overlay[3 * i + c] = Math.round(0.6 * overlay[3 * i + c] + 0.4 * tint[c]);
        }
        const name = unique(stem(file), used);
        const maskPath = `${out}/${name}_mask.png`;
        const overlayPath = `${out}/${name}_overlay.png`;
        // b-w: sharp would widen one-channel raw input to sRGB on output
        await sharp(mask, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(maskPath);
        await sharp(overlay, { raw: { width: W, height: H, channels: 3 } }).png().toFile(overlayPath);
        const counts = new Array<number>(classes === 1 ? 2 : classes).fill(0);
        for (let i = 0; i < mask.length; i++) counts[classes === 1 ? Math.min(mask[i], 1) : mask[i]]++;
        const share = (k: number) => `${((100 * counts[k]) / mask.length).toFixed(1)} %`;
        const found = classes === 1 ? `foreground ${share(1)}` : `classes ${counts.slice(1).map((_, k) => `${k + 1}: ${share(k + 1)}`).join(', ')}`;
        console.log(`${file} (${W}×${H}): ${found} → ${maskPath}, ${overlayPath}`);
      } catch (e) {
        failed++;
        const msg = (e as Error).message;
        console.error(`segrad predict: ${msg.includes(file) ? msg : `${file}: ${msg}`}`);
      }
    }
    if (failed) console.error(`segrad predict: ${failed} of ${files.length} image(s) failed`);
    return failed ? 1 : 0;
  },
};

/** A NIfTI volume's file name (.nii or .nii.gz). */
function isVolume(file: string): boolean {
  return /\.nii(\.gz)?$/i.test(file);
}

/** A volume's name without folder and .nii / .nii.gz. */
function volumeStem(file: string): string {
  return (file.split(/[\\/]/).pop() ?? file).replace(/\.nii(\.gz)?$/i, '');
}

/** `name`, or `name-2`, `name-3`… when an earlier input had the same name, so no output overwrites another. */
function unique(name: string, used: Map<string, number>): string {
  const n = (used.get(name) ?? 0) + 1;
  used.set(name, n);
  return n > 1 ? `${name}-${n}` : name;
}

/** The slicing axis of the run's nifti --data (axis=, default 2). */
function axisFromSpec(spec: string): 0 | 1 | 2 {
  const axis = Number(new URLSearchParams(spec.split('?')[1] ?? '').get('axis') ?? 2);
  return axis === 0 || axis === 1 ? axis : 2;
}

/** The model's input size: --size, the run's recorded input size, or (runs from before it was recorded) its data's first sample's. */
async function trainingSize(option: unknown, config: RunConfig): Promise<[number, number]> {
  if (typeof option === 'string') {
    const m = /^(\d+)(?:x(\d+))?$/.exec(option);
    if (!m) throw new UsageError(`predict: --size must be N or HxW, got '${option}'`);
    return [Number(m[1]), Number(m[2] ?? m[1])];
  }
  const recorded = config.inputSize as [number, number] | undefined;
  if (Array.isArray(recorded) && recorded.length === 2) return recorded;
  const data = await datasetFromSpec(config.data).catch((e: Error) => {
    throw new Error(`cannot read the run's data ${config.data} to find the training size (${e.message}); give --size HxW`);
  });
  const s = (await data.get(0)).shape;
  return [s.height, s.width];
}

/**
 * Segments a NIfTI volume slice by slice, each read as training read the run's volumes (`volumeSlicer`:
 * its window or the volume's percentiles, resized to the training size), and writes the labels (0/1, or
 * class indices) as a .nii.gz in the volume's geometry. Returns the line to print.
 */
async function predictVolume(
  file: string,
  maskPath: string,
  o: { size: [number, number]; channels: number; classes: number; threshold: number; window?: [number, number]; axis: 0 | 1 | 2; probabilitiesOf: (x: Float32Array, n: number) => Promise<Float32Array>; keepLargest: boolean },
): Promise<string> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const { gunzipSync, gzipSync } = await import('node:zlib');
  const bytes = await readFile(file);
  const volume = readNifti(isGzip(bytes) ? gunzipSync(bytes) : bytes, file);
  const [nx, ny, nz, nt] = volume.dims;
  if (nt !== o.channels) throw new Error(`${file}: has ${nt} channel(s) along its fourth axis, but the model takes ${o.channels}`);
  const geo = sliceGeometry(volume, o.axis);
  const [H, W] = [geo.height, geo.width];
  const [h, w] = o.size;
  const slice = volumeSlicer(volume, { window: o.window, size: H === h && W === w ? null : o.size, axis: o.axis });
  const labels = new Uint8Array(nx * ny * nz);
  const batch = 8;
  for (let k0 = 0; k0 < geo.count; k0 += batch) {
    const n = Math.min(batch, geo.count - k0);
    const x = new Float32Array(n * o.channels * h * w);
    for (let b = 0; b < n; b++) {
      const bytes = slice(k0 + b);
      for (let q = 0; q < bytes.length; q++) x[b * o.channels * h * w + q] = bytes[q] / 255;
    }
    const probs = await o.probabilitiesOf(x, n);
    for (let b = 0; b < n; b++) {
      const small = probs.subarray(b * o.classes * h * w, (b + 1) * o.classes * h * w);
      const full = h === H && w === W ? small : resizeBilinear(Float32Array.from(small), o.classes, h, w, H, W);
      const indices = o.classes > 1 ? classIndices(full, o.classes, H * W) : null;
      // back into the volume's voxel order
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          const q = r * W + c;
          labels[geo.voxel(k0 + b, r, c)] = indices ? indices[q] : full[q] >= o.threshold ? 1 : 0;
        }
      }
    }
  }
  if (o.keepLargest) {
    // the largest object in 3D (26-connected): one organ per scan, stray specks on other slices gone
    const { labels: parts, sizes } = labelComponents(labels, { depth: nz, height: ny, width: nx });
    const largest = largestLabel(sizes);
    for (let q = 0; q < labels.length; q++) if (parts[q] !== largest) labels[q] = 0;
  }
  await writeFile(maskPath, gzipSync(niftiLabels(volume, labels)));
  const counts = new Array<number>(Math.max(2, o.classes)).fill(0);
  for (const l of labels) counts[l]++;
  const share = (k: number): string => `${((100 * counts[k]) / labels.length).toFixed(1)} %`;
  const found = o.classes === 1 ? `foreground ${share(1)}` : `classes ${counts.slice(1).map((_, k) => `${k + 1}: ${share(k + 1)}`).join(', ')}`;
  return `${file} (${nx}×${ny}×${nz}): ${found} → ${maskPath}`;
}
