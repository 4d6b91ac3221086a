// One suite every storage backend must pass (memory and SQLite today, Redis later): what is
// written and committed comes back from load(), deletes cascade, and SQLite survives reopening.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RestoredState, Storage, StoredDelivery, StoredMessage } from '../../src/broker/storage.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { SqliteStorage, StorageError } from '../../src/storage/sqlite.js';

/** Everything load() streams, read in its declared order into arrays. */
function loadAll(storage: Storage): { [K in keyof RestoredState]: Array<RestoredState[K] extends Iterable<infer T> ? T : never> } {
  const state = storage.load();
  return {
    messages: [...state.messages],
    retained: [...state.retained],
    sessions: [...state.sessions],
    subscriptions: [...state.subscriptions],
    deliveries: [...state.deliveries],
    incoming: [...state.incoming],
    wills: [...state.wills],
  };
}

const message = (id: number, topic = `t/${id}`): StoredMessage => ({
  id,
  topic,
  payload: Buffer.from(`payload ${id}`),
  qos: 1,
  retain: false,
  properties: { userProperties: [['k', 'v']], correlationData: Buffer.from([1, 2, 3]), contentType: 'text/plain' },
  origin: 'pub',
  expiresAt: 0,
});

const delivery = (clientId: string, seq: number, messageId: number, packetId = 0): StoredDelivery => ({
  clientId,
  seq,
  messageId,
  qos: 2,
  retain: false,
  subscriptionIds: [3, 4],
  packetId,
  state: 0,
});

function storageSuite(name: string, open: () => { storage: Storage; reopen: () => Storage }): void {
  describe(`storage suite: ${name}`, () => {
    test('committed records come back from load(), in delivery order', () => {
      const { storage, reopen } = open();
      storage.putMessage(message(1));
      storage.putMessage(message(2));
      storage.putSession({ clientId: 'c1', expiryInterval: 3600, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'a/#', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 1, subscriptionId: 9 });
      storage.putDelivery(delivery('c1', 2, 2), true);
      storage.putDelivery(delivery('c1', 1, 1, 7), true);
      storage.putIncoming('c1', 42);
      storage.putRetained('r/t', 1);
      storage.putWill({ clientId: 'c1', topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true, properties: undefined, publishAt: 1234 });
      storage.commit();
      const state = loadAll(reopen());
      assert.deepEqual(state.messages.sort((a, b) => a.id - b.id), [message(1), message(2)]);
      assert.deepEqual(state.sessions, [{ clientId: 'c1', expiryInterval: 3600, disconnectedAt: 0 }]);
      assert.equal(state.subscriptions[0]?.rawFilter, 'a/#');
      assert.equal(state.subscriptions[0]?.retainHandling, 1);
      assert.deepEqual(state.deliveries, [delivery('c1', 1, 1, 7), delivery('c1', 2, 2)]);
      assert.deepEqual(state.incoming, [{ clientId: 'c1', packetId: 42 }]);
      assert.deepEqual(state.retained, [{ topic: 'r/t', messageId: 1 }]);
      assert.equal(state.wills[0]?.payload.toString(), 'bye');
    });

    test('a session keeps the user name and listener of the client that made it', () => {
      const { storage, reopen } = open();
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0, username: 'alice', listener: 'mqtt:1883' });
      storage.putSession({ clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 });
      storage.commit();
      const sessions = loadAll(reopen()).sessions.sort((a, b) => (a.clientId < b.clientId ? -1 : 1));
      assert.deepEqual(sessions, [
        { clientId: 'c1', expiryInterval: 10, disconnectedAt: 0, username: 'alice', listener: 'mqtt:1883' },
        { clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 },
      ]);
    });

    test('updates replace, deletes remove, deleting a session removes everything of it', () => {
      const { storage, reopen } = open();
      storage.putMessage(message(1));
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0 });
      storage.putSession({ clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'x', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: 0 });
      storage.putDelivery(delivery('c1', 1, 1), true);
      storage.putDelivery(delivery('c2', 1, 1), true);
      storage.putDelivery({ ...delivery('c2', 1, 1, 5), state: 1 }, false);
      storage.putIncoming('c1', 1);
      storage.putWill({ clientId: 'c1', topic: 'w', payload: Buffer.alloc(0), qos: 0, retain: false, properties: undefined, publishAt: 1 });
      storage.putRetained('r', 1);
      storage.deleteRetained('r');
      storage.deleteSession('c1');
      storage.commit();
      const state = loadAll(reopen());
      assert.deepEqual(state.sessions.map((s) => s.clientId), ['c2']);
      assert.deepEqual(state.subscriptions, []);
      assert.deepEqual(state.deliveries, [{ ...delivery('c2', 1, 1, 5), state: 1 }]);
      assert.deepEqual(state.incoming, []);
      assert.deepEqual(state.wills, []);
      assert.deepEqual(state.retained, []);
    });

    test('a message and a delivery created and deleted in one batch leave nothing', () => {
      const { storage, reopen } = open();
      storage.putMessage(message(1));
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0 });
      storage.putDelivery(delivery('c1', 1, 1), true);
      storage.putDelivery(delivery('c1', 1, 1, 3), false); // sent: same row, now in flight
      storage.deleteDelivery('c1', 1);
      storage.deleteMessage(1);
      storage.commit();
      const state = loadAll(reopen());
      assert.deepEqual(state.messages, []);
      assert.deepEqual(state.deliveries, []);
      assert.deepEqual(state.sessions.map((s) => s.clientId), ['c1']);
    });

    test('rows committed in one batch and deleted in the next are gone', () => {
      const { storage, reopen } = open();
      storage.putMessage(message(1));
      storage.putDelivery(delivery('c1', 1, 1, 3), true);
      storage.putIncoming('c1', 9);
      storage.commit();
      storage.putDelivery({ ...delivery('c1', 1, 1, 3), state: 1 }, false);
      storage.deleteDelivery('c1', 1);
      storage.deleteMessage(1);
      storage.putIncoming('c1', 9);
      storage.deleteIncoming('c1', 9);
      storage.commit();
      const state = loadAll(reopen());
      assert.deepEqual(state.messages, []);
      assert.deepEqual(state.deliveries, []);
      assert.deepEqual(state.incoming, []);
    });

    test('the last write of a row in a batch wins, also a put after a delete', () => {
      const { storage, reopen } = open();
      storage.putMessage(message(1));
      storage.putDelivery(delivery('c1', 1, 1), true);
      storage.putDelivery(delivery('c1', 2, 1), true);
      storage.putRetained('r', 1);
      storage.commit();
      storage.putDelivery(delivery('c1', 1, 1, 7), false);
      storage.putDelivery({ ...delivery('c1', 1, 1, 7), state: 1 }, false);
      // Deleted, then new again (`fresh`: not stored as far as the caller knows), then deleted:
      // the committed row must still be deleted.
      storage.deleteDelivery('c1', 2);
      storage.putDelivery(delivery('c1', 2, 1, 8), true);
      storage.deleteDelivery('c1', 2);
      storage.deleteRetained('r');
      storage.putRetained('r', 1);
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0 });
      storage.putSession({ clientId: 'c1', expiryInterval: 20, disconnectedAt: 5 });
      storage.commit();
      const state = loadAll(reopen());
      assert.deepEqual(state.deliveries, [{ ...delivery('c1', 1, 1, 7), state: 1 }]);
      assert.deepEqual(state.retained, [{ topic: 'r', messageId: 1 }]);
      assert.deepEqual(state.sessions, [{ clientId: 'c1', expiryInterval: 20, disconnectedAt: 5 }]);
    });

    test('deleteSession in a batch drops the pending rows of that client, keeps what follows it', () => {
      const { storage, reopen } = open();
      storage.putMessage(message(1));
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'old', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: 0 });
      storage.putDelivery(delivery('c1', 1, 1, 1), true);
      storage.putSession({ clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 });
      storage.putDelivery(delivery('c2', 1, 1, 1), true);
      storage.commit();
      storage.putDelivery(delivery('c1', 2, 1), true); // pending when the session goes
      storage.putIncoming('c1', 4);
      storage.putWill({ clientId: 'c1', topic: 'w', payload: Buffer.alloc(0), qos: 0, retain: false, properties: undefined, publishAt: 1 });
      storage.deleteSession('c1');
      // The same client id starts a new session in the same batch.
      storage.putSession({ clientId: 'c1', expiryInterval: 30, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'new', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: 0 });
      storage.putDelivery(delivery('c1', 1, 1, 2), true);
      storage.commit();
      const state = loadAll(reopen());
      assert.deepEqual(state.sessions.sort((a, b) => (a.clientId < b.clientId ? -1 : 1)), [
        { clientId: 'c1', expiryInterval: 30, disconnectedAt: 0 },
        { clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 },
      ]);
      assert.deepEqual(state.subscriptions.map((s) => s.rawFilter), ['new']);
      assert.deepEqual(state.deliveries, [delivery('c1', 1, 1, 2), delivery('c2', 1, 1, 1)]);
      assert.deepEqual(state.incoming, []);
      assert.deepEqual(state.wills, []);
    });
  });
}

storageSuite('memory', () => {
  const storage = new MemoryStorage();
  return { storage, reopen: () => storage };
});

storageSuite('sqlite', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'db', 'cicada.db');
  const storage = new SqliteStorage(file);
  return {
    storage,
    reopen: () => {
      storage.close();
      return new SqliteStorage(file);
    },
  };
});

test('sqlite: a format 1 file is upgraded in place; its sessions count as anonymous ones', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db');
  const old = new Database(file);
  old.exec('CREATE TABLE sessions (client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL, disconnected_at INTEGER NOT NULL) WITHOUT ROWID');
  for (const table of ['messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, properties TEXT, origin TEXT, expires_at INTEGER NOT NULL)', 'subscriptions (client_id TEXT, raw_filter TEXT, qos INTEGER, no_local INTEGER, retain_as_published INTEGER, retain_handling INTEGER, subscription_id INTEGER)', 'deliveries (client_id TEXT, seq INTEGER, message_id INTEGER, qos INTEGER, retain INTEGER, subscription_ids TEXT, packet_id INTEGER, state INTEGER)', 'incoming (client_id TEXT, packet_id INTEGER)', 'retained (topic TEXT, message_id INTEGER)', 'wills (client_id TEXT, topic TEXT, payload BLOB, qos INTEGER, retain INTEGER, properties TEXT, publish_at INTEGER)']) {
    old.exec(`CREATE TABLE ${table}`);
  }
  old.prepare('INSERT INTO sessions VALUES (?, ?, ?)').run('c1', 60, 5);
  old.pragma('user_version = 1');
  old.close();
  const storage = new SqliteStorage(file);
  assert.deepEqual(loadAll(storage).sessions, [{ clientId: 'c1', expiryInterval: 60, disconnectedAt: 5 }]);
  storage.putSession({ clientId: 'c1', expiryInterval: 60, disconnectedAt: 5, username: 'bob' });
  storage.commit();
  storage.close();
  assert.equal(loadAll(new SqliteStorage(file)).sessions[0]?.username, 'bob');
});

test('sqlite: uncommitted writes are not in the file', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db');
  const storage = new SqliteStorage(file);
  storage.putMessage(message(1));
  const other = new SqliteStorage(file);
  assert.equal(loadAll(other).messages.length, 0);
  storage.commit();
  assert.equal(loadAll(other).messages.length, 1);
});

test('sqlite: rows created and deleted in one batch cost no SQL; committed ones are written once', () => {
  const storage = new SqliteStorage(join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db'));
  for (let seq = 1; seq <= 100; seq++) {
    storage.putMessage(message(seq));
    storage.putDelivery(delivery('c1', seq, seq), true);
    storage.putDelivery(delivery('c1', seq, seq, seq), false);
    storage.deleteDelivery('c1', seq);
    storage.deleteMessage(seq);
  }
  assert.equal(storage.commit(), 0);
  storage.putMessage(message(101));
  storage.putDelivery(delivery('c1', 101, 101), true);
  assert.equal(storage.commit(), 2);
  storage.deleteDelivery('c1', 101);
  storage.deleteMessage(101);
  assert.equal(storage.commit(), 2);
  storage.close();
});

test('sqlite: a file that is not a database is one clear error naming the file and what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-store-'));
  const file = join(dir, 'cicada.db');
  writeFileSync(file, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
  assert.throws(
    () => new SqliteStorage(file),
    (error: unknown) => error instanceof StorageError && error.message.includes(file) && /corrupt|not a Cicada database/.test(error.message),
  );
});

test('sqlite: a location that cannot be a directory is one clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-store-'));
  writeFileSync(join(dir, 'plain-file'), 'x');
  const file = join(dir, 'plain-file', 'data', 'cicada.db');
  assert.throws(() => new SqliteStorage(file), (error: unknown) => error instanceof StorageError && error.message.includes(file));
});

test('sqlite: the WAL goes back to its size limit after a checkpoint, and freed pages go back to the file system (incremental vacuum)', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db');
  const storage = new SqliteStorage(file, { vacuumEveryMs: 0, walLimitBytes: 256 * 1024 });
  const big = (id: number): StoredMessage => ({ ...message(id), payload: Buffer.alloc(16 * 1024, id) });
  for (let id = 1; id <= 500; id++) storage.putMessage(big(id)); // 8 MB in one transaction
  storage.commit();
  const peak = statSync(file).size;
  assert.ok(peak > 8_000_000, `the database holds the 8 MB (${peak})`);
  for (let id = 1; id <= 500; id++) storage.deleteMessage(id);
  storage.commit();
  // Small commits: the WAL was checkpointed after the big ones and restarts, truncated to its limit.
  for (let id = 501; id <= 505; id++) {
    storage.putMessage(message(id));
    storage.commit();
  }
  assert.ok(statSync(`${file}-wal`).size <= 256 * 1024, `WAL ${statSync(`${file}-wal`).size} bytes after a checkpoint`);
  storage.close();
  const size = statSync(file).size;
  assert.ok(size < peak / 4, `the file gave its free pages back: ${size} bytes after ${peak}`);
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'a new file uses incremental auto-vacuum');
  db.close();
});
