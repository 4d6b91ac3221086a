/**
 * `cicada import mosquitto.db`: migrate a Mosquitto 2.0 persistence file (retained messages,
 * persistent sessions, their subscriptions and queued messages) into Cicada's store, in the data
 * directory of the configuration (`-c FILE`: persistence_location) or ./data. The directory is
 * locked as a broker locks it, so it cannot run beside a broker on the same data; the store must
 * be empty (a first start), so nothing is merged or overwritten (src/migrate.ts).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config-file.js';
import { importMosquittoFile } from '../migrate.js';
import { usageErrorText, versionLine } from './usage.js';

export const IMPORT_USAGE = `Usage: cicada import [-c FILE] MOSQUITTO_DB

Import a Mosquitto 2.0 persistence file (mosquitto.db): retained messages, persistent sessions
with their subscriptions, and their queued QoS 1/2 messages, into an empty Cicada store.

Options:
  -c, --config FILE   the broker's configuration: its persistence_location is the data
                      directory (default ./data)
  -h, --help          print this help
      --version       print the version
`;

/** Returns the exit code: 0 imported, 2 bad usage; failures throw (main prints one line, exit 1). */
export async function runImport(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    return usage((error as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
  }
  if (parsed.values.version === true) {
    process.stdout.write(versionLine('cicada import'));
    return 0;
  }
  if (parsed.values.help === true) {
    process.stdout.write(IMPORT_USAGE);
    return 0;
  }
  const [source, ...extra] = parsed.positionals;
  if (source === undefined) return usage('the Mosquitto persistence file to import is missing');
  if (extra.length > 0) return usage(`one file at a time (also given: ${extra.join(' ')})`);
  const options = parsed.values.config === undefined ? {} : loadConfig(parsed.values.config).options;
  process.stdout.write(`${await importMosquittoFile(options, source)}\n`);
  return 0;
}

function usage(message: string): number {
  process.stderr.write(usageErrorText('cicada import', message));
  return 2;
}
