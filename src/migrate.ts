/**
 * Migration from Mosquitto (src/storage/mosquitto-db.ts reads the file, mosquitto-import.ts maps
 * it): `cicada import mosquitto.db`, and the import offered at a broker's first start when its
 * configuration names a Mosquitto `persistence_file`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrokerOptions, ResolvedBrokerOptions } from './config/schema.js';
import type { Storage } from './broker/storage.js';
import type { MosquittoDb } from './storage/mosquitto-db.js';
import { describeImport, importMosquittoDb, readMosquittoDb, storeIsEmpty } from './storage/mosquitto-import.js';
import { lockDataDirectory } from './storage/lock.js';
import { SqliteStorage } from './storage/sqlite.js';

/**
 * `cicada import`: the file into the store of `options` (persistence_location, default ./data),
 * which must be empty; the data directory is locked meanwhile. Returns the summary line.
 */
export async function importMosquittoFile(options: BrokerOptions, source: string): Promise<string> {
  if (options.persistence === false) throw new Error('the configuration sets persistence false: there is no Cicada store to import into');
  const db = readMosquittoDb(source); // before touching the store: a bad file changes nothing
  const dir = resolve(options.persistenceLocation ?? './data');
  const lock = lockDataDirectory(dir);
  try {
    const file = join(dir, options.persistenceFile ?? 'cicada.db');
    const storage = new SqliteStorage(file, { sync: 'full' });
    try {
      if (!(await storeIsEmpty(storage))) throw new Error(`${file} already holds sessions or retained messages: import into an empty store (move the file away first)`);
      const counts = importMosquittoDb(db, storage);
      await storage.commit();
      return `${describeImport(source, counts)} into ${file}`;
    } finally {
      await storage.close();
    }
  } finally {
    lock.release();
  }
}

/** A Mosquitto file to import at this start, read and parsed (before the store is created). */
export interface PendingImport {
  file: string;
  db: MosquittoDb;
}

/**
 * The import offered at first start: the configuration names a Mosquitto persistence file
 * (`persistence_file`: as in Mosquitto, inside persistence_location when one is set, else
 * relative to the working directory), the file exists, and Cicada's store does not exist yet. A
 * file that cannot be read stops the start (one line).
 */
export function pendingMosquittoImport(options: ResolvedBrokerOptions, given: BrokerOptions): PendingImport | undefined {
  const mosquittoFile = given.mosquittoPersistenceFile;
  if (!options.persistence || mosquittoFile === undefined) return undefined;
  const file = resolve(given.persistenceLocation ?? '.', mosquittoFile);
  if (!existsSync(file) || existsSync(join(options.persistenceLocation, options.persistenceFile))) return undefined;
  return { file, db: readMosquittoDb(file) };
}

/** Import a pending file into the new store and commit; returns the line to log. */
export async function runPendingImport(pending: PendingImport, storage: Storage): Promise<string> {
  const counts = importMosquittoDb(pending.db, storage);
  await storage.commit();
  return `${describeImport(pending.file, counts)} (first start; the file is left as it is)`;
}
