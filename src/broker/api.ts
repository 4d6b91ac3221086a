/**
 * The public face of a running broker: what `createBroker` returns to embedders and tests.
 */
import type { Properties, QoS } from '../protocol/packets.js';
import type { HookCallbacks, HookOptions, HookPoint } from './hooks.js';
import type { ClientInfo } from './options.js';

export interface BrokerPublish {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

/**
 * The broker's hook chain as embedders see it (src/broker/hooks.ts): `add(point, fn, priority)`
 * registers a callback (higher priorities first, ties in registration order) and returns a
 * function that removes it.
 */
export interface HookRegistry {
  add<P extends HookPoint>(point: P, fn: HookCallbacks[P], priority?: number, options?: HookOptions): () => void;
}

/**
 * Event payloads of a broker. Listeners run synchronously, on the hook chain after every other
 * callback (`message`: on `message.routed`, once the message is routed); one that throws is
 * logged.
 */
export interface BrokerEvents {
  clientConnected: [client: ClientInfo];
  clientDisconnected: [client: ClientInfo, reason: string];
  subscribed: [client: ClientInfo, topicFilter: string, qos: QoS];
  unsubscribed: [client: ClientInfo, topicFilter: string];
  /** A message accepted for routing (from a client, or from broker.publish with client undefined). */
  message: [topic: string, payload: Buffer, qos: QoS, retain: boolean, client: ClientInfo | undefined];
  /** The broker stopped because it cannot go on safely (a commit to the persistence store failed). */
  fatal: [error: Error];
}

export interface BrokerStats {
  clientsConnected: number;
  clientsTotal: number;
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  subscriptions: number;
  retainedMessages: number;
  /** Retained messages for a new topic not retained because max_retained_messages was reached. */
  retainedRefused: number;
  messagesDropped: number;
  /** Hostile input: malformed packets and protocol violations the codec rejected. */
  protocolErrors: number;
  /** Packets larger than maxPacketSize (including huge remaining lengths). */
  packetsTooLarge: number;
  /** Topic names or filters with more than maxTopicLevels levels. */
  topicLimitRefusals: number;
  /** Subscriptions refused by maxSubscriptionsPerClient. */
  subscriptionLimitRefusals: number;
  /** PUBLISH payloads beyond messageSizeLimit. */
  messageSizeRefusals: number;
  /** Clients disconnected by publishRateLimit. */
  publishRateRefusals: number;
  /** Clients disconnected for not reading (slowConsumer 'disconnect'). */
  slowConsumerDisconnects: number;
  /** Connections refused by max_connections or the per-IP connection rate limit. */
  connectionsRefused: number;
  /** Connections closed because no CONNECT came in time. */
  connectTimeouts: number;
  /** Transactions committed to the persistence store. */
  persistenceCommits: number;
  /**
   * Rows those commits wrote or deleted. A row created and deleted between two commits (a QoS 1
   * delivery acknowledged at once, and its message) is never written and not counted.
   */
  persistenceRowsWritten: number;
  /** Most clients connected at once since start ($SYS/broker/clients/maximum). */
  clientsMaximum: number;
  /** Sessions that expired while disconnected ($SYS/broker/clients/expired). */
  clientsExpired: number;
  /** MQTT packets of every type received and sent ($SYS/broker/messages/received, sent). */
  packetsReceived: number;
  packetsSent: number;
  /** Payload bytes of PUBLISH packets received and sent ($SYS/broker/publish/bytes/...). */
  publishBytesReceived: number;
  publishBytesSent: number;
  /** Network connections opened ($SYS/broker/load/sockets). */
  socketsOpened: number;
}

export interface Broker {
  /** Start the configured listeners. Resolves once they accept connections. */
  listen(): Promise<void>;
  /** Port of the first TCP listener (after listen; useful with port 0). */
  readonly port: number;
  /** Where each listener accepts clients, e.g. mqtts://0.0.0.0:8883 (after listen). */
  readonly urls: string[];
  /** Where the admin HTTP server listens (http_listener), after listen; undefined when it does not. */
  readonly httpUrl: string | undefined;
  /** Stop listening, disconnect every client (5.0: reason 0x8B), flush, release timers. */
  close(): Promise<void>;
  /**
   * Re-read password and ACL files, as Mosquitto does on SIGHUP: later deliveries are checked
   * against the new rules (cached authorizeRead answers are dropped), and clients whose user was
   * removed from the password file or whose password no longer verifies are disconnected.
   */
  reload(): void;
  /** Publish a message as the broker itself. */
  publish(message: BrokerPublish): void;
  readonly stats: Readonly<BrokerStats>;
  /** The hook chain: `broker.hooks.add('message.publish', fn, 10)` (README, Hooks). */
  readonly hooks: HookRegistry;
  on<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this;
  off<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this;
}
