/**
 * SQLite storage (better-sqlite3, WAL journal): the default of `cicada broker`.
 *
 * Writes are collected as a list of operations and applied in order in ONE transaction by
 * `commit()`, which the broker calls once per event-loop turn (group commit). With WAL and
 * synchronous=NORMAL a committed transaction survives a crash of the process (SIGKILL); with
 * `sync: 'full'` it also survives a power cut, at the cost of an fsync per commit.
 *
 * On-disk format: the tables below, versioned by `PRAGMA user_version` (FORMAT_VERSION). A file
 * of another version is refused with a clear error rather than read wrongly.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Properties, QoS } from '../protocol/packets.js';
import type {
  RestoredState,
  Storage,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '../broker/storage.js';

const FORMAT_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL, properties TEXT, origin TEXT, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL,
  disconnected_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (client_id TEXT NOT NULL, raw_filter TEXT NOT NULL, qos INTEGER NOT NULL,
  no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL, retain_handling INTEGER NOT NULL,
  subscription_id INTEGER NOT NULL, PRIMARY KEY (client_id, raw_filter)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (client_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id INTEGER NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL, subscription_ids TEXT, packet_id INTEGER NOT NULL,
  state INTEGER NOT NULL, PRIMARY KEY (client_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incoming (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL,
  PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, message_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wills (client_id TEXT PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL, properties TEXT, publish_at INTEGER NOT NULL) WITHOUT ROWID;
`;

/** A database that cannot be used; the message names the file and what to do. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
}

export interface SqliteOptions {
  /** 'normal' (default): survives process crashes; 'full': also power loss (fsync per commit). */
  sync?: 'normal' | 'full';
}

// JSON with Buffers (correlation data, authentication data) kept as base64.
function propertiesToJson(properties: Properties | undefined): string | null {
  if (properties === undefined) return null;
  return JSON.stringify(properties, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer'
      ? { $b64: Buffer.from((value as { data: number[] }).data).toString('base64') }
      : value,
  );
}

function propertiesFromJson(text: string | null): Properties | undefined {
  if (text === null) return undefined;
  return JSON.parse(text, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && typeof (value as { $b64?: unknown }).$b64 === 'string'
      ? Buffer.from((value as { $b64: string }).$b64, 'base64')
      : value,
  ) as Properties;
}

type Op = () => void;

export class SqliteStorage implements Storage {
  readonly durable = true;
  private readonly db: Database.Database;
  private ops: Op[] = [];
  private readonly statements;
  private readonly transaction: (ops: Op[]) => void;

  constructor(
    readonly file: string,
    options: SqliteOptions = {},
  ) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
      const version = this.db.pragma('user_version', { simple: true }) as number;
      const tables = this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (version === 0 && tables.n === 0) {
        this.db.exec(SCHEMA);
        this.db.pragma(`user_version = ${FORMAT_VERSION}`);
      } else if (version !== FORMAT_VERSION) {
        throw new Error(`unknown format version ${version} (this Cicada reads version ${FORMAT_VERSION})`);
      }
    } catch (error) {
      throw new StorageError(describeOpenError(file, error), { cause: error });
    }
    const db = this.db;
    this.statements = {
      putMessage: db.prepare('INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
      putSession: db.prepare('INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)'),
      deleteSession: [
        db.prepare('DELETE FROM sessions WHERE client_id = ?'),
        db.prepare('DELETE FROM subscriptions WHERE client_id = ?'),
        db.prepare('DELETE FROM deliveries WHERE client_id = ?'),
        db.prepare('DELETE FROM incoming WHERE client_id = ?'),
        db.prepare('DELETE FROM wills WHERE client_id = ?'),
      ],
      putSubscription: db.prepare('INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?)'),
      deleteSubscription: db.prepare('DELETE FROM subscriptions WHERE client_id = ? AND raw_filter = ?'),
      putDelivery: db.prepare('INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      deleteDelivery: db.prepare('DELETE FROM deliveries WHERE client_id = ? AND seq = ?'),
      putIncoming: db.prepare('INSERT OR REPLACE INTO incoming VALUES (?, ?)'),
      deleteIncoming: db.prepare('DELETE FROM incoming WHERE client_id = ? AND packet_id = ?'),
      putRetained: db.prepare('INSERT OR REPLACE INTO retained VALUES (?, ?)'),
      deleteRetained: db.prepare('DELETE FROM retained WHERE topic = ?'),
      putWill: db.prepare('INSERT OR REPLACE INTO wills VALUES (?, ?, ?, ?, ?, ?, ?)'),
      deleteWill: db.prepare('DELETE FROM wills WHERE client_id = ?'),
    };
    this.transaction = db.transaction((ops: Op[]) => {
      for (let i = 0; i < ops.length; i++) (ops[i] as Op)();
    });
  }

  load(): RestoredState {
    const db = this.db;
    type Row = Record<string, unknown>;
    const all = (sql: string): Row[] => db.prepare(sql).all() as Row[];
    return {
      messages: all('SELECT * FROM messages').map((r) => ({
        id: r.id as number,
        topic: r.topic as string,
        payload: r.payload as Buffer,
        qos: r.qos as QoS,
        retain: r.retain === 1,
        properties: propertiesFromJson(r.properties as string | null),
        origin: (r.origin as string | null) ?? undefined,
        expiresAt: r.expires_at as number,
      })),
      sessions: all('SELECT * FROM sessions').map((r) => ({
        clientId: r.client_id as string,
        expiryInterval: r.expiry_interval as number,
        disconnectedAt: r.disconnected_at as number,
      })),
      subscriptions: all('SELECT * FROM subscriptions').map((r) => ({
        clientId: r.client_id as string,
        rawFilter: r.raw_filter as string,
        qos: r.qos as QoS,
        noLocal: r.no_local === 1,
        retainAsPublished: r.retain_as_published === 1,
        retainHandling: r.retain_handling as 0 | 1 | 2,
        subscriptionId: r.subscription_id as number,
      })),
      deliveries: all('SELECT * FROM deliveries ORDER BY client_id, seq').map((r) => ({
        clientId: r.client_id as string,
        seq: r.seq as number,
        messageId: r.message_id as number,
        qos: r.qos as QoS,
        retain: r.retain === 1,
        subscriptionIds: r.subscription_ids === null ? undefined : (JSON.parse(r.subscription_ids as string) as number[]),
        packetId: r.packet_id as number,
        state: r.state as 0 | 1,
      })),
      incoming: all('SELECT * FROM incoming').map((r) => ({ clientId: r.client_id as string, packetId: r.packet_id as number })),
      retained: all('SELECT * FROM retained').map((r) => ({ topic: r.topic as string, messageId: r.message_id as number })),
      wills: all('SELECT * FROM wills').map((r) => ({
        clientId: r.client_id as string,
        topic: r.topic as string,
        payload: r.payload as Buffer,
        qos: r.qos as QoS,
        retain: r.retain === 1,
        properties: propertiesFromJson(r.properties as string | null),
        publishAt: r.publish_at as number,
      })),
    };
  }

  putMessage(m: StoredMessage): void {
    const s = this.statements.putMessage;
    const props = propertiesToJson(m.properties);
    this.ops.push(() => s.run(m.id, m.topic, m.payload, m.qos, m.retain ? 1 : 0, props, m.origin ?? null, m.expiresAt));
  }
  deleteMessage(id: number): void {
    const s = this.statements.deleteMessage;
    this.ops.push(() => s.run(id));
  }
  putSession(session: StoredSession): void {
    const s = this.statements.putSession;
    const { clientId, expiryInterval, disconnectedAt } = session;
    this.ops.push(() => s.run(clientId, expiryInterval, disconnectedAt));
  }
  deleteSession(clientId: string): void {
    const list = this.statements.deleteSession;
    this.ops.push(() => {
      for (const s of list) s.run(clientId);
    });
  }
  putSubscription(sub: StoredSubscription): void {
    const s = this.statements.putSubscription;
    const { clientId, rawFilter, qos, noLocal, retainAsPublished, retainHandling, subscriptionId } = sub;
    this.ops.push(() => s.run(clientId, rawFilter, qos, noLocal ? 1 : 0, retainAsPublished ? 1 : 0, retainHandling, subscriptionId));
  }
  deleteSubscription(clientId: string, rawFilter: string): void {
    const s = this.statements.deleteSubscription;
    this.ops.push(() => s.run(clientId, rawFilter));
  }
  putDelivery(d: StoredDelivery): void {
    const s = this.statements.putDelivery;
    const { clientId, seq, messageId, qos, retain, packetId, state } = d;
    const subIds = d.subscriptionIds === undefined ? null : JSON.stringify(d.subscriptionIds);
    this.ops.push(() => s.run(clientId, seq, messageId, qos, retain ? 1 : 0, subIds, packetId, state));
  }
  deleteDelivery(clientId: string, seq: number): void {
    const s = this.statements.deleteDelivery;
    this.ops.push(() => s.run(clientId, seq));
  }
  putIncoming(clientId: string, packetId: number): void {
    const s = this.statements.putIncoming;
    this.ops.push(() => s.run(clientId, packetId));
  }
  deleteIncoming(clientId: string, packetId: number): void {
    const s = this.statements.deleteIncoming;
    this.ops.push(() => s.run(clientId, packetId));
  }
  putRetained(topic: string, messageId: number): void {
    const s = this.statements.putRetained;
    this.ops.push(() => s.run(topic, messageId));
  }
  deleteRetained(topic: string): void {
    const s = this.statements.deleteRetained;
    this.ops.push(() => s.run(topic));
  }
  putWill(w: StoredWill): void {
    const s = this.statements.putWill;
    const props = propertiesToJson(w.properties);
    this.ops.push(() => s.run(w.clientId, w.topic, w.payload, w.qos, w.retain ? 1 : 0, props, w.publishAt));
  }
  deleteWill(clientId: string): void {
    const s = this.statements.deleteWill;
    this.ops.push(() => s.run(clientId));
  }

  commit(): void {
    if (this.ops.length === 0) return;
    const ops = this.ops;
    this.ops = [];
    this.transaction(ops);
  }

  close(): void {
    this.commit();
    this.db.close();
  }
}

function describeOpenError(file: string, error: unknown): string {
  const e = error as { code?: string; message?: string };
  const code = e.code ?? '';
  let advice = 'check the file, or move it away to start with an empty state';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') advice = 'the file is not a Cicada database or is corrupt: restore it from a backup, or move it away to start with an empty state';
  else if (code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') advice = 'check that the directory exists and that the broker may read and write it';
  else if (code === 'SQLITE_FULL' || code === 'ENOSPC') advice = 'the disk is full: free space and start again';
  return `cannot open persistence database ${file}: ${e.message ?? String(error)} (${advice})`;
}
