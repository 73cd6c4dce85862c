/** Training: `fit`, evaluation, checkpoints (safetensors, atomic), run folders and HTML reports. */
export { foreground, mirroredProbabilities, probabilities, toLossInput } from './outputs.js';
export { predictSlidingWindow, type SlidingWindowOptions } from './sliding-window.js';
export { evaluateModel, fit, NonFiniteError, predictBatch, type EpochInfo, type ModelEvaluation, type FitOptions, type FitResult, type Scheduler, type StepInfo } from './trainer.js';
export { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
export { gradNorms, layerGroup, type GradNorms } from './grad-norms.js';
export { createModel, MODEL_NAMES, sizeMultiple, type ModelName, type ModelSpec } from './model-registry.js';
export { RunFolder, writeFileAtomic } from './run-folder.js';
export { writeReport, type ReportExample, type ReportOptions } from './report.js';
export { compareLosses, comparisonHtml, comparisonMarkdown, meanStd, pairedComparison, pairedT, resultsCsv, runName, summarize, withForeground, writeComparison, METRIC_KEYS, type CompareOptions, type CompareRow, type PairedResult, type RunKey, type SummaryRow } from './compare.js';
export { gradientNormAt, gradientProfile, type GradientPoint, type GradientProfileOptions } from './gradient-profile.js';
