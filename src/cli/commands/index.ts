import type { Command } from '../command.js';
import { bench } from './bench.js';
import { compareLossesCommand } from './compare-losses.js';
import { compareRuns } from './compare-runs.js';
import { evaluate } from './eval.js';
import { inspect } from './inspect.js';
import { plotGradients } from './plot-gradients.js';
import { plotLoss } from './plot-loss.js';
import { predict } from './predict.js';
import { train } from './train.js';
import { web } from './web.js';

/** Every command `segrad` knows, in the order `segrad --help` lists them. */
export const commands: Command[] = [train, inspect, evaluate, predict, compareLossesCommand, compareRuns, plotLoss, plotGradients, bench, web];
