/**
 * In-memory storage: keeps the records in maps, so a broker restarted in the same process with
 * the same MemoryStorage object restores its state. Used by tests (the shared storage suite, a
 * core restarted with plain calls); `persistence false` uses no storage at all (the core keeps
 * its state in its own structures). Not durable. Writes apply at once, so there is no batch
 * to cancel in and `commit` has nothing to do; `load` streams each field as one chunk.
 */
import type {
  RestoredState,
  Rows,
  Storage,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '../broker/storage.js';
import { asyncChunks } from './chunks.js';

const pair = (a: string, b: number | string): string => `${a}\u0000${b}`;

/** The rows as a stream of one chunk (none when empty). */
function chunk<T>(rows: T[]): Rows<T> {
  return asyncChunks(rows.length > 0 ? [rows] : []);
}

export class MemoryStorage implements Storage {
  readonly durable: boolean = false;
  private readonly messages = new Map<number, StoredMessage>();
  private readonly sessions = new Map<string, StoredSession>();
  private readonly subscriptions = new Map<string, StoredSubscription>();
  private readonly deliveries = new Map<string, StoredDelivery>();
  private readonly incoming = new Map<string, { clientId: string; packetId: number }>();
  private readonly retained = new Map<string, number>();
  private readonly wills = new Map<string, StoredWill>();

  load(): RestoredState {
    const deliveries = [...this.deliveries.values()].sort((a, b) => (a.clientId === b.clientId ? a.seq - b.seq : a.clientId < b.clientId ? -1 : 1));
    return {
      messages: chunk([...this.messages.values()].sort((a, b) => a.id - b.id)),
      sessions: chunk([...this.sessions.values()]),
      subscriptions: chunk([...this.subscriptions.values()]),
      deliveries: chunk(deliveries),
      incoming: chunk([...this.incoming.values()]),
      retained: chunk([...this.retained].map(([topic, messageId]) => ({ topic, messageId }))),
      wills: chunk([...this.wills.values()]),
    };
  }

  putMessage(message: StoredMessage): void {
    this.messages.set(message.id, message);
  }
  deleteMessage(id: number): void {
    this.messages.delete(id);
  }
  putSession(session: StoredSession): void {
    this.sessions.set(session.clientId, { ...session });
  }
  deleteSession(clientId: string): void {
    this.sessions.delete(clientId);
    for (const map of [this.subscriptions, this.deliveries, this.incoming] as Array<Map<string, { clientId: string }>>) {
      for (const [key, value] of map) if (value.clientId === clientId) map.delete(key);
    }
    this.wills.delete(clientId);
  }
  putSubscription(subscription: StoredSubscription): void {
    this.subscriptions.set(pair(subscription.clientId, subscription.rawFilter), { ...subscription });
  }
  deleteSubscription(clientId: string, rawFilter: string): void {
    this.subscriptions.delete(pair(clientId, rawFilter));
  }
  putDelivery(delivery: StoredDelivery): void {
    this.deliveries.set(pair(delivery.clientId, delivery.seq), { ...delivery });
  }
  deleteDelivery(clientId: string, seq: number): void {
    this.deliveries.delete(pair(clientId, seq));
  }
  putIncoming(clientId: string, packetId: number): void {
    this.incoming.set(pair(clientId, packetId), { clientId, packetId });
  }
  deleteIncoming(clientId: string, packetId: number): void {
    this.incoming.delete(pair(clientId, packetId));
  }
  putRetained(topic: string, messageId: number): void {
    this.retained.set(topic, messageId);
  }
  deleteRetained(topic: string): void {
    this.retained.delete(topic);
  }
  putWill(will: StoredWill): void {
    this.wills.set(will.clientId, will);
  }
  deleteWill(clientId: string): void {
    this.wills.delete(clientId);
  }
  commit(): Promise<number> {
    return Promise.resolve(0);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
