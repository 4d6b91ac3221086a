/**
 * The Cicada MQTT client (`import { connect } from 'cicada/client'`): MQTT 3.1, 3.1.1 and 5.0
 * over TCP, TLS, WebSocket and secure WebSocket, with a promise API, automatic reconnect and
 * typed errors. It shares the codec (src/protocol) with the broker.
 *
 *   const client = await connect('mqtt://localhost:1883', { protocolVersion: 5 });
 *   await client.subscribe('sensors/#', { qos: 1 });
 *   await client.publish('sensors/t1', '21.5', { qos: 1 });
 *   for await (const msg of client.messages()) console.log(msg.topic, msg.payload.toString());
 */
import { MqttClient } from './client.js';
import type { ConnectOptions } from './options.js';

/** Connects; resolves once the server accepted the connection (CONNACK 0), else rejects. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<MqttClient> {
  const client = new MqttClient(url, options);
  await client.start();
  return client;
}

export { MqttClient } from './client.js';
export type { ClientEvents, ClientState, Granted, SubscribeOptions } from './client.js';
export type { Message } from './inbound.js';
export type { PublishOptions, PublishResult } from './flows.js';
export type { ClientProperties, ConnectOptions, ReconnectOptions, TlsOptions, UserProperties, WillOptions } from './options.js';
export { parseBrokerUrl } from './options.js';
export { backoffDelay } from './backoff.js';
export {
  ConnectionClosedError,
  ConnectionRefusedError,
  InvalidArgumentError,
  MqttClientError,
  NotConnectedError,
  ProtocolViolationError,
  PublishError,
  ServerDisconnectError,
  TimeoutError,
  connackReason,
  reasonText,
} from './errors.js';
