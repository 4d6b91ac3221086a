/**
 * The hook chain: one ordered list of callbacks per hook point, as EMQX's `emqx_hooks`
 * (`add(HookPoint, Callback, Priority)`, `run` / `run_fold`, `stop` / `ok`) and Mosquitto's
 * plugin events. The security providers (src/auth), the option hooks of embedders
 * (`BrokerOptions.authenticate` ...), `broker.on(event)` and later the rule engine and the admin
 * API all register here; the core calls the chain at fixed points.
 *
 * Invariants:
 * - Each point's callbacks run by priority, higher first; equal priorities in registration order.
 * - A list is replaced, never changed in place, when a callback is added or removed: a run that is
 *   going on finishes on the list it started with.
 * - No cost when a point has no callback: call sites test `has(point)` (a length check), or on
 *   the message path a boolean field (`onPublish`, `checksDelivery` ...), before building any
 *   argument, so nothing is allocated.
 * - Synchronous when every callback is. Only `client.authenticate` and `client.authorize` for
 *   publish and subscribe may answer with a Promise (they could before: the channel keeps later
 *   packets in its backlog meanwhile). A Promise anywhere else is reported and, for a delivery's
 *   authorization, counts as deny (fail closed).
 * - Decision points (authenticate, authorize) fold: the first definite answer wins and ends the
 *   run, as Mosquitto's plugin chain; 'ignore' passes on. With no callback the broker's default is
 *   open (accept, allow); when callbacks ran and all ignored, the answer is no (fail closed).
 * - A callback that throws is reported; on a decision point the answer is then no.
 */
import type { QoS } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { Message } from './message.js';
import type { AuthResult, BrokerHooks, ClientInfo, ConnectInfo } from './options.js';
import type { DropReason } from './session.js';

export type AuthzAction = 'publish' | 'subscribe' | 'deliver';

/** An authorization answer: a number allows at most that QoS (subscribe; elsewhere it allows). */
export type AuthzResult = 'allow' | 'deny' | 'ignore' | QoS;

/** An authentication answer, or 'ignore' to leave the decision to the next callback. */
export type AuthnResult = AuthResult | 'ignore';

/** A notification callback may stop the callbacks after it (not the broker's own work). */
export type HookOutcome = 'stop' | undefined | void;

/** Why a message reached no one: no matching subscription, or a `message.publish` callback stopped it. */
export type MessageDropReason = 'no-subscribers' | 'stopped';

/** Why a subscriber's copy was not delivered. */
export type DeliveryDropReason = DropReason | 'not-authorized';

/**
 * Why a session ended: a Clean Start / Clean Session connection, a connection of another user
 * with its client id, its expiry interval passed, its connection ended with expiry 0.
 */
export type SessionEndReason = 'clean-start' | 'other-user' | 'expired' | 'closed' | 'deleted';

/** The callback of each hook point. */
export interface HookCallbacks {
  'client.authenticate': (info: ConnectInfo) => AuthnResult | Promise<AuthnResult>;
  'client.authorize': (client: ClientInfo, action: AuthzAction, topic: string, qos: QoS, retain: boolean) => AuthzResult | Promise<AuthzResult>;
  'client.connack': (client: ClientInfo, reasonCode: number) => HookOutcome;
  'client.connected': (client: ClientInfo) => HookOutcome;
  'client.disconnected': (client: ClientInfo, reason: string) => HookOutcome;
  'session.created': (client: ClientInfo) => HookOutcome;
  'session.resumed': (client: ClientInfo) => HookOutcome;
  'session.terminated': (clientId: string, reason: SessionEndReason) => HookOutcome;
  'session.subscribed': (client: ClientInfo, topicFilter: string, qos: QoS) => HookOutcome;
  'session.unsubscribed': (client: ClientInfo, topicFilter: string) => HookOutcome;
  /** Before routing: return a new message to change it (`alteredMessage`), 'stop' to drop it. */
  'message.publish': (message: Message, publisher: ClientInfo | undefined) => Message | 'stop' | undefined | void;
  /** After routing (and the retained store): observers of accepted messages (`broker.on('message')`). */
  'message.routed': (message: Message, publisher: ClientInfo | undefined) => HookOutcome;
  'message.delivered': (client: ClientInfo, message: Message) => HookOutcome;
  'message.acked': (client: ClientInfo, message: Message) => HookOutcome;
  'message.dropped': (message: Message, reason: MessageDropReason) => HookOutcome;
  'delivery.dropped': (clientId: string, message: Message, reason: DeliveryDropReason) => HookOutcome;
}

export type HookPoint = keyof HookCallbacks;

type NotifyPoint = Exclude<HookPoint, 'client.authenticate' | 'client.authorize' | 'message.publish'>;

/** Where the broker's own registrations sit: embedders' option hooks first, security after them. */
export const HookPriority = {
  /** The broker's own per-connection bookkeeping (security's JWT claims): before anything may stop. */
  state: 1000,
  /** BrokerOptions.authenticate, authorizePublish ...: they decide before the declared security. */
  options: 0,
  /** The security providers of the configuration (src/auth). */
  security: -1000,
  /** `broker.on(event)` listeners: after everything that may change or stop a message. */
  listeners: Number.NEGATIVE_INFINITY,
} as const;

export interface HookOptions {
  /** `client.authorize` only: the actions the callback answers (default: all). */
  actions?: readonly AuthzAction[];
}

interface Entry {
  readonly fn: (...args: never[]) => unknown;
  readonly priority: number;
}

const ACTIONS: readonly AuthzAction[] = ['publish', 'subscribe', 'deliver'];
const EMPTY: readonly Entry[] = Object.freeze([]);

/** Lists by key: hook points, with `client.authorize` split by action. */
type ListKey = Exclude<HookPoint, 'client.authorize'> | `client.authorize:${AuthzAction}`;

const AUTHZ_KEYS: Readonly<Record<AuthzAction, ListKey>> = {
  publish: 'client.authorize:publish',
  subscribe: 'client.authorize:subscribe',
  deliver: 'client.authorize:deliver',
};

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === 'function';
}

export class HookChain {
  private readonly lists: Record<ListKey, readonly Entry[]> = {
    'client.authenticate': EMPTY,
    'client.authorize:publish': EMPTY,
    'client.authorize:subscribe': EMPTY,
    'client.authorize:deliver': EMPTY,
    'client.connack': EMPTY,
    'client.connected': EMPTY,
    'client.disconnected': EMPTY,
    'session.created': EMPTY,
    'session.resumed': EMPTY,
    'session.terminated': EMPTY,
    'session.subscribed': EMPTY,
    'session.unsubscribed': EMPTY,
    'message.publish': EMPTY,
    'message.routed': EMPTY,
    'message.delivered': EMPTY,
    'message.acked': EMPTY,
    'message.dropped': EMPTY,
    'delivery.dropped': EMPTY,
  };

  // Whether the points on the message path have callbacks, as plain fields: what every message
  // and every delivery tests (a keyed lookup, its key built per call, cost fan-out 60% more CPU
  // per delivery: 31 -> 51 ns in-process).
  /** `client.authorize` for publish, for deliver. */
  checksPublish = false;
  checksDelivery = false;
  /** `message.publish`, `message.dropped`, `message.delivered`, `delivery.dropped`. */
  onPublish = false;
  onRouted = false;
  onMessageDropped = false;
  onDelivered = false;
  onDeliveryDropped = false;
  /** `message.acked` (every QoS 1/2 acknowledgement). */
  onAcked = false;

  /** `report` hears of callbacks that threw or answered with a Promise where none may. */
  constructor(private readonly report: (error: Error) => void) {}

  /**
   * Register `fn` on `point`; higher priorities run first, ties in registration order. Returns a
   * function that removes it (again: no effect).
   */
  add<P extends HookPoint>(point: P, fn: HookCallbacks[P], priority = 0, options?: HookOptions): () => void {
    if (!(point in HOOK_POINTS)) throw new TypeError(`unknown hook point ${JSON.stringify(point)} (${Object.keys(HOOK_POINTS).join(', ')})`);
    if (typeof fn !== 'function') throw new TypeError(`a ${point} hook must be a function, not ${typeof fn}`);
    if (!Number.isFinite(priority) && priority !== HookPriority.listeners) throw new TypeError(`hook priority must be a finite number, not ${priority}`);
    const entry: Entry = { fn, priority };
    const keys = this.keysOf(point, options?.actions);
    for (const key of keys) {
      const list = this.lists[key];
      let at = list.findIndex((e) => e.priority < priority);
      if (at === -1) at = list.length;
      this.lists[key] = [...list.slice(0, at), entry, ...list.slice(at)];
    }
    this.refresh();
    return () => {
      for (const key of keys) {
        const list = this.lists[key];
        if (list.includes(entry)) this.lists[key] = list.length === 1 ? EMPTY : list.filter((e) => e !== entry);
      }
      this.refresh();
    };
  }

  private refresh(): void {
    const lists = this.lists;
    this.checksPublish = lists['client.authorize:publish'].length !== 0;
    this.checksDelivery = lists['client.authorize:deliver'].length !== 0;
    this.onPublish = lists['message.publish'].length !== 0;
    this.onRouted = lists['message.routed'].length !== 0;
    this.onMessageDropped = lists['message.dropped'].length !== 0;
    this.onDelivered = lists['message.delivered'].length !== 0;
    this.onDeliveryDropped = lists['delivery.dropped'].length !== 0;
    this.onAcked = lists['message.acked'].length !== 0;
  }

  private keysOf(point: HookPoint, actions: readonly AuthzAction[] | undefined): ListKey[] {
    if (point !== 'client.authorize') {
      if (actions !== undefined) throw new TypeError(`hook option 'actions' is for client.authorize, not ${point}`);
      return [point];
    }
    for (const action of actions ?? []) if (!ACTIONS.includes(action)) throw new TypeError(`unknown authorization action ${JSON.stringify(action)}`);
    return (actions ?? ACTIONS).map((action) => AUTHZ_KEYS[action]);
  }

  /** Whether any callback is registered on `point`. */
  has(point: Exclude<HookPoint, 'client.authorize'>): boolean {
    return this.lists[point].length !== 0;
  }

  /** Whether any callback answers `client.authorize` for `action`. */
  authorizes(action: AuthzAction): boolean {
    return this.lists[AUTHZ_KEYS[action]].length !== 0;
  }

  /** Run a notification point: every callback in order, until one returns 'stop'. */
  notify<P extends NotifyPoint>(point: P, ...args: Parameters<HookCallbacks[P]>): void {
    const list = this.lists[point];
    for (let i = 0; i < list.length; i++) {
      let outcome: unknown;
      try {
        outcome = ((list[i] as Entry).fn as (...a: Parameters<HookCallbacks[P]>) => unknown)(...args);
      } catch (error) {
        this.failed(point, error);
        continue;
      }
      if (outcome === 'stop') return;
      if (isPromise(outcome)) this.asyncWhereSync(point, outcome);
    }
  }

  /**
   * `message.publish` (a fold over the message): the message to route, possibly changed by a
   * callback, or undefined when a callback stopped it.
   */
  publish(message: Message, publisher: ClientInfo | undefined): Message | undefined {
    const list = this.lists['message.publish'];
    for (let i = 0; i < list.length; i++) {
      let outcome: unknown;
      try {
        outcome = ((list[i] as Entry).fn as HookCallbacks['message.publish'])(message, publisher);
      } catch (error) {
        this.failed('message.publish', error);
        continue;
      }
      if (outcome === 'stop') return undefined;
      if (outcome instanceof Message) message = outcome;
      else if (isPromise(outcome)) this.asyncWhereSync('message.publish', outcome);
    }
    return message;
  }

  /**
   * `client.authenticate`: the first definite answer. No callback: accepted; all ignored (or
   * threw): refused with Not authorized.
   */
  authenticate(info: ConnectInfo): AuthResult | Promise<AuthResult> {
    const list = this.lists['client.authenticate'];
    if (list.length === 0) return true;
    return this.decide<AuthnResult, AuthResult>('client.authenticate', list, 0, [info], ReasonCode.NotAuthorized);
  }

  /**
   * `client.authorize` for `action`: true (allow), false (deny) or, for subscribe, the highest
   * QoS granted. No callback for the action: allowed; all ignored (or threw): denied. A delivery's
   * answer is always synchronous.
   */
  authorize(action: 'deliver', client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean;
  authorize(action: 'publish', client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean | Promise<boolean>;
  authorize(action: AuthzAction, client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean | QoS | Promise<boolean | QoS>;
  authorize(action: AuthzAction, client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean | QoS | Promise<boolean | QoS> {
    const list = this.lists[AUTHZ_KEYS[action]];
    // Asked for every PUBLISH with an ACL: a loop of its own, without an argument array.
    for (let i = 0; i < list.length; i++) {
      let answer: AuthzResult | Promise<AuthzResult>;
      try {
        answer = ((list[i] as Entry).fn as HookCallbacks['client.authorize'])(client, action, topic, qos, retain);
      } catch (error) {
        this.failed('client.authorize', error);
        return false;
      }
      if (answer === 'ignore') continue;
      if (typeof answer !== 'object') return grant(action, answer);
      if (!isPromise(answer)) {
        this.failed('client.authorize', new TypeError(`not an answer: ${JSON.stringify(answer)}`));
        return false;
      }
      if (action === 'deliver') {
        this.asyncWhereSync('client.authorize', answer);
        return false;
      }
      const rest = [client, action, topic, qos, retain];
      return answer
        .then((value) => (value === 'ignore' ? this.decide<AuthzResult, AuthzResult>('client.authorize', list, i + 1, rest, 'deny') : value))
        .then((value) => grant(action, value));
    }
    return list.length === 0; // no callback: open; all ignored: deny
  }

  /**
   * Run decision callbacks from `start` until one answers other than 'ignore'; `fallback` when
   * none does. A Promise continues the run asynchronously, unless `syncOnly` (then: `fallback`).
   */
  private decide<A, R extends A>(
    point: HookPoint,
    list: readonly Entry[],
    start: number,
    args: unknown[],
    fallback: R,
    syncOnly = false,
  ): R | Promise<R> {
    for (let i = start; i < list.length; i++) {
      let answer: unknown;
      try {
        answer = ((list[i] as Entry).fn as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        this.failed(point, error);
        return fallback;
      }
      if (isPromise(answer)) {
        if (syncOnly) {
          this.asyncWhereSync(point, answer);
          return fallback;
        }
        const next = i + 1;
        return answer.then((value) => (value === 'ignore' ? this.decide<A, R>(point, list, next, args, fallback) : (value as R)));
      }
      if (answer !== 'ignore') return answer as R;
    }
    return fallback;
  }

  private failed(point: HookPoint, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.report(new Error(`a ${point} hook threw: ${message}`, { cause: error }));
  }

  private asyncWhereSync(point: HookPoint, promise: Promise<unknown>): void {
    promise.then(undefined, () => undefined); // its outcome is not used: no unhandled rejection
    this.report(
      new TypeError(`a ${point} hook returned a Promise: only client.authenticate and client.authorize for publish and subscribe may be asynchronous`),
    );
  }
}

/** Every hook point, for validating names given at run time. */
const HOOK_POINTS: Record<HookPoint, true> = {
  'client.authenticate': true,
  'client.authorize': true,
  'client.connack': true,
  'client.connected': true,
  'client.disconnected': true,
  'session.created': true,
  'session.resumed': true,
  'session.terminated': true,
  'session.subscribed': true,
  'session.unsubscribed': true,
  'message.publish': true,
  'message.routed': true,
  'message.delivered': true,
  'message.acked': true,
  'message.dropped': true,
  'delivery.dropped': true,
};

function grant(action: AuthzAction, answer: AuthzResult): boolean | QoS {
  if (typeof answer === 'number') return action === 'subscribe' ? answer : true;
  return answer === 'allow';
}

/**
 * A copy of `message` with some fields changed, for a `message.publish` callback. The copy is a
 * new message of the same publisher (No Local still applies) and expiry.
 */
export function alteredMessage(
  message: Message,
  changes: { topic?: string; payload?: Buffer | string; qos?: QoS; retain?: boolean },
): Message {
  const payload = typeof changes.payload === 'string' ? Buffer.from(changes.payload) : (changes.payload ?? message.payload);
  return new Message(
    changes.topic ?? message.topic,
    payload,
    changes.qos ?? message.qos,
    changes.retain ?? message.retain,
    message.properties,
    message.origin,
    message.expiresAt,
  );
}

/**
 * The single hooks of BrokerOptions (for embedders) as registrations at HookPriority.options:
 * each gives a definite answer for its own action only.
 */
export function registerOptionHooks(chain: HookChain, hooks: BrokerHooks): void {
  const { authenticate, authorizePublish, authorizeSubscribe, authorizeRead } = hooks;
  const at = HookPriority.options;
  if (authenticate !== undefined) chain.add('client.authenticate', authenticate, at);
  if (authorizePublish !== undefined) {
    chain.add('client.authorize', (client, _action, topic, qos, retain) => decision(authorizePublish(client, topic, qos, retain)), at, { actions: ['publish'] });
  }
  if (authorizeSubscribe !== undefined) {
    chain.add('client.authorize', (client, _action, filter, qos) => decision(authorizeSubscribe(client, filter, qos)), at, { actions: ['subscribe'] });
  }
  if (authorizeRead !== undefined) {
    chain.add('client.authorize', (client, _action, topic) => (authorizeRead(client, topic) ? 'allow' : 'deny'), at, { actions: ['deliver'] });
  }
}

function decision(answer: boolean | QoS | Promise<boolean | QoS>): AuthzResult | Promise<AuthzResult> {
  return typeof answer === 'object' ? answer.then(toAuthz) : toAuthz(answer);
}

function toAuthz(answer: boolean | QoS): AuthzResult {
  return typeof answer === 'number' ? answer : answer ? 'allow' : 'deny';
}

const allowAll = (): AuthzResult => 'allow';

/**
 * Stand-ins for a warm-up core (transport/warm-up.ts): where the real chain checks publishes or
 * deliveries, the warm-up's chain allows everything at the same place, so V8 compiles the path
 * the real broker runs (trained without them, a fan-out with a read check ran at 0.3x).
 */
export function warmUpStandIns(real: HookChain, scratch: HookChain): void {
  for (const action of ['publish', 'deliver'] as const) {
    if (real.authorizes(action)) scratch.add('client.authorize', allowAll, HookPriority.options, { actions: [action] });
  }
}
