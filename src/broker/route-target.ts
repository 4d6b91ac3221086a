/**
 * What a route leads to. The router's index holds routes (a filter and its options) and share
 * groups; a route leads to a target, and the router hands each matching message to a target
 * once, whatever the target is: a local `Session`, or a `RemoteTarget` (./remote.ts: another
 * node, a bridge, a rule sink). Dispatch calls `deliver` and never asks which kind it serves.
 */
import type { QoS } from '../protocol/packets.js';
import type { Message } from './message.js';
import type { ShareGroup } from './share-group.js';

/** How ready a share-group member is to take the next message (./share-group.ts). */
export const enum Readiness {
  /** Not reachable now (a disconnected session): only its offline queue would take it. */
  Offline = 0,
  /** Reachable but behind (window full, queue not empty, congested). */
  Busy = 1,
  /** Takes it at once. */
  Ready = 2,
}

export interface RouteTarget {
  /**
   * Who published a message it must not get back (No Local [MQTT-3.8.3-3]): a session's client
   * id; a remote target's name never equals a client id the core sees as an origin.
   */
  readonly clientId: string;
  // Router scratch fields: set while one message is routed, so overlapping routes of one target
  // produce one delivery at the highest QoS without allocating a map per message.
  routeEpoch: number;
  routeQos: QoS;
  routeRetain: boolean;
  routeSubIds: number[] | undefined;
  /** Take one copy of a message (through `group` when it came by a share group). */
  deliver(message: Message, qos: QoS, retain: boolean, subscriptionIds: readonly number[] | undefined, group?: ShareGroup): void;
  /** Share groups pick ready members first. */
  readiness(): Readiness;
}

/**
 * One route of the index: a session's subscription (`SubscriptionEntry`) or a remote target's
 * filter. `session` names the target (for most routes, a session).
 */
export interface Route {
  readonly session: RouteTarget;
  readonly filter: string;
  /** Share name of a shared route `$share/{name}/{filter}`, else undefined. */
  readonly shareName: string | undefined;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  subscriptionId: number;
}
