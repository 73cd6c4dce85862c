import { describe, expect, it } from 'vitest';
import { comparisonHtml, comparisonMarkdown, meanStd, pairedComparison, pairedT, resultsCsv, summarize, withForeground, type CompareRow } from '../../src/train/index.js';

const row = (loss: string, seed: number, iou: number, dice: number, imbalance: number | null = null): CompareRow => ({
  model: 'unet', loss, seed, imbalance, iou, dice, precision: 0.5, recall: 0.6, specificity: 0.9, auc: 0.95, seconds: 1,
});

describe('loss comparison summaries', () => {
  it('mean ± sample std (n − 1) over seeds', () => {
    expect(meanStd([1, 2, 3, 4]).mean).toBe(2.5);
    expect(meanStd([1, 2, 3, 4]).std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(meanStd([0.7]).std).toBeNaN();
    expect(meanStd([NaN, 1, 3]).mean).toBe(2); // NaN metrics (e.g. AUC of an all-background set) are left out
    const s = summarize([row('dice', 0, 0.6, 0.75), row('dice', 1, 0.8, 0.85), row('all', 0, 0.7, 0.8)]);
    expect(s.map((x) => [x.loss, x.seeds])).toEqual([['dice', 2], ['all', 1]]);
    expect(s[0].metrics.iou.mean).toBeCloseTo(0.7, 12);
    expect(s[0].metrics.iou.std).toBeCloseTo(Math.SQRT2 * 0.1, 12);
  });

  it('paired comparison: per-seed differences, mean, t = mean/(sd/√n), sign counts; n/a where a loss is absent', () => {
    // Hand-computed: d = [0.05, 0.04, −0.01], mean 0.08/3, sd = √(Σ(d − mean)²/2).
    const rows = [row('all', 0, 0.7, 0.8), row('all', 1, 0.74, 0.83), row('all', 2, 0.71, 0.8), row('dice', 0, 0.65, 0.78), row('dice', 1, 0.7, 0.8), row('dice', 2, 0.72, 0.81)];
    const [p] = pairedComparison(rows);
    expect(p.seeds).toEqual([0, 1, 2]);
    p.iou.forEach((d, i) => expect(d).toBeCloseTo([0.05, 0.04, -0.01][i], 12));
    const mean = 0.08 / 3;
    const sd = Math.sqrt(((0.05 - mean) ** 2 + (0.04 - mean) ** 2 + (-0.01 - mean) ** 2) / 2);
    expect(p.stats.iou.mean).toBeCloseTo(mean, 12);
    expect(p.stats.iou.t).toBeCloseTo(mean / (sd / Math.sqrt(3)), 10);
    expect(p.stats.iou.t).toBeCloseTo(1.4368, 3);
    expect([p.stats.iou.better, p.stats.iou.worse]).toEqual([2, 1]);
    expect(pairedT([0.1])).toBeNaN();
    expect(pairedT([0.1, 0.1])).toBeNaN();

    const md = comparisonMarkdown(rows);
    expect(md).toContain('| ALL | 3 | ');
    expect(md).toContain('| unet | – | 0, 1, 2 | +0.0500, +0.0400, -0.0100 | +0.0267 | 1.4368 |');
    expect(md).toContain('| 2 / 1 of 3 |');

    // Only Dice: the paired section says n/a. A seed run for one loss only is left out of the pairs.
    expect(comparisonMarkdown(rows.filter((r) => r.loss === 'dice'))).toMatch(/needs runs of both ALL and Dice/);
    expect(pairedComparison([...rows, row('all', 3, 0.9, 0.9)])[0].seeds).toEqual([0, 1, 2]);
    // One seed: no spread, so ± n/a and t n/a.
    const one = comparisonMarkdown([row('all', 0, 0.7, 0.8), row('dice', 0, 0.6, 0.7)]);
    expect(one).toContain('0.7000 ± n/a');
    expect(one).toMatch(/\| \+0\.1000 \| n\/a \|/);
  });

  it('groups by foreground fraction, writes the CSV and a chart of IoU against the fraction', () => {
    const rows = [0.02, 0.1].flatMap((f) => [row('dice', 0, 0.5 + f, 0.6, f), row('dice', 1, 0.52 + f, 0.6, f), row('all', 0, 0.55 + f, 0.6, f), row('all', 1, 0.56 + f, 0.6, f)]);
    const md = comparisonMarkdown(rows);
    expect(md.indexOf('## unet · foreground 2%')).toBeLessThan(md.indexOf('## unet · foreground 10%'));
    expect((md.match(/^\| unet \| (2|10)% \|/gm) ?? []).length).toBe(2);
    const csv = resultsCsv(rows).trim().split('\n');
    expect(csv[0]).toBe('model,loss,seed,imbalance,iou,dice,precision,recall,specificity,auc,seconds,below_delta,lowest_base,hd95,assd');
    expect(csv).toHaveLength(9);
    expect(csv[1]).toBe('unet,dice,0,0.02,0.520000,0.600000,0.500000,0.600000,0.900000,0.950000,1.0,,,,');
    expect(resultsCsv([{ ...rows[2], belowDelta: 0.25, lowestBase: 0.0625, hd95: 2.5, assd: NaN }]).split('\n')[1]).toMatch(/,1\.0,0\.250000,0\.062500,2\.500000,NaN$/);
    const html = comparisonHtml(rows, md);
    expect(html).toContain('log10 foreground fraction');
    expect((html.match(/class="series"/g) ?? []).length).toBe(4); // IoU and Dice panels × 2 losses
  });

  it('the paired table gives the share of ALL steps below δ; where it is 0, a note says ALL trained as its base', () => {
    const at = (below: number, lowest: number, f: number) => [
      { ...row('all', 0, 0.6, 0.7, f), belowDelta: below, lowestBase: lowest },
      { ...row('all', 1, 0.6, 0.7, f), belowDelta: below / 2, lowestBase: lowest + 0.1 },
      row('dice', 0, 0.6, 0.7, f),
      row('dice', 1, 0.6, 0.7, f),
    ];
    const acting = comparisonMarkdown(at(0.5, 0.05, 0.1));
    expect(acting).toMatch(/\| ALL steps below δ \|\n/);
    expect(acting).toMatch(/\| 0 \/ 0 of 2 \| 37\.5% \|/);
    expect(acting).not.toMatch(/never went below δ/);
    const idle = comparisonMarkdown([...at(0, 0.4123, 0.02), ...at(0.5, 0.05, 0.1)]);
    expect(idle).toMatch(/\| 0 \/ 0 of 2 \| 0% \|/);
    expect(idle).toMatch(/ALL's base loss never went below δ in the runs at unet 2% \(the lowest was 0\.4123\)\. .*same gradient.*zero by construction.*--all-opt delta=/);
    expect(comparisonMarkdown(at(0, 0.3, 0.02))).toMatch(/never went below δ in any of these runs \(the lowest was 0\.3000\)/);
    // rows without the record (older runs, other losses): a dash, no note
    const old = comparisonMarkdown([row('all', 0, 0.7, 0.8), row('dice', 0, 0.6, 0.7)]);
    expect(old).toMatch(/\| 1 \/ 0 of 1 \| – \|/);
    expect(old).not.toMatch(/never went below/);
  });

  it('imbalance levels set foreground= in synthetic specs only', () => {
    expect(withForeground('synthetic:blobs?count=20&foreground=0.2', 0.05)).toBe('synthetic:blobs?count=20&foreground=0.05');
    expect(withForeground('synthetic:vessels', 0.3)).toBe('synthetic:vessels?foreground=0.3');
    expect(() => withForeground('isic2018:/data/isic', 0.1)).toThrow(/need synthetic data/);
    expect(() => withForeground('synthetic:blobs', 1.5)).toThrow(/in \(0, 1\)/);
  });
});
