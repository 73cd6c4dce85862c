import type { Command } from '../command.js';
import { plotLoss } from './plot-loss.js';
import { train } from './train.js';

/** Every command `segrad` knows, in the order `segrad --help` lists them. */
export const commands: Command[] = [train, plotLoss];
