// `-v` logs every packet in and out in Mosquitto's words: the same conversation (mosquitto_sub
// and mosquitto_pub at QoS 1 and 2) is run against `cicada broker -v` and `mosquitto -v`, and
// every packet line Mosquitto writes must be in Cicada's log too. Also the log formats and
// destinations a user picks in the configuration file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess, type Spawned } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../security/support.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

async function conversation(port: number): Promise<void> {
  const sub = spawnProcess('mosquitto_sub', ['-p', String(port), '-i', 's1', '-u', 'bob', '-t', 'a/#', '-q', '2', '-C', '2', '-W', '8']);
  // The subscriber is in place once its SUBACK went out: retry the first publish until it arrives.
  for (let i = 0; i < 50 && sub.stdout === ''; i++) {
    await runProcess('mosquitto_pub', ['-p', String(port), '-i', 'p1', '-t', 'a/b', '-m', 'hello', '-q', '1'], 5000);
    await waitFor(() => sub.stdout !== '', 200, 'first message').catch(() => undefined);
  }
  await runProcess('mosquitto_pub', ['-p', String(port), '-i', 'p2', '-t', 'a/c', '-m', 'hello2', '-q', '2', '-r'], 5000);
  assert.equal((await sub.exit(8000)).code, 0);
}

function packetLines(log: string): Set<string> {
  return new Set(log.split('\n').filter((l) => /^(Received|Sending) (?!CONNECT )/.test(l)));
}

async function started(process: Spawned, what: string): Promise<void> {
  await waitFor(() => process.stdout.includes(what) || process.stderr.includes(what), 15_000, `output ${what}`);
}

test('-v logs each packet in and out with the lines Mosquitto -v writes for the same conversation', async (t) => {
  const dir = tempDir(t, 'cicada-verbose-');
  const common = ['allow_anonymous true', 'persistence false', 'log_timestamp false'];
  const [mp, cp] = [await freePort(), await freePort()];
  // Mosquitto's stdout is block-buffered in a pipe: its log goes to stderr (unbuffered).
  writeFileSync(join(dir, 'm.conf'), [`listener ${mp} 127.0.0.1`, ...common, 'log_dest stderr', ''].join('\n'));
  writeFileSync(join(dir, 'c.conf'), [`listener ${cp} 127.0.0.1`, ...common, 'log_dest stdout', 'log_format text', 'warm_up false', ''].join('\n'));
  const mosquitto = spawnProcess('mosquitto', ['-v', '-c', join(dir, 'm.conf')]);
  t.after(() => mosquitto.kill('SIGKILL'));
  const cicada = spawnProcess(process.execPath, [BIN, 'broker', '-v', '-c', join(dir, 'c.conf')]);
  t.after(() => cicada.kill('SIGKILL'));
  await started(mosquitto, 'running');
  await started(cicada, 'running');
  await conversation(mp);
  await conversation(cp);
  mosquitto.kill('SIGTERM');
  cicada.kill('SIGTERM');
  const theirs = packetLines((await mosquitto.exit(5000)).stderr);
  const ours = packetLines((await cicada.exit(5000)).stdout);
  for (const line of [
    "Received PUBLISH from p1 (d0, q1, r0, m1, 'a/b', ... (5 bytes))",
    'Sending PUBACK to p1 (m1, rc0)',
    'Received PUBREL from p2 (Mid: 1)',
    'Sending PUBCOMP to p2 (m1)',
    'Received SUBSCRIBE from s1',
  ]) {
    assert.ok(theirs.has(line), `Mosquitto wrote ${line}`);
  }
  const missing = [...theirs].filter((line) => !ours.has(line));
  assert.deepEqual(missing, [], `Cicada's packet lines:\n${[...ours].join('\n')}`);
});

test('log_format text: Mosquitto\'s line shape; several log_dest lines all apply; the banner names config, data, listeners and local only', async (t) => {
  const dir = tempDir(t, 'cicada-logs-');
  const port = await freePort();
  const file = join(dir, 'broker.log');
  const conf = join(dir, 'c.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'warm_up false', 'log_format text', 'log_dest stdout', `log_dest file ${file}`, 'log_type subscribe', 'log_type information', 'log_type notice', 'log_timestamp_format %Y-%m-%dT%H:%M:%S', ''].join('\n'));
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', conf]);
  t.after(() => broker.kill('SIGKILL'));
  await started(broker, 'running');
  const sub = await runProcess('mosquitto_sub', ['-p', String(port), '-i', 'watcher', '-u', 'carol', '-t', 'x/#', '-q', '1', '-W', '1'], 5000);
  assert.equal(sub.code, 27, sub.stderr); // timed out waiting, as asked
  broker.kill('SIGTERM');
  const out = (await broker.exit(5000)).stdout;
  const stamp = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: `;
  assert.match(out, new RegExp(`^${stamp}cicada version \\S+ starting$`, 'm'));
  assert.match(out, new RegExp(`^${stamp}cicada version \\S+ running: config ${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, data none \\(persistence false\\), listening on mqtt://127\\.0\\.0\\.1:${port} \\(local only\\)$`, 'm'));
  assert.match(out, new RegExp(`^${stamp}client connected clientId=watcher username=carol `, 'm'), 'the connect line carries the user name');
  assert.match(out, new RegExp(`^${stamp}watcher 1 x/#$`, 'm'), 'log_type subscribe');
  assert.doesNotMatch(out, /Received SUBSCRIBE/, 'no debug lines without log_type debug');
  assert.match(out, new RegExp(`^${stamp}cicada version \\S+ terminating$`, 'm'));
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('terminating'), 5000, 'the file destination');
  assert.equal(readFileSync(file, 'utf8'), out, 'stdout and the file get the same lines');
});

test('a refused login is logged with its client id and user name (JSON lines by default when not on a terminal)', async (t) => {
  const dir = tempDir(t, 'cicada-logs-');
  const port = await freePort();
  writeFileSync(join(dir, 'passwd'), '');
  const conf = join(dir, 'c.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'persistence false', 'warm_up false', 'allow_anonymous false', 'password_file passwd', ''].join('\n'));
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', conf]);
  t.after(() => broker.kill('SIGKILL'));
  await started(broker, 'running');
  const pub = await runProcess('mosquitto_pub', ['-p', String(port), '-i', 'intruder', '-u', 'mallory', '-P', 'guess', '-t', 't', '-m', 'x'], 5000);
  assert.notEqual(pub.code, 0);
  await waitFor(() => broker.stdout.includes('connection refused'), 5000, 'the refusal logged');
  const line = broker.stdout.split('\n').find((l) => l.includes('connection refused')) as string;
  const json = JSON.parse(line) as Record<string, unknown>;
  assert.equal(json.clientId, 'intruder');
  assert.equal(json.username, 'mallory');
  assert.match(json.msg as string, /client intruder, user mallory/);
});

test('log_dest syslog without a syslog daemon stops the start with one line saying so', { skip: existsSync('/dev/log') ? 'this machine has /dev/log' : false }, async (t) => {
  const dir = tempDir(t, 'cicada-logs-');
  const conf = join(dir, 'c.conf');
  writeFileSync(conf, [`listener ${await freePort()} 127.0.0.1`, 'persistence false', 'log_dest syslog', ''].join('\n'));
  const run = await runProcess(process.execPath, [BIN, 'broker', '-c', conf], 10_000);
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim(), 'cicada: log_dest syslog: /dev/log does not exist (no syslog daemon on this machine): use log_dest file or stderr');
});
