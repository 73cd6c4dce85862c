/**
 * Waiting for Dawn in Node without keeping a core busy.
 *
 * The `webgpu` package settles its promises (buffer maps for reads, pipeline builds, submitted work) by
 * polling: while one is pending, each poll calls the global `setImmediate` to schedule the next, on every
 * turn of the event loop — about 200 000 polls a second, so the waiting thread holds a core and makes
 * garbage for the collector. Where the device itself runs on the CPU (SwiftShader on a 2-core machine)
 * that took about 40 % of a U-Net step. While segrad awaits the device (`patiently`), once a wait has
 * lasted SPIN_MS each poll (a `setImmediate` call with a native callback, as the binding's is) first
 * sleeps (Atomics.wait) a fiftieth of the wait so far, at most NAP_MS: the thread gives its core back,
 * and a wait ends at most 2 % (and NAP_MS) later than it would have. Other code's setImmediate calls
 * meanwhile go straight through.
 */

/** How long a wait polls at full speed: short waits (a small read on a fast GPU) lose nothing. */
export const SPIN_MS = 0.5;
/** The longest sleep before a poll. */
export const NAP_MS = 1;
/** The sleep before a poll, for a wait that has lasted `ms`: none within SPIN_MS, then ms / 50 up to NAP_MS. */
export const napFor = (ms: number): number => (ms <= SPIN_MS ? 0 : Math.min(NAP_MS, ms / 50));

type Immediate = typeof setImmediate;
const host = globalThis as { setImmediate?: Immediate };
let enabled = false;
let waiting = 0;
let since = 0;
let original: Immediate | null = null;
let patient: Immediate | null = null;
const cell = typeof SharedArrayBuffer === 'undefined' ? null : new Int32Array(new SharedArrayBuffer(4));

/**
 * Turns patient polling on or off (device.ts turns it on where it loaded the `webgpu` package, unless
 * SEGRAD_GPU_POLL=spin). It needs a thread that may block (Node's), so browsers never turn it on.
 */
export function usePatientPolling(on: boolean): void {
  enabled = on && cell !== null && typeof host.setImmediate === 'function';
}

/** Resolves or rejects as `p` does; while it is pending, Dawn's polls nap (napFor). */
export function patiently<T>(p: Promise<T>): Promise<T> {
  if (!enabled) return p;
  if (waiting++ === 0) install();
  return p.finally(() => {
    if (--waiting === 0) uninstall();
  });
}

function install(): void {
  since = performance.now();
  if (host.setImmediate === patient) return;
  const spin = host.setImmediate!;
  original = spin;
  const napping = function (this: unknown, ...args: Parameters<Immediate>): ReturnType<Immediate> {
    // only Dawn's polls nap (a native callback): other code's callbacks are not held up; outside a wait
    // (someone kept this function past ours) it is setImmediate itself
    const nap = waiting > 0 && isNative(args[0]) ? napFor(performance.now() - since) : 0;
    if (nap > 0) Atomics.wait(cell!, 0, 0, nap);
    return spin.apply(this, args);
  };
  // setImmediate's own properties (util.promisify's custom form among them)
  Object.defineProperties(napping, Object.getOwnPropertyDescriptors(spin));
  patient = napping as Immediate;
  host.setImmediate = patient;
}

/** A function of native code, as the binding's poll callback is (a bound function reads so too). */
const isNative = (f: unknown): boolean => typeof f === 'function' && Function.prototype.toString.call(f).endsWith('{ [native code] }');

function uninstall(): void {
  // replaced meanwhile (a test's fake timers): leave theirs; ours passes calls straight through from now on
  if (host.setImmediate === patient && original) host.setImmediate = original;
}
