import type { Command } from '../command.js';
import { plotLoss } from './plot-loss.js';

/** Every command `segrad` knows, in the order `segrad --help` lists them. */
export const commands: Command[] = [plotLoss];
