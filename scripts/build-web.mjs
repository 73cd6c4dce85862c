// Builds the teaching playground: web/ (TypeScript, CSS, index.html) → dist/web/, one static folder that
// works offline (every path relative, no CDN). gpu.js is aliased to its browser build as in the library's
// browser bundle; Node-only modules stay out. Run: node scripts/build-web.mjs [--minify]
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');

/** Builds dist/web; resolves to the output folder. */
export async function buildWeb({ minify = false } = {}) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { playground: 'web/main.ts' },
    outdir: out,
    bundle: true,
    // a classic script, not a module: Chromium refuses module scripts from file:// pages, and the page
    // must work when index.html is opened straight from the folder
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    // gpu.js parses kernel sources at run time: never rename or minify identifiers
    keepNames: true,
    minifyWhitespace: minify,
    logLevel: 'warning',
    external: ['sharp', 'cli-progress', 'webgpu', 'gl', 'node:*', 'fs', 'path', 'os', 'worker_threads', 'url', 'crypto', 'zlib'],
    alias: { 'gpu.js': './node_modules/gpu.js/dist/gpu-browser.js' },
  });
  copyFileSync(join(root, 'web', 'playground.css'), join(out, 'playground.css'));
  const html = readFileSync(join(root, 'web', 'index.html'), 'utf8');
  if (/\b(src|href)="(https?:)?\/\//.test(html)) throw new Error('web/index.html: every asset must be relative (the page works offline)');
  writeFileSync(join(out, 'index.html'), html);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = await buildWeb({ minify: process.argv.includes('--minify') });
  console.log(`built ${dir}`);
}
