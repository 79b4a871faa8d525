// Flags derived from a library's options schema: one flag per option (its kebab-case name, or the
// name its text gives), each string turned into the value its schema takes. Lists split on commas,
// integers are checked here so the message names the flag, 'all' or 'none' stand for null where
// the option is nullable, and a list of names takes 'all'. Everything else the schema checks.
import type { Command } from 'commander';
import type { z } from 'zod';
import { kebab } from '../train/config.js';
import { UsageError } from './errors.js';
import { integerFlag, listFlag } from './parse.js';

export interface FlagText {
  arg: string;
  help: string;
  /** The flag's name where it is not the option's kebab-case name; false: no flag. */
  flag?: string | false;
}

type Shape = Record<string, z.ZodType>;

/** `--name` of an option, or null for one without a flag. */
export function flagNameOf(option: string, text: FlagText): string | null {
  return text.flag === false ? null : `--${text.flag ?? kebab(option)}`;
}

/** Registers a flag for every option that has one; none takes a commander default, so only what the user typed arrives. */
export function addSchemaFlags(command: Command, shape: Shape, texts: Readonly<Record<string, FlagText>>): Command {
  for (const option of Object.keys(shape)) {
    const text = texts[option]!;
    const flag = flagNameOf(option, text);
    if (flag !== null) command.option(`${flag} <${text.arg}>`, text.help);
  }
  return command;
}

/** The option values of the flags given, by option name (commander stores `--k` as `k`). */
export function schemaFlagValues(flags: Readonly<Record<string, unknown>>, shape: Shape, texts: Readonly<Record<string, FlagText>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const option of Object.keys(shape)) {
    const flag = flagNameOf(option, texts[option]!);
    if (flag === null) continue;
    const raw = flags[camel(flag.slice(2))];
    if (typeof raw === 'string') out[option] = valueOf(flag, shape[option]!, raw);
  }
  return out;
}

/** The flag of an option, for messages that name an option. */
export function flagFor(texts: Readonly<Record<string, FlagText>>): (option: string) => string {
  return (option) => (texts[option] ? (flagNameOf(option, texts[option]) ?? option) : `--${kebab(option)}`);
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  values?: readonly unknown[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { def: Def }).def;

function valueOf(flag: string, schema: z.ZodType, text: string): unknown {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
      return valueOf(flag, def.innerType!, text);
    case 'nullable':
      return ['all', 'none'].includes(text.trim().toLowerCase()) ? null : valueOf(flag, def.innerType!, text);
    case 'array': {
      const element = def.element!;
      const names = (element as unknown as { options?: readonly string[] }).options;
      if (defOf(element).type === 'enum' && names && text.trim().toLowerCase() === 'all') return [...names];
      return listFlag(flag, defOf(element).type === 'enum' ? text.toLowerCase() : text).map((part) => valueOf(flag, element, part));
    }
    case 'number':
      return numberOf(flag, schema as z.ZodNumber, text);
    case 'union':
      return unionValue(flag, def.options!, text);
    default:
      return text;
  }
}

function numberOf(flag: string, schema: z.ZodNumber, text: string): number {
  const min = schema.minValue ?? undefined;
  if (schema.isInt) return integerFlag(flag, text, min !== undefined && Number.isFinite(min) ? min : 0);
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag}: expected a number, got '${text}'`);
  return n;
}

/** A word the union names, else the text itself where it takes any string (a budget as written), else a number. */
function unionValue(flag: string, options: readonly z.ZodType[], text: string): unknown {
  const words = options.filter((o) => defOf(o).type === 'literal').flatMap((o) => defOf(o).values ?? []);
  const word = words.find((w) => String(w) === text.trim().toLowerCase());
  if (word !== undefined) return word;
  if (options.some((o) => defOf(o).type === 'string')) return text;
  const number = options.find((o) => defOf(o).type === 'number') as z.ZodNumber | undefined;
  const n = Number(text);
  if (number && text.trim() !== '' && Number.isFinite(n) && n >= (number.minValue ?? -Infinity)) return n;
  const min = number?.minValue;
  const what = [...words.map((w) => `'${String(w)}'`), ...(number ? [`a number${min !== undefined && min !== null ? ` >= ${min}` : ''}`] : [])];
  throw new UsageError(`${flag}: expected ${what.slice(0, -1).join(', ')}${what.length > 1 ? ' or ' : ''}${what.at(-1)}, got '${text}'`);
}
