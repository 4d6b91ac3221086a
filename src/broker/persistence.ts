/**
 * Persistence: translates broker objects (sessions, messages, deliveries) into Storage records
 * and schedules the group commit. Only sessions that outlive their connection (Session Expiry
 * Interval > 0, or Clean Session 0) are stored; a message is stored once, with a reference count
 * of the deliveries and the retained entry that point at it, and deleted when none is left.
 *
 * Invariant: no byte that reports stored state leaves the broker before that state is
 * committed. The bytes that report state are the broker's CONNACK, PUBACK, PUBREC, PUBREL,
 * PUBCOMP, SUBACK and UNSUBACK, its outgoing QoS 2 PUBLISH and any copy of a QoS 2 publication
 * (`copyWaitsForCommit`): a PUBACK or PUBREC says the broker accepted ownership of the message
 * (3.1.1 [MQTT-4.3.2-2] [MQTT-4.3.3-2], 5.0 [MQTT-4.3.2-4] [MQTT-4.3.3-8]); a QoS 2 PUBLISH that
 * left before its delivery was stored, or a copy of a QoS 2 publication that left before its
 * incoming packet id was stored, would be delivered again after a crash, when the publisher
 * re-sends (no duplicates onward: 3.1.1 [MQTT-4.3.3-2]). A connection (src/transport/
 * connection.ts) notes, when it queues such bytes, the open batch (`openBatch`), holds them and
 * everything queued after them until that batch is committed (`isCommitted`), and waits for the
 * commit of that batch (`waitForCommit`), not a later one. Handlers write the state before they
 * queue the bytes that report it (should one write it later in the same turn, the batch is still
 * open, and the bytes wait for it). Other QoS 0 and 1 copies do not wait: if the broker dies before the
 * commit, their publisher got no PUBACK, still holds the message as unacknowledged
 * ([MQTT-4.3.2-1]) and sends it again, and a QoS 1 message may arrive twice, which "at least
 * once" allows (a QoS 1 publication can reach a QoS 0 subscriber twice anyway, when its PUBACK
 * is lost).
 *
 * Commit cadence, with I = `intervalMs`: a batch that starts while the store is idle (last commit
 * at least 5 I ago) is committed at the end of the event-loop turn, so light traffic waits for
 * nothing. Otherwise the commit comes no sooner than I after the previous one, and it waits
 * (at most until 5 I after the previous one) for the acknowledgements of the QoS 1 deliveries
 * this batch created and sent at once (`unacked`): acknowledged before the commit, such a
 * delivery and, when no other reference is left, its message are created and deleted within the
 * batch, and the storage writes neither (a stream to online subscribers then costs almost no
 * SQL). Measured: committing at the end of the turn once I had passed, without waiting for those
 * acknowledgements, cancelled almost nothing under load, because the publishers' PUBACKs are
 * released by a commit and their next PUBLISHes all arrive in the turn before the next one.
 *
 * Asynchronous commits (`Storage.commit()` returns a promise): batches are numbered; committing
 * seals the open batch, and writes made while its commit is in flight go to the next one (double
 * buffering). At most one commit is in flight: a commit that falls due meanwhile runs when the
 * one in flight resolves. A batch is released (its waiters called) when its own commit has
 * resolved. A failed commit stops the broker (`onFailure`), releases nothing ever again, and the
 * store is never committed again, not even at close.
 */
import type { Will } from '../protocol/packets.js';
import type { BrokerStats } from './api.js';
import type { Logger } from './logger.js';
import { copyWaitsForCommit, type Message } from './message.js';
import type { Delivery, Session, SubscriptionEntry } from './session.js';
import type { Storage } from './storage.js';

/** Something that waits for a commit: a connection holding bytes that report stored state. */
export interface CommitWaiter {
  /** The batch it waits for is durable. */
  committed(): void;
  /** That batch's commit failed: what waited for it must never be sent. */
  commitFailed?(): void;
}

/** A commit waits at most this many intervals after the previous one for acknowledgements. */
const MAX_WAIT_INTERVALS = 5;

export class Persistence {
  /** The open batch has writes. */
  private dirty = false;
  /** A run of `run` is pending (timer or immediate). */
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** The batch started while the store was idle: commit at the end of the turn, wait for nothing. */
  private urgent = false;
  private lastCommit = 0;
  /** Number of the open batch (deliveries remember the batch they were counted in). */
  private batch = 1;
  /** The last batch known durable (0: none yet). */
  private durableBatch = 0;
  /** The commit of batch `batch - 1` is in flight; settles (and clears itself) when it resolves or fails. */
  private flight: Promise<void> | undefined;
  /** The open batch's commit fell due while another was in flight: it runs when that one resolves. */
  private due = false;
  /** QoS 1 deliveries created and sent in this batch, not yet acknowledged: rows that may cancel. */
  private unacked = 0;
  /** The commit is due and waits for `unacked` to reach 0 (or for the deadline). */
  private waitingForAcks = false;
  /** Waiting for the open batch, and for the batch in flight. */
  private waiters: CommitWaiter[] = [];
  private waitersInFlight: CommitWaiter[] = [];
  private nextMessageId = 1;
  private failed = false;
  private stopped = false;
  /** `close` has begun: nothing more is committed but what it commits itself. */
  private closing = false;
  private readonly maxWaitMs: number;
  private readonly run = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    if (this.stopped || this.failed || !this.dirty) return;
    const deadline = this.lastCommit + this.maxWaitMs - Date.now();
    if (!this.urgent && this.unacked > 0 && deadline > 0) {
      this.waitingForAcks = true; // `acknowledged` commits when the last one comes
      this.timer = setTimeout(this.run, deadline);
      return;
    }
    if (this.flight !== undefined) this.due = true;
    else this.commitBatch();
  };

  constructor(
    readonly storage: Storage,
    private readonly log: Logger,
    /** Called when a commit fails: the broker must stop rather than acknowledge lost state. */
    private readonly onFailure: (error: unknown) => void,
    /** Least time between two commits under load, in ms. */
    private readonly intervalMs: number,
    private readonly stats: BrokerStats,
  ) {
    this.maxWaitMs = intervalMs * MAX_WAIT_INTERVALS;
  }

  /** Commit what the restore deleted (expired or orphan rows), which wrote to the storage directly. */
  async restored(): Promise<void> {
    this.dirty = true;
    // A failed commit already stopped the broker (onFatal): the start must not go on to listen.
    if (!(await this.commitIfDirty())) throw new Error('persistence store: the commit after the restore failed');
  }

  /** Continue message ids after the largest restored one. */
  restoredMessageId(id: number): void {
    if (id >= this.nextMessageId) this.nextMessageId = id + 1;
  }

  /**
   * Whether bytes reporting stored state must wait: the store has writes not durable yet.
   * Never true for a store that is not durable (nothing to wait for).
   */
  get uncommitted(): boolean {
    return !this.isCommitted(this.batch);
  }

  /**
   * The open batch. Bytes that report stored state note it when they are queued: their state was
   * written before them, so it is in this batch or an earlier one (`isCommitted`).
   */
  get openBatch(): number {
    return this.batch;
  }

  /**
   * Whether everything written up to the end of `batch` (an `openBatch` noted earlier) is durable:
   * a sealed batch once its commit resolved; the batch still open once it has no writes and no
   * commit is in flight. Always for a store that is not durable; never again after a failure.
   */
  isCommitted(batch: number): boolean {
    if (!this.storage.durable) return true;
    if (batch < this.batch) return batch <= this.durableBatch;
    return !this.dirty && !this.failed && this.flight === undefined;
  }

  /**
   * Call `waiter.committed()` when the commit that `batch` (not `isCommitted`) waits for resolves:
   * its own, or, for the open batch without writes, the one in flight; `waiter.commitFailed()` if
   * that commit fails. The commit is already scheduled. The waiter checks again when called.
   */
  waitForCommit(waiter: CommitWaiter, batch: number): void {
    if (batch >= this.batch && this.dirty) this.waiters.push(waiter);
    else this.waitersInFlight.push(waiter);
  }

  /** The first write of a batch schedules its commit (see the cadence above). */
  private touch(): void {
    if (this.dirty) return;
    this.dirty = true;
    if (this.stopped || this.timer !== undefined || this.immediate !== undefined) return;
    const since = Date.now() - this.lastCommit;
    this.urgent = since >= this.maxWaitMs;
    if (this.urgent || since >= this.intervalMs) this.immediate = setImmediate(this.run);
    else this.timer = setTimeout(this.run, this.intervalMs - since);
  }

  /** A delivery counted in `unacked` is over: when it was the last, a waiting commit goes. */
  private acknowledged(): void {
    if (--this.unacked > 0 || !this.waitingForAcks) return;
    this.waitingForAcks = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.immediate = setImmediate(this.run);
  }

  /**
   * Commit everything written so far as soon as possible (a closing connection, the restore,
   * tests): resolves true once it is durable, false if the store failed or is closing.
   */
  commitIfDirty(): Promise<boolean> {
    if (this.failed || this.closing) return Promise.resolve(false);
    const batch = this.dirty ? this.batch : this.flight !== undefined ? this.batch - 1 : 0;
    if (batch === 0) return Promise.resolve(true);
    if (batch === this.batch) {
      if (this.flight !== undefined) this.due = true;
      else this.commitBatch();
    }
    return new Promise((resolve) => this.waitForCommit({ committed: () => resolve(true), commitFailed: () => resolve(false) }, batch));
  }

  /** Seal the open batch and start its commit; the next writes go to a new batch. */
  private commitBatch(): void {
    const batch = this.batch++;
    this.lastCommit = Date.now(); // and again when it resolves
    this.dirty = false;
    this.due = false;
    this.unacked = 0;
    this.waitingForAcks = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.waitersInFlight = this.waiters;
    this.waiters = [];
    let result: Promise<number>;
    try {
      result = this.storage.commit();
    } catch (error) {
      result = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.flight = result.then(
      (rows) => this.committed(batch, rows),
      (error: unknown) => this.commitFailed(error),
    );
  }

  /** Batch `batch` is durable: release what waited for it; start the next commit if it is due. */
  private committed(batch: number, rows: number): void {
    this.flight = undefined;
    this.durableBatch = batch;
    this.lastCommit = Date.now();
    this.stats.persistenceCommits++;
    this.stats.persistenceRowsWritten += rows;
    const waiters = this.waitersInFlight;
    this.waitersInFlight = [];
    if (this.due && this.dirty) this.commitBatch();
    for (let i = 0; i < waiters.length; i++) (waiters[i] as CommitWaiter).committed();
  }

  /** A commit failed: stop the broker, never commit or release anything again. */
  private commitFailed(error: unknown): void {
    this.flight = undefined;
    this.failed = true;
    this.log.fatal({ err: error }, 'cannot write to the persistence store: stopping so that nothing unsaved is acknowledged');
    const waiters = [...this.waitersInFlight, ...this.waiters];
    this.waitersInFlight = [];
    this.waiters = [];
    this.onFailure(error);
    for (const waiter of waiters) waiter.commitFailed?.();
  }

  /** The broker stops: no more scheduled commits (`close` commits what is left). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  /**
   * Wait for the commit in flight, commit what is left (unless a commit failed: then nothing is
   * committed again) and close the storage.
   */
  async close(): Promise<void> {
    this.stop();
    this.closing = true;
    await this.settled();
    if (!this.failed && this.dirty) {
      this.commitBatch();
      await this.settled();
    }
    await this.storage.close();
  }

  /** Resolves once no commit is in flight (also one that a resolving commit starts). */
  private async settled(): Promise<void> {
    while (this.flight !== undefined) await this.flight;
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
    this.storage.putSession({ clientId: session.clientId, expiryInterval: session.expiryInterval, disconnectedAt, username: session.owner, listener: session.listener });
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
    const fresh = !delivery.stored; // no row yet: an acknowledgement before the commit cancels it
    const messageId = fresh ? this.reference(delivery.message) : delivery.message.storedId;
    delivery.stored = true;
    if (fresh && packetId !== 0 && !copyWaitsForCommit(delivery.message, delivery.qos) && session.link?.waitsForCommit === false) {
      // Sent at once (QoS 1 does not wait for the commit): its PUBACK may come before the commit.
      delivery.ackBatch = this.batch;
      this.unacked++;
    }
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
    if (delivery.ackBatch === this.batch) this.acknowledged();
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
