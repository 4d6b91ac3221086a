// Cancellation without sockets or timing: the broker core driven with plain calls on SQLite. A
// QoS 1 stream to an online persistent subscriber that acknowledges each delivery before the
// commit writes no row at all (the delivery and its message are created and deleted within one
// batch), and the commit that follows makes the publisher's acknowledgements durable. The same
// property as cancellation.test.ts, which needs a quiet machine to hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { connectedChannel, unitCore } from '../helpers/channel.js';

const N = 200;

test('persistence (core): QoS 1 deliveries acknowledged before the commit write no rows; an unacknowledged one is committed with its message', async () => {
  const storage = new SqliteStorage(join(mkdtempSync(join(tmpdir(), 'cicada-cancel-')), 'cicada.db'));
  const core = unitCore({ persistence: true }, storage);
  const persistence = core.persistence;
  assert.ok(persistence !== undefined);
  try {
    const { channel: subscriber, outbox } = connectedChannel(core, 'sub', 5, false, 3600);
    subscriber.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 1 }] });
    const { channel: publisher } = connectedChannel(core, 'pub', 5, true);
    assert.equal(await persistence.commitIfDirty(), true);
    const before = core.stats.persistenceRowsWritten;
    for (let i = 1; i <= N; i++) {
      publisher.handle({ type: 'publish', topic: 't', payload: Buffer.from(`m${i}`), qos: 1, retain: false, dup: false, packetId: i });
      const delivered = outbox.of('publish').at(-1);
      assert.ok(delivered?.packetId !== undefined, `m${i} delivered at once`);
      subscriber.handle({ type: 'puback', packetId: delivered.packetId });
    }
    assert.equal(await persistence.commitIfDirty(), true);
    assert.equal(core.stats.persistenceRowsWritten - before, 0, `rows written for ${N} messages acknowledged before the commit`);
    // Not acknowledged before the commit: the delivery and its message are written.
    publisher.handle({ type: 'publish', topic: 't', payload: Buffer.from('kept'), qos: 1, retain: false, dup: false, packetId: N + 1 });
    assert.equal(await persistence.commitIfDirty(), true);
    assert.equal(core.stats.persistenceRowsWritten - before, 2, 'one delivery row and one message row');
  } finally {
    core.stop();
    await persistence.close();
  }
});
