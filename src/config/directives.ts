/**
 * The directives of the configuration file, each a small setter. Three scopes, as in Mosquitto:
 * - global directives set BrokerOptions fields wherever they appear;
 * - listener directives (TLS, protocol, max_connections, ...) set the listener whose section
 *   they are in; before the first `listener` line they set the default listener (`port`);
 * - security directives (allow_anonymous, password_file, acl_file, jwt_*, http_auth_*) are
 *   global, or per listener when `per_listener_settings true`.
 * Mosquitto directives keep Mosquitto's meaning; Cicada's own are marked (cicada) in
 * docs/configuration.md. Relative paths are resolved against the directory of the file that
 * names them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { SecurityOptions, TlsOptions } from '../auth/options.js';
import type { LogDestination } from '../log/logger.js';
import type { BrokerOptions, ListenerOptions } from './schema.js';
import { unknownDirective } from './mosquitto-compat.js';
import { boolean, choice, duration, existingPath, fileContents, integer, one } from './values.js';
import { checkRules, declareAction, declareRule, declareSink, declareSql } from './rules.js';
import { securityDirectives, securityMistake } from './security-directives.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ConfigLine {
  file: string;
  line: number;
  name: string;
  /** Whitespace-separated arguments. */
  args: string[];
  /** Everything after the directive name, trimmed (paths may contain spaces). */
  rest: string;
  /** 1-based column of `rest` in the line (for errors inside SQL and templates). */
  restColumn?: number;
}

/** A listener being assembled; its TLS files are checked when the section ends. */
interface ListenerDraft {
  options: ListenerOptions;
  at: ConfigLine;
  certfile?: Buffer;
  keyfile?: Buffer;
  ca: Buffer[];
  tls: Partial<TlsOptions>;
  tlsTouched: boolean;
  socketDomain?: 'ipv4' | 'ipv6';
  tls13Ciphers?: string;
  /** The default listener, created by a listener setting before any `listener` line, without `port`. */
  implicit?: boolean;
  /** The admin HTTP server's section (http_listener): only TLS directives apply to it. */
  http?: boolean;
}

interface State {
  options: BrokerOptions;
  perListener: boolean;
  listeners: ListenerDraft[];
  current: ListenerDraft | undefined;
  defaultListener: ListenerDraft | undefined;
  defaultPort: number | undefined;
  defaultHost: string | undefined;
  logTypes: string[];
  logDests: LogDestination[] | undefined;
  /** websockets_headers_size, given to every WebSocket listener. */
  headersSize: number | undefined;
  warnings: string[];
  /** With per_listener_settings: the first security line before any listener section. */
  earlySecurity?: ConfigLine;
  /** http_listener: a section (for its TLS directives), or none. */
  http?: ListenerDraft | 'none';
}

interface Ctx {
  line: ConfigLine;
  state: State;
  fail(msg: string): never;
}

type Setter = (ctx: Ctx) => void;

// ---- scopes ------------------------------------------------------------------------------

function newListener(line: ConfigLine, port: number, host: string | undefined): ListenerDraft {
  return { options: { port, ...(host !== undefined ? { host } : {}) }, at: line, ca: [], tls: {}, tlsTouched: false };
}

/** The listener a listener directive applies to: the current section, or the default one. */
function listener(ctx: Ctx): ListenerDraft {
  const state = ctx.state;
  if (state.current !== undefined) return state.current;
  if (state.defaultListener === undefined) {
    state.defaultListener = newListener(ctx.line, state.defaultPort ?? 1883, state.defaultHost);
    state.defaultListener.implicit = true;
    state.listeners.unshift(state.defaultListener);
  }
  return state.defaultListener;
}

function tls(ctx: Ctx): ListenerDraft {
  const draft = listener(ctx);
  draft.tlsTouched = true;
  return draft;
}

/** Where a security directive goes: the global settings, or the listener's. */
function security(ctx: Ctx): SecurityOptions {
  const state = ctx.state;
  if (!state.perListener) return (state.options.security ??= {});
  if (state.current === undefined) state.earlySecurity ??= ctx.line;
  return (listener(ctx).options.security ??= {});
}

// ---- the directives ----------------------------------------------------------------------

const LOG_TYPES = ['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets', 'none', 'all'] as const;

const directives: Record<string, Setter> = {
  // Rules and sinks (src/config/rules.ts, docs/rules.md).
  sink: declareSink,
  rule: declareRule,
  sql: declareSql,
  action: declareAction,
  // Listeners.
  listener(ctx) {
    const { args } = ctx.line;
    if (args.length < 1 || args.length > 2) ctx.fail('expects a port and an optional bind address (or port 0 and a unix socket path)');
    const port = integer({ ...ctx, line: { ...ctx.line, args: args.slice(0, 1) } }, 0, 65535);
    const address = args[1];
    const draft = newListener(ctx.line, port, undefined);
    // As in Mosquitto, `listener 0 PATH` is a unix socket (a path relative to this file's directory).
    if (address !== undefined && (port === 0 || address.includes('/'))) {
      if (port !== 0) ctx.fail('a unix socket path needs port 0 (listener 0 /path/to/socket)');
      draft.options.path = resolve(dirname(ctx.line.file), address);
    } else if (address !== undefined) draft.options.host = address;
    ctx.state.listeners.push(draft);
    ctx.state.current = draft;
  },
  // The admin HTTP server (cicada): a section of its own, for the listener TLS directives.
  http_listener(ctx) {
    const { args } = ctx.line;
    if (ctx.state.http !== undefined) ctx.fail('may appear only once');
    if (args.length === 1 && args[0] === 'none') {
      ctx.state.http = 'none';
      return;
    }
    if (args.length < 1 || args.length > 2) ctx.fail('expects a port and an optional bind address, or none');
    const port = integer({ ...ctx, line: { ...ctx.line, args: args.slice(0, 1) } }, 0, 65535);
    const draft = newListener(ctx.line, port, args[1] ?? '127.0.0.1');
    draft.http = true;
    ctx.state.http = draft;
    ctx.state.current = draft;
  },
  http_api_key_file(ctx) {
    ctx.state.options.httpApiKeyFile = existingPath(ctx, 'file');
  },
  http_metrics_auth(ctx) {
    ctx.state.options.httpMetricsAuth = boolean(ctx);
  },
  port(ctx) {
    const state = ctx.state;
    if (state.current !== undefined) ctx.fail('port sets the default listener: use it before any listener line');
    state.defaultPort = integer(ctx, 0, 65535);
    const draft = listener(ctx);
    draft.options.port = state.defaultPort;
    draft.implicit = false;
  },
  bind_address(ctx) {
    const address = one(ctx, 'one address');
    const draft = listener(ctx);
    if (ctx.state.current === undefined) {
      ctx.state.defaultHost = address;
      draft.implicit = false;
    }
    draft.options.host = address;
  },
  bind_interface(ctx) {
    const name = one(ctx, 'one interface name');
    const draft = listener(ctx);
    const addresses = networkInterfaces()[name];
    if (addresses === undefined) return ctx.fail(`no network interface ${name} (known: ${Object.keys(networkInterfaces()).join(', ')})`);
    // One address per listener: the interface's IPv4 address (IPv6 with socket_domain ipv6).
    const family = draft.socketDomain === 'ipv6' ? 'IPv6' : 'IPv4';
    const address = addresses.find((a) => a.family === family);
    if (address === undefined) return ctx.fail(`interface ${name} has no ${family} address`);
    draft.options.host = address.address;
    if (ctx.state.current === undefined) draft.implicit = false;
  },
  protocol(ctx) {
    listener(ctx).options.protocol = choice(ctx, ['mqtt', 'websockets'] as const);
  },
  websockets_origins(ctx) {
    const origins = ctx.line.args.flatMap((a) => a.split(',')).filter((a) => a !== '');
    const bad = origins.find((o) => !/^https?:\/\/[^/]+\/?$/i.test(o));
    if (origins.length === 0 || bad !== undefined) ctx.fail(`expects origins such as https://app.example.com${bad !== undefined ? ` (not ${bad})` : ''}`);
    listener(ctx).options.allowedOrigins = origins.map((o) => new URL(o).origin);
  },
  socket_domain(ctx) {
    listener(ctx).socketDomain = choice(ctx, ['ipv4', 'ipv6'] as const);
  },
  max_connections(ctx) {
    // Mosquitto limits only with a positive value: 0 and any negative value mean no limit.
    listener(ctx).options.maxConnections = Math.max(-1, integer(ctx, -(2 ** 31), 2 ** 31));
  },
  max_qos(ctx) {
    listener(ctx).options.maxQos = integer(ctx, 0, 2) as 0 | 1 | 2;
  },
  max_topic_alias(ctx) {
    listener(ctx).options.maxTopicAlias = integer(ctx, 0, 65535);
  },
  mount_point(ctx) {
    const prefix = one(ctx, 'one topic prefix');
    if (/[+#]/.test(prefix)) ctx.fail('a mount point cannot contain + or #');
    listener(ctx).options.mountPoint = prefix;
  },
  use_username_as_clientid(ctx) {
    listener(ctx).options.useUsernameAsClientId = boolean(ctx);
  },
  http_dir(ctx) {
    listener(ctx).options.httpDir = existingPath(ctx, 'directory');
  },
  websockets_path(ctx) {
    const path = one(ctx, 'one path such as /mqtt');
    if (!path.startsWith('/')) ctx.fail('expects a path starting with /');
    listener(ctx).options.websocketsPath = path;
  },
  websockets_headers_size(ctx) {
    const size = integer(ctx, 0, 1024 * 1024);
    ctx.state.headersSize = size === 0 ? undefined : Math.max(size, 1024);
  },
  // TLS, per listener.
  cafile(ctx) {
    tls(ctx).ca.push(fileContents(ctx));
  },
  capath(ctx) {
    const dir = existingPath(ctx, 'directory');
    const draft = tls(ctx);
    for (const name of readdirSync(dir).sort()) {
      // PEM files, and the hashed names of an OpenSSL (c_rehash) CA directory such as 9d66eef0.0.
      if (/\.(pem|crt)$|^[0-9a-f]{8}\.\d+$/.test(name)) draft.ca.push(readFileSync(join(dir, name)));
    }
  },
  certfile(ctx) {
    tls(ctx).certfile = fileContents(ctx);
  },
  keyfile(ctx) {
    tls(ctx).keyfile = fileContents(ctx);
  },
  require_certificate(ctx) {
    tls(ctx).tls.requireCertificate = boolean(ctx);
  },
  use_identity_as_username(ctx) {
    tls(ctx).tls.useIdentityAsUsername = boolean(ctx);
  },
  use_subject_as_username(ctx) {
    tls(ctx).tls.useSubjectAsUsername = boolean(ctx);
  },
  tls_version(ctx) {
    const version = choice(ctx, ['tlsv1.2', 'tlsv1.3'] as const);
    tls(ctx).tls.minVersion = version === 'tlsv1.3' ? 'TLSv1.3' : 'TLSv1.2';
  },
  ciphers(ctx) {
    const draft = tls(ctx);
    draft.tls.ciphers = [one(ctx, 'an OpenSSL cipher list'), draft.tls13Ciphers].filter((c) => c !== undefined).join(':');
  },
  crlfile(ctx) {
    tls(ctx).tls.crl = fileContents(ctx);
  },
  dhparamfile(ctx) {
    tls(ctx).tls.dhparam = fileContents(ctx);
  },
  tls_keyform(ctx) {
    if (choice(ctx, ['pem', 'engine'] as const) === 'engine') ctx.fail('OpenSSL engines are not available: use pem key files (keyfile)');
  },
  'ciphers_tls1.3'(ctx) {
    // Node takes TLS 1.3 suites in the same list as the others.
    const draft = tls(ctx);
    draft.tls13Ciphers = one(ctx, 'a TLS 1.3 cipher suite list');
    draft.tls.ciphers = draft.tls.ciphers === undefined ? draft.tls13Ciphers : `${draft.tls.ciphers}:${draft.tls13Ciphers}`;
  },
  // Security (global, or per listener with per_listener_settings).
  per_listener_settings(ctx) {
    boolean(ctx); // applied in the first pass
  },
  ...securityDirectives<Ctx>(security),
  // Limits and behaviour (global).
  // As in Mosquitto, 0 means no maximum for max_inflight_messages, max_queued_messages,
  // max_queued_bytes, max_inflight_bytes and message_size_limit.
  max_inflight_messages(ctx) {
    ctx.state.options.maxInflightMessages = integer(ctx, 0, 65535);
  },
  max_inflight_bytes(ctx) {
    ctx.state.options.maxInflightBytes = noLimitBelowOne(integer(ctx, -(2 ** 40), 2 ** 40));
  },
  max_queued_messages(ctx) {
    ctx.state.options.maxQueuedMessages = noLimitBelowOne(integer(ctx, -(2 ** 31), 2 ** 31));
  },
  queue_qos0_messages(ctx) {
    ctx.state.options.queueQos0Messages = boolean(ctx);
  },
  upgrade_outgoing_qos(ctx) {
    ctx.state.options.upgradeOutgoingQos = boolean(ctx);
  },
  memory_limit(ctx) {
    ctx.state.options.memoryLimit = integer(ctx, 0, 2 ** 50);
  },
  clientid_prefixes(ctx) {
    ctx.state.options.clientIdPrefixes = one(ctx, 'one prefix');
  },
  auto_id_prefix(ctx) {
    ctx.state.options.autoIdPrefix = one(ctx, 'one prefix');
  },
  check_retain_source(ctx) {
    if (boolean(ctx)) ctx.fail('true is not supported: Cicada checks the subscriber (acl_file read rules) when a retained message is sent, not its publisher again; set false');
  },
  set_tcp_nodelay(ctx) {
    ctx.state.options.tcpNoDelay = boolean(ctx);
  },
  pid_file(ctx) {
    if (ctx.line.rest === '') ctx.fail('expects a file path');
    const path = resolve(dirname(ctx.line.file), ctx.line.rest);
    if (!directoryExists(dirname(path))) ctx.fail(`the directory of ${path} does not exist`);
    ctx.state.options.pidFile = path;
  },
  user(ctx) {
    ctx.state.options.user = one(ctx, 'one user name');
  },
  max_queued_bytes(ctx) {
    ctx.state.options.maxQueuedBytes = noLimitBelowOne(integer(ctx, -(2 ** 40), 2 ** 40));
  },
  max_retained_messages(ctx) {
    ctx.state.options.maxRetainedMessages = integer(ctx, 0, 2 ** 31);
  },
  max_packet_size(ctx) {
    // Mosquitto 2.0 refuses 0 (and below 20): leave it out for no limit.
    ctx.state.options.maxPacketSize = integer(ctx, 20, 268_435_460);
  },
  message_size_limit(ctx) {
    ctx.state.options.messageSizeLimit = integer(ctx, 0, 268_435_455);
  },
  max_keepalive(ctx) {
    ctx.state.options.maxKeepalive = integer(ctx, 10, 65535); // Mosquitto 2.0 refuses less than 10
  },
  sys_interval(ctx) {
    ctx.state.options.sysInterval = integer(ctx, 0, 2 ** 31);
  },
  retain_available(ctx) {
    ctx.state.options.retainAvailable = boolean(ctx);
  },
  allow_zero_length_clientid(ctx) {
    ctx.state.options.allowZeroLengthClientId = boolean(ctx);
  },
  connect_timeout(ctx) {
    ctx.state.options.connectTimeoutMs = integer(ctx, 1, 3600) * 1000;
  },
  persistence(ctx) {
    ctx.state.options.persistence = boolean(ctx);
  },
  connection_messages(ctx) {
    ctx.state.options.connectionMessages = boolean(ctx);
  },
  persistence_file(ctx) {
    // Mosquitto's file: imported at the first start (src/migrate.ts); Cicada's own is cicada.db.
    ctx.state.options.mosquittoPersistenceFile = one(ctx, 'one file name');
  },
  persistence_location(ctx) {
    ctx.state.options.persistenceLocation = existingPath(ctx, 'directory');
  },
  warm_up(ctx) {
    ctx.state.options.warmUp = boolean(ctx);
  },
  persistence_commit_interval(ctx) {
    ctx.state.options.persistenceCommitIntervalMs = integer(ctx, 0, 1000);
  },
  persistent_client_expiration(ctx) {
    ctx.state.options.persistentClientExpiration = duration(ctx);
  },
  max_topic_levels(ctx) {
    ctx.state.options.maxTopicLevels = integer(ctx, 1, 65535);
  },
  max_subscriptions_per_client(ctx) {
    ctx.state.options.maxSubscriptionsPerClient = integer(ctx, 0, 2 ** 31);
  },
  max_outgoing_bytes(ctx) {
    ctx.state.options.maxOutgoingBytes = integer(ctx, 1024, 2 ** 40);
  },
  slow_consumer(ctx) {
    ctx.state.options.slowConsumer = choice(ctx, ['drop', 'disconnect'] as const);
  },
  connection_rate_limit(ctx) {
    ctx.state.options.connectionRateLimit = integer(ctx, 0, 1_000_000);
  },
  publish_rate_limit(ctx) {
    ctx.state.options.publishRateLimit = integer(ctx, 0, 10_000_000);
  },
  // Logging: every log_dest line applies; log_type lines add up.
  log_type(ctx) {
    ctx.state.logTypes.push(choice(ctx, LOG_TYPES));
  },
  log_dest(ctx) {
    const [kind, ...rest] = ctx.line.args;
    const dests = (ctx.state.logDests ??= []);
    if (kind === 'stdout' || kind === 'stderr' || kind === 'none' || kind === 'syslog') {
      if (rest.length > 0) ctx.fail(`${kind} takes no argument`);
      dests.push({ kind });
    } else if (kind === 'file') {
      if (rest.length === 0) ctx.fail('file expects a path');
      if (dests.some((d) => d.kind === 'file')) ctx.fail('only one file destination may be configured (as in Mosquitto)');
      const path = resolve(dirname(ctx.line.file), rest.join(' '));
      if (!directoryExists(dirname(path))) ctx.fail(`the directory of ${path} does not exist`);
      dests.push({ kind: 'file', path });
    } else if (kind === 'topic' || kind === 'dlt') ctx.fail(`${kind} is not supported: use stdout, stderr, file PATH or syslog`);
    else ctx.fail('expects stdout, stderr, file PATH, syslog or none');
  },
  log_format(ctx) {
    ctx.state.options.logFormat = choice(ctx, ['text', 'json'] as const);
  },
  log_timestamp(ctx) {
    ctx.state.options.logTimestamp = boolean(ctx);
  },
  log_timestamp_format(ctx) {
    if (ctx.line.rest === '') ctx.fail('expects a strftime format such as %Y-%m-%dT%H:%M:%S');
    ctx.state.options.logTimestampFormat = ctx.line.rest;
  },
  log_facility(ctx) {
    ctx.state.options.logFacility = 16 + integer(ctx, 0, 7); // localN
  },
};

/** Mosquitto's counts limit only when positive: 0 and negative values mean no limit (0 here). */
function noLimitBelowOne(value: number): number {
  return value < 1 ? 0 : value;
}

function directoryExists(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// ---- applying -----------------------------------------------------------------------------

function errorAt(line: ConfigLine, msg: string): ConfigError {
  return new ConfigError(`${line.file}:${line.line}: ${line.name}: ${msg}`);
}

/** Check a listener's TLS settings and turn them into TlsOptions. */
function finishListener(draft: ListenerDraft): ListenerOptions {
  const options = draft.options;
  const where = (msg: string): ConfigError => new ConfigError(`${draft.at.file}:${draft.at.line}: listener ${options.path ?? options.port}: ${msg}`);
  if (draft.socketDomain !== undefined && options.host === undefined && options.path === undefined) {
    options.host = draft.socketDomain === 'ipv6' ? '::' : '0.0.0.0';
  }
  if (options.host === undefined && options.path === undefined) options.host = '0.0.0.0'; // Mosquitto: all interfaces
  if (options.allowedOrigins !== undefined && options.protocol !== 'websockets') throw where('websockets_origins needs protocol websockets');
  if (!draft.tlsTouched) return options;
  if (draft.certfile === undefined || draft.keyfile === undefined) {
    throw where('TLS settings need both certfile and keyfile');
  }
  const t = draft.tls;
  if (t.requireCertificate === true && draft.ca.length === 0) throw where('require_certificate needs cafile or capath');
  if ((t.useIdentityAsUsername === true || t.useSubjectAsUsername === true) && t.requireCertificate !== true) {
    throw where('use_identity_as_username and use_subject_as_username need require_certificate true');
  }
  options.tls = { ...t, cert: draft.certfile, key: draft.keyfile, ...(draft.ca.length > 0 ? { ca: draft.ca } : {}) };
  return options;
}

/** http_listener: its section may hold only TLS directives; the API settings need it. */
function finishHttp(state: State, lines: ConfigLine[]): void {
  const http = state.http;
  const options = state.options;
  if (http === undefined || http === 'none') {
    const orphan = lines.find((l) => l.name === 'http_api_key_file' || l.name === 'http_metrics_auth');
    if (orphan !== undefined) throw errorAt(orphan, 'has no effect without http_listener PORT');
    if (http === 'none') options.http = false;
    return;
  }
  const { port, host, tls, ...others } = finishListener(http);
  const stray = Object.keys(others);
  if (stray.length > 0) throw errorAt(http.at, `only TLS directives (certfile, keyfile, cafile, ...) apply to the HTTP listener; put listener settings (${stray.join(', ')}) under a listener line`);
  options.http = { port, ...(host !== undefined ? { host } : {}), ...(tls !== undefined ? { tls } : {}) };
}

/** log_type lines as Mosquitto reads them: `all` enables every type, `none` none. */
function logTypes(types: string[]): string[] | undefined {
  if (types.length === 0) return undefined;
  if (types.includes('all')) return LOG_TYPES.filter((t) => t !== 'all' && t !== 'none');
  return types.filter((t) => t !== 'none');
}

/** Apply collected lines in order; returns the options and warnings. */
export function applyLines(lines: ConfigLine[]): { options: BrokerOptions; warnings: string[] } {
  const state: State = {
    options: {},
    perListener: false,
    listeners: [],
    current: undefined,
    defaultListener: undefined,
    defaultPort: undefined,
    defaultHost: undefined,
    logTypes: [],
    logDests: undefined,
    headersSize: undefined,
    warnings: [],
  };
  // First pass: per_listener_settings changes where every security directive goes.
  for (const line of lines) {
    if (line.name !== 'per_listener_settings') continue;
    const fail = (msg: string): never => {
      throw errorAt(line, msg);
    };
    state.perListener = boolean({ line, fail });
  }
  for (const line of lines) {
    const fail = (msg: string): never => {
      throw errorAt(line, msg);
    };
    const setter = directives[line.name];
    if (setter !== undefined) setter({ line, state, fail });
    else {
      const warning = unknownDirective(line, Object.keys(directives), fail);
      if (warning !== undefined) state.warnings.push(warning);
    }
  }
  if (state.headersSize !== undefined) {
    for (const draft of state.listeners) if (draft.options.protocol === 'websockets') draft.options.httpHeadersSize = state.headersSize;
  }
  const options = state.options;
  // A configuration file always gets the safe defaults of src/auth (anonymous only on loopback).
  options.security ??= {};
  if (state.perListener) options.perListenerSettings = true;
  const types = logTypes(state.logTypes);
  if (types !== undefined) options.logTypes = types;
  if (state.logDests !== undefined) options.logDest = state.logDests;
  const implicit = state.defaultListener?.implicit === true ? state.defaultListener : undefined;
  if (implicit !== undefined && state.listeners.length > 1) {
    // Settings for a default listener that was never opened (no `port`): Mosquitto ignores them too.
    // A security setting that has no effect is an error: failing open is never the answer.
    const early = state.earlySecurity;
    if (early !== undefined) throw errorAt(early, 'with per_listener_settings true this belongs in a listener section: before any `listener` line it has no effect');
    state.listeners.shift();
    state.warnings.push(`${implicit.at.file}:${implicit.at.line}: ${implicit.at.name}: applies to the default listener, which is not opened without \`port\`: ignored`);
  } else if (implicit !== undefined) implicit.options.host ??= '127.0.0.1'; // no listener configured: loopback only
  if (state.listeners.length > 0) options.listeners = state.listeners.map(finishListener);
  finishHttp(state, lines);
  // Mosquitto 2: with a listener configured, anonymous clients need allow_anonymous true (on
  // every listener, loopback included); without one, the loopback-only default stays.
  if (state.listeners.some((l) => l.implicit !== true)) {
    if (!state.perListener) options.security.allowAnonymous ??= false;
    else for (const l of options.listeners ?? []) (l.security ??= {}).allowAnonymous ??= false;
  }
  const mistake = securityMistake(options, lines);
  if (mistake !== undefined) throw errorAt(mistake.line, mistake.message);
  checkRules(options);
  return { options, warnings: state.warnings };
}

/** A directive without a setter: accepted with a warning, not applicable, a bridge, or a typo. */
