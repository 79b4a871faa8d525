// The registry of sub-commands. Each command lives in its own file and adds itself to the program.
import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerCompare } from './compare.js';
import { registerData } from './data.js';
import { registerEmbed } from './embed.js';
import { registerEval } from './eval.js';
import { registerMetrics } from './metrics.js';
import { registerTrain } from './train.js';

type Register = (program: Command) => void;

const commands: Register[] = [registerData, registerEmbed, registerEval, registerMetrics, registerTrain, registerBench, registerCompare];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
