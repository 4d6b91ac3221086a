/**
 * A broker on SQLite in a temp directory, with a short or long commit interval, and a second,
 * read-only SQLite connection to its file: it sees committed transactions only, so a test can
 * check what was durable at the moment a client received a packet.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createBroker, type Broker } from '../../src/index.js';

export interface PersistentBroker {
  broker: Broker;
  url: string;
  /** The read-only connection to the broker's database file. */
  db: Database.Database;
}

export async function startPersistentBroker(
  t: { after: (fn: () => Promise<void>) => void },
  persistenceCommitIntervalMs: number,
): Promise<PersistentBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-commit-'));
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, persistence: true, persistenceLocation: dir, persistenceCommitIntervalMs });
  await broker.listen();
  const db = new Database(join(dir, 'cicada.db'), { readonly: true });
  t.after(async () => {
    db.close();
    await broker.close();
  });
  return { broker, url: `mqtt://127.0.0.1:${broker.port}`, db };
}
