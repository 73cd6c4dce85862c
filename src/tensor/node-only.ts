/**
 * `import()` of a module that exists only in Node (a built-in, sharp, webgpu), with a specifier that
 * bundlers do not follow. The browser bundle then holds no literal `import('node:…')` or `import('sharp')`,
 * which an app's own bundler (esbuild, webpack, Vite) would try to resolve for the browser and fail on.
 * Outside Node it rejects with an error that says so, instead of the browser's unresolved specifier.
 */
export function importNodeOnly<T>(specifier: string): Promise<T> {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if (!g.process?.versions?.node) {
    return Promise.reject(new Error(`segrad: '${specifier}' is Node only, and this is not Node (file datasets, checkpoints on disk and run reports need Node; in a browser, encodeSafetensors and decodeSafetensors work on bytes)`));
  }
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}

/** Node's `fs/promises`, loaded on first use. */
export const nodeFs = (): Promise<typeof import('node:fs/promises')> => importNodeOnly('node:fs/promises');

/**
 * Writes `data` to `path` atomically: a temporary file in the same folder, fsync, then a rename, so a
 * crash leaves the old file or the new one, never half of one. The temporary file is removed on failure.
 * Node only.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const fs = await nodeFs();
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
