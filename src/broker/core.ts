/**
 * The broker core: owns sessions, the router, retained messages, the keepalive sweep and $SYS.
 * It does no socket I/O: transports create a Channel per connection with `openChannel` and feed
 * it packets; the channel writes through the Outbox the transport gave it.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ProtocolVersion, Will } from '../protocol/packets.js';
import type { BrokerEvents, BrokerStats } from './api.js';
import { Channel, type Outbox } from './channel.js';
import type { Logger } from './logger.js';
import { FlowControl } from './flow.js';
import { forwardedProperties, Message } from './message.js';
import type { ClientInfo, ResolvedOptions } from './options.js';
import { deliverShared, Router } from './router.js';
import { Persistence } from './persistence.js';
import { restoreState } from './restore.js';
import { Session, type Delivery, type DropReason, type SessionHost } from './session.js';
import type { Storage } from './storage.js';
import { createStats } from './stats.js';
import { SysPublisher } from './sys.js';
import { brokerOwnedTopic, countThrottled, refused, slowConsumerDisconnect } from './limits.js';
import { clearLongTimeout, setLongTimeout, setLongTimeoutAt } from './long-timer.js';
import { RETAINED_SWEEP_MS, RetainedStore } from './retained.js';

/** Sweep period for keepalive and CONNECT time-outs, in ms. */
const SWEEP_MS = 250;

export class BrokerCore implements SessionHost {
  readonly stats: BrokerStats = createStats();
  readonly events = new EventEmitter<BrokerEvents>();
  readonly router = new Router();
  readonly flow = new FlowControl();
  readonly retained: RetainedStore;
  /** Every session by client id, connected or not. */
  readonly sessions = new Map<string, Session>();
  /** The connected channel of each client id. */
  readonly connected = new Map<string, Channel>();
  /** Every open channel, connected or still before CONNECT. */
  readonly channels = new Set<Channel>();
  readonly startedAt = Date.now();
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
  private sweepTimer: NodeJS.Timeout | undefined;
  private retainedSweepTimer: NodeJS.Timeout | undefined;
  private readonly sys: SysPublisher;

  /** Undefined when persistence is off. */
  readonly persistence: Persistence | undefined;
  /** Called when the broker cannot go on safely (the persistence store failed). */
  onFatal: (error: unknown) => void = () => undefined;

  constructor(
    readonly options: ResolvedOptions,
    readonly log: Logger,
    storage?: Storage,
  ) {
    this.maxQueued = options.maxQueuedMessages;
    this.maxQueuedBytes = options.maxQueuedBytes;
    this.maxInflightBytes = options.maxInflightBytes;
    this.queueQos0 = options.queueQos0Messages;
    this.router.upgradeQos = options.upgradeOutgoingQos;
    // Packet lines are debug; subscribe and unsubscribe lines are their own log types.
    this.logPackets = ['debug', 'subscribe', 'unsubscribe'].some((type) => log.isLevelEnabled?.(type) === true);
    this.retained = new RetainedStore(options.maxRetainedMessages);
    this.sys = new SysPublisher(this);
    this.persistence =
      storage === undefined
        ? undefined
        : new Persistence(storage, log, (error) => this.onFatal(error), options.persistenceCommitIntervalMs, this.stats);
  }

  /** Rebuild sessions, subscriptions, queues, retained messages and wills from the store. */
  restore(): void {
    const persistence = this.persistence;
    if (persistence === undefined) return;
    const counts = restoreState(this, persistence, persistence.storage.load());
    this.stats.retainedMessages = this.retained.size;
    this.stats.subscriptions = this.router.subscriptionCount;
    this.log.info(counts, 'restored state from the persistence store');
  }

  saveDelivery(session: Session, delivery: Delivery, packetId: number): void {
    this.persistence?.saveDelivery(session, delivery, packetId);
  }

  forgetDelivery(session: Session, delivery: Delivery): void {
    this.persistence?.forgetDelivery(session, delivery);
  }

  queueCongested(session: Session): void {
    const link = session.link;
    if (link instanceof Channel) this.flow.congested(link, session.queue.length >= this.maxQueued);
  }

  queueRelieved(session: Session): void {
    const link = session.link;
    if (link instanceof Channel && link.waiters !== undefined && link.caughtUp()) this.flow.drained(link);
  }

  start(): void {
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    this.retainedSweepTimer = setInterval(() => this.sweepRetained(), RETAINED_SWEEP_MS);
    this.retainedSweepTimer.unref();
    this.sys.start(this.options.sysInterval);
  }

  /** Disconnect everyone (5.0: Server shutting down) and stop timers. */
  stop(): void {
    clearInterval(this.sweepTimer);
    clearInterval(this.retainedSweepTimer);
    this.sys.stop();
    for (const channel of [...this.channels]) channel.shutdown();
    for (const session of this.sessions.values()) {
      clearLongTimeout(session.expiryTimer);
      clearLongTimeout(session.pendingWill?.timer);
    }
    this.persistence?.stop();
  }

  now(): number {
    return Date.now();
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

  /**
   * A client id for a client that sent an empty one [MQTT-3.1.3-6]: 128 random bits (like
   * Mosquitto's `auto-<UUID>`), so no client can guess the next one and plant a session under it,
   * and never the id of a session the server holds [MQTT-3.2.2-16] (a repeat is astronomically
   * unlikely; the loop makes it impossible).
   */
  assignClientId(): string {
    for (;;) {
      const id = `${this.options.autoIdPrefix}${randomBytes(16).toString('hex')}`;
      if (!this.sessions.has(id) && !this.connected.has(id)) return id;
    }
  }

  /** Accept a message for delivery: retained store, routing, counters, events. */
  publish(message: Message, publisher: Channel | undefined): void {
    if (message.retain) this.storeRetained(message);
    const flow = this.flow;
    flow.current = publisher;
    try {
      this.router.route(message);
    } finally {
      flow.current = undefined;
    }
    if (this.events.listenerCount('message') > 0) {
      this.events.emit('message', message.topic, message.payload, message.qos, message.retain, publisher?.info());
    }
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
    this.retained.sweep(Date.now(), (topic, message) => this.retainedChanged(topic, undefined, message));
  }

  /** Create a message from the broker itself (API publish, $SYS). */
  publishAsBroker(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): void {
    this.publish(new Message(topic, payload, qos, retain, undefined, undefined, 0), undefined);
  }

  /**
   * A connection ended without DISCONNECT: its will is due. 5.0 Will Delay Interval: publish
   * when the delay passes or the session ends, whichever is first; a reconnection to the
   * session before then cancels it [MQTT-3.1.3-9].
   */
  willDue(channel: Channel, will: Will, session: Session | undefined): void {
    const delay = channel.version === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
    if (delay === 0 || session === undefined || session.expiryInterval === 0) {
      this.publishWill(channel, will);
      return;
    }
    const seconds = Math.min(delay, session.expiryInterval);
    this.delayWill(session, will, Date.now() + seconds * 1000);
  }

  /** Keep a will until `publishAt` (or until its session ends or reconnects). */
  delayWill(session: Session, will: Will, publishAt: number): void {
    const client: ClientInfo = { clientId: session.clientId, username: session.owner, remoteAddress: '', listener: session.listener };
    const publish = (): void => {
      this.persistence?.dropWill(session);
      this.publishWillOf(client, will);
    };
    // Up to 2^32-1 s, from the client or the store: a long timer [MQTT-3.1.3-9].
    const timer = setLongTimeoutAt(() => {
      session.pendingWill = undefined;
      publish();
    }, publishAt);
    session.pendingWill = { timer, publish };
    this.persistence?.saveWill(session, will, publishAt);
  }

  /** A client reconnected to its session: a delayed will is not sent [MQTT-3.1.3-9]. */
  cancelWill(session: Session): void {
    if (session.pendingWill === undefined) return;
    clearLongTimeout(session.pendingWill.timer);
    session.pendingWill = undefined;
    this.persistence?.dropWill(session);
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
  private publishWillOf(client: ClientInfo, will: Will, channel?: Channel): void {
    if (brokerOwnedTopic(will.topic)) {
      this.log.info({ clientId: client.clientId, topic: will.topic }, 'will on a topic the broker serves: dropped');
      return;
    }
    const authorize = this.options.authorizePublish;
    if (authorize === undefined) {
      this.sendWill(client.clientId, will, channel);
      return;
    }
    const decided = (allowed: boolean): void => {
      if (allowed) this.sendWill(client.clientId, will, channel);
      else this.log.info({ clientId: client.clientId, topic: will.topic }, 'will not authorized: dropped');
    };
    const allowed = authorize(client, will.topic, will.qos, will.retain);
    if (allowed instanceof Promise) {
      channel = undefined; // closed by the time the answer comes: it holds back no publisher
      allowed.then(decided, (error: unknown) => this.log.error({ err: error, clientId: client.clientId }, 'will authorization failed: dropped'));
    } else decided(allowed);
  }

  private sendWill(clientId: string, will: Will, channel: Channel | undefined): void {
    this.log.debug({ clientId, topic: will.topic }, 'publishing will');
    const expiry = will.properties?.messageExpiryInterval;
    const properties = will.properties === undefined ? undefined : forwardedProperties(will.properties);
    const expiresAt = expiry === undefined ? 0 : Date.now() + expiry * 1000;
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
    // Counted always; logged at most once a second, so a flood cannot flood the log too.
    const since = countThrottled(this.stats, 'messagesDropped');
    if (since === undefined) return;
    this.log.warn(
      { clientId: session.clientId, topic: message.topic, why, droppedSinceLastLog: since, droppedTotal: this.stats.messagesDropped },
      'messages dropped',
    );
  }

  /** End a session: its subscriptions go, its queued messages are freed. */
  removeSession(session: Session): void {
    clearLongTimeout(session.expiryTimer);
    const will = session.pendingWill;
    if (will !== undefined) {
      // The session ends before the will delay passed: the will goes now.
      clearLongTimeout(will.timer);
      session.pendingWill = undefined;
      will.publish();
    }
    for (const entry of session.subscriptions.values()) this.router.unsubscribe(session, entry);
    const moved = session.takeShared();
    this.persistence?.dropSession(session);
    for (const delivery of moved) {
      const group = delivery.group;
      if (group !== undefined && group.members.length > 0) deliverShared(group, delivery.message, undefined, this.router.upgradeQos);
    }
    session.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    this.stats.subscriptions = this.router.subscriptionCount;
  }

  /** Keep a disconnected session for its expiry interval, then end it. */
  scheduleSessionExpiry(session: Session): void {
    if (session.expiryInterval === 0) {
      this.removeSession(session);
      return;
    }
    this.persistence?.saveSession(session, Date.now());
    this.armSessionExpiry(session, session.expiryInterval * 1000);
  }

  /** End the (disconnected) session after `ms`, unless it never expires. */
  armSessionExpiry(session: Session, ms: number): void {
    if (session.expiryInterval >= 0xffffffff) return; // never expires
    clearLongTimeout(session.expiryTimer);
    // Up to 2^32-2 s (months, years): Node's setTimeout alone would fire at once past 24.8 days.
    session.expiryTimer = setLongTimeout(() => {
      if (session.link !== undefined) return;
      this.stats.clientsExpired++;
      this.removeSession(session);
    }, ms);
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
    const now = Date.now();
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
