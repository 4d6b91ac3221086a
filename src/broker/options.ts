/**
 * The one typed options object of the broker, shared by the embeddable API (createBroker) and
 * the CLI (flags and config file are turned into this). Every field has a default in
 * `resolveOptions`; sizes are bytes, durations are named with their unit.
 */
import type { QoS } from '../protocol/packets.js';

/** TLS settings of a listener (mosquitto.conf names in comments). */
export interface TlsOptions {
  /** PEM certificate chain (certfile). */
  cert: string | Buffer;
  /** PEM private key (keyfile). */
  key: string | Buffer;
  /** PEM CA certificates to verify client certificates (cafile / capath). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask for and verify a client certificate (require_certificate). */
  requireCertificate?: boolean;
  /** Use the client certificate's CN as the user name (use_identity_as_username). */
  useIdentityAsUsername?: boolean;
  /** Use the client certificate's subject as the user name (use_subject_as_username). */
  useSubjectAsUsername?: boolean;
  /** Minimum TLS version, e.g. 'TLSv1.2' (tls_version). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (ciphers). */
  ciphers?: string;
  /** PEM certificate revocation list for client certificates (crlfile). */
  crl?: string | Buffer;
  /** PEM Diffie-Hellman parameters (dhparamfile). */
  dhparam?: string | Buffer;
}

/** One listener: a TCP/TLS port, a WebSocket port, or a unix socket. */
export interface ListenerOptions {
  /** Port (ignored for unix sockets). */
  port: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Unix socket path instead of a TCP port (socket_domain unix / listener 0 PATH). */
  path?: string;
  /** 'mqtt' (default) or 'websockets'. */
  protocol?: 'mqtt' | 'websockets';
  /** TLS on this listener (mqtts:// or wss://). */
  tls?: TlsOptions;
  /** Most simultaneous connections on this listener (max_connections); 0, negative or undefined: no limit (as Mosquitto). */
  maxConnections?: number;
  /**
   * WebSocket: browser origins allowed to connect (cicada: websockets_origins, as EMQX's
   * check_origins), e.g. 'https://app.example.com'; a handshake with another Origin gets HTTP 403.
   * Unset: any origin when the listener requires authentication, else only localhost pages.
   * Clients that send no Origin (not browsers) are not concerned.
   */
  allowedOrigins?: string[];
  /** Name used in logs and given to hooks (default `${protocol}:${port}`). */
  name?: string;
  /** Authentication and authorization of this listener (per_listener_settings true). */
  security?: SecurityOptions;
  /** Highest QoS clients of this listener may use (max_qos; 5.0: CONNACK Maximum QoS). Default 2. */
  maxQos?: 0 | 1 | 2;
  /** 5.0: topic aliases a client of this listener may use (max_topic_alias). Default: topicAliasMaximum. */
  maxTopicAlias?: number;
  /** Topic prefix of this listener's clients (mount_point): added to what they send, removed from what they get. */
  mountPoint?: string;
  /** The client id is the user name (use_username_as_clientid); a client without one is refused. */
  useUsernameAsClientId?: boolean;
  /** WebSocket: upgrade only this path (cicada: websockets_path); default any path, as Mosquitto. */
  websocketsPath?: string;
  /** WebSocket: serve the files of this directory to plain HTTP requests (http_dir). */
  httpDir?: string;
  /** WebSocket: largest HTTP request header in bytes (websockets_headers_size). Default Node's 16 KiB. */
  httpHeadersSize?: number;
}

/** Where the admin HTTP server listens (http_listener PORT [ADDRESS], TLS with the listener TLS directives). */
export interface HttpListenerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** HTTPS. */
  tls?: TlsOptions;
  /** A default, not a setting: when the address is in use, log a warning and run without it. */
  optional?: boolean;
}

/** JWT authentication: the token is the CONNECT password (Cicada directives jwt_*). */
export interface JwtOptions {
  /** Shared secret for HS256 (jwt_secret). */
  secret?: string;
  /** PEM public key file for RS256 / ES256 (jwt_public_key_file). */
  publicKeyFile?: string;
  /** JWKS file (JSON Web Key Set) (jwt_jwks_file). */
  jwksFile?: string;
  /** Accepted algorithms (jwt_algorithms). Default: HS256 with a secret, RS256 and ES256 with keys. */
  algorithms?: string[];
  /** Required audience and issuer (jwt_audience, jwt_issuer). */
  audience?: string;
  issuer?: string;
  /**
   * The claim that names the user (jwt_username_claim). Default 'sub'. A token without it is
   * refused; a CONNECT user name other than it too.
   */
  usernameClaim?: string;
  /** Refuse tokens without `exp` (jwt_require_exp). Default true. */
  requireExp?: boolean;
  /** Allowed clock skew in seconds for exp and nbf (jwt_clock_tolerance). Default 0. */
  clockToleranceSeconds?: number;
}

/** HTTP authentication and authorization hook (Cicada directives http_auth_*). */
export interface HttpAuthOptions {
  /** URL that gets a JSON POST per decision (http_auth_url). */
  url: string;
  /** Bound on each request in ms; a time-out denies (http_auth_timeout, in ms). Default 2000. */
  timeoutMs?: number;
  /** How long a decision is cached, in ms; 0 disables the cache (http_auth_cache_ttl, in s). Default 60000. */
  cacheTtlMs?: number;
  /** Most cached decisions. Default 10000. */
  cacheSize?: number;
  /** Most requests in flight at once (http_auth_pool_size). Default 8. */
  poolSize?: number;
  /** Most questions waiting for a free request; beyond, the answer is deny (http_auth_queue_size). Default 10000. */
  queueSize?: number;
  /** Also ask the hook for publish and subscribe decisions (http_auth_acl). Default false. */
  authorize?: boolean;
}

/**
 * Authentication and authorization from files and services, declared: src/server.ts turns them
 * into hooks (src/auth). Global, or per listener with per_listener_settings.
 */
export interface SecurityOptions {
  /**
   * Clients without a user name may connect (allow_anonymous). Default: only on a loopback or
   * unix-socket listener, and only when no authentication source is configured (a configuration
   * file that sets up a listener makes it false, as Mosquitto 2).
   */
  allowAnonymous?: boolean;
  /** Mosquitto password file (password_file). */
  passwordFile?: string;
  /** Mosquitto ACL file (acl_file). */
  aclFile?: string;
  jwt?: JwtOptions;
  httpAuth?: HttpAuthOptions;
}

/** What an authentication hook sees of a connecting client. */
export interface ConnectInfo {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  remoteAddress: string;
  protocolVersion: 3 | 4 | 5;
  /** Name of the listener the client came through (for per-listener settings). */
  listener?: string;
  /** Subject and CN of a verified TLS client certificate. */
  certificate?: { subject: string; commonName: string | undefined };
  /** Unique number of the network connection (the same in ClientInfo). */
  connectionId?: number;
}

/** What an authorization hook sees of a connected client. */
export interface ClientInfo {
  clientId: string;
  username: string | undefined;
  remoteAddress: string;
  /** Name of the listener the client came through. */
  listener?: string;
  /** Unique number of the network connection (the same as in ConnectInfo). */
  connectionId?: number;
}

/**
 * An accepted CONNECT with what the authenticator established: the user name (e.g. a JWT claim;
 * it replaces the CONNECT's) and when the credentials expire (ms since the epoch): the
 * connection is closed then (5.0: DISCONNECT 0x87) unless re-authentication extends it.
 */
export interface AuthGrant {
  username?: string;
  expiresAt?: number;
}

/**
 * Authentication result: true accepts, false refuses (bad user name or password), a number is a
 * CONNACK reason code (5.0 numbering, mapped to 3.1.1 return codes for older clients), an
 * AuthGrant accepts with an identity and a lifetime.
 */
export type AuthResult = boolean | number | AuthGrant;

/**
 * One step of an enhanced authentication exchange (MQTT 5.0 section 4.12): 'continue' sends
 * AUTH (0x18) with `data` and waits for the client's next AUTH; 'success' accepts (CONNACK, or
 * AUTH 0x00 on re-authentication) with optional final `data`; 'failure' refuses.
 */
export type AuthStep =
  | { result: 'continue'; data: Buffer }
  | { result: 'success'; data?: Buffer; username?: string; expiresAt?: number }
  | { result: 'failure'; reasonCode?: number; reason?: string };

/** A running exchange for one connection. */
export interface AuthExchange {
  step(data: Buffer | undefined): AuthStep | Promise<AuthStep>;
}

/** An enhanced authentication method, e.g. SCRAM-SHA-256 (src/auth/scram.ts). */
export interface AuthMethod {
  start(info: ConnectInfo): AuthExchange;
}

export interface BrokerHooks {
  /** Enhanced authentication methods by name (5.0 Authentication Method property). */
  authMethods?: Record<string, AuthMethod>;
  /** Decide whether a CONNECT is accepted. Default: accept everyone. */
  authenticate?: (info: ConnectInfo) => AuthResult | Promise<AuthResult>;
  /** Decide whether a client may publish to a topic. Default: allow. */
  authorizePublish?: (client: ClientInfo, topic: string, qos: QoS, retain: boolean) => boolean | Promise<boolean>;
  /**
   * Decide whether a client may subscribe to a filter: false denies, true grants the requested
   * QoS, a QoS number grants at most that QoS. Default: allow.
   */
  authorizeSubscribe?: (client: ClientInfo, topicFilter: string, qos: QoS) => boolean | QoS | Promise<boolean | QoS>;
  /**
   * Decide whether a message of a topic may be delivered to a client: asked for every delivery
   * (live, queued, retained, resent), and the answer is cached per connection and topic until
   * the broker's `reload()`. Default: allow.
   */
  authorizeRead?: (client: ClientInfo, topic: string) => boolean;
}

/** One log destination (log_dest). */
export type LogDestination = { kind: 'stdout' | 'stderr' | 'none' | 'syslog' } | { kind: 'file'; path: string };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface BrokerOptions extends BrokerHooks {
  /** Address of the default TCP listener. Default 127.0.0.1 (loopback only, as Mosquitto 2). */
  host?: string;
  /** Port of the default TCP listener. Default 1883; 0 picks a free port. */
  port?: number;
  /** Listeners; when given, they replace the default host:port listener. */
  listeners?: ListenerOptions[];
  /** Per-client maximum of unacknowledged outgoing QoS 1/2 messages. Default 20; 0: no maximum (65535), as Mosquitto. */
  maxInflightMessages?: number;
  /** Per-session bound on queued QoS 1/2 messages beyond the inflight window. Default 1000; 0: no maximum, as Mosquitto. */
  maxQueuedMessages?: number;
  /** Per-session bound on the payload bytes of queued messages (max_queued_bytes); 0: no bound. Default 0. */
  maxQueuedBytes?: number;
  /**
   * Most retained topics (max_retained_messages, EMQX's limit); 0: no limit. When full, a retained
   * message for a new topic is delivered but not retained, and counted (retainedRefused). Default 0.
   */
  maxRetainedMessages?: number;
  /** Largest packet accepted, in bytes, fixed header included. Default 268435455 (MQTT maximum). */
  maxPacketSize?: number;
  /** A socket that has not sent CONNECT after this many ms is closed. Default 10000. */
  connectTimeoutMs?: number;
  /** Interval of $SYS updates in seconds; 0 disables them. Default 10. */
  sysInterval?: number;
  /** Accept an empty client id (with clean session) and assign one. Default true. */
  allowZeroLengthClientId?: boolean;
  /** Upper bound on client keepalive in seconds (5.0: announced as Server Keep Alive). Default 65535. */
  maxKeepalive?: number;
  /** Retained messages supported (mosquitto.conf retain_available). Default true. */
  retainAvailable?: boolean;
  /** 5.0: topic aliases a client may use toward the broker (announced in CONNACK). Default 64. */
  topicAliasMaximum?: number;
  /** 5.0: the broker uses topic aliases toward clients that allow them. Default true. */
  outboundTopicAliases?: boolean;
  /**
   * 5.0: Response Information given to a client that requests it: this prefix followed by the
   * client id, a topic base for its responses. Default 'responses/'.
   */
  responseInformation?: string;
  /**
   * Bytes that may wait to be written to one client. Beyond it, QoS 0 messages to that client
   * are dropped and counted (a slow consumer never makes the broker grow without bound; QoS 1/2
   * are bounded by the inflight window and queue). Default 8 MiB.
   */
  maxOutgoingBytes?: number;
  /**
   * Keep sessions, queued and in-flight messages, retained messages and delayed wills in an
   * embedded SQLite database, so that nothing acknowledged is lost on a crash. Default false for
   * the embeddable API; `cicada broker` turns it on unless the configuration says `persistence false`.
   */
  persistence?: boolean;
  /** Directory of the database (mosquitto.conf persistence_location). Default './data'. */
  persistenceLocation?: string;
  /** File name of the database inside persistenceLocation. Default 'cicada.db'. */
  persistenceFile?: string;
  /** 'normal': survives a crash of the process (default); 'full': also a power cut (fsync per commit). */
  persistenceSync?: 'normal' | 'full';
  /**
   * A Mosquitto persistence file (mosquitto.conf `persistence_file`: inside persistenceLocation
   * when that is given, else relative to the working directory), imported at the first start:
   * when it exists and the Cicada database does not yet.
   */
  mosquittoPersistenceFile?: string;
  /**
   * Least time between two commits to the persistence store under load, in ms
   * (persistence_commit_interval). Acknowledgements wait for the commit of the state they
   * report. After 5 intervals without a commit the next one follows at the end of the
   * event-loop turn; otherwise it waits, at most until 5 intervals after the previous one, for
   * the PUBACKs of the QoS 1 deliveries it stored, which then are never written. 0 commits at
   * the end of every turn. Default 2.
   */
  persistenceCommitIntervalMs?: number;
  /**
   * Before listening, run 12,000 messages through a throwaway in-memory broker (over loopback
   * TCP to a free port) so that V8 has compiled the hot path before the first client arrives
   * (cicada: warm_up). Costs about 0.25 s at start. Default false; `cicada broker` turns it on.
   */
  warmUp?: boolean;
  /**
   * The admin HTTP server (cicada: http_listener): dashboard, /api/v1, /api-docs, /metrics.
   * Default none (undefined or false) for createBroker and for a configuration file without
   * http_listener; `cicada broker` without a configuration file serves it on 127.0.0.1:18083.
   */
  http?: HttpListenerOptions | false;
  /** API keys of the admin HTTP API, `key:secret:role` per line (cicada: http_api_key_file). */
  httpApiKeyFile?: string;
  /** /metrics needs a key or a dashboard session too (cicada: http_metrics_auth). Default false. */
  httpMetricsAuth?: boolean;
  /** What happens to a client whose unsent bytes pass maxOutgoingBytes: QoS 0 dropped, or disconnected. Default 'drop'. */
  slowConsumer?: 'drop' | 'disconnect';
  /** Most levels in a topic name or filter (cicada: max_topic_levels). Default 128. */
  maxTopicLevels?: number;
  /** Most subscriptions one client may hold (cicada: max_subscriptions_per_client). Default 0: no limit. */
  maxSubscriptionsPerClient?: number;
  /** Largest accepted PUBLISH payload in bytes (message_size_limit). Default 0: no limit. */
  messageSizeLimit?: number;
  /** New connections accepted per second from one IP address (cicada: connection_rate_limit). Default 0: no limit. */
  connectionRateLimit?: number;
  /** PUBLISH packets accepted per second from one client; more close the connection (cicada: publish_rate_limit). Default 0: no limit. */
  publishRateLimit?: number;
  /** Authentication and authorization for all listeners (or the default of each listener). */
  security?: SecurityOptions;
  /** Security settings are per listener (per_listener_settings). Default false. */
  perListenerSettings?: boolean;
  /** Disconnected persistent sessions expire after this many seconds (persistent_client_expiration). Default: never. */
  persistentClientExpiration?: number;
  /** Where logs go (log_dest, several at once): stdout (default), stderr, a file, syslog, or nowhere. */
  logDest?: LogDestination | LogDestination[];
  /** Mosquitto log types to write (log_type); when given, they replace logLevel. */
  logTypes?: string[];
  /** 'text' (Mosquitto's line shape) or 'json' lines (log_format). Default: text on a terminal, else json. */
  logFormat?: 'text' | 'json';
  /** Text lines start with a timestamp (log_timestamp). Default true. */
  logTimestamp?: boolean;
  /** strftime format of the text timestamp (log_timestamp_format). Default: seconds since the epoch. */
  logTimestampFormat?: string;
  /** Syslog facility number (log_facility N: localN). Default 3 (daemon). */
  logFacility?: number;
  /** Most bytes of QoS 1/2 messages in flight to one client (max_inflight_bytes); 0: no limit. Default 0. */
  maxInflightBytes?: number;
  /** Queue QoS 0 messages for disconnected persistent sessions (queue_qos0_messages). Default false. */
  queueQos0Messages?: boolean;
  /** Deliver at the subscription's QoS even when the message's is lower (upgrade_outgoing_qos). Default false. */
  upgradeOutgoingQos?: boolean;
  /** Memory (RSS) in bytes past which PUBLISH packets are refused and their client disconnected (memory_limit); 0: none. */
  memoryLimit?: number;
  /** Only client ids starting with this prefix may connect (clientid_prefixes). */
  clientIdPrefixes?: string;
  /** Prefix of assigned client ids (auto_id_prefix). Default 'auto-'. */
  autoIdPrefix?: string;
  /** TCP_NODELAY on client sockets (set_tcp_nodelay). Default true (Mosquitto: false). */
  tcpNoDelay?: boolean;
  /** The configuration file the options came from (for the start-up banner). */
  configFile?: string;
  /** Write the process id to this file at start, remove it at exit (pid_file). */
  pidFile?: string;
  /** When started as root, switch to this user after opening the listeners (user). */
  user?: string;
  /** Log level of the broker's logger. Default 'info'. */
  logLevel?: LogLevel;
  /** Log each client's connect and disconnect at info level (connection_messages); false: at debug. Default true. */
  connectionMessages?: boolean;
  /** Pretty (human) logs instead of JSON lines. Default: when stdout is a terminal. */
  logPretty?: boolean;
}

export interface ResolvedOptions extends BrokerHooks {
  host: string;
  port: number;
  listeners: ListenerOptions[];
  maxInflightMessages: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  maxInflightBytes: number;
  queueQos0Messages: boolean;
  upgradeOutgoingQos: boolean;
  memoryLimit: number;
  clientIdPrefixes: string;
  autoIdPrefix: string;
  tcpNoDelay: boolean;
  maxRetainedMessages: number;
  persistentClientExpiration?: number;
  maxPacketSize: number;
  connectTimeoutMs: number;
  sysInterval: number;
  allowZeroLengthClientId: boolean;
  maxKeepalive: number;
  maxOutgoingBytes: number;
  slowConsumer: 'drop' | 'disconnect';
  maxTopicLevels: number;
  maxSubscriptionsPerClient: number;
  messageSizeLimit: number;
  connectionRateLimit: number;
  publishRateLimit: number;
  retainAvailable: boolean;
  topicAliasMaximum: number;
  outboundTopicAliases: boolean;
  responseInformation: string;
  persistence: boolean;
  persistenceLocation: string;
  persistenceFile: string;
  persistenceSync: 'normal' | 'full';
  persistenceCommitIntervalMs: number;
  logLevel: LogLevel;
  connectionMessages: boolean;
  logPretty: boolean;
}

export const MQTT_MAX_PACKET_SIZE = 268_435_455 + 5;

export function resolveOptions(options: BrokerOptions = {}): ResolvedOptions {
  return {
    ...options,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 1883,
    listeners: options.listeners ?? [{ port: options.port ?? 1883, host: options.host ?? '127.0.0.1' }],
    // 0 means no maximum, as in Mosquitto (65535 packet ids; no bound on the queue).
    maxInflightMessages: options.maxInflightMessages === 0 ? 65_535 : (options.maxInflightMessages ?? 20),
    maxQueuedMessages: options.maxQueuedMessages === 0 ? Number.POSITIVE_INFINITY : (options.maxQueuedMessages ?? 1000),
    maxQueuedBytes: options.maxQueuedBytes ?? 0,
    maxInflightBytes: options.maxInflightBytes ?? 0,
    queueQos0Messages: options.queueQos0Messages ?? false,
    upgradeOutgoingQos: options.upgradeOutgoingQos ?? false,
    memoryLimit: options.memoryLimit ?? 0,
    clientIdPrefixes: options.clientIdPrefixes ?? '',
    autoIdPrefix: options.autoIdPrefix ?? 'auto-',
    tcpNoDelay: options.tcpNoDelay ?? true,
    maxRetainedMessages: options.maxRetainedMessages ?? 0,
    maxPacketSize: options.maxPacketSize ?? MQTT_MAX_PACKET_SIZE,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    sysInterval: options.sysInterval ?? 10,
    allowZeroLengthClientId: options.allowZeroLengthClientId ?? true,
    maxKeepalive: options.maxKeepalive ?? 65_535,
    maxOutgoingBytes: options.maxOutgoingBytes ?? 8 * 1024 * 1024,
    slowConsumer: options.slowConsumer ?? 'drop',
    maxTopicLevels: options.maxTopicLevels ?? 128,
    maxSubscriptionsPerClient: options.maxSubscriptionsPerClient ?? 0,
    messageSizeLimit: options.messageSizeLimit ?? 0,
    connectionRateLimit: options.connectionRateLimit ?? 0,
    publishRateLimit: options.publishRateLimit ?? 0,
    retainAvailable: options.retainAvailable ?? true,
    topicAliasMaximum: options.topicAliasMaximum ?? 64,
    outboundTopicAliases: options.outboundTopicAliases ?? true,
    responseInformation: options.responseInformation ?? 'responses/',
    persistence: options.persistence ?? false,
    persistenceLocation: options.persistenceLocation ?? './data',
    persistenceFile: options.persistenceFile ?? 'cicada.db',
    persistenceSync: options.persistenceSync ?? 'normal',
    persistenceCommitIntervalMs: options.persistenceCommitIntervalMs ?? 2,
    logLevel: options.logLevel ?? 'info',
    connectionMessages: options.connectionMessages ?? true,
    logPretty: options.logPretty ?? process.stdout.isTTY === true,
  };
}

/**
 * The options of a warm-up core (transport/warm-up.ts) for a broker with `options`: a copy, so
 * that it has the same object shape and V8's code compiled during the warm-up fits the real
 * broker, but without hooks and with the defaults for every limit that could refuse the
 * warm-up's traffic.
 */
const allowAll = (): boolean => true;

export function warmUpOptions(options: ResolvedOptions): ResolvedOptions {
  const copy = { ...options };
  // Assigned only where present: a new key would change the shape.
  for (const hook of ['authenticate', 'authorizePublish', 'authorizeSubscribe', 'authorizeRead'] as const) {
    if (hook in copy) copy[hook] = undefined;
  }
  // The per-message checks get stand-ins that allow everything, so the warm-up compiles the path
  // the real broker runs (trained without them, V8 compiled a fan-out with a read check to a
  // third of its speed: 0.3x measured with a 1,000-rule ACL file).
  if (options.authorizePublish !== undefined) copy.authorizePublish = allowAll;
  if (options.authorizeRead !== undefined) copy.authorizeRead = allowAll;
  const defaults = resolveOptions({});
  copy.maxInflightMessages = defaults.maxInflightMessages;
  copy.maxQueuedMessages = defaults.maxQueuedMessages;
  copy.maxQueuedBytes = defaults.maxQueuedBytes;
  copy.maxInflightBytes = defaults.maxInflightBytes;
  copy.memoryLimit = defaults.memoryLimit;
  copy.clientIdPrefixes = defaults.clientIdPrefixes;
  copy.maxRetainedMessages = defaults.maxRetainedMessages;
  copy.maxPacketSize = defaults.maxPacketSize;
  copy.maxKeepalive = defaults.maxKeepalive;
  copy.maxOutgoingBytes = defaults.maxOutgoingBytes;
  copy.maxTopicLevels = defaults.maxTopicLevels;
  copy.maxSubscriptionsPerClient = defaults.maxSubscriptionsPerClient;
  copy.messageSizeLimit = defaults.messageSizeLimit;
  copy.publishRateLimit = defaults.publishRateLimit;
  copy.allowZeroLengthClientId = defaults.allowZeroLengthClientId;
  copy.sysInterval = 0;
  copy.persistence = false;
  return copy;
}
