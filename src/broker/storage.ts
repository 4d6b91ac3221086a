/**
 * The storage seam: everything a restart must keep, as small records. The broker keeps its
 * working state in memory and writes these records through a Storage; on start it restores
 * from `load()`. Implementations live in src/storage (memory, SQLite; Redis later) and all pass
 * one shared test suite (test/storage/storage.test.ts). No SQL or file format leaks out of them.
 *
 * Durability contract: writes are buffered; `commit()` makes every write so far durable in one
 * transaction. The broker commits at most once per `persistenceCommitIntervalMs` under load and
 * at the end of the event-loop turn otherwise (src/broker/persistence.ts); no byte that reports
 * stored state (an acknowledgement, CONNACK, SUBACK, UNSUBACK, PUBREL, an outgoing QoS 2
 * PUBLISH, a copy of a QoS 2 publication) leaves before the commit that contains that state
 * (src/transport/connection.ts holds those bytes until then).
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
 * Everything stored, as streams: a backend may read rows while the broker consumes them (SQLite
 * does), so a restart holds the objects it builds and not a second copy of the store. Consume
 * each field once, one at a time, in the order declared here (a backend may not read two at once).
 */
export interface RestoredState {
  /** In ascending id order. */
  messages: Iterable<StoredMessage>;
  retained: Iterable<{ topic: string; messageId: number }>;
  sessions: Iterable<StoredSession>;
  subscriptions: Iterable<StoredSubscription>;
  /** In (clientId, seq) order. */
  deliveries: Iterable<StoredDelivery>;
  /** Incoming QoS 2 packet ids received and not yet released. */
  incoming: Iterable<{ clientId: string; packetId: number }>;
  wills: Iterable<StoredWill>;
}

export interface Storage {
  /** True when commit() makes writes survive a crash of the process. */
  readonly durable: boolean;
  /** Read everything stored (at start), as streams (see RestoredState). */
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
  /** Make all writes so far durable (one transaction). Returns how many rows it wrote or deleted. */
  commit(): number;
  close(): void;
}
