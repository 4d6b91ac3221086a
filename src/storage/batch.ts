/**
 * What the storage backends share: the pending batch, kept per row (the cancellation of
 * src/broker/storage.ts: the last write of a row wins, a row created and deleted in one batch
 * is never written), and the JSON form of MQTT 5.0 properties. `BatchedStorage` implements
 * every write of the Storage interface by recording it here; a backend implements load(),
 * commit() (writing the pending rows, `eachClientRow` for the per-client tables, and emptying
 * them) and close().
 */
import type { Properties } from '../protocol/packets.js';
import type { RestoredState, Storage, StoredDelivery, StoredMessage, StoredSession, StoredSubscription, StoredWill } from '../broker/storage.js';

/** A store that cannot be used; the message says which, what is wrong and what to do. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
}

// JSON with Buffers (correlation data, authentication data) kept as base64.
export function propertiesToJson(properties: Properties | undefined): string | null {
  if (properties === undefined) return null;
  return JSON.stringify(properties, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer'
      ? { $b64: Buffer.from((value as { data: number[] }).data).toString('base64') }
      : value,
  );
}

export function propertiesFromJson(text: string | null): Properties | undefined {
  if (text === null) return undefined;
  return JSON.parse(text, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && typeof (value as { $b64?: unknown }).$b64 === 'string'
      ? Buffer.from((value as { $b64: string }).$b64, 'base64')
      : value,
  ) as Properties;
}

/**
 * The pending write of one row in the current batch: the row to write, or null to delete it.
 * `created`: no row existed before the batch, so deleting it again leaves nothing to write.
 */
interface Pending<R> {
  row: R | null;
  created: boolean;
}

/** Pending writes of one table, by row key. */
export type Rows<K, R> = Map<K, Pending<R>>;
/** Pending writes of a per-client table, by client id, then row key (deleteSession drops a client's). */
export type ClientRows<K, R> = Map<string, Rows<K, R>>;

/** Record a put; returns the change in the number of pending rows. */
function put<K, R>(rows: Rows<K, R>, key: K, row: R, created: boolean): number {
  const pending = rows.get(key);
  if (pending === undefined) {
    rows.set(key, { row, created });
    return 1;
  }
  pending.row = row; // a later write of the row keeps whether the batch created it
  return 0;
}

/** Record a delete; returns the change in the number of pending rows. */
function remove<K, R>(rows: Rows<K, R>, key: K): number {
  const pending = rows.get(key);
  if (pending === undefined) {
    rows.set(key, { row: null, created: false });
    return 1;
  }
  if (pending.created) {
    rows.delete(key); // created and deleted in this batch: no SQL
    return -1;
  }
  pending.row = null;
  return 0;
}

export function rowsOf<K, R>(table: ClientRows<K, R>, clientId: string): Rows<K, R> {
  let rows = table.get(clientId);
  if (rows === undefined) {
    rows = new Map();
    table.set(clientId, rows);
  }
  return rows;
}

/**
 * Write every pending row of a per-client table and empty it. The map of a client with no
 * pending row is dropped (it is made again on its next write), so idle sessions cost nothing.
 */
export function eachClientRow<K, R>(table: ClientRows<K, R>, write: (clientId: string, key: K, row: R | null, created: boolean) => void): number {
  let written = 0;
  for (const [clientId, rows] of table) {
    if (rows.size === 0) {
      table.delete(clientId);
      continue;
    }
    for (const [key, { row, created }] of rows) write(clientId, key, row, created);
    written += rows.size;
    rows.clear();
  }
  return written;
}

export abstract class BatchedStorage implements Storage {
  abstract readonly durable: boolean;
  // The current batch. Sessions deleted in it are deleted first at commit, then every pending
  // row is written: a client's rows pending at deleteSession were dropped, so the rows still
  // pending for it were written after the delete, as in one-by-one order.
  protected readonly deletedSessions = new Set<string>();
  protected readonly messages: Rows<number, StoredMessage> = new Map();
  protected readonly retained: Rows<string, number> = new Map();
  /** Sessions are only put (deleteSession removes them). */
  protected readonly sessions = new Map<string, StoredSession>();
  protected readonly wills: Rows<string, StoredWill> = new Map();
  protected readonly subscriptions: ClientRows<string, StoredSubscription> = new Map();
  protected readonly deliveries: ClientRows<number, StoredDelivery> = new Map();
  protected readonly incoming: ClientRows<number, true> = new Map();
  /** Pending rows and deleted sessions in the batch (0: commit has nothing to do). */
  protected pendingCount = 0;

  abstract load(): RestoredState;
  abstract commit(): Promise<number>;
  abstract close(): Promise<void>;

  putMessage(m: StoredMessage): void {
    this.pendingCount += put(this.messages, m.id, m, true);
  }
  deleteMessage(id: number): void {
    this.pendingCount += remove(this.messages, id);
  }
  putSession(session: StoredSession): void {
    if (!this.sessions.has(session.clientId)) this.pendingCount++;
    this.sessions.set(session.clientId, session);
  }
  /** Rare (a session ends): drop the client's pending rows, delete its stored ones at commit. */
  deleteSession(clientId: string): void {
    if (this.sessions.delete(clientId)) this.pendingCount--;
    if (this.wills.delete(clientId)) this.pendingCount--;
    for (const table of [this.subscriptions, this.deliveries, this.incoming] as Array<ClientRows<unknown, unknown>>) {
      const rows = table.get(clientId);
      if (rows === undefined) continue;
      this.pendingCount -= rows.size;
      table.delete(clientId);
    }
    if (this.deletedSessions.has(clientId)) return;
    this.deletedSessions.add(clientId);
    this.pendingCount++;
  }
  putSubscription(sub: StoredSubscription): void {
    this.pendingCount += put(rowsOf(this.subscriptions, sub.clientId), sub.rawFilter, sub, false);
  }
  deleteSubscription(clientId: string, rawFilter: string): void {
    this.pendingCount += remove(rowsOf(this.subscriptions, clientId), rawFilter);
  }
  putDelivery(d: StoredDelivery, fresh: boolean): void {
    this.pendingCount += put(rowsOf(this.deliveries, d.clientId), d.seq, d, fresh);
  }
  deleteDelivery(clientId: string, seq: number): void {
    this.pendingCount += remove(rowsOf(this.deliveries, clientId), seq);
  }
  putIncoming(clientId: string, packetId: number): void {
    this.pendingCount += put(rowsOf(this.incoming, clientId), packetId, true, false);
  }
  deleteIncoming(clientId: string, packetId: number): void {
    this.pendingCount += remove(rowsOf(this.incoming, clientId), packetId);
  }
  putRetained(topic: string, messageId: number): void {
    this.pendingCount += put(this.retained, topic, messageId, false);
  }
  deleteRetained(topic: string): void {
    this.pendingCount += remove(this.retained, topic);
  }
  putWill(w: StoredWill): void {
    this.pendingCount += put(this.wills, w.clientId, w, false);
  }
  deleteWill(clientId: string): void {
    this.pendingCount += remove(this.wills, clientId);
  }
}
