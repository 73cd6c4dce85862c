// The CLI from the sources, for tests that need it as its own process (signals): node scripts/run-ts.mjs test/helpers/segrad-cli.ts ARGS…
import { endQuietlyOnClosedPipe, main } from '../../src/cli/main.js';

endQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
