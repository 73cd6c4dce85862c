/**
 * `import()` of a module that exists only in Node (a built-in, sharp, webgpu), with a specifier that
 * bundlers do not follow. The browser bundle then holds no literal `import('node:…')` or `import('sharp')`,
 * which an app's own bundler (esbuild, webpack, Vite) would try to resolve for the browser and fail on.
 * In a browser these imports are never reached: what needs them is Node only, and says so.
 */
export function importNodeOnly<T>(specifier: string): Promise<T> {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}

/** Node's `fs/promises`, loaded on first use. */
export const nodeFs = (): Promise<typeof import('node:fs/promises')> => importNodeOnly('node:fs/promises');
