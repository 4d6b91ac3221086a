// A commit that fails at the end of the restore (the rows the restore deleted) stops the start:
// the restore rejects, so the broker never goes on to listen with a store that cannot commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/storage/memory.js';
import { unitCore } from '../helpers/channel.js';

class FailingStorage extends MemoryStorage {
  override readonly durable = true;
  failing = false;
  override async commit(): Promise<number> {
    if (this.failing) throw new Error('disk gone');
    return super.commit();
  }
}

void test('persistence: a failed commit after the restore rejects the restore (and reports the failure as fatal)', async () => {
  const storage = new FailingStorage();
  // An orphan message (no retained entry or delivery refers to it): the restore deletes it and commits.
  storage.putMessage({ id: 7, topic: 'orphan', payload: Buffer.from('x'), qos: 1, retain: false, properties: undefined, origin: undefined, expiresAt: 0 });
  await storage.commit();
  storage.failing = true;
  const core = unitCore({}, storage);
  const fatal: unknown[] = [];
  core.onFatal = (error) => void fatal.push(error);
  await assert.rejects(core.restore(), /commit after the restore failed/);
  assert.equal(fatal.length, 1);
  core.stop();
});
