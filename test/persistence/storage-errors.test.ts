// A broker process and its database in trouble: a full disk during a commit (RLIMIT_FSIZE, as a
// full file system answers), a directory or file the broker may not write, a damaged or newer file.
// Every case is one line on stderr that names the file, says what is wrong and what to do, and an
// exit status a supervisor restarts on; nothing is acknowledged after a failed commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { freePort } from '../helpers/broker.js';
import { START_TIMEOUT_MS, type ProcessResult } from '../helpers/processes.js';
import { CICADA_BIN, persistentConfig as config, spawnBroker } from '../helpers/persistence.js';

/** stderr has exactly one non-empty line. */
function oneLine(result: ProcessResult): string {
  const lines = result.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `one line on stderr, got: ${JSON.stringify(result.stderr)}`);
  return lines[0] as string;
}

test('a commit that fails (file size limit, as a full disk) stops the broker with status 1 and one line naming the file; nothing more is acknowledged', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-full-'));
  const port = await freePort();
  const conf = config(dir, port);
  // RLIMIT_FSIZE of 4 MB (bash counts 1024-byte blocks, dash 512): writes past it fail with EFBIG;
  // SIGXFSZ ignored, so the process sees the error as on a full file system.
  const broker = spawnBroker(conf, "trap '' XFSZ; ulimit -f 4096; ");
  try {
    await broker.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, clean: false, clientId: 'filler' });
    client.on('error', () => undefined);
    const payload = Buffer.alloc(64 * 1024, 7);
    let acknowledged = 0;
    for (let i = 0; i < 200 && broker.running; i++) {
      try {
        await Promise.race([client.publishAsync(`fill/${i}`, payload, { qos: 1, retain: true }), broker.done]);
        if (broker.running) acknowledged++;
      } catch {
        break;
      }
    }
    const result = await broker.exit(10_000);
    assert.ok(acknowledged > 0 && acknowledged < 200, `some publications acknowledged before the failure (${acknowledged})`);
    assert.equal(result.code, 1, `exit status (stderr: ${result.stderr})`);
    const line = oneLine(result);
    assert.match(line, /^cicada: cannot write persistence database .*cicada\.db: .*stopped so that nothing unsaved is acknowledged/);
    assert.doesNotMatch(result.stderr + result.stdout, /\n\s+at /, 'no stack trace');
    client.end(true);
    // What was acknowledged is in the file.
    const db = new Database(join(dir, 'data', 'cicada.db'), { readonly: true });
    const rows = (db.prepare('SELECT count(*) AS n FROM retained').get() as { n: number }).n;
    db.close();
    assert.ok(rows >= acknowledged, `${rows} retained rows for ${acknowledged} acknowledged`);
  } finally {
    broker.kill('SIGKILL');
  }
});

/** Run the broker as nobody (the tests run as root, whom permissions do not stop). */
const AS_NOBODY = `exec setpriv --reuid=65534 --regid=65534 --clear-groups ${process.execPath} ${CICADA_BIN}`;

test('a persistence directory the broker may not write is refused at start: permissions named, not corruption', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-perm-'));
  chmodSync(dir, 0o755); // nobody may read the configuration, not write data/
  const port = await freePort();
  const conf = config(dir, port);
  const result = await spawnBroker(conf, '', AS_NOBODY).exit(15_000);
  assert.equal(result.code, 1, result.stderr);
  const line = oneLine(result);
  assert.match(line, new RegExp(`${join(dir, 'data')} is not writable by the broker`));
  assert.match(line, /chown\/chmod/);
  assert.doesNotMatch(line, /move it away|corrupt/);
});

test('a database file the broker may not write is refused at start, not at the first persistent CONNECT', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-perm-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const conf = config(dir, port);
  chmodSync(join(dir, 'data'), 0o777); // the directory is writable, the file will not be
  const first = spawnBroker(conf); // as root: creates the file, owned by root, 0644
  await first.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  first.kill('SIGTERM');
  assert.equal((await first.exit(10_000)).code, 0);
  const result = await spawnBroker(conf, '', AS_NOBODY).exit(15_000);
  assert.equal(result.code, 1, result.stderr);
  const line = oneLine(result);
  assert.match(line, new RegExp(`the file ${join(dir, 'data', 'cicada.db')} is not writable by the broker`));
});

/** Make a database with the broker, stopped cleanly; then `damage` it and start again. */
async function startAfter(damage: (file: string) => void): Promise<ProcessResult & { file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-damaged-'));
  const port = await freePort();
  const conf = config(dir, port);
  const first = spawnBroker(conf);
  await first.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  for (let i = 0; i < 300; i++) client.publish(`r/${i}`, Buffer.alloc(500, i), { qos: 0, retain: true });
  await client.publishAsync('r/last', 'x', { qos: 1, retain: true });
  await client.endAsync();
  first.kill('SIGTERM');
  assert.equal((await first.exit(10_000)).code, 0);
  const file = join(dir, 'data', 'cicada.db');
  damage(file);
  return { ...(await spawnBroker(conf).exit(15_000)), file };
}

test('a database damaged inside its tables: the file is named, corruption said, backup or move-away advised', { timeout: 30_000 }, async () => {
  const result = await startAfter((file) => {
    const db = new Database(file);
    const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'messages'").get() as { rootpage: number }).rootpage;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    // Overwrite the messages table's root page (after its header byte) with garbage.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(pageSize - 8, 0xa5), 0, pageSize - 8, (root - 1) * pageSize + 8);
    closeSync(fd);
  });
  assert.equal(result.code, 1, result.stderr);
  const line = oneLine(result);
  assert.ok(line.includes(result.file), line);
  assert.match(line, /corrupt/);
  assert.match(line, /restore it from a backup/);
});

test('a database lacking a table: the file and the table are named', { timeout: 30_000 }, async () => {
  const result = await startAfter((file) => {
    const db = new Database(file);
    db.exec('DROP TABLE wills');
    db.close();
  });
  assert.equal(result.code, 1, result.stderr);
  const line = oneLine(result);
  assert.ok(line.includes(result.file), line);
  assert.match(line, /missing table wills/);
});

test('a database of a newer format: run the newer version, never move the file away', { timeout: 30_000 }, async () => {
  const result = await startAfter((file) => {
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
  });
  assert.equal(result.code, 1, result.stderr);
  const line = oneLine(result);
  assert.ok(line.includes(result.file), line);
  assert.match(line, /format version 99, written by a newer Cicada/);
  assert.doesNotMatch(line, /move it away/);
});
