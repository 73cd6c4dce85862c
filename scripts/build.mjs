// Builds the Node bundles (library + CLI), the browser ESM bundle and the type declarations.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';

const common = { bundle: true, format: 'esm', sourcemap: true, target: 'es2022', logLevel: 'warning', keepNames: true };
// gpu.js parses kernel sources at run time: keep them unminified and let Node resolve the package itself.
const nodeExternal = ['gpu.js', 'sharp', 'cli-progress', 'webgpu', 'gl'];

await build({ ...common, platform: 'node', entryPoints: { index: 'src/index.ts', cli: 'src/cli/main.ts' }, outdir: 'dist/node', external: nodeExternal, splitting: true });
await build({
  ...common,
  platform: 'browser',
  entryPoints: { segrad: 'src/browser.ts' },
  outdir: 'dist/browser',
  external: ['sharp', 'cli-progress', 'webgpu', 'gl', 'node:*', 'fs', 'path', 'os', 'worker_threads', 'url', 'crypto', 'zlib'],
  alias: { 'gpu.js': './node_modules/gpu.js/dist/gpu-browser.js' },
});
if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
console.log('built dist/node, dist/browser' + (process.argv.includes('--no-types') ? '' : ', dist/types'));
