/**
 * A session: the state the standard says outlives a connection when Clean Session is 0
 * (section 4.1): subscriptions, QoS 1/2 messages sent but not completely acknowledged, QoS 1/2
 * messages waiting to be sent, and QoS 2 packet ids received but not yet released.
 *
 * Invariants:
 * - At most `link.receiveMaximum` PUBLISHes of `inflight` are unacknowledged on the attached
 *   connection: a resumed session may hold more, sent on earlier connections, and re-sends them
 *   (`resendIds`) one per acknowledgement once the quota is used; new deliveries go out only while
 *   `inflight` is smaller than the quota. Every other QoS 1/2 delivery waits in `queue`, in arrival
 *   order, so order per topic is kept [MQTT-4.6.0-6].
 * - `queue` never holds more than `maxQueued` entries, nor (when `maxQueuedBytes` > 0) more
 *   payload bytes than `maxQueuedBytes` (tracked in `queuedBytes`); an overflowing delivery is dropped and
 *   reported to the host (counted and logged there).
 * - A packet id is in use exactly while it is a key of `inflight` (outgoing) or of
 *   `awaitingRelease` (incoming QoS 2).
 * - QoS 0 deliveries are sent when a link is attached and dropped otherwise, unless the host
 *   queues them (queue_qos0_messages) for a session that outlives its connection: they then
 *   wait in `queue` (in memory only) and count toward its limits.
 * - With `maxInflightBytes` > 0, no new delivery enters `inflight` while the payload bytes in it
 *   (`inflightBytes`) are at or above it (one message larger than the limit still goes alone).
 */
import type { ProtocolVersion, QoS } from '../protocol/packets.js';
import type { Message } from './message.js';
import type { LongTimeout } from './long-timer.js';
import type { ShareGroup } from './share-group.js';
import type { FlowSubscriber } from './flow.js';
import { Readiness, type Route, type RouteTarget } from './route-target.js';
import type { SessionEndReason } from './hooks.js';

/** One subscription of a session (a route of the router's index, leading to the session). */
export interface SubscriptionEntry extends Route {
  readonly session: Session;
  /** Filter as the client sent it ($share/... included): the key in Session.subscriptions. */
  readonly rawFilter: string;
  retainHandling: 0 | 1 | 2;
}

/** A delivery waiting to be sent, or sent and awaiting acknowledgement. */
export interface Delivery {
  /** Order within the session (the key of its stored record). */
  readonly seq: number;
  /** Whether a stored record exists for it. */
  stored: boolean;
  /** The persistence batch that expects its acknowledgement before committing (0: none). */
  ackBatch: number;
  readonly message: Message;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  /** The share group this delivery came through, so it can move if this session ends. */
  readonly group: ShareGroup | undefined;
  /** 'publish': PUBLISH sent, awaiting PUBACK/PUBREC; 'pubrel': PUBREL sent, awaiting PUBCOMP. */
  state: 'publish' | 'pubrel';
}

/**
 * What a session needs of the connection it is attached to (implemented by Channel). A link can
 * fall behind: flow control (./flow.ts) sees it as a subscriber.
 */
export interface SessionLink extends FlowSubscriber {
  readonly version: ProtocolVersion;
  /** Most unacknowledged QoS 1/2 PUBLISHes the client accepts at once. */
  readonly receiveMaximum: number;
  /**
   * Send one PUBLISH. Returns false when the message may not go to this client (not authorized to
   * read it; 5.0: larger than its Maximum Packet Size): the delivery then counts as completed
   * [MQTT-3.1.2-25].
   */
  sendPublish(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    packetId: number,
    dup: boolean,
  ): boolean;
  sendPubrel(packetId: number): void;
  /** Bytes sent now would wait for the next persistence commit (behind an acknowledgement). */
  readonly waitsForCommit: boolean;
}

export type DropReason = 'queue-full' | 'expired' | 'slow-consumer' | 'too-large';

/** What a session needs of the broker. */
export interface SessionHost {
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  /** Payload bytes in flight per client before new deliveries wait (0: no limit). */
  readonly maxInflightBytes: number;
  /** Queue QoS 0 messages for disconnected sessions that outlive their connection. */
  readonly queueQos0: boolean;
  now(): number;
  onDropped(session: Session, message: Message, why: DropReason): void;
  /** Persist a QoS 1/2 delivery of a stored session (packetId 0 while queued). */
  saveDelivery(session: Session, delivery: Delivery, packetId: number): void;
  /** The delivery is over (acknowledged, expired, moved): drop its record. */
  forgetDelivery(session: Session, delivery: Delivery): void;
  /** The connected client's queue is half full (flow control may pause publishers). */
  queueCongested(session: Session): void;
  /** The queue is under a quarter again. */
  queueRelieved(session: Session): void;
}

// Shared empty views for sessions that never needed the collection.
const NO_SUBSCRIPTIONS: ReadonlyMap<string, SubscriptionEntry> = new Map();
const NO_DELIVERIES: ReadonlyMap<number, Delivery> = new Map();
const NO_IDS: ReadonlySet<number> = new Set();
const NO_QUEUE: readonly Delivery[] = Object.freeze([]);

export class Session implements RouteTarget {
  // The maps and the set are allocated on first use: an empty Map or Set costs ~180 B of hash
  // table, and most of an idle connection's heap was these three (heap snapshot, 2,000 clients).
  private subs: Map<string, SubscriptionEntry> | undefined;
  private flying: Map<number, Delivery> | undefined;
  private releasing: Set<number> | undefined;
  private waiting: Delivery[] | undefined;
  /**
   * Packet ids of inflight PUBLISHes from an earlier connection not yet re-sent on this one: they
   * wait for the client's Receive Maximum quota, one per acknowledgement (see attach).
   */
  private resendIds: number[] | undefined;
  link: SessionLink | undefined;
  /** Whether the session is in the persistence store (it outlives its connection). */
  stored = false;
  /** The user name of the client that made the session: only that user resumes it. */
  owner: string | undefined;
  /** The listener it came through (per-listener security of its delayed will). */
  listener: string | undefined;
  private nextSeq = 1;
  /** Payload bytes of the deliveries in `queue`. */
  queuedBytes = 0;
  /** Messages for this session dropped (queue full, expired, slow consumer, too large). */
  dropped = 0;
  /** Payload bytes of the deliveries in `inflight`. */
  inflightBytes = 0;
  /** Seconds the session outlives its connection: 0 ends it with the connection; 0xFFFFFFFF never. */
  expiryInterval = 0;
  /** A will waiting for its Will Delay Interval (5.0). */
  pendingWill: { timer: LongTimeout; publish: () => void } | undefined;
  /** Why the session will end when its connection closes, if not the usual reason (the admin API deletes it). */
  endReason: SessionEndReason | undefined;
  /** Timer that ends a disconnected session whose expiry interval is finite. */
  expiryTimer: LongTimeout | undefined;
  private nextPacketId = 1;

  // Router scratch fields: set while one message is routed, so overlapping subscriptions of one
  // session produce one delivery at the highest QoS without allocating a map per message.
  routeEpoch = 0;
  routeQos: QoS = 0;
  routeRetain = false;
  routeSubIds: number[] | undefined;

  constructor(
    readonly clientId: string,
    private readonly host: SessionHost,
  ) {}

  /** QoS 1/2 deliveries waiting for room in the inflight window, in arrival order. */
  get queue(): readonly Delivery[] {
    return this.waiting ?? NO_QUEUE;
  }

  /** Subscriptions by filter as the client sent it. */
  get subscriptions(): ReadonlyMap<string, SubscriptionEntry> {
    return this.subs ?? NO_SUBSCRIPTIONS;
  }

  addSubscription(entry: SubscriptionEntry): void {
    (this.subs ??= new Map()).set(entry.rawFilter, entry);
  }

  removeSubscription(rawFilter: string): void {
    this.subs?.delete(rawFilter);
  }

  /** Outgoing QoS 1/2 deliveries sent and not completely acknowledged, by packet id. */
  get inflight(): ReadonlyMap<number, Delivery> {
    return this.flying ?? NO_DELIVERIES;
  }

  /** Incoming QoS 2 packet ids: PUBLISH received and routed, PUBREL not yet [MQTT-4.3.3-2]. */
  get awaitingRelease(): ReadonlySet<number> {
    return this.releasing ?? NO_IDS;
  }

  awaitRelease(packetId: number): void {
    (this.releasing ??= new Set()).add(packetId);
  }

  /** PUBREL for an incoming QoS 2 id: false if the id was not awaiting release. */
  released(packetId: number): boolean {
    return this.releasing?.delete(packetId) ?? false;
  }

  /** The session ends: forget subscriptions and deliveries (the caller unsubscribed and unstored them). */
  clear(): void {
    this.subs = undefined;
    this.flying = undefined;
    this.resendIds = undefined;
    this.waiting = undefined;
    this.queuedBytes = 0;
    this.inflightBytes = 0;
  }

  /** Room in the inflight window: below the client's Receive Maximum and max_inflight_bytes. */
  private windowOpen(link: SessionLink): boolean {
    const maxBytes = this.host.maxInflightBytes;
    return this.inflight.size < link.receiveMaximum && (maxBytes === 0 || this.inflightBytes < maxBytes);
  }

  private land(packetId: number, delivery: Delivery): void {
    this.flying?.delete(packetId);
    this.inflightBytes -= delivery.message.payload.length;
  }

  /** Hand a message to this session at the given QoS. */
  deliver(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    group?: ShareGroup,
  ): void {
    const link = this.link;
    if (qos === 0) {
      if (link !== undefined) link.sendPublish(message, 0, retain, subscriptionIds, 0, false);
      else if (this.host.queueQos0 && this.expiryInterval > 0) this.enqueue({ seq: 0, stored: false, ackBatch: 0, message, qos, retain, subscriptionIds, group, state: 'publish' });
      return;
    }
    const delivery: Delivery = { seq: this.nextSeq++, stored: false, ackBatch: 0, message, qos, retain, subscriptionIds, group, state: 'publish' };
    if (link !== undefined && this.queue.length === 0 && this.windowOpen(link)) {
      this.sendNew(link, delivery);
      return;
    }
    this.enqueue(delivery);
  }

  /** Share groups: ready with room in the window and nothing queued; busy while behind; offline when detached. */
  readiness(): Readiness {
    const link = this.link;
    if (link === undefined) return Readiness.Offline;
    return this.queue.length === 0 && this.inflight.size < link.receiveMaximum ? Readiness.Ready : Readiness.Busy;
  }

  /** Queue a delivery within max_queued_messages and max_queued_bytes, or drop it. */
  private enqueue(delivery: Delivery): void {
    const message = delivery.message;
    const bytes = message.payload.length;
    const maxBytes = this.host.maxQueuedBytes;
    if (this.queue.length >= this.host.maxQueued || (maxBytes > 0 && this.queuedBytes + bytes > maxBytes)) {
      this.host.onDropped(this, message, 'queue-full');
      return;
    }
    (this.waiting ??= []).push(delivery);
    this.queuedBytes += bytes;
    if (this.stored && delivery.qos > 0) this.host.saveDelivery(this, delivery, 0);
    // A connected client falling behind: slow the publisher down before the queue overflows.
    if (this.link !== undefined && this.queue.length * 2 >= this.host.maxQueued) this.host.queueCongested(this);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) completed a delivery. Returns false for an unknown id. */
  complete(packetId: number): boolean {
    const delivery = this.inflight.get(packetId);
    if (delivery === undefined) return false;
    this.land(packetId, delivery);
    if (delivery.stored) this.host.forgetDelivery(this, delivery);
    // The acknowledgement gives back one unit of the client's send quota [MQTT-4.9.0-2]: an earlier
    // connection's PUBLISH waiting to be re-sent takes it before anything queued.
    if (this.resendIds !== undefined) this.resendNext();
    this.drain();
    if (this.queue.length * 4 < this.host.maxQueued) this.host.queueRelieved(this);
    return true;
  }

  /** PUBREC for an outgoing QoS 2 message: from now on only the PUBREL remains [MQTT-4.3.3-1]. */
  received(packetId: number): boolean {
    const delivery = this.inflight.get(packetId);
    if (delivery === undefined || delivery.qos !== 2) return false;
    if (delivery.state === 'pubrel') return true;
    delivery.state = 'pubrel';
    if (delivery.stored) this.host.saveDelivery(this, delivery, packetId);
    return true;
  }

  /**
   * Attach a connection and resume: unacknowledged PUBLISHes are re-sent with DUP set and PUBRELs
   * re-sent, in their original order [MQTT-4.4.0-1], then the queue drains. The send quota is the
   * new connection's Receive Maximum [MQTT-3.3.4-9] [MQTT-4.9.0-2]: PUBLISHes past it wait in
   * `resendIds` and go one per acknowledgement. (A PUBREL is not a PUBLISH: all are re-sent.)
   */
  attach(link: SessionLink): void {
    this.link = link;
    this.resendIds = undefined;
    let sent = 0;
    for (const [packetId, delivery] of this.inflight) {
      if (delivery.state === 'pubrel') link.sendPubrel(packetId);
      else if (sent >= link.receiveMaximum) (this.resendIds ??= []).push(packetId);
      else if (this.resend(link, packetId, delivery)) sent++;
    }
    this.drain();
  }

  /** Re-send an earlier connection's PUBLISH with DUP; false when it may not go (too large: then it is over). */
  private resend(link: SessionLink, packetId: number, delivery: Delivery): boolean {
    if (link.sendPublish(delivery.message, delivery.qos, delivery.retain, delivery.subscriptionIds, packetId, true)) return true;
    this.land(packetId, delivery);
    if (delivery.stored) this.host.forgetDelivery(this, delivery);
    return false;
  }

  /** Re-send the next waiting PUBLISH of an earlier connection (one that can go). */
  private resendNext(): void {
    const ids = this.resendIds as number[];
    const link = this.link;
    while (link !== undefined && ids.length > 0) {
      const packetId = ids.shift() as number;
      const delivery = this.inflight.get(packetId);
      if (delivery !== undefined && delivery.state === 'publish' && this.resend(link, packetId, delivery)) break;
    }
    if (ids.length === 0) this.resendIds = undefined;
  }

  detach(): void {
    this.link = undefined;
    this.resendIds = undefined;
  }

  /**
   * The session ends: hand over what came through share groups and can still go elsewhere.
   * Queued deliveries were never sent; a sent QoS 1 message SHOULD go to another member; a sent
   * QoS 2 message MUST NOT [MQTT-4.8.2-5]. Returns the deliveries to re-route.
   */
  takeShared(): Delivery[] {
    const moved: Delivery[] = [];
    for (const delivery of this.queue) if (delivery.group !== undefined) moved.push(delivery);
    for (const delivery of this.inflight.values()) {
      if (delivery.group !== undefined && delivery.qos === 1 && delivery.state === 'publish') moved.push(delivery);
    }
    return moved;
  }

  /** Move queued deliveries into the inflight window while it has room. */
  drain(): void {
    const link = this.link;
    if (link === undefined) return;
    if (this.resendIds !== undefined) return; // an earlier connection's PUBLISHes go first
    const now = this.host.now();
    while (this.queue.length > 0 && this.windowOpen(link)) {
      const delivery = (this.waiting as Delivery[]).shift() as Delivery;
      this.queuedBytes -= delivery.message.payload.length;
      if (delivery.message.isExpired(now)) {
        this.host.onDropped(this, delivery.message, 'expired');
        if (delivery.stored) this.host.forgetDelivery(this, delivery);
        continue;
      }
      // A queued QoS 0 message (queue_qos0_messages) goes out without a packet id.
      if (delivery.qos === 0) link.sendPublish(delivery.message, 0, delivery.retain, delivery.subscriptionIds, 0, false);
      else this.sendNew(link, delivery);
    }
  }

  private sendNew(link: SessionLink, delivery: Delivery): void {
    const packetId = this.allocatePacketId();
    (this.flying ??= new Map()).set(packetId, delivery);
    this.inflightBytes += delivery.message.payload.length;
    if (this.stored) this.host.saveDelivery(this, delivery, packetId);
    if (!link.sendPublish(delivery.message, delivery.qos, delivery.retain, delivery.subscriptionIds, packetId, false)) {
      this.land(packetId, delivery);
      if (delivery.stored) this.host.forgetDelivery(this, delivery);
    }
  }

  /** Put back a delivery read from the persistence store (in seq order). */
  restoreDelivery(delivery: Delivery, packetId: number): void {
    if (packetId === 0) {
      (this.waiting ??= []).push(delivery);
      this.queuedBytes += delivery.message.payload.length;
    }
    else {
      (this.flying ??= new Map()).set(packetId, delivery);
      this.inflightBytes += delivery.message.payload.length;
    }
    if (delivery.seq >= this.nextSeq) this.nextSeq = delivery.seq + 1;
  }

  private allocatePacketId(): number {
    // At most 65535 ids exist and the inflight window is far smaller, so this loop ends quickly.
    let id = this.nextPacketId;
    while (this.inflight.has(id)) id = id === 65535 ? 1 : id + 1;
    this.nextPacketId = id === 65535 ? 1 : id + 1;
    return id;
  }
}
