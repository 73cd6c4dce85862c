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
/** Asynchronous gpu modes with device timing: the device's time for each kernel call, by kernel. */
const onDevice = new Map<string, { calls: number; ms: number }>();
/** The round trip of an empty submission that device times are net of (ms), once measured. */
let roundTripMs: number | null = null;

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

/**
 * For asynchronous devices under device timing (`isDeviceTiming`): records the device's time for one
 * kernel call, run alone (submitted by itself and waited for) and net of `roundTrip`, the measured
 * round trip of an empty submission. A no-op while device timing is off.
 */
export function recordDeviceKernel(kernel: string, ms: number, roundTrip: number): void {
  if (!isDeviceTiming()) return;
  record(kernel, ms, onDevice);
  roundTripMs = roundTrip;
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
let deviceTiming = enabled && process.env.SEGRAD_PROFILE === 'device';
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

/**
 * Turns profiling on or off for every backend the engine has handed out and will hand out. With
 * `deviceTime` (or `SEGRAD_PROFILE=device`), an asynchronous device (gpu.js `webgpu`) also runs every
 * kernel call alone and waits for it, to time it on the device: the step then takes far longer, but
 * the third table says where the device's time goes (a kernel's first call, which gpu.js builds and
 * runs itself, is not timed: profile a step after a warm-up one).
 */
export function enableProfiling(on: boolean, options: { deviceTime?: boolean } = {}): void {
  enabled = on;
  deviceTiming = on && !!options.deviceTime;
  for (const b of observed.keys()) (on ? instrument : restore)(b);
}

/** Whether profiling is on (`SEGRAD_PROFILE` or `enableProfiling`). */
export function isProfiling(): boolean {
  return enabled;
}

/** Whether asynchronous devices time each kernel call on the device (`enableProfiling(true, { deviceTime: true })`). */
export function isDeviceTiming(): boolean {
  return enabled && deviceTiming;
}

/** Forgets every recorded call. */
export function resetProfile(): void {
  stats.clear();
  queued.clear();
  onDevice.clear();
  roundTripMs = null;
}

/** The tables of a profile: calls per op kind, and an asynchronous device's kernel calls by host and by device time. */
export type ProfileTable = 'calls' | 'queued' | 'device';

/**
 * The recorded calls per op kind, by total time, longest first. Their `totalMs` sum to the profile's total.
 * `'queued'` gives the queued kernels of an asynchronous device instead (see `recordQueuedKernel`),
 * `'device'` their device times (see `recordDeviceKernel`).
 */
export function profileReport(which: ProfileTable = 'calls'): ProfileRow[] {
  const from = which === 'queued' ? queued : which === 'device' ? onDevice : stats;
  let total = 0;
  for (const s of from.values()) total += s.ms;
  return [...from.entries()]
    .map(([op, s]) => ({ op, calls: s.calls, totalMs: s.ms, percent: total > 0 ? (100 * s.ms) / total : 0, meanMs: s.ms / s.calls }))
    .sort((a, b) => b.totalMs - a.totalMs || a.op.localeCompare(b.op));
}

/**
 * The profile as Markdown tables (op, calls, total ms, % of total, mean ms) with a total row each:
 * those of `tables` that hold calls. `note` is printed under the first; say there whether the backend
 * is asynchronous (dispatch time only).
 */
export function formatProfile(note?: string, tables: readonly ProfileTable[] = ['calls', 'queued', 'device']): string {
  const table = (rows: ProfileRow[], head: string): string[] => {
    const total = rows.reduce((s, r) => s + r.totalMs, 0);
    const calls = rows.reduce((s, r) => s + r.calls, 0);
    const lines = [`| ${head} | calls | total ms | % of total | mean ms |`, '|---|---:|---:|---:|---:|'];
    for (const r of rows) lines.push(`| ${r.op} | ${r.calls} | ${r.totalMs.toFixed(2)} | ${r.percent.toFixed(1)} | ${r.meanMs.toFixed(3)} |`);
    lines.push(`| **total** | ${calls} | ${total.toFixed(2)} | 100.0 | – |`);
    return lines;
  };
  const heads: Record<ProfileTable, string> = {
    calls: '',
    queued: 'Kernel calls of the asynchronous device: JS-thread time to encode and submit each (spent inside the times of the op table: in the op itself where nothing was queued ahead of it, else later, mostly in read):',
    device: `Kernel calls of the asynchronous device: device time of each, run alone (submitted by itself and waited for), less the round trip of an empty submission (${(roundTripMs ?? 0).toFixed(3)} ms):`,
  };
  const lines: string[] = [];
  for (const which of tables) {
    const rows = profileReport(which);
    if (which !== 'calls' && !rows.length) continue;
    if (lines.length) lines.push('');
    if (heads[which]) lines.push(heads[which], '');
    lines.push(...table(rows, which === 'calls' ? 'op' : 'kernel'));
    if (note && which === tables[0]) lines.push('', note);
  }
  return lines.join('\n');
}
