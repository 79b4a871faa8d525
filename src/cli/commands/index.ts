// The registry of sub-commands. Each command lives in its own file and adds itself to the program.
import type { Command } from 'commander';
import { registerData } from './data.js';

type Register = (program: Command) => void;

const commands: Register[] = [registerData];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
