/**
 * The public face of a running broker: what `createBroker` returns to embedders and tests.
 */
import type { Properties, QoS } from '../protocol/packets.js';
import type { ClientInfo } from './options.js';

export interface BrokerPublish {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

/** Event payloads of a broker. Listeners run synchronously; they must not throw. */
export interface BrokerEvents {
  clientConnected: [client: ClientInfo];
  clientDisconnected: [client: ClientInfo, reason: string];
  subscribed: [client: ClientInfo, topicFilter: string, qos: QoS];
  unsubscribed: [client: ClientInfo, topicFilter: string];
  /** A message accepted for routing (from a client, or from broker.publish with client undefined). */
  message: [topic: string, payload: Buffer, qos: QoS, retain: boolean, client: ClientInfo | undefined];
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
  messagesDropped: number;
}

export interface Broker {
  /** Start the configured listeners. Resolves once they accept connections. */
  listen(): Promise<void>;
  /** Port of the first TCP listener (after listen; useful with port 0). */
  readonly port: number;
  /** Stop listening, disconnect every client (5.0: reason 0x8B), flush, release timers. */
  close(): Promise<void>;
  /** Publish a message as the broker itself. */
  publish(message: BrokerPublish): void;
  readonly stats: Readonly<BrokerStats>;
  on<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this;
  off<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this;
}
