/**
 * Local publish/subscribe: which sessions receive a message. Subscriptions live in the topic
 * index of src/topics (literal filters in a hash map, wildcard filters in a trie, bounded match
 * cache), so routing costs O(topic levels + matching subscriptions), not O(subscriptions).
 *
 * Overlapping subscriptions of one session yield one delivery at the highest granted QoS,
 * carrying every matching subscription identifier (5.0) [MQTT-3.3.5-1]. This is done with epoch
 * stamps on the sessions (two passes over the matches), so no map is allocated per message.
 */
import type { QoS } from '../protocol/packets.js';
import { SubscriptionIndex } from '../topics/index.js';
import type { Message } from './message.js';
import type { Session, SubscriptionEntry } from './session.js';

export class Router {
  private readonly index = new SubscriptionIndex<Session, SubscriptionEntry>();
  private epoch = 0;

  get subscriptionCount(): number {
    return this.index.size;
  }

  /** Add or replace a session's subscription [MQTT-3.8.4-3]. Returns true when it is new. */
  subscribe(entry: SubscriptionEntry): boolean {
    return this.index.add(entry.filter, entry.session, entry);
  }

  unsubscribe(session: Session, filter: string): boolean {
    return this.index.remove(filter, session);
  }

  /** Deliver a message to every session with a matching subscription; returns how many. */
  route(message: Message): number {
    const matches = this.index.match(message.topic);
    const count = matches.length;
    if (count === 0) return 0;
    if (count === 1) {
      const entry = matches[0] as SubscriptionEntry;
      if (entry.noLocal && entry.session.clientId === message.origin) return 0; // [MQTT-3.8.3-3]
      entry.session.deliver(
        message,
        minQos(message.qos, entry.qos),
        entry.retainAsPublished && message.retain,
        entry.subscriptionId > 0 ? [entry.subscriptionId] : undefined,
      );
      return 1;
    }
    const epoch = ++this.epoch;
    for (let i = 0; i < count; i++) {
      const entry = matches[i] as SubscriptionEntry;
      if (entry.noLocal && entry.session.clientId === message.origin) continue;
      const session = entry.session;
      const qos = minQos(message.qos, entry.qos);
      const retain = entry.retainAsPublished && message.retain;
      if (session.routeEpoch !== epoch) {
        session.routeEpoch = epoch;
        session.routeQos = qos;
        session.routeRetain = retain;
        session.routeSubIds = entry.subscriptionId > 0 ? [entry.subscriptionId] : undefined;
      } else {
        if (qos > session.routeQos) session.routeQos = qos;
        if (retain) session.routeRetain = true;
        if (entry.subscriptionId > 0) (session.routeSubIds ??= []).push(entry.subscriptionId);
      }
    }
    let delivered = 0;
    for (let i = 0; i < count; i++) {
      const session = (matches[i] as SubscriptionEntry).session;
      if (session.routeEpoch !== epoch) continue;
      session.routeEpoch = -epoch; // delivered: skip its other matches
      session.deliver(message, session.routeQos, session.routeRetain, session.routeSubIds);
      delivered++;
    }
    return delivered;
  }
}

export function minQos(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}
