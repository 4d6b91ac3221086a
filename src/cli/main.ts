/**
 * The `cicada` command. `cicada` and `cicada broker` start the broker; later subcommands
 * (pub, sub, passwd, bench) plug in here.
 */
import { parseArgs } from 'node:util';
import { createBroker } from '../server.js';
import type { BrokerOptions } from '../broker/options.js';
import { ConfigError, loadConfig } from '../config/config-file.js';
import { runPub } from './pub.js';
import { runSub } from './sub.js';
import { runPasswd } from './passwd.js';
import { runBench } from './bench.js';

const USAGE = `Usage: cicada [broker] [options]
       cicada pub|sub|passwd|bench [options]   (--help for each)

Start the Cicada MQTT broker (MQTT 3.1, 3.1.1 and 5.0).

Tools:
  pub                 publish messages (flags as mosquitto_pub)
  sub                 subscribe and print messages (flags as mosquitto_sub)
  passwd              manage a password file (as mosquitto_passwd)
  bench               load generator: bench pub|sub|conn (as emqtt-bench)

Options:
  -p, --port PORT     TCP port to listen on (default 1883)
      --host ADDRESS  address to bind (default 127.0.0.1: loopback only)
  -c, --config FILE   read options from FILE (mosquitto.conf syntax, docs/configuration.md);
                      SIGHUP re-reads its password and ACL files
  -v, --verbose       log every connection and packet-level event (debug level)
  -h, --help          print this help
`;

class UsageError extends Error {}

function brokerOptions(argv: string[]): BrokerOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        config: { type: 'string', short: 'c' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const values = parsed.values;
  if (values.help === true) return undefined;
  const options: BrokerOptions = values.config !== undefined ? readConfig(values.config) : {};
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`invalid port: ${values.port}`);
    options.port = Number(values.port);
  }
  if (values.host !== undefined) options.host = values.host;
  // With listeners from the file, -p / --host add one more plain listener.
  if (options.listeners !== undefined && (values.port !== undefined || values.host !== undefined)) {
    options.listeners.push({ port: options.port ?? 1883, host: options.host ?? '127.0.0.1' });
  }
  if (values.verbose === true) options.logLevel = 'debug';
  return options;
}

/** The configuration file; directives accepted but ignored are reported on stderr. */
function readConfig(file: string): BrokerOptions {
  const { options, warnings } = loadConfig(file);
  for (const warning of warnings) process.stderr.write(`cicada: warning: ${warning}\n`);
  return options;
}

async function runBroker(argv: string[]): Promise<number> {
  const options = brokerOptions(argv);
  if (options === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  // `cicada broker` keeps its state in ./data/cicada.db unless told `persistence false`.
  options.persistence ??= true;
  // A standalone broker compiles its hot path before its first client (warm_up false: not).
  options.warmUp ??= true;
  const broker = createBroker(options);
  await broker.listen(); // its errors say which address could not be used
  // SIGHUP re-reads the password and ACL files, as Mosquitto does.
  const reload = (): void => broker.reload();
  process.on('SIGHUP', reload);
  return new Promise<number>((resolve) => {
    let code = 0;
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', reload);
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
    if (command === undefined || command.startsWith('-')) return await runBroker(argv);
    if (command === 'broker') return await runBroker(rest);
    if (command === 'pub') return await runPub(rest);
    if (command === 'sub') return await runSub(rest);
    if (command === 'passwd') return await runPasswd(rest);
    if (command === 'bench') return await runBench(rest);
    if (command === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    throw new UsageError(`unknown command: ${command}`);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`cicada: ${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`cicada: ${error.message}\n`);
      return 3;
    }
    process.stderr.write(`cicada: ${(error as Error).message}\n`);
    return 1;
  }
}
