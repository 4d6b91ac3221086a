/**
 * The command-line parser of the tools, spelled as Mosquitto's tools spell their flags: each
 * option and each value a separate argument, a table of aliases per flag, the last occurrence
 * winning for one-value flags. Mistakes are CliUsageErrors (one line, exit 1).
 */
import type { QoS } from '../protocol/index.js';
import { CliUsageError } from './usage.js';

export { CliUsageError };

export interface FlagSpec {
  /** Number of values after the flag; -D takes 3, or 4 for user-property. */
  args: number;
  aliases: string[];
}

export type FlagTable = Record<string, FlagSpec>;

/** Parsed flags: canonical name -> values of each occurrence. */
export type Flags = Map<string, string[][]>;

export function flag(args: number, ...aliases: string[]): FlagSpec {
  return { args, aliases };
}

/** Splits argv by the table; unknown flags and missing values are usage errors. */
export function parseFlags(argv: string[], table: FlagTable): Flags {
  const byAlias = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) for (const alias of spec.aliases) byAlias.set(alias, name);
  const flags: Flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = byAlias.get(arg);
    if (name === undefined) throw new CliUsageError(arg.startsWith('-') ? `Unknown option '${arg}'.` : `Unexpected argument '${arg}'.`);
    let count = table[name]!.args;
    if (name === 'property' && argv[i + 2] === 'user-property') count = 4;
    const values = argv.slice(i + 1, i + 1 + count);
    if (values.length < count) throw new CliUsageError(`${arg} argument given but no value specified.`);
    i += count;
    const list = flags.get(name) ?? [];
    list.push(values);
    flags.set(name, list);
  }
  return flags;
}

export function has(flags: Flags, name: string): boolean {
  return flags.has(name);
}

/** The last value of a one-value flag. */
export function value(flags: Flags, name: string): string | undefined {
  return flags.get(name)?.at(-1)?.[0];
}

/** Every value of a repeatable one-value flag, in order. */
export function values(flags: Flags, name: string): string[] {
  return (flags.get(name) ?? []).map((v) => v[0]!);
}

export function intValue(flags: Flags, name: string, min: number, max: number): number | undefined {
  const v = value(flags, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new CliUsageError(`Invalid ${name} '${v}' (expected ${min}..${max}).`);
  return Number(v);
}

/** A QoS flag, refused as mosquitto_pub words it: `Invalid QoS given: 3`. */
export function qosValue(flags: Flags, name: string, what = 'QoS given:'): QoS {
  const v = value(flags, name);
  if (v === undefined) return 0;
  if (v !== '0' && v !== '1' && v !== '2') throw new CliUsageError(`Invalid ${what} ${v}${what.endsWith(':') ? '' : '.'}`);
  return Number(v) as QoS;
}
