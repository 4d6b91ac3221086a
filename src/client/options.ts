/**
 * Client options, their defaults, and the broker URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`).
 */
import type { Packet, Properties, ProtocolVersion, QoS } from '../protocol/index.js';
import { InvalidArgumentError } from './errors.js';

/** User properties (5.0) as pairs, or in MQTT.js's object form: `{ key: value }` or `{ key: [values] }`. */
export type UserProperties = Array<[string, string]> | Record<string, string | string[]>;

/** Properties as the client takes them: the codec's, with user properties in either form. */
export type ClientProperties = Omit<Properties, 'userProperties'> & { userProperties?: UserProperties };

/** The codec's Properties for client-given ones (object-form user properties become pairs, in order). */
export function toProperties(properties: ClientProperties | undefined): Properties | undefined {
  if (properties === undefined) return undefined;
  const user = properties.userProperties;
  if (user === undefined || Array.isArray(user)) return properties as Properties;
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(user)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`user property ${JSON.stringify(key)}: values must be strings`);
      pairs.push([key, v]);
    }
  }
  return { ...properties, userProperties: pairs };
}

export interface WillOptions {
  topic: string;
  payload: string | Buffer;
  qos?: QoS;
  retain?: boolean;
  /** Will properties (5.0). */
  properties?: ClientProperties;
}

export interface ReconnectOptions {
  /** First delay before reconnecting, ms (default 1000). */
  initialDelay?: number;
  /** Largest delay, ms (default 30000). */
  maxDelay?: number;
  /** Growth of the delay per failed attempt (default 2). */
  factor?: number;
  /** Fraction of the delay drawn at random, 0..1 (default 0.5: delay in [d/2, d]). */
  jitter?: number;
}

export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Oldest and newest TLS version to negotiate (e.g. 'TLSv1.3'). */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

export interface ConnectOptions extends TlsOptions {
  /** 3 = MQTT 3.1, 4 = 3.1.1 (default), 5 = 5.0. */
  protocolVersion?: ProtocolVersion;
  /** Client identifier; default `cicada-` and random hex (empty string: server-assigned). */
  clientId?: string;
  /** Clean session / clean start (default true). */
  clean?: boolean;
  /**
   * Session Expiry Interval (5.0), seconds the server keeps the session after the connection
   * ends: 0 (default) ends it with the connection, 0xFFFFFFFF or Infinity keeps it forever. With
   * 5.0, `clean: false` alone resumes a session but keeps none past a disconnection; with 3.1/3.1.1
   * the server decides, so this option is refused there.
   */
  sessionExpiry?: number;
  /** Keepalive in seconds, 0 = off (default 60). */
  keepalive?: number;
  username?: string;
  password?: string | Buffer;
  will?: WillOptions;
  /** CONNECT properties (5.0), e.g. receiveMaximum, topicAliasMaximum, userProperties. */
  properties?: ClientProperties;
  /** Time to wait for CONNACK, ms (default 10000). */
  connectTimeout?: number;
  /** Time to wait for PINGRESP before the connection is deemed dead, ms (default 10000). */
  pingTimeout?: number;
  /** Reconnect automatically after a connection that had succeeded is lost (default on). */
  reconnect?: ReconnectOptions | false;
  /** Publishes kept while disconnected; beyond it publish() rejects (default 1000). */
  offlineQueueLimit?: number;
  /** Use topic aliases for outgoing publishes when the server allows them (5.0, default true). */
  topicAliases?: boolean;
  /** Largest packet accepted from the server, bytes (default: no limit). */
  maxPacketSize?: number;
  /** WebSocket path when the URL has none (default `/mqtt`). */
  wsPath?: string;
  /**
   * Enhanced authentication (5.0): with `properties.authenticationMethod` set, answers each AUTH
   * challenge of the server with the next authentication data.
   */
  authenticate?: (challenge: { data: Buffer | undefined; properties: Properties | undefined }) => Buffer | Promise<Buffer>;
  /** Called with every packet sent and received (for tracing, e.g. `cicada pub -d`). */
  trace?: (direction: 'send' | 'receive', packet: Packet) => void;
  /** Extra headers for the WebSocket upgrade request. */
  wsHeaders?: Record<string, string>;
  /** Connect through this unix domain socket instead of host:port (mqtt:// only). */
  unixPath?: string;
  /** Local address to bind the outgoing socket to (TCP and TLS). */
  localAddress?: string;
}

export type Scheme = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface Endpoint {
  scheme: Scheme;
  host: string;
  port: number;
  /** WebSocket path (ws/wss only). */
  path: string;
  username?: string;
  password?: string;
}

const DEFAULT_PORTS: Record<Scheme, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };
const SCHEME_ALIASES: Record<string, Scheme> = { mqtt: 'mqtt', tcp: 'mqtt', mqtts: 'mqtts', ssl: 'mqtts', tls: 'mqtts', ws: 'ws', wss: 'wss' };

/** Parses a broker URL; credentials in the URL are percent-decoded. */
export function parseBrokerUrl(url: string, wsPath = '/mqtt'): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`invalid broker URL: ${url}`);
  }
  const scheme = SCHEME_ALIASES[parsed.protocol.replace(/:$/, '')];
  if (scheme === undefined) throw new InvalidArgumentError(`unsupported URL scheme ${parsed.protocol} (use mqtt, mqtts, ws or wss)`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new InvalidArgumentError(`no host in broker URL: ${url}`);
  const endpoint: Endpoint = {
    scheme,
    host,
    port: parsed.port === '' ? DEFAULT_PORTS[scheme] : Number(parsed.port),
    path: parsed.pathname === '' || parsed.pathname === '/' ? wsPath : parsed.pathname + parsed.search,
  };
  if (parsed.username !== '') endpoint.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') endpoint.password = decodeURIComponent(parsed.password);
  return endpoint;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  protocolVersion: ProtocolVersion;
  clientId: string;
  clean: boolean;
  keepalive: number;
  connectTimeout: number;
  pingTimeout: number;
  reconnect: Required<ReconnectOptions> | false;
  offlineQueueLimit: number;
  topicAliases: boolean;
  /** Session Expiry Interval sent in CONNECT (5.0), undefined for none. */
  sessionExpiry: number | undefined;
}

/** The Session Expiry Interval to send: `sessionExpiry` (validated) or properties.sessionExpiryInterval. */
function sessionExpiry(options: ConnectOptions, version: ProtocolVersion): number | undefined {
  const given = options.sessionExpiry;
  if (given === undefined) return options.properties?.sessionExpiryInterval;
  if (version !== 5) throw new InvalidArgumentError('sessionExpiry needs protocolVersion 5 (with 3.1 and 3.1.1, clean: false keeps the session until the server expires it)');
  const seconds = given === Infinity ? 0xffffffff : given;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0xffffffff) throw new InvalidArgumentError(`sessionExpiry: expected seconds from 0 to 4294967295 or Infinity, got ${String(given)}`);
  const inProperties = options.properties?.sessionExpiryInterval;
  if (inProperties !== undefined && inProperties !== seconds) throw new InvalidArgumentError(`sessionExpiry ${seconds} and properties.sessionExpiryInterval ${inProperties} disagree`);
  return seconds;
}

export function resolveOptions(options: ConnectOptions): ResolvedOptions {
  const r = options.reconnect;
  const protocolVersion = options.protocolVersion ?? 4;
  return {
    protocolVersion,
    clientId: options.clientId ?? `cicada-${Math.random().toString(16).slice(2, 10)}`,
    clean: options.clean ?? true,
    keepalive: options.keepalive ?? 60,
    connectTimeout: options.connectTimeout ?? 10_000,
    pingTimeout: options.pingTimeout ?? 10_000,
    reconnect:
      r === false
        ? false
        : { initialDelay: r?.initialDelay ?? 1000, maxDelay: r?.maxDelay ?? 30_000, factor: r?.factor ?? 2, jitter: r?.jitter ?? 0.5 },
    offlineQueueLimit: options.offlineQueueLimit ?? 1000,
    topicAliases: options.topicAliases ?? true,
    sessionExpiry: sessionExpiry(options, protocolVersion),
  };
}
