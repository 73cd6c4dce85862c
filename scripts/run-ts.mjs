// Runs a TypeScript entry file (bench, scripts) by bundling it with esbuild into a temporary .mjs.
// Keeps the dev dependencies to esbuild alone (no ts-node/tsx).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <file.ts> [args]');
  process.exit(2);
}
mkdirSync('.cache', { recursive: true });
const out = resolve('.cache', entry.replace(/[\\/]/g, '_').replace(/\.ts$/, '.mjs'));
await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'es2022', packages: 'external', keepNames: true, logLevel: 'warning', sourcemap: 'inline' });
process.argv = [process.argv[0], out, ...args];
await import(pathToFileURL(out).href);
