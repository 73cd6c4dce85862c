import { LOSS_NAMES, lossByName } from '../../losses/index.js';
import { compareLosses, MODEL_NAMES, runName, writeComparison, type ModelName } from '../../train/index.js';
import { listOpt, numberOpt, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { lossOptions, selectBackend, shellCommand, withOut } from '../common.js';
import { duration } from '../progress.js';
import { QUICK } from './train.js';

/** The losses of the paper's Table 3 (plus Focal Tversky, its Table 4), compared by default. */
const DEFAULT_LOSSES = ['dice', 'jaccard', 'tversky', 'focal', 'combo', 'focal-tversky', 'all'];
/** Epochs of the quick comparison (QUICK's data and model, no --data). */
const QUICK_EPOCHS = 4;

const usage = `segrad compare-losses: the paper's Table 3 — train one model per loss and seed, score each on the
held-out 20 %, and tabulate mean ± std over seeds, with a paired comparison of ALL against Dice

usage: segrad compare-losses [options]

  --losses LIST       losses to compare (default ${DEFAULT_LOSSES.join(',')}); 'all' is ALL (base Dice)
  --all-opt K=V       option of ALL, repeatable: omega, epsilon, delta (default 10, 0.5, 0.1), base (default dice)
  --models LIST       unet (default) | focusnet | attention-unet, comma-separated
  --data SPEC         dataset (default: the quick synthetic set ${QUICK.data})
  --seeds N|LIST      number of seeds (0…N−1) or a list, e.g. 0,1,2 or 4, (default 3); the split, the
                      initialisation and the shuffling follow the seed, the same for every loss
  --imbalance LIST    foreground fractions to sweep, e.g. 0.005,0.02,0.1,0.3 (synthetic data only: sets foreground=)
  --epochs N          (default 50; quick comparison ${QUICK_EPOCHS})
  --batch N           batch size (default 16; quick ${QUICK.batch})
  --lr X              Adam learning rate (default 1e-4; quick ${QUICK.lr})
  --widths LIST       U-Net widths, bottleneck last (quick ${QUICK.widths.join(',')})
  --protocol P        per-image (default) | pooled metrics
  --max-batches N     at most N batches per epoch
  --backend B         cpu (default) | gpu[:mode]
  --out DIR           comparison folder (default runs/compare-<time>): results.csv, table.md, report.html
                      and runs/<model>-<loss>-s<seed>[-fg<fraction>]/; rerunning with the same settings
                      reuses the finished runs
  --quiet             print only the table

examples:
  segrad compare-losses --losses dice,all --seeds 3 --imbalance 0.02,0.1 --out runs/cmp
  segrad compare-losses --losses dice,all --all-opt delta=0.3 --out runs/cmp-delta
  segrad compare-losses --data isic2018:/data/isic --losses dice,jaccard,tversky,focal,combo,all --epochs 50`;

const KNOWN = ['losses', 'all-opt', 'models', 'data', 'seeds', 'imbalance', 'epochs', 'batch', 'lr', 'widths', 'protocol', 'max-batches', 'backend', 'out', 'quiet'];

function seedList(v: string | boolean | string[] | undefined): number[] {
  if (v === undefined) return [0, 1, 2];
  const s = String(v);
  // a list has a comma: '4,' is seed 4 alone, where '4' is the count (seeds 0…3)
  const list = s.includes(',') ? s.split(',').filter((x) => x.trim() !== '').map(Number) : Number.isInteger(Number(s)) && Number(s) > 0 ? Array.from({ length: Number(s) }, (_, i) => i) : [NaN];
  if (list.length === 0 || list.some((x) => !Number.isInteger(x) || x < 0) || new Set(list).size !== list.length) {
    throw new UsageError(`compare-losses: --seeds must be a count (e.g. 3) or a list of different seeds (e.g. 0,1,2; one seed: 4,), got '${s}'`);
  }
  return list;
}

export const compareLossesCommand: Command = {
  name: 'compare-losses',
  summary: "compare losses over seeds (and class imbalance): the paper's Table 3 with mean ± std",
  usage,
  async run(argv) {
    const { options: o, positional } = parseArgs(argv, { known: KNOWN, flags: ['quiet'], repeatable: ['all-opt'] }, 'compare-losses');
    if (positional.length) throw new UsageError(`compare-losses: unexpected argument '${positional[0]}' (see 'segrad compare-losses --help')`);
    const quick = o.data === undefined;
    const losses = listOpt(o, 'losses', DEFAULT_LOSSES);
    for (const l of losses) if (!(LOSS_NAMES as readonly string[]).includes(l)) throw new UsageError(`compare-losses: unknown loss '${l}'; expected one of ${LOSS_NAMES.join(', ')}`);
    if (new Set(losses).size !== losses.length) throw new UsageError(`compare-losses: --losses lists a loss twice`);
    const allOptions = lossOptions({ 'loss-opt': o['all-opt'] ?? [] });
    if (Object.keys(allOptions).length) {
      if (!losses.includes('all')) throw new UsageError(`compare-losses: --all-opt is given but 'all' is not in --losses`);
      try {
        lossByName('all', allOptions);
      } catch (e) {
        throw new UsageError(`compare-losses: --all-opt: ${(e as Error).message}`);
      }
    }
    const models = listOpt(o, 'models', ['unet']) as ModelName[];
    for (const m of models) if (!MODEL_NAMES.includes(m)) throw new UsageError(`compare-losses: unknown model '${m}'; expected one of ${MODEL_NAMES.join(', ')}`);
    const seeds = seedList(o.seeds as string | undefined);
    const data = quick ? QUICK.data : String(o.data);
    const imbalance = listOpt(o, 'imbalance', []).map(Number);
    if (imbalance.some((f) => !(f > 0 && f < 1))) throw new UsageError(`compare-losses: --imbalance takes foreground fractions in (0, 1), got '${listOpt(o, 'imbalance', []).join(',')}'`);
    if (imbalance.length && !data.startsWith('synthetic:')) throw new UsageError(`compare-losses: --imbalance needs synthetic data (it sets foreground=); '${data}' is not synthetic`);
    const widths = o.widths !== undefined ? listOpt(o, 'widths', []).map(Number) : quick ? QUICK.widths : undefined;
    if (widths?.some((w) => !Number.isInteger(w) || w <= 0)) throw new UsageError(`compare-losses: --widths must be positive integers, got '${String(o.widths)}'`);
    const epochs = numberOpt(o, 'epochs', quick ? QUICK_EPOCHS : 50, 'compare-losses');
    const batchSize = numberOpt(o, 'batch', quick ? QUICK.batch : 16, 'compare-losses');
    const lr = numberOpt(o, 'lr', quick ? QUICK.lr : 1e-4, 'compare-losses');
    const protocol = String(o.protocol ?? 'per-image');
    if (protocol !== 'per-image' && protocol !== 'pooled') throw new UsageError(`compare-losses: --protocol must be per-image or pooled, got '${protocol}'`);
    const out = String(o.out ?? `runs/compare-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
    const quiet = Boolean(o.quiet);
    const log = (s: string): void => {
      if (!quiet) console.error(s);
    };
    const backend = await selectBackend(o.backend as string | undefined);
    const total = models.length * losses.length * seeds.length * Math.max(1, imbalance.length);
    log(`segrad compare-losses: ${total} runs = ${models.join(',')} × ${losses.join(',')} × seeds ${seeds.join(',')}${imbalance.length ? ` × foreground ${imbalance.join(',')}` : ''} · data ${data} · ${epochs} epochs, batch ${batchSize}, lr ${lr}${widths ? `, widths ${widths.join(',')}` : ''} · backend ${backend}`);
    log(`comparison folder: ${out}`);

    const t0 = performance.now();
    let [started, finished] = [0, 0];
    // Ctrl-C: the finished runs stay in the folder, and the same command reuses them
    const interrupted = (): void => {
      const again = shellCommand(['segrad', 'compare-losses', ...withOut(argv, out)]);
      console.error(`\nsegrad compare-losses: stopped in run ${started} of ${total}; the ${finished} finished run(s) are kept in ${out}/runs, and this command goes on from there, reusing them:\n  ${again}`);
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    const rows = await compareLosses({
      data, losses, models, seeds, lossOptions: Object.keys(allOptions).length ? { all: allOptions } : undefined, imbalance, epochs, batchSize, lr, widths, protocol,
      modelOptions: quick ? { dropout: 0 } : undefined,
      maxBatchesPerEpoch: o['max-batches'] !== undefined ? numberOpt(o, 'max-batches', 0, 'compare-losses') : undefined,
      outDir: out,
      onRunStart: (k, i, n) => {
        started = i + 1;
        log(`[${i + 1}/${n}] ${runName(k)} …`);
      },
      onRun: (r, i, n, reused) => {
        finished++;
        log(`[${i + 1}/${n}] ${r.model} · ${r.loss} · seed ${r.seed}${r.imbalance === null ? '' : ` · foreground ${r.imbalance}`}: IoU ${r.iou.toFixed(4)} Dice ${r.dice.toFixed(4)} recall ${r.recall.toFixed(4)} AUC ${r.auc.toFixed(4)}${typeof r.belowDelta === 'number' ? ` · steps below δ ${Math.round(100 * r.belowDelta)}%` : ''} (${reused ? 'reused' : duration(r.seconds)})`);
      },
    }).finally(() => process.off('SIGINT', interrupted));
    const settings = `Command: \`segrad compare-losses ${argv.join(' ')}\`. Data ${data}; models ${models.join(', ')}; ${epochs} epochs, batch ${batchSize}, Adam lr ${lr}${widths ? `, widths ${widths.join(',')}` : ''}; ALL ${Object.keys(allOptions).length ? Object.entries(allOptions).map(([k, v]) => `${k}=${v}`).join(', ') : 'with its defaults (base Dice, ω = 10, ε = 0.5, δ = 0.1)'}; seeds ${seeds.join(', ')} (mean ± sample std over seeds); metrics ${protocol} on the held-out 20 % at threshold 0.5; backend ${backend}.`;
    const md = await writeComparison(out, rows, { title: 'Loss comparison (Table 3 layout)', settings });
    console.log(md);
    log(`${rows.length} runs in ${duration((performance.now() - t0) / 1000)} · wrote ${out}/results.csv, ${out}/table.md, ${out}/report.html`);
    return 0;
  },
};
