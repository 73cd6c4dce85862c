/**
 * The run folder of a training run (Node only): `config.json`, `metrics.jsonl` (one JSON line per step
 * and per epoch), checkpoints and `report.html`. Every file that must survive a crash is written
 * atomically: a temporary file in the same folder, then a rename.
 */
import { nodeFs as fs } from '../data/node-env.js';
import { writeFileAtomic } from '../tensor/node-only.js';

export { writeFileAtomic };

/** What a training run writes in its folder (train and eval; the report and scores come after fit). */
const RUN_FILES = ['config.json', 'metrics.jsonl', 'checkpoint.safetensors', 'best.safetensors', 'report.html', 'test-metrics.json', 'eval.json', 'eval-images.csv'];

export class RunFolder {
  private constructor(readonly dir: string) {}

  /** Creates (or reopens, for `resume`) the folder `dir`. */
  static async open(dir: string): Promise<RunFolder> {
    await (await fs()).mkdir(dir, { recursive: true });
    return new RunFolder(dir);
  }

  path(name: string): string {
    return `${this.dir}/${name}`;
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.path(name), JSON.stringify(value, null, 2) + '\n');
  }

  async readJson<T>(name: string): Promise<T> {
    return JSON.parse(await (await fs()).readFile(this.path(name), 'utf8')) as T;
  }

  async exists(name: string): Promise<boolean> {
    try {
      await (await fs()).access(this.path(name));
      return true;
    } catch {
      return false;
    }
  }

  /** The files a run writes that are in this folder: any of them means a run has been here. */
  async runFiles(): Promise<string[]> {
    const found: string[] = [];
    for (const name of RUN_FILES) if (await this.exists(name)) found.push(name);
    return found;
  }

  /** Removes the files a run writes here (and `predict`'s default predictions/ folder), nothing else. */
  async clearRun(): Promise<void> {
    const f = await fs();
    for (const name of [...RUN_FILES, 'predictions']) await f.rm(this.path(name), { recursive: true, force: true });
  }

  /** Appends records to `metrics.jsonl`. */
  async log(records: readonly object[]): Promise<void> {
    if (records.length === 0) return;
    await (await fs()).appendFile(this.path('metrics.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }

  /** Reads `metrics.jsonl` back (for reports and resume). */
  async readLog(): Promise<Record<string, unknown>[]> {
    if (!(await this.exists('metrics.jsonl'))) return [];
    const text = await (await fs()).readFile(this.path('metrics.jsonl'), 'utf8');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Keeps only the log lines up to and including `epoch` (used when resuming after a crash mid-epoch). */
  async truncateLog(epoch: number): Promise<void> {
    const kept = (await this.readLog()).filter((r) => typeof r.epoch === 'number' && (r.epoch as number) <= epoch);
    await writeFileAtomic(this.path('metrics.jsonl'), kept.map((r) => JSON.stringify(r)).join('\n') + (kept.length ? '\n' : ''));
  }
}
