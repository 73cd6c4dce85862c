/**
 * Lazy access to Node-only modules. Everything is loaded with dynamic `import()` so that the browser
 * bundle, which includes the whole data module, never evaluates a `node:` import or sharp at load time.
 */
import type SharpType from 'sharp';

export type Sharp = typeof SharpType;

let sharpPromise: Promise<Sharp> | null = null;

/** Loads sharp once; throws a clear error where it is unavailable (browsers, unsupported platforms). */
export function loadSharp(): Promise<Sharp> {
  sharpPromise ??= import('sharp').then(
    (m) => (m as unknown as { default: Sharp }).default,
    (e: unknown) => {
      sharpPromise = null;
      throw new Error(`segrad data: image decoding from files needs the sharp package (Node only): ${(e as Error).message}`);
    },
  );
  return sharpPromise;
}

export const nodeFs = (): Promise<typeof import('node:fs/promises')> => import('node:fs/promises');
export const nodePath = (): Promise<typeof import('node:path')> => import('node:path');
export const nodeCrypto = (): Promise<typeof import('node:crypto')> => import('node:crypto');

/** True when `p` exists and is a directory. */
export async function isDirectory(p: string): Promise<boolean> {
  const fs = await nodeFs();
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
