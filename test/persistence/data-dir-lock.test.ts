// One broker per data directory (issue 13, item 1): two brokers started from the same folder used
// to share ./data/cicada.db and corrupt it. The second broker now exits at once with one line
// naming the directory and the process that holds it; a lock left by a broker killed with
// SIGKILL (or by a process whose pid was reused since) is detected as stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess, type Spawned, START_TIMEOUT_MS } from '../helpers/processes.js';
import { createBroker } from '../../src/index.js';
import { lockDataDirectory, DataDirectoryLockedError } from '../../src/storage/lock.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

async function startCli(cwd: string, port: number): Promise<Spawned> {
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-p', String(port)], { cwd });
  await broker.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  return broker;
}

test('a second `cicada broker` in the same folder exits at once with one line naming ./data and the pid that holds it; after SIGKILL of the holder the next start succeeds and finds the state', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'cicada-lock-'));
  const dataDir = join(cwd, 'data');
  const [port1, port2] = [await freePort(), await freePort()];
  const first = await startCli(cwd, port1);
  t.after(() => first.kill('SIGKILL'));
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port1}`);
  await client.publishAsync('lock/first', 'from the first broker', { qos: 1, retain: true }); // PUBACK: committed
  await client.endAsync();

  const second = await runProcess(process.execPath, [BIN, 'broker', '-p', String(port2)], 10_000, { cwd });
  assert.equal(second.code, 1, `exit code (stderr: ${second.stderr})`);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.equal(
    lines[0]?.replace(/since [^)]*\)/, 'since T)'),
    `cicada: data directory ${dataDir} is in use by another Cicada process (pid ${first.child.pid}, since T): stop it, or set persistence_location to another directory`,
  );
  assert.ok(first.running, 'the first broker is unaffected');

  first.kill('SIGKILL');
  await first.exit(5000);
  assert.ok(existsSync(join(dataDir, 'cicada.lock')), 'a killed broker leaves its lock behind');
  const third = await startCli(cwd, port2);
  t.after(() => third.kill('SIGKILL'));
  const reader = await mqtt.connectAsync(`mqtt://127.0.0.1:${port2}`);
  const got = new Promise<string>((resolve) => reader.once('message', (_topic, payload) => resolve(payload.toString())));
  await reader.subscribeAsync('lock/#', { qos: 1 });
  assert.equal(await got, 'from the first broker');
  await reader.endAsync();
  assert.equal(JSON.parse(readFileSync(join(dataDir, 'cicada.lock'), 'utf8')).pid, third.child.pid);
  third.kill('SIGTERM');
  assert.equal((await third.exit(5000)).code, 0);
  assert.ok(!existsSync(join(dataDir, 'cicada.lock')), 'a clean stop releases the lock');
});

test('two brokers with persistence_location pointing at the same directory: the second does not start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-lock-'));
  const conf = (port: number): string => {
    const file = join(dir, `b${port}.conf`);
    writeFileSync(file, `listener ${port} 127.0.0.1\npersistence true\npersistence_location ${dir}\nsys_interval 0\n`);
    return file;
  };
  const [port1, port2] = [await freePort(), await freePort()];
  const first = spawnProcess(process.execPath, [BIN, 'broker', '-c', conf(port1)]);
  t.after(() => first.kill('SIGKILL'));
  await first.waitForOutput(`127.0.0.1:${port1}`, START_TIMEOUT_MS);
  const second = await runProcess(process.execPath, [BIN, 'broker', '-c', conf(port2)], 10_000);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`^cicada: data directory ${dir} is in use by another Cicada process \\(pid ${first.child.pid},`));
});

test('embedded brokers: a second createBroker on the same directory throws; after close() it may open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-lock-'));
  const options = { host: '127.0.0.1', port: 0, logLevel: 'silent' as const, sysInterval: 0, persistence: true, persistenceLocation: dir };
  const first = createBroker(options);
  assert.throws(() => createBroker(options), (error: Error) => error instanceof DataDirectoryLockedError && /another broker of this process/.test(error.message));
  await first.close();
  const again = createBroker(options);
  await again.close();
  assert.ok(!existsSync(join(dir, 'cicada.lock')));
});

test('a lock naming a live pid whose start time differs (pid reused after a crash) is stale; one naming this very process is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-lock-'));
  const file = join(dir, 'cicada.lock');
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // The test runner's pid is alive, but the lock says it started at another moment.
  writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), boot, start: `${start}0`, since: 'earlier' }));
  const lock = lockDataDirectory(dir);
  lock.release();
  // The same live process with its real start time: held (e.g. by a broker of another runtime).
  writeFileSync(file, JSON.stringify({ pid: process.ppid, host: hostname(), boot, start: startOf(process.ppid), since: 'earlier' }));
  assert.throws(() => lockDataDirectory(dir), /in use by another Cicada process \(pid \d+, since earlier\)/);
  // A lock written before a reboot (another boot id) is stale whatever its pid.
  writeFileSync(file, JSON.stringify({ pid: process.ppid, host: hostname(), boot: 'another-boot', start: startOf(process.ppid), since: 'earlier' }));
  lockDataDirectory(dir).release();
  // Garbage in the lock file is no owner.
  writeFileSync(file, 'not json');
  lockDataDirectory(dir).release();
  assert.ok(!existsSync(file));
});

function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

test('a data directory that cannot be made or written is one clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-lock-'));
  const notADirectory = join(dir, 'file');
  writeFileSync(notADirectory, 'x');
  assert.throws(() => lockDataDirectory(join(notADirectory, 'data')), /^Error: cannot lock data directory .*file\/data \(ENOTDIR\): check that it exists and that this user may write it$/);
});
