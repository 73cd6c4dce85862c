/**
 * Node's `process` where there is one (undefined in browsers), typed as far as the cpu backend reads it:
 * built-in modules (Node ≥ 20.16) and the environment.
 */
export const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; env?: Record<string, string | undefined> } }).process;
