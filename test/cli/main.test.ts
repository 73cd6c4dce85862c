import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { nearest } from '../../src/cli/args.js';
import { invertedMasksWarning, sliceLeakWarning } from '../../src/cli/common.js';
import { countBar, groupLine, objectLine, surfaceLine, textTable } from '../../src/cli/progress.js';
import { VERSION } from '../../src/index.js';
import { captured } from '../helpers/cli.js';

describe('segrad (the binary)', () => {
  it('prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const r = await captured(() => main(['--version']));
    expect(r.value).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
  });

  it('lists every command with its summary in --help, and each command has its own --help', async () => {
    const r = await captured(() => main(['--help']));
    expect(r.value).toBe(0);
    for (const c of commands) expect(r.out).toContain(`${c.name}`), expect(r.out).toContain(c.summary);
    for (const c of commands) {
      const h = await captured(() => main([c.name, '--help']));
      expect(h.value).toBe(0);
      expect(h.out).toBe(c.usage);
    }
  });

  it('rejects an unknown command with exit code 2 and the help', async () => {
    const r = await captured(() => main(['trian']));
    expect(r.value).toBe(2);
    expect(r.err).toMatch(/unknown command 'trian' \(did you mean 'segrad train'\?\)/);
    expect(r.err).toContain('commands:');
    expect((await captured(() => main(['frobnicate']))).err).toMatch(/unknown command 'frobnicate'\n/);
  });

  it('segrad help COMMAND prints that command\'s help', async () => {
    const r = await captured(() => main(['help', 'predict']));
    expect(r.value).toBe(0);
    expect(r.out).toBe(commands.find((c) => c.name === 'predict')!.usage);
  });

  it('a typo of an option or command is one edit away: swapped neighbours count once; far or ambiguous words get no guess', () => {
    expect(nearest('trian', ['train', 'eval'])).toBe('train');
    expect(nearest('epochz', ['epochs', 'batch'])).toBe('epochs');
    expect(nearest('lr0', ['lr', 'out'])).toBeUndefined(); // two letters allow no edit
    expect(nearest('zzz', ['train', 'eval'])).toBeUndefined();
    expect(nearest('evl', ['eval', 'evil'])).toBeUndefined(); // two equally near
  });
});

describe('a closed pipe', () => {
  it('ends the CLI quietly with status 0 (segrad … | head), not with an EPIPE stack trace', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'segrad-pipe-')), 'g.svg');
    const args = ['plot-gradients', '--size', '8', '--points', '2', '--out', out]; // a table of several lines
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'test/helpers/segrad-cli.ts', ...args], { cwd: resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first line is written
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(err).not.toMatch(/EPIPE/);
    expect(code).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 30_000);
});

describe('invertedMasksWarning', () => {
  it('speaks above 70 % foreground only', () => {
    expect(invertedMasksWarning(0.92)).toMatch(/^warning: the masks are 92 % foreground; if they draw the objects dark on a light background, they are inverted/);
    expect(invertedMasksWarning(0.7)).toBeNull();
    expect(invertedMasksWarning(NaN)).toBeNull();
  });
});

describe('sliceLeakWarning', () => {
  const data = (ids: string[], groups?: string[]) => ({ name: 'folder(x)', length: ids.length, ids, get: async () => { throw new Error('unused'); }, ...(groups ? { groups } : {}) });
  it('names slices split at random and the groups option that keeps a patient whole', () => {
    expect(sliceLeakWarning(data(['patient_012_slice045', 'patient_012_slice046']))).toMatch(/ids such as patient_012_slice045 look like slices of one scan; .* --data '…\?groups=_slice' \(the id's part before '_slice' names the patient\)/);
    expect(sliceLeakWarning(data(['case3-frame2']))).toMatch(/groups=-frame/);
    expect(sliceLeakWarning(data(['ct7_z12']))).toMatch(/groups=_z'/);
    // grouped already, or names that say nothing of slices: no warning
    expect(sliceLeakWarning(data(['patient_012_slice045'], ['patient_012']))).toBeNull();
    expect(sliceLeakWarning(data(['ISIC_0000001', 'slice_only']))).toBeNull();
  });
});

describe('textTable', () => {
  it('aligns columns and writes every number with four decimals, a perfect score too; strings as they are', () => {
    const lines = textTable(['epoch', 'IoU', 'AUC'], [['1', 1, 0.25], ['10', 0, NaN]]).split('\n');
    expect(lines).toEqual(['epoch  IoU     AUC   ', '-----  ------  ------', '1      1.0000  0.2500', '10     0.0000  n/a   ']);
  });
});

describe('surfaceLine', () => {
  it('gives HD95 and ASSD with the images they cover, and names the images left out', () => {
    expect(surfaceLine({ hd95: 3.2, assd: 1.049, images: 38, emptyPrediction: 2, emptyMask: 0 })).toBe('boundary: HD95 3.20 px, ASSD 1.05 px (38 images; 2 with the object missed entirely)');
    expect(surfaceLine({ hd95: 0, assd: 0, images: 1, emptyPrediction: 0, emptyMask: 3 })).toBe('boundary: HD95 0.00 px, ASSD 0.00 px (1 image; 3 with foreground predicted where the mask has none)');
    expect(surfaceLine({ hd95: NaN, assd: NaN, images: 0, emptyPrediction: 4, emptyMask: 0 })).toBe('boundary: HD95 and ASSD n/a (no image has foreground in both the prediction and the mask; 4 with the object missed entirely)');
  });
});

describe('objectLine', () => {
  it('gives the object counts, F1 and the Data Science Bowl score; n/a where there is no object', () => {
    expect(objectLine({ trueObjects: 312, predictedObjects: 298, matched: 270, f1: 0.88524, dsb: 0.61, perImage: [] })).toBe('objects: 312 in the masks, 298 predicted, 270 matched at IoU > 0.5 (F1 0.8852) · Data Science Bowl score 0.6100');
    expect(objectLine({ trueObjects: 0, predictedObjects: 0, matched: 0, f1: NaN, dsb: NaN, perImage: [] })).toBe('objects: 0 in the masks, 0 predicted, 0 matched at IoU > 0.5 (F1 n/a) · Data Science Bowl score n/a');
  });
});

describe('groupLine', () => {
  it('gives the per-volume Dice and IoU, and each class\'s Dice where there are classes', () => {
    expect(groupLine({ groups: 3, iou: 0.7, dice: 0.81, perGroup: [] })).toBe("per volume (3 volumes, each one's slices pooled): Dice 0.8100, IoU 0.7000");
    expect(groupLine({ groups: 1, iou: 0.5, dice: 0.6, perGroup: [], classDice: [0.9, NaN] })).toBe("per volume (1 volume, each one's slices pooled): Dice 0.6000, IoU 0.5000; Dice of class 1: 0.9000, 2: n/a");
    expect(groupLine({ groups: 2, iou: 0.5, dice: 0.6, perGroup: [], hd95: 4.25, assd: NaN })).toBe("per volume (2 volumes, each one's slices pooled): Dice 0.6000, IoU 0.5000, HD95 4.25 and ASSD n/a in the volumes' units (3D)");
  });
});

describe('countBar', () => {
  /** A stand-in terminal that keeps what is written to it. */
  const terminal = (isTTY: boolean) => {
    const written: string[] = [];
    const stream = { isTTY, columns: 100, write: (t: string) => written.push(t), cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => stream, removeListener: () => stream } as unknown as NodeJS.WriteStream;
    return { stream, text: () => written.join('') };
  };

  it('draws a bar with the count on a terminal, and nothing in a log or with quiet', () => {
    const tty = terminal(true);
    const bar = countBar('evaluating', 'images', false, tty.stream);
    bar.update(2, 5);
    bar.stop();
    expect(tty.text()).toMatch(/evaluating .*2\/5 images/);
    for (const [isTTY, quiet] of [[false, false], [true, true]]) {
      const t = terminal(isTTY);
      const b = countBar('evaluating', 'images', quiet, t.stream);
      b.update(2, 5);
      b.stop();
      expect(t.text()).toBe('');
    }
  });
});
