/**
 * The one place the rule engine meets the broker: the broker's events (`broker.on`, which run
 * on the hook chain after every other callback) and the hook chain's points (`broker.hooks`),
 * mapped to the engine's message input and to EMQX's event sources. A point is registered only
 * when a rule reads its event, so a broker without such rules pays nothing on its message path.
 * Message events are fed for clients' messages only: the broker's own (republished by a rule,
 * $SYS) would let a rule on `$events/message_delivered` feed itself through its own republish.
 * Not fed yet: client_check_authz_complete (the chain folds an authorization to one answer and
 * does not announce it).
 *
 * Republished messages must come back through `message` synchronously (within
 * broker.publish), so the engine's loop bound sees them.
 */
import type { Broker } from '../broker/api.js';
import type { Message } from '../broker/message.js';
import type { ClientInfo } from '../broker/options.js';
import type { QoS } from '../protocol/packets.js';
import type { RuleEngine } from './engine.js';

function client(info: ClientInfo): Record<string, string | null> {
  return { clientid: info.clientId, username: info.username ?? null, peername: info.remoteAddress, peerhost: info.remoteAddress };
}

function messageFields(message: Message): Record<string, string | number | boolean | null> {
  return { topic: message.topic, payload: message.payload.toString(), qos: message.qos, retain: message.retain, from_clientid: message.origin ?? null };
}

/** Register the hook-chain events that some rule reads (observers: lowest priority); returns their removers. */
function attachHookEvents(broker: Broker, engine: RuleEngine): Array<() => void> {
  const removers: Array<() => void> = [];
  const hooks = broker.hooks;
  const low = -1_000_000;
  const fromClient = (message: Message): boolean => message.origin !== undefined;
  if (engine.wants('message_delivered')) {
    removers.push(hooks.add('message.delivered', (info, message) => void (fromClient(message) && engine.event('message_delivered', { ...client(info), ...messageFields(message) })), low));
  }
  if (engine.wants('message_acked')) {
    removers.push(hooks.add('message.acked', (info, message) => void (fromClient(message) && engine.event('message_acked', { ...client(info), ...messageFields(message) })), low));
  }
  if (engine.wants('message_dropped')) {
    removers.push(hooks.add('message.dropped', (message, reason) => void (fromClient(message) && engine.event('message_dropped', { ...messageFields(message), reason })), low));
  }
  if (engine.wants('delivery_dropped')) {
    removers.push(hooks.add('delivery.dropped', (clientid, message, reason) => void (fromClient(message) && engine.event('delivery_dropped', { clientid, ...messageFields(message), reason })), low));
  }
  if (engine.wants('client_connack')) {
    removers.push(hooks.add('client.connack', (info, reasonCode) => void engine.event('client_connack', { ...client(info), reason_code: reasonCode }), low));
  }
  return removers;
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
  const removers = attachHookEvents(broker, engine);
  return () => {
    for (const remove of removers) remove();
    broker.off('message', onMessage).off('clientConnected', onConnected).off('clientDisconnected', onDisconnected);
    broker.off('subscribed', onSubscribed).off('unsubscribed', onUnsubscribed);
  };
}
