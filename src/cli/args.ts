import { DATASET_OPTIONS } from '../data/spec.js';
/** A small argv parser: `--key value`, `--key=value`, `--flag`, repeated keys collect into arrays, and positionals. */
export interface ParsedArgs {
  positional: string[];
  options: Record<string, string | boolean | string[]>;
}

export interface OptionSpec {
  /** Options that take no value. */
  flags?: readonly string[];
  /** Options that may be repeated (values collected into an array). */
  repeatable?: readonly string[];
  /** Every option the command knows; anything else is an error naming it. */
  known: readonly string[];
}

export function parseArgs(argv: readonly string[], spec: OptionSpec, command: string): ParsedArgs {
  const positional: string[] = [];
  const options: ParsedArgs['options'] = {};
  const known = new Set([...spec.known, 'help']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!known.has(key)) throw new UsageError(`${command}: unknown option --${key}${unknownHint(key, known)} (see 'segrad ${command} --help')`);
    let value: string | boolean;
    if (eq > 0) value = a.slice(eq + 1);
    else if (spec.flags?.includes(key) || key === 'help') value = true;
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${command}: option --${key} needs a value`);
      value = argv[++i];
    }
    if (spec.repeatable?.includes(key)) {
      const prev = options[key];
      options[key] = [...(Array.isArray(prev) ? prev : []), String(value)];
    } else options[key] = value;
  }
  return { positional, options };
}

/** An error in how the command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {}

/** Reads a numeric option, with a clear error when it is not a number. */
export function numberOpt(opts: ParsedArgs['options'], key: string, fallback: number, command: string): number {
  const v = opts[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n)) throw new UsageError(`${command}: --${key} must be a number, got '${v}'`);
  return n;
}

/** Reads a comma-separated list option. */
export function listOpt(opts: ParsedArgs['options'], key: string, fallback: readonly string[]): string[] {
  const v = opts[key];
  if (v === undefined || typeof v === 'boolean') return [...fallback];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** What an unknown option probably meant: a dataset option given as a flag, or a known option a typo away. */
function unknownHint(key: string, known: ReadonlySet<string>): string {
  if (known.has('data') && DATASET_OPTIONS.includes(key)) return `: ${key} is an option of the data, given in its spec, e.g. --data 'folder:DIR?${key}=…'`;
  const near = nearest(key, [...known].filter((k) => k !== 'help'));
  return near ? ` (did you mean --${near}?)` : '';
}

/** The one candidate a typo or two away from `word` (at most one per three letters), or undefined when none or several are. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const near = candidates.filter((k) => editDistance(k, word) <= Math.min(2, Math.floor(k.length / 3)));
  return near.length === 1 ? near[0] : undefined;
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment): "trian" is one from "train". */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
