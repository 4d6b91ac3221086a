/**
 * The broker core: owns sessions, the router, retained messages, the keepalive sweep and $SYS.
 * It does no socket I/O: transports create a Channel per connection with `openChannel` and feed
 * it packets; the channel writes through the Outbox the transport gave it.
 */
import type { ProtocolVersion, Will } from '../protocol/packets.js';
import type { BrokerStats } from './api.js';
import { Channel, type Outbox } from './channel.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';
import { FlowControl } from './flow.js';
import { HookChain, registerOptionHooks } from './hooks.js';
import { forwardedProperties, Message } from './message.js';
import type { ClientInfo, ResolvedOptions } from './options.js';
import { Router } from './router.js';
import { Persistence } from './persistence.js';
import { restoreState } from './restore.js';
import { SessionRegistry } from './registry.js';
import type { Session, Delivery, DropReason, SessionHost } from './session.js';
import type { Storage } from './storage.js';
import { createStats } from './stats.js';
import { SysPublisher } from './sys.js';
import { brokerOwnedTopic, countThrottled, refused, slowConsumerDisconnect } from './limits.js';
import { RETAINED_SWEEP_MS, RetainedStore } from './retained.js';

/** Sweep period for keepalive and CONNECT time-outs, in ms. */
const SWEEP_MS = 250;

/** What a BrokerCore may be given besides its options (defaults: the real clock, the local registry). */
export interface CoreSeams {
  clock?: Clock;
  /** The session registry (a cluster's claims client ids cluster-wide). */
  registry?: (core: BrokerCore) => SessionRegistry;
}

export class BrokerCore implements SessionHost {
  readonly stats: BrokerStats = createStats();
  /** The hook chain (./hooks.ts): security, embedders' hooks and events register here. */
  readonly hooks: HookChain;
  readonly router = new Router();
  readonly flow: FlowControl;
  readonly retained: RetainedStore;
  /** Every open channel, connected or still before CONNECT. */
  readonly channels = new Set<Channel>();
  /** Every time read and every timer set in the core goes through this clock. */
  readonly clock: Clock;
  /** Who owns each client id; sessions, take-over, expiry and will delay (./registry.ts). */
  readonly registry: SessionRegistry;
  readonly startedAt: number;
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly maxInflightBytes: number;
  readonly queueQos0: boolean;
  /** Debug logging is on: each packet in and out is logged (./packet-log.ts). */
  readonly logPackets: boolean;
  /** memory_limit is exceeded (checked by the sweep): PUBLISH packets are refused. */
  overMemoryLimit = false;
  /** Messages dropped, by reason (admin API, /metrics). */
  readonly droppedByReason: Record<DropReason, number> = { 'queue-full': 0, expired: 0, 'slow-consumer': 0, 'too-large': 0 };
  /** Changes when read rights may have changed (reload): channels drop their cached answers. */
  readEpoch = 0;
  private sweepTimer: unknown;
  private retainedSweepTimer: unknown;
  private readonly sys: SysPublisher;

  /** Undefined when persistence is off. */
  readonly persistence: Persistence | undefined;
  /** Called when the broker cannot go on safely (the persistence store failed). */
  onFatal: (error: unknown) => void = () => undefined;

  constructor(
    readonly options: ResolvedOptions,
    readonly log: Logger,
    storage?: Storage,
    seams: CoreSeams = {},
  ) {
    this.clock = seams.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.flow = new FlowControl(this.clock);
    this.registry = seams.registry?.(this) ?? new SessionRegistry(this);
    this.maxQueued = options.maxQueuedMessages;
    this.maxQueuedBytes = options.maxQueuedBytes;
    this.maxInflightBytes = options.maxInflightBytes;
    this.queueQos0 = options.queueQos0Messages;
    this.router.upgradeQos = options.upgradeOutgoingQos;
    // Packet lines are debug; subscribe and unsubscribe lines are their own log types.
    this.logPackets = ['debug', 'subscribe', 'unsubscribe'].some((type) => log.isLevelEnabled?.(type) === true);
    this.retained = new RetainedStore(options.maxRetainedMessages);
    this.hooks = new HookChain((error) => log.error({ err: error }, error.message));
    registerOptionHooks(this.hooks, options);
    this.sys = new SysPublisher(this);
    this.persistence =
      storage === undefined
        ? undefined
        : new Persistence(storage, log, (error) => this.onFatal(error), options.persistenceCommitIntervalMs, this.stats);
  }

  /** Rebuild sessions, subscriptions, queues, retained messages and wills from the store. */
  async restore(): Promise<void> {
    const persistence = this.persistence;
    if (persistence === undefined) return;
    const counts = await restoreState(this, persistence, persistence.storage.load());
    this.stats.retainedMessages = this.retained.size;
    this.stats.subscriptions = this.router.subscriptionCount;
    this.log.info(counts, 'restored state from the persistence store');
  }

  /** Every session by client id, connected or not (the registry's). */
  get sessions(): ReadonlyMap<string, Session> {
    return this.registry.sessions;
  }

  /** The connected channel of each client id (the registry's). */
  get connected(): ReadonlyMap<string, Channel> {
    return this.registry.connected;
  }

  saveDelivery(session: Session, delivery: Delivery, packetId: number): void {
    this.persistence?.saveDelivery(session, delivery, packetId);
  }

  forgetDelivery(session: Session, delivery: Delivery): void {
    this.persistence?.forgetDelivery(session, delivery);
  }

  queueCongested(session: Session): void {
    const link = session.link;
    if (link !== undefined) this.flow.congested(link, session.queue.length >= this.maxQueued);
  }

  queueRelieved(session: Session): void {
    const link = session.link;
    if (link !== undefined && link.waiters !== undefined && link.caughtUp()) this.flow.drained(link);
  }

  start(): void {
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), SWEEP_MS);
    this.retainedSweepTimer = this.clock.setInterval(() => this.sweepRetained(), RETAINED_SWEEP_MS);
    this.sys.start(this.options.sysInterval);
  }

  /** Disconnect everyone (5.0: Server shutting down) and stop timers. */
  stop(): void {
    this.clock.clearTimeout(this.sweepTimer);
    this.clock.clearTimeout(this.retainedSweepTimer);
    this.sys.stop();
    for (const channel of [...this.channels]) channel.shutdown();
    this.registry.stop();
    this.persistence?.stop();
  }

  now(): number {
    return this.clock.now();
  }

  /** The rules behind the authorization hooks changed (SIGHUP): cached read answers are dropped. */
  rightsChanged(): void {
    this.readEpoch++;
  }

  openChannel(outbox: Outbox, remoteAddress: string): Channel {
    const channel = new Channel(this, outbox, remoteAddress);
    this.channels.add(channel);
    this.stats.socketsOpened++;
    return channel;
  }

  closedChannel(channel: Channel): void {
    this.channels.delete(channel);
  }

  /** Accept a message for delivery: `message.publish` hooks, retained store, routing. */
  publish(message: Message, publisher: Channel | undefined): void {
    const hooks = this.hooks;
    if (hooks.onPublish) {
      const routed = hooks.publish(message, publisher?.info());
      if (routed === undefined) {
        if (hooks.onMessageDropped) hooks.notify('message.dropped', message, 'stopped');
        return;
      }
      message = routed;
    }
    if (message.retain) this.storeRetained(message);
    const flow = this.flow;
    // A hook may publish while a message is routed (a rule on message.delivered): the outer
    // publisher is throttled again once the inner message is routed.
    const outer = flow.current;
    flow.current = publisher;
    let delivered: number;
    try {
      delivered = this.router.route(message);
    } finally {
      flow.current = outer;
    }
    if (delivered === 0 && hooks.onMessageDropped) hooks.notify('message.dropped', message, 'no-subscribers');
    if (hooks.onRouted) hooks.notify('message.routed', message, publisher?.info());
  }

  /**
   * Retained messages: the last one per topic; an empty payload clears it [MQTT-3.3.1-10],
   * [MQTT-3.3.1-11]. With retain not available nothing is stored, whatever path the message came
   * by (client PUBLISH and wills are refused before; API publishes, $SYS and restored wills end
   * here) [MQTT-3.2.2-13].
   */
  private storeRetained(message: Message): void {
    if (!this.options.retainAvailable) return;
    const topic = message.topic;
    const previous = this.retained.get(topic);
    const current = message.payload.length === 0 ? undefined : message;
    if (current !== undefined && !this.retained.hasRoomFor(topic)) {
      // max_retained_messages reached: delivered, not retained (as EMQX; see retained.ts).
      refused(this.stats, this.log, 'retainedRefused', { topic, max: this.options.maxRetainedMessages }, 'retained message not retained: max_retained_messages reached');
      return;
    }
    if (current === undefined) this.retained.delete(topic);
    else this.retained.set(topic, current);
    this.retainedChanged(topic, current, previous);
  }

  private retainedChanged(topic: string, current: Message | undefined, previous: Message | undefined): void {
    this.stats.retainedMessages = this.retained.size;
    // $SYS values are recomputed at start; everything else retained is stored.
    if (this.persistence !== undefined && !topic.startsWith('$SYS/') && (current !== undefined || previous !== undefined)) {
      this.persistence.saveRetained(topic, current, previous);
    }
  }

  /** Remove the retained message of `topic` (admin API), publishing nothing. */
  deleteRetained(topic: string): boolean {
    const previous = this.retained.get(topic);
    if (previous === undefined) return false;
    this.retained.delete(topic);
    this.retainedChanged(topic, undefined, previous);
    return true;
  }

  /** Expired retained messages leave memory and the store (MQTT 5.0 section 3.3.2.3.3). */
  private sweepRetained(): void {
    this.retained.sweep(this.clock.now(), (topic, message) => this.retainedChanged(topic, undefined, message));
  }

  /** Create a message from the broker itself (API publish, $SYS). */
  publishAsBroker(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): void {
    this.publish(new Message(topic, payload, qos, retain, undefined, undefined, 0), undefined);
  }

  /** Publish a client's will message. */
  publishWill(channel: Channel, will: Will): void {
    this.publishWillOf(channel.info(), will, channel);
  }

  /**
   * A will goes out only if its client may publish it (the same check as a PUBLISH of that topic,
   * QoS and retain flag; Mosquitto refuses to publish it too), checked when it is sent: rights may
   * have changed since CONNECT (reload), and a delayed will may come from the store.
   */
  publishWillOf(client: ClientInfo, will: Will, channel?: Channel): void {
    if (brokerOwnedTopic(will.topic)) {
      this.log.info({ clientId: client.clientId, topic: will.topic }, 'will on a topic the broker serves: dropped');
      return;
    }
    const hooks = this.hooks;
    if (!hooks.authorizes('publish')) {
      this.sendWill(client.clientId, will, channel);
      return;
    }
    const decided = (allowed: boolean): void => {
      if (allowed) this.sendWill(client.clientId, will, channel);
      else this.log.info({ clientId: client.clientId, topic: will.topic }, 'will not authorized: dropped');
    };
    const allowed = hooks.authorize('publish', client, will.topic, will.qos, will.retain);
    if (allowed instanceof Promise) {
      channel = undefined; // closed by the time the answer comes: it holds back no publisher
      allowed.then(decided, (error: unknown) => this.log.error({ err: error, clientId: client.clientId }, 'will authorization failed: dropped'));
    } else decided(allowed);
  }

  private sendWill(clientId: string, will: Will, channel: Channel | undefined): void {
    this.log.debug({ clientId, topic: will.topic }, 'publishing will');
    const expiry = will.properties?.messageExpiryInterval;
    const properties = will.properties === undefined ? undefined : forwardedProperties(will.properties);
    const expiresAt = expiry === undefined ? 0 : this.clock.now() + expiry * 1000;
    this.publish(new Message(will.topic, will.payload, will.qos, will.retain, properties, clientId, expiresAt), channel);
  }

  /** A QoS 0 message for a client whose unsent bytes exceed maxOutgoingBytes. */
  onSlowConsumer(channel: Channel, message: Message): void {
    if (this.options.slowConsumer === 'disconnect') slowConsumerDisconnect(channel);
    if (channel.session !== undefined) this.onDropped(channel.session, message, 'slow-consumer');
  }

  onDropped(session: Session, message: Message, why: DropReason): void {
    session.dropped++;
    this.droppedByReason[why]++;
    if (this.hooks.onDeliveryDropped) this.hooks.notify('delivery.dropped', session.clientId, message, why);
    // Counted always; logged at most once a second, so a flood cannot flood the log too.
    const since = countThrottled(this.stats, 'messagesDropped');
    if (since === undefined) return;
    this.log.warn(
      { clientId: session.clientId, topic: message.topic, why, droppedSinceLastLog: since, droppedTotal: this.stats.messagesDropped },
      'messages dropped',
    );
  }

  /** A client's connect or disconnect line: info, or debug with `connection_messages false`. */
  logConnection(fields: Record<string, unknown>, message: string): void {
    if (this.options.connectionMessages) this.log.info(fields, message);
    else this.log.debug(fields, message);
  }

  protocolLabel(version: ProtocolVersion): string {
    return version === 5 ? 'MQTT 5.0' : version === 4 ? 'MQTT 3.1.1' : 'MQTT 3.1';
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const channel of this.channels) channel.checkTimeouts(now);
    const limit = this.options.memoryLimit;
    if (limit > 0) this.checkMemory(limit);
  }

  /** memory_limit: past it, PUBLISH packets are refused (their client disconnected) until memory falls again. */
  private checkMemory(limit: number): void {
    const over = process.memoryUsage.rss() > limit;
    if (over && !this.overMemoryLimit) this.log.warn({ memoryLimit: limit, rss: process.memoryUsage.rss() }, 'memory_limit reached: refusing PUBLISH packets');
    this.overMemoryLimit = over;
  }
}
