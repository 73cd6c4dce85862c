import type { Backend } from './backend.js';

/**
 * Profile mode: time per op kind. Every primitive call on a profiled backend is timed with
 * `performance.now()` around the call and counted, keyed by the primitive and, for `unary`, `binary`
 * and `reduce`, the op: `binary:mul`, `reduce:sum`, `conv2dBackwardFilter`.
 *
 * What the time means: on a synchronous backend (`cpu`, gpu.js `cpu`/`webasm`/GL modes that read back
 * synchronously) it is the kernel's wall time. In gpu.js `webgpu` mode a primitive only *dispatches*
 * its kernel and returns; the time shown is dispatch time, and the device time is paid in `read`,
 * whose time runs until its promise settles.
 *
 * Turn it on with `SEGRAD_PROFILE=1` in the environment (every backend the engine hands out is
 * profiled from the start) or `enableProfiling(true)` in code.
 *
 * Why the engine's backends are instrumented in place (their methods swapped, the object kept) and not
 * replaced by a wrapper object: tensors hold their backend and ops refuse to mix tensors of different
 * backend objects, so switching profiling on or off mid-run must not change a backend's identity.
 * `profileBackend(b)` is the wrapper form, for a backend you own.
 *
 * @example
 * enableProfiling(true); resetProfile();
 * trainStep();
 * console.log(formatProfile());
 */

/** One row of the profile: an op kind, its call count and its time. */
export interface ProfileRow {
  op: string;
  calls: number;
  totalMs: number;
  /** Share of the total profiled time, in percent. */
  percent: number;
  meanMs: number;
}

/** Methods that are not kernels: never timed. */
const UNTIMED = new Set(['name', 'info', 'supports', 'liveBuffers']);
/** Primitives whose first argument names the op. */
const KEYED_BY_OP = new Set(['unary', 'binary', 'reduce']);

const stats = new Map<string, { calls: number; ms: number }>();
/** Asynchronous gpu modes: JS-thread time of each queued kernel's encoding and submission, by kernel. */
const queued = new Map<string, { calls: number; ms: number }>();

function record(key: string, ms: number, into = stats): void {
  const s = into.get(key);
  if (s) {
    s.calls++;
    s.ms += ms;
  } else into.set(key, { calls: 1, ms });
}

/**
 * For asynchronous devices (gpu.js `webgpu`): records the JS-thread time one kernel call took to encode
 * and submit. That time falls inside the primitive that made the call (where nothing was queued ahead of
 * it) or inside some later primitive or `read`, so it is kept apart and `formatProfile` prints it as a
 * second table. A no-op while profiling is off.
 */
export function recordQueuedKernel(kernel: string, ms: number): void {
  if (enabled) record(kernel, ms, queued);
}

type AnyFn = (...args: unknown[]) => unknown;

/** A timed version of `fn` (called with `self` as `this`) recording under the method's key. */
function timed(method: string, fn: AnyFn, self: unknown): AnyFn {
  const byOp = KEYED_BY_OP.has(method);
  return (...args: unknown[]) => {
    const key = byOp ? `${method}:${String(args[0])}` : method;
    const t0 = performance.now();
    const out = fn.apply(self, args);
    if (out instanceof Promise) {
      // `read`: time until the data is on the host (for async gpu modes, that includes the queued kernels)
      return out.finally(() => record(key, performance.now() - t0));
    }
    record(key, performance.now() - t0);
    return out;
  };
}

function kernelMethods(b: Backend): string[] {
  const names = new Set<string>();
  for (let o: object | null = b; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k !== 'constructor' && !UNTIMED.has(k) && typeof (b as unknown as Record<string, unknown>)[k] === 'function') names.add(k);
    }
  }
  return [...names];
}

/**
 * A new backend object with the same interface as `backend` that times and counts every primitive call
 * and forwards it. Tensors made through it belong to the wrapper, not to `backend`.
 */
export function profileBackend(backend: Backend): Backend {
  const wrapper: Record<string, unknown> = {};
  for (const k of kernelMethods(backend)) wrapper[k] = timed(k, (backend as unknown as Record<string, AnyFn>)[k], backend);
  for (const k of UNTIMED) {
    const v = (backend as unknown as Record<string, unknown>)[k];
    wrapper[k] = typeof v === 'function' ? (v as AnyFn).bind(backend) : v;
  }
  return wrapper as unknown as Backend;
}

/** Backends the engine has handed out, with the own properties that instrumenting replaced. */
const observed = new Map<Backend, Map<string, PropertyDescriptor | undefined> | null>();
let enabled = typeof process !== 'undefined' && !!process.env?.SEGRAD_PROFILE && process.env.SEGRAD_PROFILE !== '0';
if (enabled && typeof process.once === 'function') {
  // SEGRAD_PROFILE=1 on any command (train, bench…): the profile of the whole run goes to stderr at exit
  process.once('exit', () => {
    if (stats.size) process.stderr.write(`\nSEGRAD_PROFILE: time per op kind over the whole run (on asynchronous gpu modes, dispatch time only)\n\n${formatProfile()}\n`);
  });
}

function instrument(b: Backend): void {
  if (observed.get(b)) return;
  const saved = new Map<string, PropertyDescriptor | undefined>();
  const target = b as unknown as Record<string, unknown>;
  for (const k of kernelMethods(b)) {
    saved.set(k, Object.getOwnPropertyDescriptor(b, k));
    target[k] = timed(k, target[k] as AnyFn, b);
  }
  observed.set(b, saved);
}

function restore(b: Backend): void {
  const saved = observed.get(b);
  if (!saved) return;
  for (const [k, d] of saved) {
    if (d) Object.defineProperty(b, k, d);
    else delete (b as unknown as Record<string, unknown>)[k];
  }
  observed.set(b, null);
}

/**
 * Called by the engine for every backend it hands out (`setBackend`, `getBackend`): remembers it, and
 * instruments it when profiling is on. Returns the same object.
 */
export function observeBackend(b: Backend): Backend {
  if (!observed.has(b)) observed.set(b, null);
  if (enabled) instrument(b);
  return b;
}

/** Turns profiling on or off for every backend the engine has handed out and will hand out. */
export function enableProfiling(on: boolean): void {
  enabled = on;
  for (const b of observed.keys()) (on ? instrument : restore)(b);
}

/** Whether profiling is on (`SEGRAD_PROFILE` or `enableProfiling`). */
export function isProfiling(): boolean {
  return enabled;
}

/** Forgets every recorded call. */
export function resetProfile(): void {
  stats.clear();
  queued.clear();
}

/**
 * The recorded calls per op kind, by total time, longest first. Their `totalMs` sum to the profile's total.
 * `'queued'` gives the queued kernels of an asynchronous device instead (see `recordQueuedKernel`).
 */
export function profileReport(which: 'calls' | 'queued' = 'calls'): ProfileRow[] {
  const from = which === 'queued' ? queued : stats;
  let total = 0;
  for (const s of from.values()) total += s.ms;
  return [...from.entries()]
    .map(([op, s]) => ({ op, calls: s.calls, totalMs: s.ms, percent: total > 0 ? (100 * s.ms) / total : 0, meanMs: s.ms / s.calls }))
    .sort((a, b) => b.totalMs - a.totalMs || a.op.localeCompare(b.op));
}

/**
 * The profile as a Markdown table (op, calls, total ms, % of total, mean ms) with a total row.
 * `note` is printed under it; say there whether the backend is asynchronous (dispatch time only).
 */
export function formatProfile(note?: string): string {
  const table = (rows: ProfileRow[], head: string): string[] => {
    const total = rows.reduce((s, r) => s + r.totalMs, 0);
    const calls = rows.reduce((s, r) => s + r.calls, 0);
    const lines = [`| ${head} | calls | total ms | % of total | mean ms |`, '|---|---:|---:|---:|---:|'];
    for (const r of rows) lines.push(`| ${r.op} | ${r.calls} | ${r.totalMs.toFixed(2)} | ${r.percent.toFixed(1)} | ${r.meanMs.toFixed(3)} |`);
    lines.push(`| **total** | ${calls} | ${total.toFixed(2)} | 100.0 | – |`);
    return lines;
  };
  const lines = table(profileReport(), 'op');
  if (note) lines.push('', note);
  const q = profileReport('queued');
  if (q.length) {
    lines.push('', 'Kernel calls of the asynchronous device: JS-thread time to encode and submit each (spent inside the times above: in the op itself where nothing was queued ahead of it, else later, mostly in read):', '');
    lines.push(...table(q, 'kernel'));
  }
  return lines.join('\n');
}
