/**
 * The storage seam: everything a restart must keep, as small records. The broker keeps its
 * working state in memory and writes these records through a Storage; on start it restores
 * from `load()`. Implementations live in src/storage (memory, SQLite, Redis) and all pass
 * one shared test suite (test/storage/storage.test.ts). No SQL or file format leaks out of them.
 *
 * What a backend implements and guarantees (the whole contract; the core needs nothing else):
 * - Writes (`put*`, `delete*`) are synchronous and only buffered, into the current batch.
 * - `commit()` seals the current batch at once (a write made after the call, even before its
 *   promise settles, belongs to the next batch) and returns a promise that resolves, with the
 *   number of rows written or deleted, when the whole batch is durable, in one transaction.
 *   Batches are strictly ordered: batch N+1 never becomes durable (nor visible to a reader)
 *   before batch N, and commit N's promise settles before commit N+1's. The broker has at most
 *   one commit in flight and writes the next batch meanwhile (double buffering).
 * - A failed commit rejects, and the store is broken from then on: every later `commit()`
 *   rejects too and `close()` commits nothing (it only releases the backend). The broker then
 *   stops (onFatal) and never sends what waited for that commit.
 * - `load()` (at start, before any write) returns the stored state as async streams, each read
 *   once, one after the other, in the order RestoredState declares; a backend may read rows as
 *   they are consumed and need not hold the store in memory.
 * - `close()` commits what is buffered (unless broken), waits for commits in flight and releases
 *   the backend.
 * - Cancellation (below), and `durable`: true when a resolved commit survives a crash.
 *
 * Durability, as the broker uses it: the broker commits at most once per
 * `persistenceCommitIntervalMs` under load and at the end of the event-loop turn otherwise
 * (src/broker/persistence.ts); no byte that reports stored state (an acknowledgement, CONNACK,
 * SUBACK, UNSUBACK, PUBREL, an outgoing QoS 2 PUBLISH, a copy of a QoS 2 publication) leaves
 * before the commit that holds that state has resolved (src/transport/connection.ts holds those
 * bytes until then).
 *
 * Cancellation: the writes of one batch are kept per row, so the last write of a row wins and a
 * row created and deleted within one batch is never written at all. A backend must only know
 * which puts create a row: every `putMessage` does (message ids are never reused while a row
 * with that id exists), and `putDelivery` says so with `fresh`. Applying a batch must give the
 * same store as applying its writes one by one. A record passed to a put method belongs to the
 * storage from then on: the caller must not change it.
 */
import type { Properties, QoS } from '../protocol/packets.js';

export interface StoredMessage {
  id: number;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: Properties | undefined;
  origin: string | undefined;
  /** Absolute expiry (ms since epoch), 0 for never. */
  expiresAt: number;
}

export interface StoredSession {
  clientId: string;
  /** Seconds; 0xFFFFFFFF for never. */
  expiryInterval: number;
  /** When the client disconnected (ms since epoch); 0 while connected. */
  disconnectedAt: number;
  /** The user name of the client that made it (only that user resumes it); undefined: anonymous. */
  username?: string | undefined;
  /** The listener its client came through (per-listener security of a delayed will). */
  listener?: string | undefined;
}

export interface StoredSubscription {
  clientId: string;
  /** As the client sent it ($share/... included). */
  rawFilter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number;
}

/** An outgoing QoS 1/2 delivery of a session: queued (packetId 0) or in flight. */
export interface StoredDelivery {
  clientId: string;
  /** Order of the delivery within its session. */
  seq: number;
  messageId: number;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  packetId: number;
  /** 0: PUBLISH sent (or queued); 1: PUBREL sent. */
  state: 0 | 1;
}

export interface StoredWill {
  clientId: string;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: Properties | undefined;
  /** When to publish it (ms since epoch). */
  publishAt: number;
}

/**
 * Everything stored, as async streams: a backend may read rows while the broker consumes them
 * (SQLite does, a page at a time), so a restart holds the objects it builds and not a second copy
 * of the store. Consume each field once, one at a time, in the order declared here (a backend may
 * not read two at once). Each stream yields its rows in chunks (arrays, in order): one await per
 * chunk rather than per row keeps a restart of a million rows as fast as a synchronous one.
 */
/** A stream of stored rows, in chunks (see RestoredState). */
export type Rows<T> = AsyncIterable<readonly T[]>;

export interface RestoredState {
  /** In ascending id order. */
  messages: Rows<StoredMessage>;
  retained: Rows<{ topic: string; messageId: number }>;
  sessions: Rows<StoredSession>;
  subscriptions: Rows<StoredSubscription>;
  /** In (clientId, seq) order. */
  deliveries: Rows<StoredDelivery>;
  /** Incoming QoS 2 packet ids received and not yet released. */
  incoming: Rows<{ clientId: string; packetId: number }>;
  wills: Rows<StoredWill>;
}

export interface Storage {
  /** True when commit() makes writes survive a crash of the process. */
  readonly durable: boolean;
  /** Read everything stored (at start), as async streams (see RestoredState). */
  load(): RestoredState;
  /** Store a new message (its id names no stored row). */
  putMessage(message: StoredMessage): void;
  deleteMessage(id: number): void;
  putSession(session: StoredSession): void;
  /** Delete a session with its subscriptions, deliveries, incoming ids and will. */
  deleteSession(clientId: string): void;
  putSubscription(subscription: StoredSubscription): void;
  deleteSubscription(clientId: string, rawFilter: string): void;
  /**
   * Store or update a delivery. `fresh`: no row of this (clientId, seq) is stored yet, so a
   * delete in the same batch cancels the write instead of running.
   */
  putDelivery(delivery: StoredDelivery, fresh: boolean): void;
  deleteDelivery(clientId: string, seq: number): void;
  putIncoming(clientId: string, packetId: number): void;
  deleteIncoming(clientId: string, packetId: number): void;
  putRetained(topic: string, messageId: number): void;
  deleteRetained(topic: string): void;
  putWill(will: StoredWill): void;
  deleteWill(clientId: string): void;
  /**
   * Seal the batch of all writes so far and make it durable (one transaction); resolves with how
   * many rows it wrote or deleted. Ordered after every earlier commit; rejects if it failed, and
   * so does every later one.
   */
  commit(): Promise<number>;
  /** Commit what is left (unless a commit failed), wait for commits in flight, release the backend. */
  close(): Promise<void>;
}
