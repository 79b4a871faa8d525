// The whole CLI as a function: builds the program, loads only the sub-command the arguments name,
// runs it and returns its exit code. main.ts calls it for the binary; tests call it in their own
// process. Exit codes: 0 done, 1 error, 2 bad flag or usage; a command may set others (130).
import { Command, CommanderError, Help } from 'commander';
// The version file alone: top-level help and --version load no library code.
import { MDPROP_VERSION } from '../formats/version.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import { UsageError } from './errors.js';
import { printable, processStreams, type CliStreams } from './io.js';

export interface CliResult {
  readonly code: number;
}

/**
 * Runs `mdprop <args...>` (the arguments after the program name). Commands report a status other
 * than 0 by setting process.exitCode, as they would in the binary; it is read here and put back
 * as it was, so calls in a test process leave that process's status alone. One call at a time.
 */
export async function runCli(args: readonly string[], io: CliStreams = processStreams): Promise<CliResult> {
  const previous = process.exitCode;
  process.exitCode = undefined;
  try {
    const program = await buildProgram(commandNamed(args), io);
    await program.parseAsync(args, { from: 'user' });
    return { code: Number(process.exitCode ?? 0) };
  } catch (err) {
    return { code: report(err, io) };
  } finally {
    process.exitCode = previous;
  }
}

/** The sub-command the arguments name: the first operand, or the one after `help`. */
function commandNamed(args: readonly string[]): string | undefined {
  const operands = args.filter((arg) => !arg.startsWith('-'));
  return operands[0] === 'help' ? operands[1] : operands[0];
}

/**
 * The program with `wanted` registered for real and every other command as a stub that carries
 * only its name and summary, which is all the top-level help and "unknown command" need.
 */
async function buildProgram(wanted: string | undefined, io: CliStreams): Promise<Command> {
  const program = new Command();
  program
    .name('mdprop')
    .description('Robust deep metric learning: MDProp training and evaluation over libtorch')
    .version(MDPROP_VERSION, '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });
  const stubTerms = new Map<Command, string>();
  for (const entry of COMMANDS) {
    if (entry.name === wanted) {
      (await entry.load())(program, io);
      // A mistyped flag gets one line pointing to the command's help, not the whole of it.
      program.commands.find((c) => c.name() === entry.name)?.showHelpAfterError(`(see 'mdprop ${entry.name} --help' for its flags)`);
    } else {
      stubTerms.set(program.command(entry.name).description(entry.summary), termOf(entry));
    }
  }
  // A stub has no flags, so commander would list it without '[options]'; list it as the real one.
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => stubTerms.get(cmd) ?? help.subcommandTerm(cmd) });
  return program;
}

function termOf(entry: CommandEntry): string {
  return entry.usage === '' ? entry.name : `${entry.name} ${entry.usage}`;
}

/** Prints what went wrong (commander has already printed its own errors) and gives the exit code. */
function report(err: unknown, io: CliStreams): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof UsageError) {
    io.stderr.write(`mdprop: ${printable(err.message)}\n`);
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`mdprop: ${printable(message)}\n`);
  if (process.env.MDPROP_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
  return 1;
}
