/**
 * SQLite storage (better-sqlite3, WAL journal): the default of `cicada broker`.
 *
 * Writes are buffered per row (`BatchedStorage`, batch.ts) and applied in ONE transaction by `commit()`
 * (group commit): the last write of a row in a batch wins, and a row created and deleted in the
 * same batch (a QoS 1 delivery acknowledged before the next commit, and its message) costs no
 * SQL at all. With WAL and synchronous=NORMAL a committed transaction survives a crash of the
 * process (SIGKILL); with `sync: 'full'` it also survives a power cut, at the cost of an fsync
 * per commit.
 *
 * On-disk format: the tables below, versioned by `PRAGMA user_version` (FORMAT_VERSION). A file
 * of a newer version is refused with a clear error rather than read wrongly; an older one is
 * migrated at open (MIGRATIONS). New files use incremental auto-vacuum, and every
 * VACUUM_EVERY_MS a commit returns up to VACUUM_PAGES free pages to the file system; the WAL is
 * truncated to WAL_LIMIT_BYTES after each checkpoint, so neither file keeps its peak size.
 *
 * Errors: a database that cannot be used at start (not writable, corrupt, a table missing, a
 * newer format) and a failed commit are a StorageError whose one-line message names the file,
 * says what is wrong and what to do. After a failed commit the store is broken: nothing is
 * committed again, and close() only closes the file.
 */
import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { QoS } from '../protocol/packets.js';
import type { RestoredState, Rows as RowStream } from '../broker/storage.js';
import { asyncChunks, promiseOf } from './chunks.js';
import { BatchedStorage, eachClientRow, propertiesFromJson, propertiesToJson, StorageError } from './batch.js';

const FORMAT_VERSION = 2;
/** Upgrades of older files: MIGRATIONS[v] turns version v into v + 1. */
const MIGRATIONS: Array<string | undefined> = [
  undefined,
  // Version 2 records who made each session; sessions of version 1 count as anonymous ones.
  'ALTER TABLE sessions ADD COLUMN username TEXT; ALTER TABLE sessions ADD COLUMN listener TEXT;',
];
const TABLES = ['messages', 'sessions', 'subscriptions', 'deliveries', 'incoming', 'retained', 'wills'];
/** The WAL is truncated to this size after a checkpoint (PRAGMA journal_size_limit). */
const WAL_LIMIT_BYTES = 16 * 1024 * 1024;
/** How often a commit runs an incremental vacuum step, and how many free pages one step returns. */
const VACUUM_EVERY_MS = 60_000;
const VACUUM_PAGES = 2048;
/** Rows read per query at start (see `paged`), and yielded as one chunk. */
const LOAD_PAGE = 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL, properties TEXT, origin TEXT, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL,
  disconnected_at INTEGER NOT NULL, username TEXT, listener TEXT) WITHOUT ROWID;
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

export { StorageError };

export interface SqliteOptions {
  /** 'normal' (default): survives process crashes; 'full': also power loss (fsync per commit). */
  sync?: 'normal' | 'full';
  /** Least time between two incremental vacuum steps (ms; tests use 0). */
  vacuumEveryMs?: number;
  /** WAL size kept after a checkpoint (bytes; tests use small values). */
  walLimitBytes?: number;
}

type Row = unknown[];

/**
 * One string object per publisher client id at restore (a running broker's messages share their
 * publisher's), instead of one per row. Bounded: past MAX distinct ids, later ones are not shared.
 */
class Interned {
  private static readonly MAX = 65536;
  private readonly strings = new Map<string, string>();

  get(text: string | null): string | undefined {
    if (text === null) return undefined;
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    if (this.strings.size < Interned.MAX) this.strings.set(text, text);
    return text;
  }
}

/**
 * Restored payloads of up to SMALL_PAYLOAD bytes are read as hex text and decoded into shared
 * 64 KiB slabs. SQLite would hand every blob over as a Buffer of its own (an ArrayBuffer and a
 * backing store each, about 200 bytes besides the bytes, and a finalizer for the GC), while a
 * running broker's payloads are views into its read chunks: so a restored message costs what a
 * received one costs, and the load about half the CPU. Larger payloads come as their own Buffer.
 */
const SMALL_PAYLOAD = 4096;
const SMALL_PAYLOAD_HEX = `CASE WHEN length(payload) <= ${SMALL_PAYLOAD} THEN hex(payload) END`;
const LARGE_PAYLOAD = `CASE WHEN length(payload) > ${SMALL_PAYLOAD} THEN payload END`;

class PayloadSlab {
  private static readonly SIZE = 64 * 1024;
  private slab: Buffer | undefined;
  private used = 0;

  fromHex(hex: string): Buffer {
    const length = hex.length >>> 1;
    if (this.slab === undefined || this.used + length > PayloadSlab.SIZE) {
      this.slab = Buffer.allocUnsafeSlow(PayloadSlab.SIZE);
      this.used = 0;
    }
    this.slab.write(hex, this.used, length, 'hex');
    const view = this.slab.subarray(this.used, this.used + length);
    this.used += length;
    return view;
  }
}

export class SqliteStorage extends BatchedStorage {
  readonly durable = true;
  private readonly db: Database.Database;
  private readonly statements;
  private readonly transaction: () => number;
  /** The error of a failed commit: the store is not written again. */
  private broken: StorageError | undefined;
  private readonly vacuumEveryMs: number;
  private lastVacuum = Date.now();

  constructor(
    readonly file: string,
    options: SqliteOptions = {},
  ) {
    super();
    this.db = openDatabase(file, options);
    this.vacuumEveryMs = options.vacuumEveryMs ?? VACUUM_EVERY_MS;
    const db = this.db;
    this.statements = {
      putMessage: db.prepare('INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
      putSession: db.prepare('INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)'),
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
    this.transaction = db.transaction(() => this.apply());
  }

  /**
   * The stored state as streams of pages: each page's records are built from its rows while the
   * broker consumes the stream, so a restart never holds the whole store as arrays besides the
   * objects built from it. The consumer iterates the fields one at a time, in order.
   */
  load(): RestoredState {
    const slab = new PayloadSlab();
    const origins = new Interned();
    // Key columns first: `paged` continues after the last row's key.
    return {
      messages: this.paged('messages', `id, topic, ${SMALL_PAYLOAD_HEX}, qos, retain, properties, origin, expires_at, ${LARGE_PAYLOAD}`, 1, (r) => ({
        id: r[0] as number,
        topic: r[1] as string,
        payload: r[2] === null ? (r[8] as Buffer) : slab.fromHex(r[2] as string),
        qos: r[3] as QoS,
        retain: r[4] === 1,
        properties: propertiesFromJson(r[5] as string | null),
        origin: origins.get(r[6] as string | null),
        expiresAt: r[7] as number,
      })),
      retained: this.paged('retained', 'topic, message_id', 1, (r) => ({ topic: r[0] as string, messageId: r[1] as number })),
      sessions: this.paged('sessions', 'client_id, expiry_interval, disconnected_at, username, listener', 1, (r) => ({
        clientId: r[0] as string,
        expiryInterval: r[1] as number,
        disconnectedAt: r[2] as number,
        ...(r[3] === null ? {} : { username: r[3] as string }),
        ...(r[4] === null ? {} : { listener: r[4] as string }),
      })),
      subscriptions: this.paged('subscriptions', 'client_id, raw_filter, qos, no_local, retain_as_published, retain_handling, subscription_id', 2, (r) => ({
        clientId: r[0] as string,
        rawFilter: r[1] as string,
        qos: r[2] as QoS,
        noLocal: r[3] === 1,
        retainAsPublished: r[4] === 1,
        retainHandling: r[5] as 0 | 1 | 2,
        subscriptionId: r[6] as number,
      })),
      deliveries: this.paged('deliveries', 'client_id, seq, message_id, qos, retain, subscription_ids, packet_id, state', 2, (r) => ({
        clientId: r[0] as string,
        seq: r[1] as number,
        messageId: r[2] as number,
        qos: r[3] as QoS,
        retain: r[4] === 1,
        subscriptionIds: r[5] === null ? undefined : (JSON.parse(r[5] as string) as number[]),
        packetId: r[6] as number,
        state: r[7] as 0 | 1,
      })),
      incoming: this.paged('incoming', 'client_id, packet_id', 2, (r) => ({ clientId: r[0] as string, packetId: r[1] as number })),
      wills: this.paged('wills', 'client_id, topic, payload, qos, retain, properties, publish_at', 1, (r) => ({
        clientId: r[0] as string,
        topic: r[1] as string,
        payload: r[2] as Buffer,
        qos: r[3] as QoS,
        retain: r[4] === 1,
        properties: propertiesFromJson(r[5] as string | null),
        publishAt: r[6] as number,
      })),
    };
  }

  /**
   * The rows of a table in key order (its primary key: the first `keyColumns` columns), read a
   * page at a time (keyset pagination, rows as arrays) and yielded as a page of records: at
   * most LOAD_PAGE rows are held at once, no statement stays open between pages, and one call
   * into SQLite (and one await of the consumer) per page costs less than one per row. The reads
   * are synchronous (better-sqlite3); a page of 1,000 rows takes about a millisecond. A read
   * error names the file and what to do.
   */
  private paged<T>(table: string, columns: string, keyColumns: number, build: (row: Row) => T): RowStream<T> {
    return asyncChunks(this.pages(table, columns, keyColumns, build));
  }

  private *pages<T>(table: string, columns: string, keyColumns: number, build: (row: Row) => T): Generator<T[]> {
    const key = columns.split(', ').slice(0, keyColumns).join(', ');
    const after = Array.from({ length: keyColumns }, () => '?').join(', ');
    try {
      const first = this.db.prepare(`SELECT ${columns} FROM ${table} ORDER BY ${key} LIMIT ${LOAD_PAGE}`).raw();
      const next = this.db.prepare(`SELECT ${columns} FROM ${table} WHERE (${key}) > (${after}) ORDER BY ${key} LIMIT ${LOAD_PAGE}`).raw();
      let rows = first.all() as Row[];
      for (;;) {
        const records = new Array<T>(rows.length);
        for (let i = 0; i < rows.length; i++) records[i] = build(rows[i] as Row);
        if (records.length > 0) yield records;
        if (rows.length < LOAD_PAGE) return;
        rows = next.all(...(rows[rows.length - 1] as Row).slice(0, keyColumns)) as Row[];
      }
    } catch (error) {
      throw new StorageError(describeOpenError(this.file, error), { cause: error });
    }
  }


  /**
   * Commit the batch. The transaction runs synchronously, inside the call, which is fastest:
   * better-sqlite3 is synchronous, and a batch of 16 rows commits in 0.13 ms (median; 200 rows:
   * 1.2 ms; WAL, synchronous=NORMAL, measured on the shared 2-core machine under load), while a
   * worker thread would add a message round trip and a copy of every row to each batch, and the
   * acknowledgements would wait for that too. The promise only reports the outcome, so batches
   * are ordered by construction. A failure breaks the store: the promise rejects with a
   * StorageError, now and at every later commit.
   */
  commit(): Promise<number> {
    return promiseOf(() => this.commitNow());
  }

  private commitNow(): number {
    if (this.broken !== undefined) throw this.broken;
    if (this.pendingCount === 0) return 0;
    this.pendingCount = 0;
    try {
      const written = this.transaction();
      this.vacuumStep();
      return written;
    } catch (error) {
      this.broken = new StorageError(describeWriteError(this.file, error), { cause: error });
      throw this.broken;
    }
  }

  /** At most every vacuumEveryMs: give up to VACUUM_PAGES free pages back (files with incremental auto-vacuum). */
  private vacuumStep(): void {
    const now = Date.now();
    if (now - this.lastVacuum < this.vacuumEveryMs) return;
    this.lastVacuum = now;
    this.db.pragma(`incremental_vacuum(${VACUUM_PAGES})`);
  }

  /** Write the batch (inside the transaction) and empty it; returns the rows written or deleted. */
  private apply(): number {
    const s = this.statements;
    let written = 0;
    for (const clientId of this.deletedSessions) {
      for (const statement of s.deleteSession) statement.run(clientId);
      written++;
    }
    this.deletedSessions.clear();
    for (const [id, { row: m }] of this.messages) {
      if (m === null) s.deleteMessage.run(id);
      else s.putMessage.run(m.id, m.topic, m.payload, m.qos, m.retain ? 1 : 0, propertiesToJson(m.properties), m.origin ?? null, m.expiresAt);
      written++;
    }
    this.messages.clear();
    for (const [topic, { row: messageId }] of this.retained) {
      if (messageId === null) s.deleteRetained.run(topic);
      else s.putRetained.run(topic, messageId);
      written++;
    }
    this.retained.clear();
    for (const [clientId, x] of this.sessions) {
      s.putSession.run(clientId, x.expiryInterval, x.disconnectedAt, x.username ?? null, x.listener ?? null);
      written++;
    }
    this.sessions.clear();
    for (const [clientId, { row: w }] of this.wills) {
      if (w === null) s.deleteWill.run(clientId);
      else s.putWill.run(clientId, w.topic, w.payload, w.qos, w.retain ? 1 : 0, propertiesToJson(w.properties), w.publishAt);
      written++;
    }
    this.wills.clear();
    written += eachClientRow(this.subscriptions, (clientId, rawFilter, x) => {
      if (x === null) s.deleteSubscription.run(clientId, rawFilter);
      else s.putSubscription.run(clientId, rawFilter, x.qos, x.noLocal ? 1 : 0, x.retainAsPublished ? 1 : 0, x.retainHandling, x.subscriptionId);
    });
    written += eachClientRow(this.deliveries, (clientId, seq, d) => {
      if (d === null) s.deleteDelivery.run(clientId, seq);
      else {
        const subIds = d.subscriptionIds === undefined ? null : JSON.stringify(d.subscriptionIds);
        s.putDelivery.run(clientId, seq, d.messageId, d.qos, d.retain ? 1 : 0, subIds, d.packetId, d.state);
      }
    });
    written += eachClientRow(this.incoming, (clientId, packetId, x) => {
      if (x === null) s.deleteIncoming.run(clientId, packetId);
      else s.putIncoming.run(clientId, packetId);
    });
    return written;
  }

  /** Commit what is left and close; a broken store is only closed (nothing is committed again). */
  close(): Promise<void> {
    return promiseOf(() => {
      try {
        if (this.broken === undefined) this.commitNow();
      } finally {
        if (this.db.open) this.db.close();
      }
    });
  }
}


/**
 * Open (or create) the database and check that it can be used: its directory and file are
 * writable (one write transaction proves it), its format is this one or an older one (migrated),
 * and every table is there. Anything else is a StorageError saying what to do.
 */
function openDatabase(file: string, options: SqliteOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true });
    checkWritable(dir, 'directory');
    if (existsSync(file)) checkWritable(file, 'file');
    db = new Database(file);
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    const fresh = version === 0 && tables.length === 0;
    // Only possible before the first table exists: older files keep their mode.
    if (fresh) db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`journal_size_limit = ${options.walLimitBytes ?? WAL_LIMIT_BYTES}`);
    db.pragma(`synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    if (!fresh) checkFormat(file, version, tables);
    // One write transaction at start: a file the broker cannot write fails here, not at the first persistent CONNECT.
    db.transaction(() => {
      if (fresh) db?.exec(SCHEMA);
      // A fresh file gets the current schema; an older one its upgrades, one version at a time.
      for (let v = fresh ? FORMAT_VERSION : Math.max(version, 1); v < FORMAT_VERSION; v++) db?.exec(MIGRATIONS[v] ?? '');
      db?.pragma(`user_version = ${FORMAT_VERSION}`);
    }).immediate();
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StorageError) throw error;
    throw new StorageError(describeOpenError(file, error), { cause: error });
  }
}

function checkWritable(path: string, what: 'file' | 'directory'): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new StorageError(
      `cannot use persistence database ${what === 'file' ? path : `in ${path}`}: the ${what} ${path} is not writable by the broker (uid ${process.getuid?.() ?? '?'}): ` +
        `fix its owner or permissions (chown/chmod), or set persistence_location to a directory the broker may write`,
      { cause: error },
    );
  }
}

function checkFormat(file: string, version: number, tables: string[]): void {
  if (version > FORMAT_VERSION) {
    throw new StorageError(
      `persistence database ${file} has format version ${version}, written by a newer Cicada (this one reads versions 1 to ${FORMAT_VERSION}): ` +
        `run that newer version, or restore a copy of the file from before the upgrade`,
    );
  }
  const missing = TABLES.filter((t) => !tables.includes(t));
  if (version === 0 || missing.length > 0) {
    throw new StorageError(
      `persistence database ${file} is not a complete Cicada database (format version ${version}, missing table${missing.length === 1 ? '' : 's'} ${missing.join(', ') || 'none'}): ` +
        `point persistence_location/persistence_file at the right file, restore it from a backup, or move it away to start with an empty state (its sessions and retained messages are then lost)`,
    );
  }
}

/** A commit that failed: the broker stops (nothing unsaved may be acknowledged). */
function describeWriteError(file: string, error: unknown): string {
  const e = error as { code?: string; message?: string };
  const code = e.code ?? '';
  let advice = 'check the disk and the file, then start the broker again';
  if (code.startsWith('SQLITE_FULL')) advice = 'the disk is full: free space, then start the broker again';
  else if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) advice = 'the file became read-only: fix its permissions or the mount, then start the broker again';
  else if (code.startsWith('SQLITE_IOERR')) advice = 'the disk reported an I/O error: check the disk (and free space), then start the broker again';
  return `cannot write persistence database ${file}: ${e.message ?? String(error)} (${code || 'error'}): stopped so that nothing unsaved is acknowledged; ${advice}`;
}

/** An error opening or reading the database at start: what is wrong, and what to do about it. */
function describeOpenError(file: string, error: unknown): string {
  const e = error as { code?: string; message?: string };
  const code = e.code ?? '';
  let what = 'cannot use';
  let advice = 'check the file and its directory, then start the broker again';
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
    what = 'corrupt (or not a database):';
    advice = 'restore it from a backup, or move it away to start with an empty state (its sessions and retained messages are then lost)';
  } else if (code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'EPERM' || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) {
    what = 'no permission to use';
    advice = 'the broker must be able to read and write the file and its directory: fix their owner or permissions (chown/chmod), or set persistence_location';
  } else if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC') {
    advice = 'the disk is full: free space, then start the broker again';
  } else if (code === 'ENOTDIR' || code === 'EEXIST') {
    advice = 'persistence_location must be a directory: fix the path';
  }
  return `${what} persistence database ${file}: ${e.message ?? String(error)} (${code || 'error'}): ${advice}`;
}
