// One suite every storage backend must pass (memory and SQLite today, Redis later): what is
// written and committed comes back from load(), deletes cascade, and SQLite survives reopening.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Storage, StoredDelivery, StoredMessage } from '../../src/broker/storage.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { SqliteStorage, StorageError } from '../../src/storage/sqlite.js';

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
      storage.putDelivery(delivery('c1', 2, 2));
      storage.putDelivery(delivery('c1', 1, 1, 7));
      storage.putIncoming('c1', 42);
      storage.putRetained('r/t', 1);
      storage.putWill({ clientId: 'c1', topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true, properties: undefined, publishAt: 1234 });
      storage.commit();
      const state = reopen().load();
      assert.deepEqual(state.messages.sort((a, b) => a.id - b.id), [message(1), message(2)]);
      assert.deepEqual(state.sessions, [{ clientId: 'c1', expiryInterval: 3600, disconnectedAt: 0 }]);
      assert.equal(state.subscriptions[0]?.rawFilter, 'a/#');
      assert.equal(state.subscriptions[0]?.retainHandling, 1);
      assert.deepEqual(state.deliveries, [delivery('c1', 1, 1, 7), delivery('c1', 2, 2)]);
      assert.deepEqual(state.incoming, [{ clientId: 'c1', packetId: 42 }]);
      assert.deepEqual(state.retained, [{ topic: 'r/t', messageId: 1 }]);
      assert.equal(state.wills[0]?.payload.toString(), 'bye');
    });

    test('updates replace, deletes remove, deleting a session removes everything of it', () => {
      const { storage, reopen } = open();
      storage.putMessage(message(1));
      storage.putSession({ clientId: 'c1', expiryInterval: 10, disconnectedAt: 0 });
      storage.putSession({ clientId: 'c2', expiryInterval: 10, disconnectedAt: 0 });
      storage.putSubscription({ clientId: 'c1', rawFilter: 'x', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: 0 });
      storage.putDelivery(delivery('c1', 1, 1));
      storage.putDelivery(delivery('c2', 1, 1));
      storage.putDelivery({ ...delivery('c2', 1, 1, 5), state: 1 });
      storage.putIncoming('c1', 1);
      storage.putWill({ clientId: 'c1', topic: 'w', payload: Buffer.alloc(0), qos: 0, retain: false, properties: undefined, publishAt: 1 });
      storage.putRetained('r', 1);
      storage.deleteRetained('r');
      storage.deleteSession('c1');
      storage.commit();
      const state = reopen().load();
      assert.deepEqual(state.sessions.map((s) => s.clientId), ['c2']);
      assert.deepEqual(state.subscriptions, []);
      assert.deepEqual(state.deliveries, [{ ...delivery('c2', 1, 1, 5), state: 1 }]);
      assert.deepEqual(state.incoming, []);
      assert.deepEqual(state.wills, []);
      assert.deepEqual(state.retained, []);
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

test('sqlite: uncommitted writes are not in the file', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cicada-store-')), 'cicada.db');
  const storage = new SqliteStorage(file);
  storage.putMessage(message(1));
  const other = new SqliteStorage(file);
  assert.equal(other.load().messages.length, 0);
  storage.commit();
  assert.equal(other.load().messages.length, 1);
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
