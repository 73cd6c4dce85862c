import type { Backend, BackendInfo, Handle } from './backend.js';
import type { DType } from './dtype.js';
import { bytesPerElement } from './dtype.js';
import { observeBackend } from './profile.js';

/**
 * Global engine state: the active backend, the tidy-scope stack, the no-grad switch and the live
 * tensor/buffer counts that `memory()` reports.
 */

/** Storage shared by a tensor and its reshaped views; freed when the last one is disposed. */
export class DataRef {
  refs = 1;
  constructor(readonly backend: Backend, readonly handle: Handle, readonly bytes: number) {
    state.numBuffers++;
    state.numBytes += bytes;
  }
  release(): void {
    if (--this.refs === 0) {
      this.backend.dispose(this.handle);
      state.numBuffers--;
      state.numBytes -= this.bytes;
    }
  }
}

/** Anything the engine tracks for tidy scopes. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

type BackendFactory = (opts: Record<string, unknown>) => Backend;

interface EngineState {
  backend: Backend | null;
  factories: Map<string, BackendFactory>;
  /** Backends already made, by name and options. */
  instances: Map<string, Backend>;
  scopes: Set<Disposable>[];
  kept: WeakSet<Disposable>;
  noGradDepth: number;
  numTensors: number;
  numBuffers: number;
  numBytes: number;
}

const state: EngineState = {
  backend: null,
  factories: new Map(),
  instances: new Map(),
  scopes: [],
  kept: new WeakSet(),
  noGradDepth: 0,
  numTensors: 0,
  numBuffers: 0,
  numBytes: 0,
};

/** Makes a backend selectable by `setBackend(name)`. */
export function registerBackend(name: string, factory: BackendFactory): void {
  state.factories.set(name, factory);
  for (const key of [...state.instances.keys()]) if (key.startsWith(`${name} `)) state.instances.delete(key);
}

/**
 * Selecting a backend that is already running (same name, same `info()`: same mode, adapter…) returns
 * that instance, or tensors made before would no longer mix with new ones ("different backends (cpu and
 * cpu)"). Keyed by what runs, not by the options, because options such as a missing gpu mode may resolve
 * differently over time.
 */
function instance(name: string, factory: BackendFactory, opts: Record<string, unknown>): Backend {
  const made = factory(opts);
  const key = `${name} ${JSON.stringify(made.info())}`;
  const existing = state.instances.get(key);
  if (existing) return existing;
  state.instances.set(key, made);
  return made;
}

/**
 * Selects the backend for tensors created from now on.
 * @example setBackend('gpu', { mode: 'webasm' }); console.log(backendInfo().mode);
 */
export function setBackend(name: 'cpu' | 'gpu', opts: { mode?: string; [k: string]: unknown } = {}): BackendInfo {
  const factory = state.factories.get(name);
  if (!factory) throw new Error(`setBackend: unknown backend '${name}'; available: ${[...state.factories.keys()].join(', ')}`);
  // observeBackend instruments it in place when profiling is on (SEGRAD_PROFILE, enableProfiling)
  state.backend = observeBackend(instance(name, factory, opts));
  return state.backend.info();
}

/** The active backend (the `cpu` backend unless `setBackend` chose another). */
export function getBackend(): Backend {
  if (!state.backend) {
    const cpu = state.factories.get('cpu');
    if (!cpu) throw new Error('no backend registered: import segrad from its entry point');
    state.backend = observeBackend(instance('cpu', cpu, {}));
  }
  return state.backend;
}

/** What actually runs: backend, gpu.js mode, adapter, dtypes. Never a silent fallback. */
export function backendInfo(): BackendInfo {
  return getBackend().info();
}

export function bytesFor(dtype: DType, size: number): number {
  return bytesPerElement(dtype) * size;
}

export function track(t: Disposable): void {
  state.numTensors++;
  const top = state.scopes[state.scopes.length - 1];
  if (top) top.add(t);
}

export function untrack(): void {
  state.numTensors--;
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in an array or object too)
 * and those passed to `keep()`. Synchronous by design: an async function would escape the scope.
 * @example const y = tidy(() => x.mul(2).add(1)); // the intermediate x·2 is freed
 */
export function tidy<T>(fn: () => T): T {
  if (fn.constructor.name === 'AsyncFunction') throw new Error('tidy: the function must be synchronous');
  const scope = new Set<Disposable>();
  state.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // nothing escapes a failed scope: without this its tensors would belong to no scope and leak
    for (const t of scope) if (!state.kept.has(t) && !t.isDisposed) t.dispose();
    throw e;
  } finally {
    state.scopes.pop();
  }
  const keepSet = new Set<Disposable>();
  collect(result, keepSet);
  const parent = state.scopes[state.scopes.length - 1];
  for (const t of scope) {
    if (keepSet.has(t) || state.kept.has(t)) {
      if (parent && !state.kept.has(t)) parent.add(t);
    } else if (!t.isDisposed) t.dispose();
  }
  return result;
}

function collect(v: unknown, out: Set<Disposable>, depth = 0): void {
  if (v === null || v === undefined || depth > 4) return;
  if (typeof v === 'object' && 'dispose' in (v as object) && 'isDisposed' in (v as object)) {
    out.add(v as Disposable);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (typeof v === 'object' && (v as object).constructor === Object) for (const x of Object.values(v as object)) collect(x, out, depth + 1);
}

/** Keeps `t` alive past the enclosing `tidy` scopes; it is then the caller's to dispose. */
export function keep<T extends Disposable>(t: T): T {
  state.kept.add(t);
  for (const s of state.scopes) s.delete(t);
  return t;
}

/** Live tensors and buffers. `numTensors` counts tensor objects not yet disposed. */
export function memory(): { numTensors: number; numBuffers: number; numBytes: number; deviceBuffers: number; backend: string } {
  const b = getBackend();
  return { numTensors: state.numTensors, numBuffers: state.numBuffers, numBytes: state.numBytes, deviceBuffers: b.liveBuffers(), backend: b.name };
}

/** Runs `fn` without recording gradients. */
export function noGrad<T>(fn: () => T): T {
  state.noGradDepth++;
  try {
    return fn();
  } finally {
    state.noGradDepth--;
  }
}

export function isGradEnabled(): boolean {
  return state.noGradDepth === 0;
}
