/**
 * Lazy access to Node-only modules. Everything is loaded with `importNodeOnly` so that the browser
 * bundle, which includes the whole data module, never evaluates a `node:` import or sharp at load time,
 * and an app's bundler does not try to resolve them for the browser.
 */
import type SharpType from 'sharp';
import { importNodeOnly, nodeFs } from '../tensor/node-only.js';

export { nodeFs };

export type Sharp = typeof SharpType;

let sharpPromise: Promise<Sharp> | null = null;

/** Loads sharp once; throws a clear error where it is unavailable (browsers, unsupported platforms). */
export function loadSharp(): Promise<Sharp> {
  sharpPromise ??= importNodeOnly<{ default: Sharp }>('sharp').then(
    (m) => m.default,
    (e: unknown) => {
      sharpPromise = null;
      throw new Error(`segrad: reading and writing image files needs the sharp package (Node only): ${(e as Error).message}`);
    },
  );
  return sharpPromise;
}

export const nodePath = (): Promise<typeof import('node:path')> => importNodeOnly('node:path');
export const nodeCrypto = (): Promise<typeof import('node:crypto')> => importNodeOnly('node:crypto');

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
