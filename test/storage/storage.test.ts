// One suite every storage backend must pass (memory, SQLite, Redis): what is written and
// committed comes back from load(), deletes cascade, and a reopened store has it all. The
// `sqlite:` tests after the suites are SQLite's own (its file format, WAL and vacuum). The Redis
// suite runs against a real redis-server started here, so `npm run test:unit` (no sockets or
// processes) skips it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Storage, StoredDelivery, StoredMessage } from '../../src/broker/storage.js';
import { loadAll } from './load-all.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { SqliteStorage, StorageError } from '../../src/storage/sqlite.js';
import { Redis } from 'ioredis';
import { RedisStorage } from '../../src/storage/redis.js';
import { freePort } from '../helpers/broker.js';
import { RedisServer } from './redis-server.js';

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

/** 100 messages, each with a delivery sent and acknowledged, in one batch: nothing to write. */
function writeCancellingBatch(storage: Storage): void {
  for (let seq = 1; seq <= 100; seq++) {
    storage.putMessage(message(seq));
    storage.putDelivery(delivery('c1', seq, seq), true);
    storage.putDelivery(delivery('c1', seq, seq, seq), false);
    storage.deleteDelivery('c1', seq);
    storage.deleteMessage(seq);
  }
}

/** One store under test, as a backend gives it to the suite. */
interface Opened {
  storage: Storage;
  /** Close the store and open it again (memory: the same object). */
  reopen: () => Promise<Storage>;
  /** A second handle on the same store, which sees what is durable (memory: the store itself). */
  reader: () => Storage;
  /** Make the store refuse the batch being written at its commit (absent: the store cannot fail). */
  breakBatch?: () => void;
}

const session = (clientId: string): { clientId: string; expiryInterval: number; disconnectedAt: number } => ({ clientId, expiryInterval: 60, disconnectedAt: 0 });

function storageSuite(name: string, open: () => Promise<Opened>, canFail: boolean): void {
  describe(`storage suite: ${name}`, () => {
    test('committed records come back from load(), in delivery order', async () => {
      const { storage, reopen } = await open();
      storage.putMessage(message(1));
      storage.putMessage(message(2));
      storage.putSession({ clientId: 'c1', expiryInterval: 3600, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'a/#', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 1, subscriptionId: 9 });
      storage.putDelivery(delivery('c1', 2, 2), true);
      storage.putDelivery(delivery('c1', 1, 1, 7), true);
      storage.putIncoming('c1', 42);
      storage.putRetained('r/t', 1);
      storage.putWill({ clientId: 'c1', topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true, properties: undefined, publishAt: 1234 });
      await storage.commit();
      const state = (await loadAll(await reopen()));
      assert.deepEqual(state.messages.sort((a, b) => a.id - b.id), [message(1), message(2)]);
      assert.deepEqual(state.sessions, [{ clientId: 'c1', expiryInterval: 3600, disconnectedAt: 0 }]);
      assert.equal(state.subscriptions[0]?.rawFilter, 'a/#');
      assert.equal(state.subscriptions[0]?.retainHandling, 1);
      assert.deepEqual(state.deliveries, [delivery('c1', 1, 1, 7), delivery('c1', 2, 2)]);
      assert.deepEqual(state.incoming, [{ clientId: 'c1', packetId: 42 }]);
      assert.deepEqual(state.retained, [{ topic: 'r/t', messageId: 1 }]);
      assert.equal(state.wills[0]?.payload.toString(), 'bye');
    });

    test('a session keeps the user name and listener of the client that made it', async () => {
      const { storage, reopen } = await open();
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0, username: 'alice', listener: 'mqtt:1883' });
      storage.putSession({ clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 });
      await storage.commit();
      const sessions = (await loadAll(await reopen())).sessions.sort((a, b) => (a.clientId < b.clientId ? -1 : 1));
      assert.deepEqual(sessions, [
        { clientId: 'c1', expiryInterval: 10, disconnectedAt: 0, username: 'alice', listener: 'mqtt:1883' },
        { clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 },
      ]);
    });

    test('updates replace, deletes remove, deleting a session removes everything of it', async () => {
      const { storage, reopen } = await open();
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
      await storage.commit();
      const state = (await loadAll(await reopen()));
      assert.deepEqual(state.sessions.map((s) => s.clientId), ['c2']);
      assert.deepEqual(state.subscriptions, []);
      assert.deepEqual(state.deliveries, [{ ...delivery('c2', 1, 1, 5), state: 1 }]);
      assert.deepEqual(state.incoming, []);
      assert.deepEqual(state.wills, []);
      assert.deepEqual(state.retained, []);
    });

    test('a message and a delivery created and deleted in one batch leave nothing', async () => {
      const { storage, reopen } = await open();
      storage.putMessage(message(1));
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0 });
      storage.putDelivery(delivery('c1', 1, 1), true);
      storage.putDelivery(delivery('c1', 1, 1, 3), false); // sent: same row, now in flight
      storage.deleteDelivery('c1', 1);
      storage.deleteMessage(1);
      await storage.commit();
      const state = (await loadAll(await reopen()));
      assert.deepEqual(state.messages, []);
      assert.deepEqual(state.deliveries, []);
      assert.deepEqual(state.sessions.map((s) => s.clientId), ['c1']);
    });

    test('rows committed in one batch and deleted in the next are gone', async () => {
      const { storage, reopen } = await open();
      storage.putMessage(message(1));
      storage.putDelivery(delivery('c1', 1, 1, 3), true);
      storage.putIncoming('c1', 9);
      await storage.commit();
      storage.putDelivery({ ...delivery('c1', 1, 1, 3), state: 1 }, false);
      storage.deleteDelivery('c1', 1);
      storage.deleteMessage(1);
      storage.putIncoming('c1', 9);
      storage.deleteIncoming('c1', 9);
      await storage.commit();
      const state = (await loadAll(await reopen()));
      assert.deepEqual(state.messages, []);
      assert.deepEqual(state.deliveries, []);
      assert.deepEqual(state.incoming, []);
    });

    test('the last write of a row in a batch wins, also a put after a delete', async () => {
      const { storage, reopen } = await open();
      storage.putMessage(message(1));
      storage.putDelivery(delivery('c1', 1, 1), true);
      storage.putDelivery(delivery('c1', 2, 1), true);
      storage.putRetained('r', 1);
      await storage.commit();
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
      await storage.commit();
      const state = (await loadAll(await reopen()));
      assert.deepEqual(state.deliveries, [{ ...delivery('c1', 1, 1, 7), state: 1 }]);
      assert.deepEqual(state.retained, [{ topic: 'r', messageId: 1 }]);
      assert.deepEqual(state.sessions, [{ clientId: 'c1', expiryInterval: 20, disconnectedAt: 5 }]);
    });

    test('deleteSession in a batch drops the pending rows of that client, keeps what follows it', async () => {
      const { storage, reopen } = await open();
      storage.putMessage(message(1));
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'old', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: 0 });
      storage.putDelivery(delivery('c1', 1, 1, 1), true);
      storage.putSession({ clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 });
      storage.putDelivery(delivery('c2', 1, 1, 1), true);
      await storage.commit();
      storage.putDelivery(delivery('c1', 2, 1), true); // pending when the session goes
      storage.putIncoming('c1', 4);
      storage.putWill({ clientId: 'c1', topic: 'w', payload: Buffer.alloc(0), qos: 0, retain: false, properties: undefined, publishAt: 1 });
      storage.deleteSession('c1');
      // The same client id starts a new session in the same batch.
      storage.putSession({ clientId: 'c1', expiryInterval: 30, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'new', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: 0 });
      storage.putDelivery(delivery('c1', 1, 1, 2), true);
      await storage.commit();
      const state = (await loadAll(await reopen()));
      assert.deepEqual(state.sessions.sort((a, b) => (a.clientId < b.clientId ? -1 : 1)), [
        { clientId: 'c1', expiryInterval: 30, disconnectedAt: 0 },
        { clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 },
      ]);
      assert.deepEqual(state.subscriptions.map((s) => s.rawFilter), ['new']);
      assert.deepEqual(state.deliveries, [delivery('c1', 1, 1, 2), delivery('c2', 1, 1, 1)]);
      assert.deepEqual(state.incoming, []);
      assert.deepEqual(state.wills, []);
    });

    test('concurrent batches: each commit seals the writes before it, commits settle in order, each batch is durable when its commit resolves', async () => {
      const { storage, reopen, reader } = await open();
      const peek = reader();
      const settled: number[] = [];
      const durableAtResolve: number[][] = [];
      const commits: Array<Promise<void>> = [];
      // Five batches written back to back, each while the commits before it may be in flight.
      for (let k = 1; k <= 5; k++) {
        storage.putMessage(message(k));
        storage.putRetained('last', k); // the last batch must win
        if (k === 2) storage.putDelivery(delivery('c1', 1, 1), true);
        if (k === 3) storage.deleteDelivery('c1', 1); // a row of an earlier batch: a real delete
        if (k === 4) storage.putDelivery(delivery('c1', 1, 1, 9), true); // new again
        commits.push(
          storage.commit().then(async () => {
            settled.push(k);
            const ids: number[] = [];
            for await (const chunk of peek.load().messages) ids.push(...chunk.map((m) => m.id));
            durableAtResolve[k - 1] = ids;
          }),
        );
      }
      await Promise.all(commits);
      assert.deepEqual(settled, [1, 2, 3, 4, 5], 'commits settle in the order they were made');
      for (let k = 1; k <= 5; k++) {
        for (let j = 1; j <= k; j++) assert.ok(durableAtResolve[k - 1]?.includes(j), `message ${j} is durable when commit ${k} resolves (saw ${durableAtResolve[k - 1]?.join(',')})`);
      }
      if (peek !== storage) await peek.close();
      const state = await loadAll(await reopen());
      assert.deepEqual(state.messages.map((m) => m.id), [1, 2, 3, 4, 5]);
      assert.deepEqual(state.retained, [{ topic: 'last', messageId: 5 }], 'batches applied in order');
      assert.deepEqual(state.deliveries, [delivery('c1', 1, 1, 9)], 'put, delete, put again in three batches: the last one stands');
    });

    test('a failed commit rejects, every later commit rejects too, and close commits nothing more', { skip: canFail ? false : 'this store does no I/O and cannot fail' }, async () => {
      const { storage, reopen, breakBatch } = await open();
      storage.putSession(session('kept'));
      await storage.commit();
      breakBatch?.();
      storage.putSession(session('lost'));
      const failed = storage.commit();
      storage.putSession(session('later')); // the next batch, written while the failing one is in flight
      const later = storage.commit();
      await assert.rejects(failed, 'the commit of the refused batch rejects');
      await assert.rejects(later, 'the batch after a failed one rejects too');
      storage.putSession(session('after'));
      await assert.rejects(storage.commit(), 'a broken store never commits again');
      const state = await loadAll(await reopen()); // closes the broken store first: nothing committed
      assert.deepEqual(state.sessions.map((s) => s.clientId), ['kept']);
      assert.deepEqual(state.retained, []);
    });
  });
}

storageSuite(
  'memory',
  async () => {
    const storage = new MemoryStorage();
    return { storage, reopen: async () => storage, reader: () => storage };
  },
  false, // no I/O: nothing to fail
);

storageSuite(
  'sqlite',
  async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'db', 'cicada.db');
    const storage = new SqliteStorage(file);
    return {
      storage,
      reopen: async () => {
        await storage.close();
        return new SqliteStorage(file);
      },
      reader: () => new SqliteStorage(file),
      // A trigger, added by another connection, refuses one retained topic: the transaction
      // of the batch that writes it fails, as on a full disk.
      breakBatch: () => {
        const db = new Database(file);
        db.exec("CREATE TRIGGER IF NOT EXISTS refuse BEFORE INSERT ON retained WHEN NEW.topic = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
        db.close();
        storage.putRetained('refused', 1);
      },
    };
  },
  true,
);

describe('on a real redis-server', { skip: process.env.CICADA_TEST_UNIT === '1' ? 'unit tests start no redis-server' : false }, () => {
  let server: RedisServer;
  const opened: Storage[] = [];
  let prefixes = 0;
  // proto-max-bulk-len 1mb: a row larger than that breaks its batch (see breakBatch).
  before(async () => (server = await RedisServer.start(['--proto-max-bulk-len', '1mb'])));
  after(async () => {
    for (const storage of opened) await storage.close();
    await server.close();
  });
  const openAt = async (prefix: string): Promise<Storage> => {
    const storage = await RedisStorage.open({ url: server.url, prefix });
    opened.push(storage);
    return storage;
  };

  storageSuite(
    'redis',
    async () => {
      const prefix = `suite${++prefixes}:`; // every test its own keys
      const storage = await openAt(prefix);
      const peek = await openAt(prefix);
      return {
        storage,
        reopen: async () => {
          await storage.close();
          return openAt(prefix);
        },
        reader: () => peek,
        // A message larger than this Redis takes (proto-max-bulk-len): Redis drops the
        // connection before the batch's EXEC, so nothing of the batch is applied.
        breakBatch: () => storage.putMessage({ ...message(99), payload: Buffer.alloc(2 * 1024 * 1024) }),
      };
    },
    true,
  );

  test('redis: durable with appendonly yes; a load reads a large table in pages, in order, and prefixes keep stores apart', async () => {
    const storage = await openAt('pages:');
    assert.equal(storage.durable, true, 'INFO persistence says aof_enabled:1');
    for (let id = 1; id <= 2500; id++) storage.putMessage(message(id));
    for (let seq = 1; seq <= 2500; seq++) storage.putDelivery(delivery(seq % 2 === 0 ? 'b' : 'a', seq, seq), true);
    assert.equal(await storage.commit(), 5000);
    const chunks: number[] = [];
    for await (const chunk of storage.load().messages) chunks.push(chunk.length);
    assert.deepEqual(chunks, [1000, 1000, 500], 'bounded chunks');
    const state = await loadAll(storage);
    assert.deepEqual(state.messages, Array.from({ length: 2500 }, (_, i) => message(i + 1)), 'every message whole (payloads are views into shared reply chunks), in ascending ids (9 < 10 < 1000)');
    const order = state.deliveries.map((d) => `${d.clientId}${d.seq}`);
    const expected = [...Array.from({ length: 1250 }, (_, i) => `a${2 * i + 1}`), ...Array.from({ length: 1250 }, (_, i) => `b${2 * i + 2}`)];
    assert.deepEqual(order, expected, '(clientId, seq) order');
    assert.equal((await loadAll(await openAt('other:'))).messages.length, 0, 'another prefix sees none of it');
  });

  test('redis: rows created and deleted in one batch send nothing', async () => {
    const storage = await openAt('cancel:');
    writeCancellingBatch(storage);
    const control = new Redis(server.url);
    const transactions = async (): Promise<number> => Number(/cmdstat_exec:calls=(\d+)/.exec(await control.info('commandstats'))?.[1] ?? 0);
    const before = await transactions();
    assert.equal(await storage.commit(), 0);
    assert.equal(await transactions(), before, 'no MULTI/EXEC for a batch that cancelled out');
    storage.putMessage(message(101));
    storage.putDelivery(delivery('c1', 101, 101), true);
    assert.equal(await storage.commit(), 2);
    assert.equal(await transactions(), before + 1);
    await control.quit();
    assert.equal((await loadAll(storage)).deliveries.length, 1);
  });

  test('redis: without the append-only file the store says it is not durable', async () => {
    const snapshotsOnly = await RedisServer.start(['--appendonly', 'no']);
    try {
      const storage = await RedisStorage.open({ url: snapshotsOnly.url });
      assert.equal(storage.durable, false, 'INFO persistence says aof_enabled:0');
      await storage.close();
    } finally {
      await snapshotsOnly.close();
    }
  });

  test('redis: keys of a newer layout version are refused with one clear error, not read wrongly', async () => {
    const control = new Redis(server.url);
    await control.set('newer:format', '99');
    await control.quit();
    await assert.rejects(RedisStorage.open({ url: server.url, prefix: 'newer:' }), (error: unknown) => error instanceof StorageError && /layout version 99/.test(error.message));
  });

  test('redis: a Redis that cannot be reached is one clear error naming it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there
    await assert.rejects(RedisStorage.open({ url }), (error: unknown) => error instanceof StorageError && error.message.includes(url.slice('redis://'.length)) && /ECONNREFUSED/.test(error.message));
  });
});

test('sqlite: a format 1 file is upgraded in place; its sessions count as anonymous ones', async () => {
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
  assert.deepEqual((await loadAll(storage)).sessions, [{ clientId: 'c1', expiryInterval: 60, disconnectedAt: 5 }]);
  storage.putSession({ clientId: 'c1', expiryInterval: 60, disconnectedAt: 5, username: 'bob' });
  await storage.commit();
  await storage.close();
  assert.equal((await loadAll(new SqliteStorage(file))).sessions[0]?.username, 'bob');
});

test('sqlite: uncommitted writes are not in the file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db');
  const storage = new SqliteStorage(file);
  storage.putMessage(message(1));
  const other = new SqliteStorage(file);
  assert.equal((await loadAll(other)).messages.length, 0);
  await storage.commit();
  assert.equal((await loadAll(other)).messages.length, 1);
});

test('sqlite: rows created and deleted in one batch cost no SQL; committed ones are written once', async () => {
  const storage = new SqliteStorage(join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db'));
  writeCancellingBatch(storage);
  assert.equal(await storage.commit(), 0);
  storage.putMessage(message(101));
  storage.putDelivery(delivery('c1', 101, 101), true);
  assert.equal(await storage.commit(), 2);
  storage.deleteDelivery('c1', 101);
  storage.deleteMessage(101);
  assert.equal(await storage.commit(), 2);
  await storage.close();
});

test('sqlite: a file that is not a database is one clear error naming the file and what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-store-'));
  const file = join(dir, 'cicada.db');
  writeFileSync(file, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
  assert.throws(
    () => new SqliteStorage(file),
    (error: unknown) => error instanceof StorageError && error.message.includes(file) && /corrupt|not a Cicada database/.test(error.message),
  );
});

test('sqlite: a location that cannot be a directory is one clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-store-'));
  writeFileSync(join(dir, 'plain-file'), 'x');
  const file = join(dir, 'plain-file', 'data', 'cicada.db');
  assert.throws(() => new SqliteStorage(file), (error: unknown) => error instanceof StorageError && error.message.includes(file));
});

test('sqlite: the WAL goes back to its size limit after a checkpoint, and freed pages go back to the file system (incremental vacuum)', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db');
  const storage = new SqliteStorage(file, { vacuumEveryMs: 0, walLimitBytes: 256 * 1024 });
  const big = (id: number): StoredMessage => ({ ...message(id), payload: Buffer.alloc(16 * 1024, id) });
  for (let id = 1; id <= 500; id++) storage.putMessage(big(id)); // 8 MB in one transaction
  await storage.commit();
  const peak = statSync(file).size;
  assert.ok(peak > 8_000_000, `the database holds the 8 MB (${peak})`);
  for (let id = 1; id <= 500; id++) storage.deleteMessage(id);
  await storage.commit();
  // Small commits: the WAL was checkpointed after the big ones and restarts, truncated to its limit.
  for (let id = 501; id <= 505; id++) {
    storage.putMessage(message(id));
    await storage.commit();
  }
  assert.ok(statSync(`${file}-wal`).size <= 256 * 1024, `WAL ${statSync(`${file}-wal`).size} bytes after a checkpoint`);
  await storage.close();
  const size = statSync(file).size;
  assert.ok(size < peak / 4, `the file gave its free pages back: ${size} bytes after ${peak}`);
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'a new file uses incremental auto-vacuum');
  db.close();
});
