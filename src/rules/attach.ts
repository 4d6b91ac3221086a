/**
 * The one place the rule engine meets the broker: today's events (`broker.on`), mapped to the
 * engine's message input and to EMQX's event sources. When the ordered hook chain lands, this
 * adapter is re-pointed at its hook points (`message.publish`, `client.connected`, ...), which
 * also carry what today's events lack (5.0 user properties of a message, message_delivered,
 * message_acked, message_dropped, delivery_dropped, client_connack,
 * client_check_authz_complete). The engine itself does not change.
 *
 * Republished messages must come back through `message` synchronously (within
 * broker.publish), so the engine's loop bound sees them.
 */
import type { Broker } from '../broker/api.js';
import type { ClientInfo } from '../broker/options.js';
import type { QoS } from '../protocol/packets.js';
import type { RuleEngine } from './engine.js';

function client(info: ClientInfo): Record<string, string | null> {
  return { clientid: info.clientId, username: info.username ?? null, peername: info.remoteAddress, peerhost: info.remoteAddress };
}

/** Feed the broker's messages and events to the engine; returns the detach function. */
export function attachRules(broker: Broker, engine: RuleEngine): () => void {
  const onMessage = (topic: string, payload: Buffer, qos: QoS, retain: boolean, from: ClientInfo | undefined): void => {
    if (!engine.hasTopicRules || !engine.wantsTopic(topic)) return;
    engine.message({ topic, payload, qos, retain, clientid: from?.clientId, username: from?.username, peerhost: from?.remoteAddress, timestamp: Date.now() });
  };
  const onConnected = (info: ClientInfo): void => {
    if (engine.wants('client_connected')) engine.event('client_connected', { ...client(info), connected_at: Date.now() });
  };
  const onDisconnected = (info: ClientInfo, reason: string): void => {
    if (engine.wants('client_disconnected')) engine.event('client_disconnected', { ...client(info), reason, disconnected_at: Date.now() });
  };
  const onSubscribed = (info: ClientInfo, topic: string, qos: QoS): void => {
    if (engine.wants('session_subscribed')) engine.event('session_subscribed', { ...client(info), topic, qos });
  };
  const onUnsubscribed = (info: ClientInfo, topic: string): void => {
    if (engine.wants('session_unsubscribed')) engine.event('session_unsubscribed', { ...client(info), topic });
  };
  broker.on('message', onMessage).on('clientConnected', onConnected).on('clientDisconnected', onDisconnected);
  broker.on('subscribed', onSubscribed).on('unsubscribed', onUnsubscribed);
  return () => {
    broker.off('message', onMessage).off('clientConnected', onConnected).off('clientDisconnected', onDisconnected);
    broker.off('subscribed', onSubscribed).off('unsubscribed', onUnsubscribed);
  };
}
