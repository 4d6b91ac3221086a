/**
 * Command-line flags shared by `cicada pub` and `cicada sub`, spelled as mosquitto_pub and
 * mosquitto_sub spell them (each option and each value a separate argument), and their meaning:
 * where to connect (-h -p -L, TLS files), how (-V -i -I -u -P -k -c -x, will, -D properties).
 */
import { readFileSync } from 'node:fs';
import type { Properties, ProtocolVersion, QoS } from '../protocol/index.js';
import type { ConnectOptions } from '../client/index.js';

export class CliUsageError extends Error {}

export interface FlagSpec {
  /** Number of values after the flag; -D takes 3, or 4 for user-property. */
  args: number;
  aliases: string[];
}

export type FlagTable = Record<string, FlagSpec>;

/** Parsed flags: canonical name -> values of each occurrence. */
export type Flags = Map<string, string[][]>;

function flag(args: number, ...aliases: string[]): FlagSpec {
  return { args, aliases };
}

export const COMMON_FLAGS: FlagTable = {
  host: flag(1, '-h', '--host'),
  port: flag(1, '-p', '--port'),
  topic: flag(1, '-t', '--topic'),
  id: flag(1, '-i', '--id'),
  'id-prefix': flag(1, '-I', '--id-prefix'),
  username: flag(1, '-u', '--username'),
  pw: flag(1, '-P', '--pw'),
  keepalive: flag(1, '-k', '--keepalive'),
  'protocol-version': flag(1, '-V', '--protocol-version'),
  debug: flag(0, '-d', '--debug'),
  qos: flag(1, '-q', '--qos'),
  'session-expiry-interval': flag(1, '-x', '--session-expiry-interval'),
  'disable-clean-session': flag(0, '-c', '--disable-clean-session'),
  url: flag(1, '-L', '--url'),
  'will-topic': flag(1, '--will-topic'),
  'will-payload': flag(1, '--will-payload'),
  'will-qos': flag(1, '--will-qos'),
  'will-retain': flag(0, '--will-retain'),
  cafile: flag(1, '--cafile'),
  cert: flag(1, '--cert'),
  key: flag(1, '--key'),
  insecure: flag(0, '--insecure'),
  property: flag(3, '-D', '--property'),
  quiet: flag(0, '--quiet'),
  help: flag(0, '--help'),
};

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

export function qosValue(flags: Flags, name: string): QoS {
  return (intValue(flags, name, 0, 2) ?? 0) as QoS;
}

const VERSIONS: Record<string, ProtocolVersion> = { mqttv31: 3, '31': 3, mqttv311: 4, '311': 4, mqttv5: 5, '5': 5 };

/** Where to connect and how: the client's URL and options from the common flags. */
export interface Target {
  url: string;
  options: ConnectOptions;
  /** Topic given in an -L URL. */
  urlTopic: string | undefined;
  debug: boolean;
  quiet: boolean;
  /** -D properties by command (connect, publish, subscribe, unsubscribe, disconnect, will). */
  properties: Partial<Record<PropertyCommand, Properties>>;
}

export function connectionTarget(flags: Flags, tool: 'pub' | 'sub'): Target {
  const versionName = value(flags, 'protocol-version');
  const protocolVersion = versionName === undefined ? 4 : VERSIONS[versionName];
  if (protocolVersion === undefined) throw new CliUsageError(`Invalid protocol version '${versionName}' (mqttv31, mqttv311 or mqttv5).`);
  const properties = propertyFlags(flags, protocolVersion);
  const tls = has(flags, 'cafile') || has(flags, 'cert');
  let scheme = tls ? 'mqtts' : 'mqtt';
  let host = value(flags, 'host') ?? 'localhost';
  let port = intValue(flags, 'port', 1, 65535) ?? (tls ? 8883 : 1883);
  let urlTopic: string | undefined;
  const options: ConnectOptions = { protocolVersion, reconnect: false, keepalive: intValue(flags, 'keepalive', 0, 65535) ?? 60 };
  const url = value(flags, 'url');
  if (url !== undefined) {
    const m = /^(mqtts?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/(.*)$/.exec(url);
    if (m === null) throw new CliUsageError(`Invalid URL '${url}' (mqtt[s]://[user[:password]@]host[:port]/topic).`);
    scheme = m[1]!;
    host = m[4]!.replace(/^\[|\]$/g, '');
    port = m[5] !== undefined ? Number(m[5]) : scheme === 'mqtts' ? 8883 : 1883;
    if (m[2] !== undefined && m[2] !== '') options.username = decodeURIComponent(m[2]);
    if (m[3] !== undefined) options.password = decodeURIComponent(m[3]);
    urlTopic = m[6] === '' ? undefined : decodeURIComponent(m[6]!);
  }
  const username = value(flags, 'username');
  const password = value(flags, 'pw');
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  const id = value(flags, 'id');
  const prefix = value(flags, 'id-prefix');
  options.clientId = id ?? (prefix !== undefined ? `${prefix}${process.pid}` : `cicada_${tool}_${process.pid}`);
  if (has(flags, 'disable-clean-session')) {
    if (id === undefined) throw new CliUsageError('You must provide a client id if you are using the -c option.');
    options.clean = false;
  }
  const connectProps: Properties = { ...properties.connect };
  const expiry = intValue(flags, 'session-expiry-interval', -1, 0xffffffff);
  if (expiry !== undefined) {
    if (protocolVersion !== 5) throw new CliUsageError('-x is only valid with MQTT v5.');
    connectProps.sessionExpiryInterval = expiry === -1 ? 0xffffffff : expiry;
  } else if (options.clean === false && protocolVersion === 5) {
    connectProps.sessionExpiryInterval = 0xffffffff; // mosquitto: -c on v5 keeps the session
  }
  if (Object.keys(connectProps).length > 0) options.properties = connectProps;
  const willTopic = value(flags, 'will-topic');
  if (willTopic !== undefined) {
    options.will = {
      topic: willTopic,
      payload: value(flags, 'will-payload') ?? '',
      qos: qosValue(flags, 'will-qos'),
      retain: has(flags, 'will-retain'),
      ...(properties.will !== undefined ? { properties: properties.will } : {}),
    };
  } else if (has(flags, 'will-payload')) {
    throw new CliUsageError('Will payload given without a will topic.');
  }
  const cafile = value(flags, 'cafile');
  const cert = value(flags, 'cert');
  const key = value(flags, 'key');
  if ((cert === undefined) !== (key === undefined)) throw new CliUsageError('Both certfile and keyfile must be provided if one of them is set.');
  if (cafile !== undefined) options.ca = readFileSync(cafile);
  if (cert !== undefined && key !== undefined) {
    options.cert = readFileSync(cert);
    options.key = readFileSync(key);
  }
  if (has(flags, 'insecure')) options.rejectUnauthorized = false;
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${scheme}://${bracketed}:${port}`,
    options,
    urlTopic,
    debug: has(flags, 'debug'),
    quiet: has(flags, 'quiet'),
    properties,
  };
}

// --- -D command identifier value: MQTT 5.0 properties -------------------------------------------

export type PropertyCommand = 'connect' | 'publish' | 'subscribe' | 'unsubscribe' | 'disconnect' | 'will';

type PropKind = 'number' | 'string' | 'binary' | 'pair' | 'list';
const PROPERTIES: Record<string, [keyof Properties, PropKind, PropertyCommand[]]> = {
  'payload-format-indicator': ['payloadFormatIndicator', 'number', ['publish', 'will']],
  'message-expiry-interval': ['messageExpiryInterval', 'number', ['publish', 'will']],
  'content-type': ['contentType', 'string', ['publish', 'will']],
  'response-topic': ['responseTopic', 'string', ['publish', 'will']],
  'correlation-data': ['correlationData', 'binary', ['publish', 'will']],
  'subscription-identifier': ['subscriptionIdentifiers', 'list', ['subscribe']],
  'session-expiry-interval': ['sessionExpiryInterval', 'number', ['connect', 'disconnect']],
  'authentication-method': ['authenticationMethod', 'string', ['connect']],
  'authentication-data': ['authenticationData', 'binary', ['connect']],
  'request-problem-information': ['requestProblemInformation', 'number', ['connect']],
  'will-delay-interval': ['willDelayInterval', 'number', ['will']],
  'request-response-information': ['requestResponseInformation', 'number', ['connect']],
  'receive-maximum': ['receiveMaximum', 'number', ['connect']],
  'topic-alias-maximum': ['topicAliasMaximum', 'number', ['connect']],
  'topic-alias': ['topicAlias', 'number', ['publish']],
  'maximum-packet-size': ['maximumPacketSize', 'number', ['connect']],
  'user-property': ['userProperties', 'pair', ['connect', 'publish', 'subscribe', 'unsubscribe', 'disconnect', 'will']],
};

function propertyFlags(flags: Flags, version: ProtocolVersion): Target['properties'] {
  const out: Target['properties'] = {};
  for (const [command, identifier, a, b] of flags.get('property') ?? []) {
    if (version !== 5) throw new CliUsageError('-D/--property is only valid with MQTT v5 (-V mqttv5).');
    const entry = PROPERTIES[identifier!];
    if (entry === undefined) throw new CliUsageError(`Invalid property name '${identifier}'.`);
    const [name, kind, commands] = entry;
    if (!commands.includes(command as PropertyCommand)) throw new CliUsageError(`Property '${identifier}' not allowed for command '${command}'.`);
    const bag = (out[command as PropertyCommand] ??= {}) as Record<string, unknown>;
    if (kind === 'pair') ((bag[name] ??= []) as Array<[string, string]>).push([a!, b!]);
    else if (kind === 'string') bag[name] = a;
    else if (kind === 'binary') bag[name] = Buffer.from(a!);
    else {
      if (!/^\d+$/.test(a!)) throw new CliUsageError(`Invalid value '${a}' for property '${identifier}'.`);
      if (kind === 'list') ((bag[name] ??= []) as number[]).push(Number(a));
      else bag[name] = Number(a);
    }
  }
  return out;
}

export const COMMON_USAGE = `Connection:
 -h host (default localhost)     -p port (default 1883, 8883 with TLS)
 -L mqtt[s]://[username[:password]@]host[:port]/topic
 -V mqttv31|mqttv311|mqttv5 (default mqttv311)
 -i client id | -I client id prefix   -u username  -P password
 -k keepalive seconds (default 60)   -c disable clean session (needs -i)
 -x session expiry interval (v5, -1 = never)   -q qos (0, 1 or 2)
 -D command identifier value: MQTT 5 property (command: connect, publish, subscribe,
    unsubscribe, disconnect, will; e.g. -D publish user-property key value)
 --will-topic T --will-payload P --will-qos Q --will-retain
 --cafile FILE --cert FILE --key FILE --insecure: TLS
 -d debug (print packets)   --quiet   --help
`;
