#!/usr/bin/env node
// The CLI runs from the Node bundle built by `npm run build` (run automatically on `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/node/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  console.error("segrad: the build is missing (dist/node/cli.js); run 'npm run build' in the package folder");
  process.exit(1);
}
const { main, endQuietlyOnClosedPipe } = await import(bundle.href);
endQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
