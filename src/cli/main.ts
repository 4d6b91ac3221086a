/**
 * The `cicada` command. `cicada` and `cicada broker` start the broker; pub, sub, passwd and bench
 * are tools. Each command's module is imported only when that command runs, so `cicada pub`
 * does not load the broker, and `--help` / `--version` load almost nothing (start-up time:
 * bench/startup.mjs).
 */
import type { BrokerOptions } from '../config/schema.js';
import { CliUsageError, usageErrorText, versionLine } from './usage.js';
import { handReloadsTo, holdReloads } from './reload-signal.js';

const USAGE = `Usage: cicada [broker] [options]
       cicada pub|sub|passwd|bench|import|rules|admin [options]   (--help for each)

Start the Cicada MQTT broker (MQTT 3.1, 3.1.1 and 5.0).

Tools:
  pub                 publish messages (flags as mosquitto_pub)
  sub                 subscribe and print messages (flags as mosquitto_sub)
  passwd              manage a password file (as mosquitto_passwd)
  bench               load generator: bench pub|sub|conn (as emqtt-bench)
  import              import a Mosquitto persistence file (mosquitto.db) into the store
  rules test          dry run of a rule on a sample message or event (docs/rules.md)

Options:
  -p, --port PORT     TCP port to listen on (default 1883)
      --host ADDRESS  address to bind (default 127.0.0.1: loopback only)
  -c, --config FILE   read options from FILE (mosquitto.conf syntax, docs/configuration.md);
                      SIGHUP re-reads its password and ACL files
  -v, --verbose       log every connection and packet-level event (debug level)
  -h, --help          print this help
      --version       print the version
`;

type Tool = (argv: string[]) => Promise<number> | number;

/** The tools, each loaded on first use. */
const TOOLS: Record<string, () => Promise<Tool>> = {
  pub: async () => (await import('./pub.js')).runPub,
  sub: async () => (await import('./sub.js')).runSub,
  passwd: async () => (await import('./passwd.js')).runPasswd,
  bench: async () => (await import('./bench.js')).runBench,
  import: async () => (await import('./import.js')).runImport,
  rules: async () => (await import('./rules.js')).runRules,
  admin: async () => (await import('./admin.js')).runAdmin,
};

const BROKER_FLAGS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  config: { type: 'string', short: 'c' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** The broker's command line; `help` / `version` when one of those was asked for. */
async function brokerOptions(argv: string[]): Promise<BrokerOptions | 'help' | 'version'> {
  const { parseArgs } = await import('node:util');
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: BROKER_FLAGS, allowPositionals: false });
  } catch (error) {
    // node:util's text goes on about positionals; the first sentence is the mistake.
    const message = (error as Error).message;
    throw new CliUsageError(/^Unknown option '[^']*'/.exec(message)?.[0].concat('.') ?? message, { cause: error });
  }
  const values = parsed.values;
  if (values.help === true) return 'help';
  if (values.version === true) return 'version';
  const options: BrokerOptions = values.config !== undefined ? await readConfig(values.config) : {};
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new CliUsageError(`invalid port: ${values.port}`);
    options.port = Number(values.port);
  }
  if (values.host !== undefined) options.host = values.host;
  // With listeners from the file, -p / --host add one more plain listener.
  if (options.listeners !== undefined && (values.port !== undefined || values.host !== undefined)) {
    options.listeners.push({ port: options.port ?? 1883, host: options.host ?? '127.0.0.1' });
  }
  if (values.verbose === true) {
    // As mosquitto -v: every log type, whatever the configuration file's log_type says.
    options.logLevel = 'debug';
    delete options.logTypes;
  }
  return options;
}

/** Thrown for a configuration mistake: the message is the whole line (file:line: ...). */
class BrokerConfigError extends Error {}

/** The configuration file; directives accepted but ignored are reported on stderr. */
async function readConfig(file: string): Promise<BrokerOptions> {
  const { ConfigError, loadConfig } = await import('../config/config-file.js');
  try {
    const { options, warnings } = loadConfig(file);
    for (const warning of warnings) process.stderr.write(`cicada: warning: ${warning}\n`);
    return options;
  } catch (error) {
    if (error instanceof ConfigError) throw new BrokerConfigError(error.message, { cause: error });
    throw error;
  }
}

async function runBroker(argv: string[], name: string): Promise<number> {
  const options = await brokerOptions(argv);
  if (options === 'help' || options === 'version') {
    process.stdout.write(options === 'help' ? `${versionLine(name)}\n${USAGE}` : versionLine(name));
    return 0;
  }
  // SIGHUP during start-up (warm-up, database restore) waits for the broker (bin/cicada.js holds it first).
  holdReloads();
  const { createBroker } = await import('../server.js');
  // `cicada broker` keeps its state in ./data/cicada.db unless told `persistence false`.
  options.persistence ??= true;
  // A standalone broker compiles its hot path before its first client (warm_up false: not).
  options.warmUp ??= true;
  // Without a configuration file, the admin HTTP server on the loopback (EMQX's port); a
  // configuration file opens only what it declares (http_listener), as its listeners.
  if (options.configFile === undefined && options.http === undefined) options.http = { port: 18083, host: '127.0.0.1', optional: true };
  const broker = createBroker(options);
  await broker.listen(); // its errors say which address could not be used
  // SIGHUP re-reads the password and ACL files, as Mosquitto does.
  const stopReloads = handReloadsTo(() => broker.reload());
  return new Promise<number>((resolve) => {
    let code = 0;
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      stopReloads();
      broker.close().then(() => resolve(code), () => resolve(code));
    };
    // A failed commit stops the broker: one line, and a status a supervisor restarts on.
    broker.on('fatal', (error) => {
      if (code !== 0) return;
      code = 1;
      process.stderr.write(`cicada: ${error.message}\n`);
      stop();
    });
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Entry point: returns the exit code. Errors print one line and exit non-zero. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command.startsWith('-')) return await runBroker(argv, 'cicada');
    if (command === 'broker') return await runBroker(rest, 'cicada broker');
    const tool = TOOLS[command];
    if (tool !== undefined) return await (await tool())(rest);
    if (command === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    throw new CliUsageError(`Unknown command '${command}' (broker, pub, sub, passwd, bench, import or admin).`);
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(usageErrorText(command === 'broker' ? 'cicada broker' : 'cicada', error.message));
      return 2;
    }
    if (error instanceof BrokerConfigError) {
      process.stderr.write(`cicada: ${error.message}\n`);
      return 3;
    }
    process.stderr.write(`cicada: ${(error as Error).message}\n`);
    return 1;
  }
}
