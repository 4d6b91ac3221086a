/**
 * The options the broker core reads (`CoreOptions`), the hooks it calls and what they see. The
 * options of the whole broker (`BrokerOptions`: listeners, TLS, security, logging, the store's
 * location) extend them in src/config/schema.ts; the security schemas are in src/auth/options.ts.
 * Every field has a default in `resolveCoreOptions`; sizes are bytes, durations are named with
 * their unit.
 */
import type { QoS } from '../protocol/packets.js';

/** What the core reads of a listener: the rules it applies to that listener's clients (listener-rules.ts). */
export interface ListenerRules {
  /** Name used in logs and given to hooks (default `${protocol}:${port}`). */
  name?: string;
  /** Highest QoS clients of this listener may use (max_qos; 5.0: CONNACK Maximum QoS). Default 2. */
  maxQos?: 0 | 1 | 2;
  /** 5.0: topic aliases a client of this listener may use (max_topic_alias). Default: topicAliasMaximum. */
  maxTopicAlias?: number;
  /** Topic prefix of this listener's clients (mount_point): added to what they send, removed from what they get. */
  mountPoint?: string;
  /** The client id is the user name (use_username_as_clientid); a client without one is refused. */
  useUsernameAsClientId?: boolean;
}

/** Where a declaration was made (`file:line`), and the column its text starts at, for errors. */
export interface DeclaredAt {
  at?: string;
  column?: number;
}

/** `sink NAME TYPE URL [key=value...]`: the words after TYPE, as written. */
export interface SinkDeclaration extends DeclaredAt {
  name: string;
  type: string;
  /** The URL and options, as one text (parsed by src/rules, which reports columns in it). */
  text: string;
}

/** A `rule NAME` block: its SQL and its `action` lines (the text after `action`). */
export interface RuleDeclaration extends DeclaredAt {
  name: string;
  sql: { text: string } & DeclaredAt;
  actions: Array<{ text: string } & DeclaredAt>;
}

export interface RulesDeclaration {
  sinks: SinkDeclaration[];
  rules: RuleDeclaration[];
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

/**
 * The single hooks of earlier versions, kept for embedders: each becomes a registration on the
 * broker's hook chain (`broker.hooks`, src/broker/hooks.ts) at priority 0, answering for its own
 * action only, before the security of the configuration (priority -1000).
 */
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

/**
 * What the broker core reads: limits, protocol features and the commit cadence. The options of
 * the whole broker (listeners, security, logging, the store's location: `BrokerOptions` in
 * src/config/schema.ts) extend it.
 */
export interface CoreOptions extends BrokerHooks {
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
   * Least time between two commits to the persistence store under load, in ms
   * (persistence_commit_interval). Acknowledgements wait for the commit of the state they
   * report. After 5 intervals without a commit the next one follows at the end of the
   * event-loop turn; otherwise it waits, at most until 5 intervals after the previous one, for
   * the PUBACKs of the QoS 1 deliveries it stored, which then are never written. 0 commits at
   * the end of every turn. Default 2.
   */
  persistenceCommitIntervalMs?: number;
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
  /** Disconnected persistent sessions expire after this many seconds (persistent_client_expiration). Default: never. */
  persistentClientExpiration?: number;
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
  /** Log each client's connect and disconnect at info level (connection_messages); false: at debug. Default true. */
  connectionMessages?: boolean;
}

/** CoreOptions with every default applied: what BrokerCore is given. */
export interface ResolvedOptions extends BrokerHooks {
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
  persistenceCommitIntervalMs: number;
  connectionMessages: boolean;
}

export const MQTT_MAX_PACKET_SIZE = 268_435_455 + 5;

/** The core's options with every default applied; the fields of a larger options object pass through. */
export function resolveCoreOptions<T extends CoreOptions>(options: T): T & ResolvedOptions {
  return {
    ...options,
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
    persistenceCommitIntervalMs: options.persistenceCommitIntervalMs ?? 2,
    connectionMessages: options.connectionMessages ?? true,
  };
}

/**
 * The options of a warm-up core (transport/warm-up.ts) for a broker with `options`: a copy, so
 * that it has the same object shape and V8's code compiled during the warm-up fits the real
 * broker, but without hooks (the real chain's per-message checks get allow-all stand-ins:
 * `warmUpStandIns` in ./hooks.ts) and with the defaults for every limit that could refuse the
 * warm-up's traffic.
 */
export function warmUpOptions<T extends ResolvedOptions>(options: T): T {
  const copy = { ...options };
  // Assigned only where present: a new key would change the shape.
  for (const hook of ['authenticate', 'authorizePublish', 'authorizeSubscribe', 'authorizeRead'] as const) {
    if (hook in copy) copy[hook] = undefined;
  }
  const defaults = resolveCoreOptions({});
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
  // No store: server.ts gives the warm-up core none (the core reads no persistence setting).
  copy.sysInterval = 0;
  return copy;
}
