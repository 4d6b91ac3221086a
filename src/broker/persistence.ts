/**
 * Persistence: translates broker objects (sessions, messages, deliveries) into Storage records
 * and schedules the group commit. Only sessions that outlive their connection (Session Expiry
 * Interval > 0, or Clean Session 0) are stored; a message is stored once, with a reference count
 * of the deliveries and the retained entry that point at it, and deleted when none is left.
 *
 * Invariant: every record describing state that a client has been (or is about to be) told of is
 * committed before the bytes telling it leave the broker: `commitIfDirty` runs before every
 * socket flush (src/transport/connection.ts), and at least once per event-loop turn.
 */
import type { Will } from '../protocol/packets.js';
import type { Logger } from './logger.js';
import type { Message } from './message.js';
import type { Delivery, Session, SubscriptionEntry } from './session.js';
import type { Storage } from './storage.js';

export class Persistence {
  private dirty = false;
  private scheduled = false;
  private nextMessageId = 1;
  private failed = false;

  constructor(
    readonly storage: Storage,
    private readonly log: Logger,
    /** Called when a commit fails: the broker must stop rather than acknowledge lost state. */
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Continue message ids after the largest restored one. */
  restoredMessageId(id: number): void {
    if (id >= this.nextMessageId) this.nextMessageId = id + 1;
  }

  private touch(): void {
    this.dirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.commitIfDirty();
    });
  }

  /** Commit buffered writes, if any. */
  commitIfDirty(): void {
    if (!this.dirty || this.failed) return;
    this.dirty = false;
    try {
      this.storage.commit();
    } catch (error) {
      this.failed = true;
      this.log.fatal({ err: error }, 'cannot write to the persistence store: stopping so that nothing unsaved is acknowledged');
      this.onFailure(error);
    }
  }

  /** Store a message (once) and count one more reference to it. */
  private reference(message: Message): number {
    if (message.storedId === 0) {
      message.storedId = this.nextMessageId++;
      this.storage.putMessage({
        id: message.storedId,
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        retain: message.retain,
        properties: message.properties,
        origin: message.origin,
        expiresAt: message.expiresAt,
      });
    }
    message.storedRefs++;
    return message.storedId;
  }

  private release(message: Message): void {
    if (message.storedId === 0) return;
    if (--message.storedRefs > 0) return;
    this.storage.deleteMessage(message.storedId);
    message.storedId = 0;
    message.storedRefs = 0;
  }

  saveSession(session: Session, disconnectedAt: number): void {
    session.stored = true;
    this.storage.putSession({ clientId: session.clientId, expiryInterval: session.expiryInterval, disconnectedAt });
    this.touch();
  }

  dropSession(session: Session): void {
    if (!session.stored) return;
    session.stored = false;
    for (const delivery of session.inflight.values()) this.forgetDelivery(session, delivery);
    for (const delivery of session.queue) this.forgetDelivery(session, delivery);
    this.storage.deleteSession(session.clientId);
    this.touch();
  }

  saveSubscription(session: Session, entry: SubscriptionEntry): void {
    if (!session.stored) return;
    this.storage.putSubscription({
      clientId: session.clientId,
      rawFilter: entry.rawFilter,
      qos: entry.qos,
      noLocal: entry.noLocal,
      retainAsPublished: entry.retainAsPublished,
      retainHandling: entry.retainHandling,
      subscriptionId: entry.subscriptionId,
    });
    this.touch();
  }

  dropSubscription(session: Session, rawFilter: string): void {
    if (!session.stored) return;
    this.storage.deleteSubscription(session.clientId, rawFilter);
    this.touch();
  }

  /** Write (or update) a QoS 1/2 delivery of a stored session. */
  saveDelivery(session: Session, delivery: Delivery, packetId: number): void {
    if (!session.stored) return;
    const fresh = !delivery.stored; // no row yet: a delete in the same batch cancels the write
    const messageId = fresh ? this.reference(delivery.message) : delivery.message.storedId;
    delivery.stored = true;
    this.storage.putDelivery(
      {
        clientId: session.clientId,
        seq: delivery.seq,
        messageId,
        qos: delivery.qos,
        retain: delivery.retain,
        subscriptionIds: delivery.subscriptionIds === undefined ? undefined : [...delivery.subscriptionIds],
        packetId,
        state: delivery.state === 'pubrel' ? 1 : 0,
      },
      fresh,
    );
    this.touch();
  }

  forgetDelivery(session: Session, delivery: Delivery): void {
    if (!delivery.stored) return;
    delivery.stored = false;
    this.storage.deleteDelivery(session.clientId, delivery.seq);
    this.release(delivery.message);
    this.touch();
  }

  saveIncoming(session: Session, packetId: number): void {
    if (!session.stored) return;
    this.storage.putIncoming(session.clientId, packetId);
    this.touch();
  }

  dropIncoming(session: Session, packetId: number): void {
    if (!session.stored) return;
    this.storage.deleteIncoming(session.clientId, packetId);
    this.touch();
  }

  /** The retained message of a topic changed: `message` replaces `previous` (either may be absent). */
  saveRetained(topic: string, message: Message | undefined, previous: Message | undefined): void {
    if (message !== undefined) this.storage.putRetained(topic, this.reference(message));
    else this.storage.deleteRetained(topic);
    if (previous !== undefined) this.release(previous);
    this.touch();
  }

  saveWill(session: Session, will: Will, publishAt: number): void {
    if (!session.stored) return;
    this.storage.putWill({
      clientId: session.clientId,
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      properties: will.properties,
      publishAt,
    });
    this.touch();
  }

  dropWill(session: Session): void {
    if (!session.stored) return;
    this.storage.deleteWill(session.clientId);
    this.touch();
  }
}
