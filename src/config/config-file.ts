/**
 * The broker's configuration file, in mosquitto.conf syntax: one `directive value...` per line,
 * `#` comments, `include_dir` pulling in every `*.conf` of a directory (sorted by name), and
 * per-listener sections that start at each `listener` line. The directives are in
 * ./directives.ts and documented in docs/configuration.md.
 *
 * Reading happens in two passes: first every line of every file is collected (so
 * `per_listener_settings` may be placed anywhere, as Mosquitto allows), then each line is
 * applied in order. A mistake (unknown directive, bad value, missing file) is a ConfigError
 * naming the file, the line and what is wrong, and the broker does not start.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BrokerOptions } from './schema.js';
import { applyLines, ConfigError, type ConfigLine } from './directives.js';

export { ConfigError } from './directives.js';

/** A parsed configuration: the options, and warnings about directives accepted but ignored. */
export interface LoadedConfig {
  options: BrokerOptions;
  warnings: string[];
}

/** Most nested include_dir levels (an include loop is an error, not a hang). */
const MAX_INCLUDE_DEPTH = 8;

function readText(file: string, where: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`${where}: cannot read the configuration file (${code})`, { cause: error });
  }
}

/** Split text into directive lines; include_dir is expanded in place. */
function collect(text: string, file: string, depth: number, out: ConfigLine[]): void {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const whole = lines[i] as string;
    const raw = whole.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const match = /^(\S+)\s*(.*)$/.exec(raw) as RegExpExecArray;
    const name = match[1] as string;
    const rest = (match[2] as string).trim();
    const restColumn = whole.length - whole.trimStart().length + raw.length - rest.length + 1;
    const line: ConfigLine = { file, line: i + 1, name, args: rest === '' ? [] : rest.split(/\s+/), rest, restColumn };
    if (name === 'include_dir') includeDir(line, depth, out);
    else out.push(line);
  }
}

function includeDir(line: ConfigLine, depth: number, out: ConfigLine[]): void {
  const fail = (msg: string): never => {
    throw new ConfigError(`${line.file}:${line.line}: include_dir: ${msg}`);
  };
  if (line.rest === '') fail('expects a directory');
  if (depth >= MAX_INCLUDE_DEPTH) fail(`more than ${MAX_INCLUDE_DEPTH} nested include_dir levels`);
  const dir = resolve(dirname(line.file), line.rest);
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) fail(`${dir} is not a directory`);
    names = readdirSync(dir);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return fail(`cannot read ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // Mosquitto reads the *.conf files of the directory in alphabetical order.
  for (const name of names.filter((n) => n.endsWith('.conf')).sort()) {
    const file = join(dir, name);
    collect(readText(file, file), file, depth + 1, out);
  }
}

/** Parse configuration text; `file` names it in errors and anchors relative paths. */
export function loadConfigText(text: string, file: string): LoadedConfig {
  const lines: ConfigLine[] = [];
  collect(text, file, 0, lines);
  return applyLines(lines);
}

/** Read and parse a configuration file (and the files it includes). */
export function loadConfig(file: string): LoadedConfig {
  const loaded = loadConfigText(readText(file, file), file);
  loaded.options.configFile = resolve(file);
  return loaded;
}

/** Parse configuration text into options (warnings dropped). */
export function parseConfig(text: string, file: string): BrokerOptions {
  return loadConfigText(text, file).options;
}

/** Read a configuration file into options (warnings dropped). */
export function readConfigFile(file: string): BrokerOptions {
  return loadConfig(file).options;
}
