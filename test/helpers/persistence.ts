/**
 * A broker on SQLite in a temp directory, with a short or long commit interval, and a second,
 * read-only SQLite connection to its file: it sees committed transactions only, so a test can
 * check what was durable at the moment a client received a packet.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createBroker, type Broker } from '../../src/index.js';
import { spawnProcess, START_TIMEOUT_MS, type Spawned } from './processes.js';

/** The `cicada` launcher (compiled CLI). */
export const CICADA_BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

/** A configuration file in `dir` for a persistent broker on `port`, its data in `dir`/data. */
export function persistentConfig(dir: string, port: number, extra = ''): string {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const conf = join(dir, 'cicada.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${join(dir, 'data')}\nsys_interval 0\nwarm_up false\n${extra}`);
  return conf;
}

/** `cicada broker -c conf` through sh, after a shell prelude (ulimit, trap); `command` may wrap node (setpriv). */
export function spawnBroker(conf: string, prelude = '', command = `exec ${process.execPath} ${CICADA_BIN}`): Spawned {
  return spawnProcess('/bin/sh', ['-c', `${prelude}${command} broker -c ${conf}`]);
}

/** A broker process on `conf`, once it listens on `port`. */
export async function startBrokerProcess(conf: string, port: number): Promise<Spawned> {
  const broker = spawnBroker(conf);
  await broker.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  return broker;
}

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
