import { Presets, SingleBar } from 'cli-progress';
import type { ClassScores, GroupScores, ObjectScores, SurfaceScores } from '../metrics/index.js';
import type { EpochInfo, StepInfo } from '../train/index.js';

/** Formats seconds as m:ss or h:mm:ss. */
export function duration(s: number): string {
  if (!Number.isFinite(s)) return '–';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * Training progress for the terminal: a cli-progress bar per epoch (step, images/s, ETA, loss) on a TTY,
 * one line per epoch otherwise (CI logs, pipes).
 */
export class TrainingProgress {
  private bar: SingleBar | null = null;
  private readonly tty: boolean;
  private rate = 0;

  constructor(private readonly quiet = false) {
    this.tty = Boolean(process.stderr.isTTY) && !quiet;
  }

  startEpoch(epoch: number, epochs: number, batches: number): void {
    if (!this.tty) return;
    this.bar = new SingleBar(
      { format: `epoch ${epoch + 1}/${epochs} {bar} {value}/{total} steps | {rate} img/s | ETA {eta_formatted} | loss {loss}{extra}`, hideCursor: true, clearOnComplete: false, stream: process.stderr },
      Presets.shades_classic,
    );
    this.bar.start(batches, 0, { rate: '–', loss: '–', extra: '' });
  }

  step(info: StepInfo): void {
    this.rate = this.rate ? 0.8 * this.rate + 0.2 * info.imagesPerSecond : info.imagesPerSecond;
    const extra = info.baseLoss !== undefined ? ` | base ${info.baseLoss.toFixed(4)}${info.belowDelta ? ' (<δ, ×' + info.gradMultiplier!.toFixed(1) + ')' : ''}` : '';
    this.bar?.update(info.batch, { rate: this.rate.toFixed(1), loss: info.loss.toFixed(4), extra });
  }

  epoch(info: EpochInfo): void {
    this.bar?.stop();
    this.bar = null;
    if (this.quiet) return;
    const v = info.val ? ` | val loss ${info.val.loss.toFixed(4)} IoU ${info.val.iou.toFixed(4)} Dice ${info.val.dice.toFixed(4)}` : '';
    const all = info.belowDeltaShare !== undefined ? ` | steps below δ ${(info.belowDeltaShare * 100).toFixed(0)}%` : '';
    console.error(`epoch ${info.epoch + 1}/${info.epochs}: train loss ${info.trainLoss.toFixed(4)}${v}${all} | ${duration(info.seconds)}`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/**
 * A bar over `total` items (images evaluated…) on a terminal, nothing otherwise so logs stay clean:
 * `update(done, total)` as work finishes, `stop()` at the end (or on an error).
 */
export function countBar(label: string, unit: string, quiet = false, stream: NodeJS.WriteStream = process.stderr): { update: (done: number, total: number) => void; stop: () => void } {
  const tty = Boolean(stream.isTTY) && !quiet;
  let bar: SingleBar | null = null;
  return {
    update(done, total) {
      if (!tty) return;
      if (!bar) {
        bar = new SingleBar({ format: `${label} {bar} {value}/{total} ${unit} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true, stream }, Presets.shades_classic);
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

/** The per-class scores of a multi-class evaluation (classes 1…K−1; n/a where there was nothing to score). */
export function classTable(perClass: readonly ClassScores[]): string {
  return textTable(['class', 'IoU', 'Dice', 'precision', 'recall', 'HD95 (px)'], perClass.map((c) => [String(c.class), c.iou, c.dice, c.precision, c.recall, c.hd95]));
}

/**
 * The boundary distances in one line: HD95 and ASSD in pixels over the images where both sides have
 * foreground, and the images they leave out (a missed object is a failure the mean cannot show).
 * @example surfaceLine({ hd95: 3.2, assd: 1.05, images: 38, emptyPrediction: 2, emptyMask: 0 }) // 'boundary: HD95 3.20 px, ASSD 1.05 px (38 images; 2 with the object missed entirely)'
 */
export function surfaceLine(s: SurfaceScores): string {
  const left = [
    ...(s.emptyPrediction ? [`${s.emptyPrediction} with the object missed entirely`] : []),
    ...(s.emptyMask ? [`${s.emptyMask} with foreground predicted where the mask has none`] : []),
  ];
  const also = left.length ? `; ${left.join(', ')}` : '';
  if (!s.images) return `boundary: HD95 and ASSD n/a (no image has foreground in both the prediction and the mask${also})`;
  return `boundary: HD95 ${s.hd95.toFixed(2)} px, ASSD ${s.assd.toFixed(2)} px (${s.images} image${s.images === 1 ? '' : 's'}${also})`;
}

/**
 * The object counts in one line: connected components of the masks and the predictions, those matched
 * at IoU > 0.5 with the object F1, and the Data Science Bowl's score.
 * @example objectLine({ trueObjects: 312, predictedObjects: 298, matched: 270, f1: 0.885, dsb: 0.61, perImage: [] }) // 'objects: 312 in the masks, 298 predicted, 270 matched at IoU > 0.5 (F1 0.8852) · Data Science Bowl score 0.6100'
 */
export function objectLine(o: ObjectScores): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
  return `objects: ${o.trueObjects} in the masks, ${o.predictedObjects} predicted, ${o.matched} matched at IoU > 0.5 (F1 ${f(o.f1)}) · Data Science Bowl score ${f(o.dsb)}`;
}

/**
 * The per-volume scores in one line: each volume's slices pooled, then the mean over the volumes.
 * @example groupLine({ groups: 3, iou: 0.7, dice: 0.81, perGroup: [] }) // 'per volume (3 volumes, each one's slices pooled): Dice 0.8100, IoU 0.7000'
 */
export function groupLine(g: GroupScores): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
  const classes = g.classDice ? `; Dice of class ${g.classDice.map((d, k) => `${k + 1}: ${f(d)}`).join(', ')}` : '';
  const boundary = g.hd95 !== undefined ? `, HD95 ${Number.isFinite(g.hd95) ? g.hd95.toFixed(2) : 'n/a'} and ASSD ${Number.isFinite(g.assd!) ? g.assd!.toFixed(2) : 'n/a'} in the volumes' units (3D)` : '';
  return `per volume (${g.groups} volume${g.groups === 1 ? '' : 's'}, each one's slices pooled): Dice ${f(g.dice)}, IoU ${f(g.iou)}${boundary}${classes}`;
}

/** A plain text table with aligned columns; numbers with four decimals (a perfect score reads 1.0000, not 1), so counts go in as strings. */
export function textTable(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isFinite(c) ? c.toFixed(4) : 'n/a') : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]): string => r.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
