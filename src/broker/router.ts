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
import { ShareGroup } from './share-group.js';

/** What the index holds: a session's own subscription, or a shared subscription group. */
type Target = SubscriptionEntry | ShareGroup;

export class Router {
  private readonly index = new SubscriptionIndex<Session | ShareGroup, Target>();
  private readonly groups = new Map<string, ShareGroup>();
  private epoch = 0;
  private members = 0;
  /** upgrade_outgoing_qos: deliver at the subscription's QoS, not the lower of the two. */
  upgradeQos = false;

  /** Subscriptions, shared ones counted per member. */
  get subscriptionCount(): number {
    return this.index.size - this.groups.size + this.members;
  }

  /** Shared subscriptions, counted per member. */
  get sharedSubscriptionCount(): number {
    return this.members;
  }

  /**
   * Add or replace a session's subscription [MQTT-3.8.4-3]; a member of a share group joins the
   * group (entry.group). Returns true when it is new.
   */
  subscribe(entry: SubscriptionEntry): boolean {
    const name = entry.shareName;
    if (name === undefined) return this.index.add(entry.filter, entry.session, entry);
    const key = ShareGroup.key(name, entry.filter);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new ShareGroup(name, entry.filter);
      this.groups.set(key, group);
      this.index.add(entry.filter, group, group);
    }
    const added = group.add(entry);
    if (added) this.members++;
    return added;
  }

  /** Remove a subscription (entry as stored in the session). Returns whether it existed. */
  unsubscribe(session: Session, entry: SubscriptionEntry): boolean {
    const name = entry.shareName;
    if (name === undefined) return this.index.remove(entry.filter, session);
    const key = ShareGroup.key(name, entry.filter);
    const group = this.groups.get(key);
    if (group === undefined || !group.remove(session)) return false;
    this.members--;
    if (group.members.length === 0) {
      this.groups.delete(key);
      this.index.remove(entry.filter, group);
    }
    return true;
  }

  /** The share group of a member subscription, if it still exists. */
  group(name: string, filter: string): ShareGroup | undefined {
    return this.groups.get(ShareGroup.key(name, filter));
  }

  /** Deliver a message to every session with a matching subscription; returns how many. */
  route(message: Message): number {
    const matches = this.index.match(message.topic);
    const count = matches.length;
    if (count === 0) return 0;
    if (count === 1) {
      const target = matches[0] as Target;
      if (target instanceof ShareGroup) return deliverShared(target, message, undefined, this.upgradeQos);
      const entry = target;
      if (entry.noLocal && entry.session.clientId === message.origin) return 0; // [MQTT-3.8.3-3]
      entry.session.deliver(
        message,
        deliveryQos(message.qos, entry.qos, this.upgradeQos),
        entry.retainAsPublished && message.retain,
        entry.subscriptionId > 0 ? [entry.subscriptionId] : undefined,
      );
      return 1;
    }
    const epoch = ++this.epoch;
    let delivered = 0;
    for (let i = 0; i < count; i++) {
      const target = matches[i] as Target;
      if (target instanceof ShareGroup) {
        delivered += deliverShared(target, message, undefined, this.upgradeQos);
        continue;
      }
      const entry = target;
      if (entry.noLocal && entry.session.clientId === message.origin) continue;
      const session = entry.session;
      const qos = deliveryQos(message.qos, entry.qos, this.upgradeQos);
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
    for (let i = 0; i < count; i++) {
      const target = matches[i] as Target;
      if (target instanceof ShareGroup) continue;
      const session = target.session;
      if (session.routeEpoch !== epoch) continue;
      session.routeEpoch = -epoch; // delivered: skip its other matches
      session.deliver(message, session.routeQos, session.routeRetain, session.routeSubIds);
      delivered++;
    }
    return delivered;
  }
}

/** One member of a share group receives the message (MQTT 5.0 section 4.8.2). */
export function deliverShared(group: ShareGroup, message: Message, except?: Session, upgrade = false): number {
  const member = group.pick(except);
  if (member === undefined) return 0;
  member.session.deliver(
    message,
    deliveryQos(message.qos, member.qos, upgrade),
    member.retainAsPublished && message.retain,
    member.subscriptionId > 0 ? [member.subscriptionId] : undefined,
    group,
  );
  return 1;
}

export function minQos(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}

/** The QoS of a delivery: the lower of the message's and the subscription's, or (upgrade_outgoing_qos) the subscription's. */
export function deliveryQos(messageQos: QoS, subscriptionQos: QoS, upgrade: boolean): QoS {
  return upgrade ? subscriptionQos : minQos(messageQos, subscriptionQos);
}
