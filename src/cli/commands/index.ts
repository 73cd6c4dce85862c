import type { Command } from '../command.js';

/** Every command `segrad` knows, in the order `segrad --help` lists them. */
export const commands: Command[] = [];
