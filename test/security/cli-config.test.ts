// `cicada broker -c` with a Mosquitto-style configuration, as a user runs it: a real process,
// several listeners, a password file from mosquitto_passwd, an ACL file, SIGHUP reloading both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess, START_TIMEOUT_MS } from '../helpers/processes.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makePki, tempDir } from './support.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

async function pub(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return runProcess('mosquitto_pub', [...args, '-t', 'cli/t', '-m', 'x', '-q', '1'], 8000);
}

test('cicada -c: TCP + TLS + unix listeners, password and ACL files, SIGHUP reloads them', async (t) => {
  const dir = tempDir(t);
  const pki = makePki(dir, ['alice']);
  const [tcp, tls] = [await freePort(), await freePort()];
  const sock = join(dir, 'cicada.sock');
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  await runProcess('mosquitto_passwd', ['-b', passwd, 'alice', 'pw'], 10_000);
  const acl = join(dir, 'acl');
  writeFileSync(acl, 'user alice\ntopic write cli/#\n');
  writeFileSync(
    join(dir, 'cicada.conf'),
    [
      '# a Mosquitto 2 style configuration',
      'per_listener_settings false',
      `listener ${tcp} 127.0.0.1`,
      `listener ${tls} 127.0.0.1`,
      'cafile ca.pem',
      'certfile server.pem',
      'keyfile server.key',
      'require_certificate true',
      'use_identity_as_username true',
      'listener 0 cicada.sock',
      'allow_anonymous false',
      'password_file passwd',
      'acl_file acl',
      'persistence false',
      'sys_interval 0',
      'log_type all',
      'pid_file cicada.pid',
      'autosave_interval 1800',
      '',
    ].join('\n'),
  );
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', join(dir, 'cicada.conf')]);
  t.after(() => broker.kill('SIGKILL'));
  await broker.waitForOutput(`unix:${sock}`, START_TIMEOUT_MS);
  assert.match(broker.stderr, /warning: .*cicada\.conf:18: autosave_interval: accepted for Mosquitto compatibility, no effect/);
  // pid_file: written once listening, removed at exit.
  await waitFor(() => existsSync(join(dir, 'cicada.pid')), 5000, 'pid file');
  assert.equal(readFileSync(join(dir, 'cicada.pid'), 'utf8'), `${broker.child.pid}\n`);
  const tcpArgs = ['-h', '127.0.0.1', '-p', String(tcp)];
  assert.equal((await pub([...tcpArgs, '-u', 'alice', '-P', 'pw'])).code, 0);
  assert.notEqual((await pub([...tcpArgs])).code, 0, 'anonymous refused');
  assert.notEqual((await pub([...tcpArgs, '-u', 'alice', '-P', 'bad'])).code, 0);
  assert.equal((await pub(['--unix', sock, '-u', 'alice', '-P', 'pw'])).code, 0);
  assert.equal((await pub(['-h', 'localhost', '-p', String(tls), '--cafile', pki.ca, '--cert', pki.client('alice').cert, '--key', pki.client('alice').key])).code, 0);
  // A new user and a wider ACL take effect on SIGHUP, not before.
  await runProcess('mosquitto_passwd', ['-b', passwd, 'bob', 'pw2'], 10_000);
  writeFileSync(acl, 'user alice\ntopic write cli/#\nuser bob\ntopic readwrite cli/#\n');
  assert.notEqual((await pub([...tcpArgs, '-u', 'bob', '-P', 'pw2'])).code, 0, 'bob unknown before SIGHUP');
  broker.kill('SIGHUP');
  await waitFor(() => broker.stdout.includes('reloaded password and ACL files'), 5000, 'reload log line');
  assert.equal((await pub([...tcpArgs, '-u', 'bob', '-P', 'pw2'])).code, 0, 'bob known after SIGHUP');
  const sub = spawnProcess('mosquitto_sub', [...tcpArgs, '-u', 'bob', '-P', 'pw2', '-t', 'cli/t', '-C', '1', '-W', '8']);
  for (let i = 0; i < 40 && sub.running; i++) {
    await pub([...tcpArgs, '-u', 'alice', '-P', 'pw']);
    await sleep(100);
  }
  assert.equal((await sub.exit(8000)).stdout.trim(), 'x');
  // A broken ACL file: the reload fails, is logged as failed, and not also as "reloaded".
  writeFileSync(acl, 'user alice\npermit everything\n');
  broker.kill('SIGHUP');
  // Both lines would come from the same reload call, so they reach stdout together.
  await waitFor(() => broker.stdout.includes('reload failed'), 5000, 'failed reload logged');
  assert.equal(broker.stdout.split('reloaded password and ACL files').length - 1, 1, 'only the first reload says reloaded');
  broker.kill('SIGTERM');
  assert.equal((await broker.exit(5000)).code, 0);
  assert.ok(!existsSync(join(dir, 'cicada.pid')), 'pid file removed at exit');
  assert.match(broker.stdout, /cicada version \S+ terminating/);
});

test('cicada -c: a broken ACL file or a listener TLS mistake stops the start with file and line', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic read a/#\npermit everything\n');
  writeFileSync(join(dir, 'a.conf'), `listener ${port} 127.0.0.1\nacl_file acl\npersistence false\n`);
  const acl = await runProcess(process.execPath, [BIN, 'broker', '-c', join(dir, 'a.conf')], 10_000);
  assert.notEqual(acl.code, 0);
  assert.match(acl.stderr, /acl:3: permit: unknown keyword/);
  writeFileSync(join(dir, 'cert.pem'), 'x');
  writeFileSync(join(dir, 't.conf'), `listener ${port}\ncertfile cert.pem\n`);
  const tls = await runProcess(process.execPath, [BIN, 'broker', '-c', join(dir, 't.conf')], 10_000);
  assert.notEqual(tls.code, 0);
  assert.equal(tls.stderr.trim(), `cicada: ${join(dir, 't.conf')}:1: listener ${port}: TLS settings need both certfile and keyfile`);
});

test('cicada -c: log_dest file and log_type choose where and what is logged', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const log = join(dir, 'cicada.log');
  writeFileSync(join(dir, 'l.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest file ${log}\nlog_type information\n`);
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', join(dir, 'l.conf')]);
  t.after(() => broker.kill('SIGKILL'));
  await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes(`listening on mqtt://127.0.0.1:${port}`), 10_000, 'the log file');
  assert.equal((await pub(['-h', '127.0.0.1', '-p', String(port)])).code, 0);
  await waitFor(() => readFileSync(log, 'utf8').includes('client connected'), 5000, 'connection logged to the file');
  assert.equal(broker.stdout, '', 'nothing on stdout');
  broker.kill('SIGTERM');
  assert.equal((await broker.exit(5000)).code, 0);
});

test('cicada -c: connection_messages false moves connect and disconnect lines from info to debug (as Mosquitto)', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const log = join(dir, 'cicada.log');
  writeFileSync(join(dir, 'q.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest file ${log}\nlog_type all\nconnection_messages false\n`);
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', join(dir, 'q.conf')]);
  t.after(() => broker.kill('SIGKILL'));
  await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes(`listening on mqtt://127.0.0.1:${port}`), 10_000, 'the log file');
  assert.equal((await pub(['-h', '127.0.0.1', '-p', String(port), '-i', 'quiet-client'])).code, 0);
  const lines = (): Array<{ level: number; msg: string; clientId?: string }> =>
    readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; clientId?: string });
  await waitFor(() => lines().some((l) => l.msg === 'client disconnected' && l.clientId === 'quiet-client'), 5000, 'the disconnect logged');
  const mine = lines().filter((l) => l.clientId === 'quiet-client' && /^client (dis)?connected$/.test(l.msg));
  assert.deepEqual(mine.map((l) => [l.msg, l.level]), [['client connected', 20], ['client disconnected', 20]]);
  broker.kill('SIGTERM');
  assert.equal((await broker.exit(5000)).code, 0);
});
