/**
 * The broker's configuration file, in mosquitto.conf syntax: one `directive value...` per line,
 * `#` comments. This first version knows the directives of the core broker; a mistake is an
 * error naming the file, the line and what is wrong, and the broker does not start.
 */
import { readFileSync } from 'node:fs';
import type { BrokerOptions } from '../broker/options.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Setter = (options: BrokerOptions, args: string[], fail: (msg: string) => never) => void;

function integer(args: string[], fail: (msg: string) => never, min: number, max: number): number {
  const text = args[0];
  if (args.length !== 1 || text === undefined || !/^-?\d+$/.test(text)) fail('expects one integer');
  const value = Number(text);
  if (value < min || value > max) fail(`must be between ${min} and ${max}`);
  return value;
}

function boolean(args: string[], fail: (msg: string) => never): boolean {
  if (args.length === 1 && args[0] === 'true') return true;
  if (args.length === 1 && args[0] === 'false') return false;
  return fail('expects true or false');
}

const directives: Record<string, Setter> = {
  listener(options, args, fail) {
    if (args.length < 1 || args.length > 2) fail('expects a port and an optional bind address');
    options.port = integer(args.slice(0, 1), fail, 0, 65535);
    if (args[1] !== undefined) options.host = args[1];
  },
  port(options, args, fail) {
    options.port = integer(args, fail, 0, 65535);
  },
  bind_address(options, args, fail) {
    const [address] = args;
    if (args.length !== 1 || address === undefined) return fail('expects one address');
    options.host = address;
  },
  max_inflight_messages(options, args, fail) {
    options.maxInflightMessages = integer(args, fail, 1, 65535);
  },
  max_queued_messages(options, args, fail) {
    options.maxQueuedMessages = integer(args, fail, 0, 2 ** 31);
  },
  max_packet_size(options, args, fail) {
    options.maxPacketSize = integer(args, fail, 20, 268_435_460);
  },
  max_keepalive(options, args, fail) {
    options.maxKeepalive = integer(args, fail, 0, 65535);
  },
  sys_interval(options, args, fail) {
    options.sysInterval = integer(args, fail, 0, 2 ** 31);
  },
  allow_zero_length_clientid(options, args, fail) {
    options.allowZeroLengthClientId = boolean(args, fail);
  },
  connect_timeout(options, args, fail) {
    options.connectTimeoutMs = integer(args, fail, 1, 3600) * 1000;
  },
};

/** Parse configuration text; `file` is only used in error messages. */
export function parseConfig(text: string, file: string): BrokerOptions {
  const options: BrokerOptions = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name = '', ...args] = line.split(/\s+/);
    const fail = (msg: string): never => {
      throw new ConfigError(`${file}:${i + 1}: ${name}: ${msg}`);
    };
    const setter = directives[name];
    if (setter === undefined) fail('unknown directive');
    else setter(options, args, fail);
  }
  return options;
}

export function readConfigFile(file: string): BrokerOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`${file}: cannot read the configuration file (${code})`);
  }
  return parseConfig(text, file);
}
