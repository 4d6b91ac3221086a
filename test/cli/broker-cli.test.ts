// The `cicada broker` command as a user runs it: a real process, real clients (mosquitto_pub and
// mosquitto_sub), real signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess, type Spawned, START_TIMEOUT_MS } from '../helpers/processes.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

// Each broker runs in a directory of its own: `cicada broker` keeps its state in ./data, and a data
// directory belongs to one broker at a time.
function cicada(...args: string[]): Spawned {
  return spawnProcess(process.execPath, [BIN, ...args], { cwd: mkdtempSync(join(tmpdir(), 'cicada-cwd-')) });
}

async function pubSubRoundTrip(port: number): Promise<void> {
  const sub = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'cli/t', '-C', '1', '-W', '5']);
  // mosquitto_sub has no "subscribed" signal: retry publishing until it exits with the message.
  for (let i = 0; i < 20 && sub.running; i++) {
    await runProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'cli/t', '-m', 'via-cli'], 5000);
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await sub.exit(5000);
  assert.equal(result.stdout.trim(), 'via-cli');
}

test('with no options, cicada listens on 127.0.0.1:1883 only, says so, and stops cleanly on SIGTERM', async (t) => {
  const broker = cicada();
  t.after(() => broker.kill('SIGKILL'));
  await broker.waitForOutput('127.0.0.1:1883', START_TIMEOUT_MS);
  await pubSubRoundTrip(1883);
  broker.kill('SIGTERM');
  const result = await broker.exit(5000);
  assert.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
});

test('`cicada broker -p PORT` serves mosquitto clients and stops cleanly on SIGINT', async (t) => {
  const port = await freePort();
  const broker = cicada('broker', '-p', String(port));
  t.after(() => broker.kill('SIGKILL'));
  await broker.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  await pubSubRoundTrip(port);
  broker.kill('SIGINT');
  assert.equal((await broker.exit(5000)).code, 0);
});

test('-c FILE reads mosquitto.conf-style options', async (t) => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cicada-cli-'));
  const conf = join(dir, 'cicada.conf');
  writeFileSync(conf, `# test config\nlistener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10\nsys_interval 0\n`);
  const broker = cicada('broker', '-c', conf);
  t.after(() => broker.kill('SIGKILL'));
  await broker.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  await pubSubRoundTrip(port);
});

test('a configuration mistake names the file and line, prints one line, and the broker does not start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-cli-'));
  const conf = join(dir, 'bad.conf');
  writeFileSync(conf, 'listener 1883\nmax_inflight_messages lots\n');
  const result = await cicada('broker', '-c', conf).exit(10_000);
  assert.notEqual(result.code, 0);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /bad\.conf:2: max_inflight_messages: expects one integer/);
  const unknown = join(dir, 'unknown.conf');
  writeFileSync(unknown, 'frobnicate yes\n');
  const second = await cicada('broker', '-c', unknown).exit(10_000);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, /unknown\.conf:1: frobnicate: unknown directive/);
  const missing = await cicada('broker', '-c', join(dir, 'nope.conf')).exit(10_000);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nope\.conf: cannot read the configuration file \(ENOENT\)/);
});

test('a bad flag prints what is wrong in one line and where the usage is, and exits non-zero', async () => {
  const result = await cicada('broker', '--bogus').exit(10_000);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, "Error: Unknown option '--bogus'.\n\nUse 'cicada broker --help' to see usage.\n");
  const port = await cicada('broker', '-p', 'x').exit(10_000);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /invalid port: x/);
});

test('a port already in use is one clear line and a non-zero exit', async (t) => {
  const port = await freePort();
  const first = cicada('broker', '-p', String(port));
  t.after(() => first.kill('SIGKILL'));
  await first.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  const second = await cicada('broker', '-p', String(port)).exit(10_000);
  assert.equal(second.code, 1);
  assert.equal(second.stderr.trim(), `cicada: cannot listen on 127.0.0.1:${port}: address already in use`);
});
