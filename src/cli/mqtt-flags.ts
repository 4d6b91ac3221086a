/**
 * Command-line flags shared by `cicada pub` and `cicada sub`, spelled as mosquitto_pub and
 * mosquitto_sub spell them (each option and each value a separate argument), and their meaning:
 * where to connect (-h -p -L, TLS files), how (-V -i -I -u -P -k -c -x, will, -D properties).
 */
import type { Properties, ProtocolVersion } from '../protocol/index.js';
import type { ConnectOptions } from '../client/index.js';
import { CliUsageError, flag, has, intValue, qosValue, value, type Flags, type FlagTable } from './flags.js';
import { applyTlsFlags, tlsVersion, wantsTls } from './tls-flags.js';

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
  capath: flag(1, '--capath'),
  'tls-version': flag(1, '--tls-version'),
  'tls-use-os-certs': flag(0, '--tls-use-os-certs'),
  unix: flag(1, '--unix'),
  'bind-address': flag(1, '-A'),
  nodelay: flag(0, '--nodelay'),
  property: flag(3, '-D', '--property'),
  quiet: flag(0, '--quiet'),
  help: flag(0, '--help'),
  version: flag(0, '--version'),
};


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

const DEFAULT_PORTS: Record<string, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

/** -h -p -L --unix -A: the URL to connect to, and a topic given in -L. */
function endpoint(flags: Flags, options: ConnectOptions): { url: string; urlTopic: string | undefined } {
  let scheme = wantsTls(flags) ? 'mqtts' : 'mqtt';
  let host = value(flags, 'host') ?? 'localhost';
  const portText = value(flags, 'port');
  if (portText !== undefined && (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535)) throw new CliUsageError(`Invalid port given: ${portText}`);
  let port = portText !== undefined ? Number(portText) : undefined;
  let urlTopic: string | undefined;
  const url = value(flags, 'url');
  if (url !== undefined) {
    const m = /^([a-z]+):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/(.*)$/.exec(url);
    if (m === null) throw new CliUsageError(`Invalid URL '${url}' (mqtt[s]|ws[s]://[user[:password]@]host[:port]/topic).`);
    if (DEFAULT_PORTS[m[1]!] === undefined) throw new CliUsageError(`Unsupported URL scheme '${m[1]}' (mqtt, mqtts, ws or wss).`);
    scheme = m[1]!;
    host = m[4]!.replace(/^\[|\]$/g, '');
    port = m[5] !== undefined ? Number(m[5]) : undefined;
    if (m[2] !== undefined && m[2] !== '') options.username = decodeURIComponent(m[2]);
    if (m[3] !== undefined) options.password = decodeURIComponent(m[3]);
    urlTopic = m[6] === '' ? undefined : decodeURIComponent(m[6]!);
  }
  const unix = value(flags, 'unix');
  if (unix !== undefined) {
    if (scheme !== 'mqtt') throw new CliUsageError('--unix cannot be combined with TLS or WebSocket.');
    options.unixPath = unix;
  }
  const bind = value(flags, 'bind-address');
  if (bind !== undefined) options.localAddress = bind;
  const bracketed = host.includes(':') ? `[${host}]` : host;
  // WebSocket: the path is /mqtt (the URL's path is the topic, as for mqtt://).
  return { url: `${scheme}://${bracketed}:${port ?? DEFAULT_PORTS[scheme]!}`, urlTopic };
}

/** --will-*: the will message. */
function willFlags(flags: Flags, options: ConnectOptions, properties: Target['properties']): void {
  const willTopic = value(flags, 'will-topic');
  if (willTopic === undefined) {
    if (has(flags, 'will-payload')) throw new CliUsageError('Will payload given without a will topic.');
    return;
  }
  if (/[+#]/.test(willTopic)) throw new CliUsageError(`Invalid will topic '${willTopic}', does it contain '+' or '#'?`);
  options.will = {
    topic: willTopic,
    payload: value(flags, 'will-payload') ?? '',
    qos: qosValue(flags, 'will-qos', 'will QoS'),
    retain: has(flags, 'will-retain'),
    ...(properties.will !== undefined ? { properties: properties.will } : {}),
  };
}

/** Every common flag, checked and read (files included) before anything connects. */
export async function connectionTarget(flags: Flags, tool: 'pub' | 'sub'): Promise<Target> {
  const versionName = value(flags, 'protocol-version');
  const protocolVersion = versionName === undefined ? 4 : VERSIONS[versionName];
  if (protocolVersion === undefined) throw new CliUsageError(`Invalid protocol version '${versionName}' (mqttv31, mqttv311 or mqttv5).`);
  qosValue(flags, 'qos');
  tlsVersion(flags);
  const properties = propertyFlags(flags, protocolVersion);
  const options: ConnectOptions = { protocolVersion, reconnect: false, keepalive: intValue(flags, 'keepalive', 0, 65535) ?? 60 };
  const { url, urlTopic } = endpoint(flags, options);
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
  willFlags(flags, options, properties);
  if (url.startsWith('mqtts:') || url.startsWith('wss:')) await applyTlsFlags(flags, options);
  else if (wantsTls(flags)) throw new CliUsageError('TLS options given with a plain mqtt:// or ws:// URL.');
  return { url, options, urlTopic, debug: has(flags, 'debug'), quiet: has(flags, 'quiet'), properties };
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
 -L ws://host[:port]/topic, wss://...: MQTT over WebSocket (path /mqtt)
 --unix PATH: connect through a unix socket   -A address: bind to this local address
 --nodelay (always on: Nagle's algorithm is off)
 --cafile FILE | --capath DIR | --tls-use-os-certs   --cert FILE --key FILE   --insecure
 --tls-version tlsv1.3|tlsv1.2|tlsv1.1: TLS
 -d debug (print packets)   --quiet   --help   --version
`;
