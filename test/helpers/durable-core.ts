/**
 * A unit-test BrokerCore over a real durable store (SqliteStorage in a temporary directory), for
 * tests of what waits for the persistence commit. Closed and removed when the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BrokerCore } from '../../src/broker/core.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { unitCore } from './channel.js';

export function durableCore(t: TestContext): BrokerCore {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-unit-'));
  const storage = new SqliteStorage(join(dir, 'store.db'));
  const core = unitCore({ persistence: true }, storage);
  t.after(async () => {
    core.stop();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return core;
}
