// Builds the Node bundles (library + CLI), the browser ESM bundle and the type declarations.
//   node scripts/build.mjs [--no-types]      everything into dist/
//   node scripts/build.mjs --browser-to DIR  only the browser bundle, into DIR (tests use it)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const common = { bundle: true, format: 'esm', sourcemap: true, target: 'es2022', logLevel: 'warning', keepNames: true };
// gpu.js parses kernel sources at run time: keep them unminified and let Node resolve the package itself.
const nodeExternal = ['gpu.js', 'sharp', 'cli-progress', 'webgpu', 'gl'];

function browserBundle(outdir) {
  return build({
    ...common,
    platform: 'browser',
    entryPoints: { segrad: 'src/browser.ts' },
    outdir,
    external: ['sharp', 'cli-progress', 'webgpu', 'gl', 'node:*', 'fs', 'path', 'os', 'worker_threads', 'url', 'crypto', 'zlib'],
    alias: { 'gpu.js': './node_modules/gpu.js/dist/gpu-browser.js' },
  });
}

const only = process.argv.indexOf('--browser-to');
if (only >= 0) {
  await browserBundle(process.argv[only + 1]);
  console.log(`built ${process.argv[only + 1]}/segrad.js`);
} else {
  // split chunks are named by their content's hash: without this, each rebuild leaves the last ones behind
  rmSync('dist/node', { recursive: true, force: true });
  await build({ ...common, platform: 'node', entryPoints: { index: 'src/index.ts', cli: 'src/cli/main.ts' }, outdir: 'dist/node', external: nodeExternal, splitting: true });
  await browserBundle('dist/browser');
  if (!process.argv.includes('--no-types')) {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  }
  console.log('built dist/node, dist/browser' + (process.argv.includes('--no-types') ? '' : ', dist/types'));
}
