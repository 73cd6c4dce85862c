/**
 * Data: decoding, datasets (folder, ISIC 2018, DSB 2018, DRIVE, NIfTI volumes, synthetic), splits and loaders.
 * The file datasets need Node (fs, sharp), loaded lazily, so this module also bundles for the browser,
 * where synthetic data, `fromImageData`, `fromArrays`, `split` and `Loader` work.
 */
import { tensor, type Tensor } from '../tensor/index.js';
import type { Sample } from './types.js';

export type { Batch, Dataset, Sample, SampleShape, SizeOption, SkippedFile, WarningHandler } from './types.js';
export { binaryMask, fromImageData, interleavedToPlanar, maskFromImageData, MASK_THRESHOLD, oneHotMask, resizeBilinear, resizeNearest, sampleFromImageData, type ImageDataLike } from './image.js';
export { decodeCount, decodeFile, readImageInfo, type DecodeOptions, type RawPixels } from './decode.js';
export { cacheStats, DEFAULT_CACHE_DIR } from './cache.js';
export { FileDataset, type FileDatasetOptions, type FileEntry } from './file-dataset.js';
export { folderDataset, imageFiles, type FolderDatasetOptions } from './folder.js';
export { loadSharp } from './node-env.js';
export { isic2018, type Isic2018Options } from './isic2018.js';
export { dsb2018, type Dsb2018Options } from './dsb2018.js';
export { drive, DrivePatches, type DriveOptions } from './drive.js';
export { cropPatch, gaussianWeights, patchPositions, reassemble, slidingWindow, type PatchPosition } from './patches.js';
export { generateSample, synthetic, SyntheticDataset, SYNTHETIC_FOREGROUND, type SyntheticKind, type SyntheticOptions } from './synthetic.js';
export { split, SubsetDataset, type SplitOptions } from './split.js';
export { augmentSample, Loader, stack, type AugmentOptions, type LoaderOptions } from './loader.js';
export { datasetFromSpec, DATASET_KINDS, DATASET_OPTIONS, windowFromSpec } from './spec.js';
export { fromArrays, type ArraySample, type FromArraysOptions } from './arrays.js';
export { foregroundShare } from './foreground.js';
export { summarizeDataset, type DatasetSummary } from './summary.js';
export { isGzip, niftiLabels, readNifti, sliceGeometry, type NiftiVolume, type SliceGeometry } from './nifti.js';
export { niftiDataset, volumeSlicer, type NiftiDatasetOptions } from './nifti-dataset.js';

/** A sample as tensors: image `[C, H, W]`, mask `[K, H, W]` (float32). The caller disposes them. */
export function sampleToTensors(sample: Sample): { image: Tensor; mask: Tensor; id: string } {
  const { channels, classes, height, width } = sample.shape;
  return { image: tensor(sample.image, [channels, height, width]), mask: tensor(sample.mask, [classes, height, width]), id: sample.id };
}
