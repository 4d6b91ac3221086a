/**
 * Publish/subscribe: which targets receive a message. Routes live in the topic index of
 * src/topics (literal filters in a hash map, wildcard filters in a trie, bounded match cache), so
 * routing costs O(topic levels + matching routes), not O(routes).
 *
 * A route leads to a target (./route-target.ts): a local session (its subscription) or a remote
 * target (`addRemote`: another node, a bridge, a rule sink); a share group holds routes of
 * either kind. Dispatch only calls `RouteTarget.deliver`.
 *
 * Overlapping routes of one target yield one delivery at the highest granted QoS, carrying every
 * matching subscription identifier (5.0) [MQTT-3.3.5-1]. This is done with epoch stamps on the
 * targets (two passes over the matches), so no map is allocated per message.
 */
import type { QoS } from '../protocol/packets.js';
import { SubscriptionIndex } from '../topics/index.js';
import type { Message } from './message.js';
import type { Route, RouteTarget } from './route-target.js';
import type { Session, SubscriptionEntry } from './session.js';
import { ShareGroup } from './share-group.js';

/** What the index holds: a route to one target, or a shared subscription group. */
type Target = Route | ShareGroup;

/** How a remote target takes a filter (`Router.addRemote`). */
export interface RemoteRouteOptions {
  /**
   * Highest QoS of its copies (default 2: the message's own QoS). As for a client's subscription,
   * upgrade_outgoing_qos makes it the QoS of every copy: pass the QoS the peer needs.
   */
  qos?: QoS;
  /** Member of the share group `$share/{shareName}/{filter}` (a node holding members of it). */
  shareName?: string;
  /** Keep the RETAIN flag of messages as published (default true). */
  retainAsPublished?: boolean;
  /** Subscription identifier handed with its copies (default 0: none). */
  subscriptionId?: number;
}

export class Router {
  private readonly index = new SubscriptionIndex<RouteTarget | ShareGroup, Target>();
  private readonly groups = new Map<string, ShareGroup>();
  private epoch = 0;
  /** A route is in progress (its epoch stamps are on the receivers). */
  private routing = false;
  /** Session members of share groups. */
  private members = 0;
  /** Remote routes outside share groups (not subscriptions of this broker's clients). */
  private remotes = 0;
  /** upgrade_outgoing_qos: deliver at the subscription's QoS, not the lower of the two. */
  upgradeQos = false;

  /** Subscriptions, shared ones counted per member. */
  get subscriptionCount(): number {
    return this.index.size - this.groups.size - this.remotes + this.members;
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
    const added = this.add(entry);
    if (added && entry.shareName !== undefined) this.members++;
    return added;
  }

  /** Remove a subscription (entry as stored in the session). Returns whether it existed. */
  unsubscribe(session: Session, entry: SubscriptionEntry): boolean {
    const removed = this.remove(session, entry.filter, entry.shareName);
    if (removed && entry.shareName !== undefined) this.members--;
    return removed;
  }

  /**
   * Route messages matching `filter` to a remote target (or make it a member of a share group),
   * with the same rules as a session's subscription: one copy per message at the highest QoS of
   * its matching routes. Adding the same filter again replaces its options. Returns true when new.
   */
  addRemote(filter: string, target: RouteTarget, options: RemoteRouteOptions = {}): boolean {
    const route: Route = {
      session: target,
      filter,
      shareName: options.shareName,
      qos: options.qos ?? 2,
      noLocal: false,
      retainAsPublished: options.retainAsPublished ?? true,
      subscriptionId: options.subscriptionId ?? 0,
    };
    const added = this.add(route);
    if (added && route.shareName === undefined) this.remotes++;
    return added;
  }

  /** Remove a route of a remote target. Returns whether it existed. */
  removeRemote(filter: string, target: RouteTarget, shareName?: string): boolean {
    const removed = this.remove(target, filter, shareName);
    if (removed && shareName === undefined) this.remotes--;
    return removed;
  }

  /** Add or replace a route [MQTT-3.8.4-3]; a shared one joins its group. Returns true when new. */
  private add(route: Route): boolean {
    const name = route.shareName;
    if (name === undefined) return this.index.add(route.filter, route.session, route);
    const key = ShareGroup.key(name, route.filter);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new ShareGroup(name, route.filter);
      this.groups.set(key, group);
      this.index.add(route.filter, group, group);
    }
    return group.add(route);
  }

  private remove(target: RouteTarget, filter: string, shareName: string | undefined): boolean {
    if (shareName === undefined) return this.index.remove(filter, target);
    const key = ShareGroup.key(shareName, filter);
    const group = this.groups.get(key);
    if (group === undefined || !group.remove(target)) return false;
    if (group.members.length === 0) {
      this.groups.delete(key);
      this.index.remove(filter, group);
    }
    return true;
  }

  /** The share group of a member subscription, if it still exists. */
  group(name: string, filter: string): ShareGroup | undefined {
    return this.groups.get(ShareGroup.key(name, filter));
  }

  /** Deliver a message to every target with a matching route; returns how many. */
  route(message: Message): number {
    const matches = this.index.match(message.topic);
    const count = matches.length;
    if (count === 0) return 0;
    if (count === 1) {
      const target = matches[0] as Target;
      if (target instanceof ShareGroup) return deliverShared(target, message, undefined, this.upgradeQos);
      const route = target;
      if (route.noLocal && route.session.clientId === message.origin) return 0; // [MQTT-3.8.3-3]
      route.session.deliver(
        message,
        deliveryQos(message.qos, route.qos, this.upgradeQos),
        route.retainAsPublished && message.retain,
        route.subscriptionId > 0 ? [route.subscriptionId] : undefined,
      );
      return 1;
    }
    if (this.routing) return this.routeNested(message, matches);
    this.routing = true;
    try {
      return this.routeStamped(message, matches);
    } finally {
      this.routing = false;
    }
  }

  /** Two passes over the matches with epoch stamps on the receivers: no allocation per message. */
  private routeStamped(message: Message, matches: readonly Target[]): number {
    const count = matches.length;
    const epoch = ++this.epoch;
    let delivered = 0;
    for (let i = 0; i < count; i++) {
      const target = matches[i] as Target;
      if (target instanceof ShareGroup) {
        delivered += deliverShared(target, message, undefined, this.upgradeQos);
        continue;
      }
      const route = target;
      if (route.noLocal && route.session.clientId === message.origin) continue;
      const receiver = route.session;
      const qos = deliveryQos(message.qos, route.qos, this.upgradeQos);
      const retain = route.retainAsPublished && message.retain;
      if (receiver.routeEpoch !== epoch) {
        receiver.routeEpoch = epoch;
        receiver.routeQos = qos;
        receiver.routeRetain = retain;
        receiver.routeSubIds = route.subscriptionId > 0 ? [route.subscriptionId] : undefined;
      } else {
        if (qos > receiver.routeQos) receiver.routeQos = qos;
        if (retain) receiver.routeRetain = true;
        if (route.subscriptionId > 0) (receiver.routeSubIds ??= []).push(route.subscriptionId);
      }
    }
    for (let i = 0; i < count; i++) {
      const target = matches[i] as Target;
      if (target instanceof ShareGroup) continue;
      const receiver = target.session;
      if (receiver.routeEpoch !== epoch) continue;
      receiver.routeEpoch = -epoch; // delivered: skip its other matches
      receiver.deliver(message, receiver.routeQos, receiver.routeRetain, receiver.routeSubIds);
      delivered++;
    }
    return delivered;
  }

  /**
   * A message routed while another is (a hook published from inside a delivery: a rule on
   * `message.delivered`): the receivers' epoch stamps belong to the outer route, so the one-copy
   * rule is kept in a map instead (rare; allocates).
   */
  private routeNested(message: Message, matches: readonly Target[]): number {
    const copies = new Map<RouteTarget, { qos: QoS; retain: boolean; subIds: number[] | undefined }>();
    let delivered = 0;
    for (const target of matches) {
      if (target instanceof ShareGroup) {
        delivered += deliverShared(target, message, undefined, this.upgradeQos);
        continue;
      }
      if (target.noLocal && target.session.clientId === message.origin) continue;
      const qos = deliveryQos(message.qos, target.qos, this.upgradeQos);
      const retain = target.retainAsPublished && message.retain;
      const copy = copies.get(target.session);
      if (copy === undefined) copies.set(target.session, { qos, retain, subIds: target.subscriptionId > 0 ? [target.subscriptionId] : undefined });
      else {
        if (qos > copy.qos) copy.qos = qos;
        if (retain) copy.retain = true;
        if (target.subscriptionId > 0) (copy.subIds ??= []).push(target.subscriptionId);
      }
    }
    for (const [receiver, copy] of copies) receiver.deliver(message, copy.qos, copy.retain, copy.subIds);
    return delivered + copies.size;
  }
}

/** One member of a share group receives the message (MQTT 5.0 section 4.8.2). */
export function deliverShared(group: ShareGroup, message: Message, except?: RouteTarget, upgrade = false): number {
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
