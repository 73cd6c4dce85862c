/** One `segrad <name>` command. Each lives in its own file under src/cli/commands/. */
export interface Command {
  name: string;
  /** One line for `segrad --help`. */
  summary: string;
  /** The full `segrad <name> --help` text. */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}
