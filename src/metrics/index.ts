/** Segmentation metrics (binary, and per class for several classes): confusion counts, IoU, Dice/F1, precision, recall, specificity, accuracy, AUC-ROC, ROC curve. */
export { accuracy, confusionCounts, dice, iou, precision, recall, specificity, type ConfusionCounts, type ConfusionOptions } from './confusion.js';
export { aucRoc, rocCurve, type RocCurve, type RocCurveOptions, type RocOptions } from './roc.js';
export {
  evaluate, evaluateSync, metricsFromCounts, perImage, perImageResultsSync, perImageSync, pooled, pooledSync,
  type EvaluateOptions, type EvaluationResult, type MetricInput, type Protocol,
} from './evaluate.js';
export { classIndices, perClassScores, type ClassScores, type PerClassOptions } from './per-class.js';
export { imageRows, type ImageRow } from './image-rows.js';
export { surfaceDistances, surfaceScores, volumeSurfaceDistances, type SurfaceDistances, type SurfaceOptions, type SurfaceScores } from './surface.js';
export { keepLargestComponent, labelComponents, largestLabel, type Components } from './components.js';
export { DSB_THRESHOLDS, objectScores, type ImageObjects, type ObjectScores } from './objects.js';
export { groupScores, type GroupScores } from './groups.js';
export { pairedStats, signedRank, type PairedStats } from './paired.js';
