import { VERSION } from '../version.js';
import { nearest, UsageError } from './args.js';
import { commands } from './commands/index.js';

function help(): string {
  const width = Math.max(8, ...commands.map((c) => c.name.length));
  return [
    `segrad ${VERSION}: train and study segmentation models (U-Net, FocusNet, Attention U-Net) without a heavy ML framework`,
    '',
    'usage: segrad <command> [options]     (segrad <command> --help for its options)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  --version   print the version',
    '  --help      print this help',
  ].join('\n');
}

/** Entry point of the `segrad` binary; resolves to the process exit code. */
/**
 * What a process running `main` should do first: when a reader stops early (`segrad eval … | head`) and
 * closes the pipe, end quietly with status 0, as Unix tools do, rather than with an EPIPE stack trace.
 */
export function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([rest[0], '--help']); // segrad help train
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(VERSION);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    const near = nearest(name, commands.map((c) => c.name));
    console.error(`segrad: unknown command '${name}'${near ? ` (did you mean 'segrad ${near}'?)` : ''}\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}`);
      return 2;
    }
    console.error(`segrad ${name}: ${(e as Error).message}`);
    if (process.env.SEGRAD_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}
