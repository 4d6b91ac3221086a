// One Mosquitto configuration, password file and ACL file, given unchanged to Debian's Mosquitto
// and to Cicada: the same clients get the same answers from both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess, START_TIMEOUT_MS, type Spawned } from '../helpers/processes.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { listening, makePki, tempDir, type Pki } from './support.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

interface Setup {
  pki: Pki;
  conf: string;
  tls: number;
  plain: number;
}

async function setup(dir: string): Promise<Setup> {
  const pki = makePki(dir, ['alice']);
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  for (const [user, pw] of [['bob', 'bobpw'], ['carol', 'carolpw']]) await runProcess('mosquitto_passwd', ['-b', passwd, user as string, pw as string], 10_000);
  writeFileSync(join(dir, 'acl'), ['topic read public/#', 'user alice', 'topic write sensors/#', 'user bob', 'topic read sensors/#', 'pattern readwrite private/%u/#', ''].join('\n'));
  const [tls, plain] = [await freePort(), await freePort()];
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      'user root', // Mosquitto run as root would switch to user mosquitto, which cannot read the temp files
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${join(dir, 'acl')}`,
      'persistence false',
      'sys_interval 0',
      `listener ${tls} 127.0.0.1`,
      `cafile ${pki.ca}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      'require_certificate true',
      'use_identity_as_username true',
      'tls_version tlsv1.2',
      `listener ${plain} 127.0.0.1`,
      'max_connections 100',
      '',
    ].join('\n'),
  );
  return { pki, conf, tls, plain };
}

/** What each client gets from a broker started with the shared files. */
async function behaviour(s: Setup): Promise<Record<string, string>> {
  const plain = ['-h', '127.0.0.1', '-p', String(s.plain)];
  const alice = ['-h', 'localhost', '-p', String(s.tls), '--cafile', s.pki.ca, '--cert', s.pki.client('alice').cert, '--key', s.pki.client('alice').key];
  const out: Record<string, string> = {};
  const code = async (name: string, args: string[]): Promise<void> => {
    const r = await runProcess('mosquitto_pub', [...args, '-m', 'x', '-q', '1'], 8000);
    out[name] = r.code === 0 ? 'ok' : 'refused';
  };
  await code('anonymous', [...plain, '-t', 'public/a']);
  await code('bob wrong password', [...plain, '-u', 'bob', '-P', 'nope', '-t', 'public/a']);
  await code('bob', [...plain, '-u', 'bob', '-P', 'bobpw', '-t', 'private/bob/x']);
  await code('alice by certificate', [...alice, '-t', 'sensors/t']);
  // Delivery: bob reads sensors/# (alice writes it); carol does not.
  for (const [user, pw] of [['bob', 'bobpw'], ['carol', 'carolpw']] as const) {
    const sub = spawnProcess('mosquitto_sub', [...plain, '-u', user, '-P', pw, '-t', 'sensors/t', '-C', '1', '-W', '3']);
    // mosquitto_sub has no "subscribed" signal: publish again (paced) until it exits or gives up.
    for (let i = 0; i < 5 && sub.running; i++) {
      await runProcess('mosquitto_pub', [...alice, '-t', 'sensors/t', '-m', `reading`, '-q', '1'], 8000);
      await sleep(200);
    }
    const result = await sub.exit(8000);
    out[`${user} receives alice's reading`] = result.stdout.trim() === 'reading' ? 'yes' : 'no';
  }
  return out;
}

async function stop(broker: Spawned): Promise<void> {
  broker.kill('SIGTERM');
  await broker.exit(5000).catch(() => undefined);
}

test('the same mosquitto.conf, password file and ACL file: Mosquitto and Cicada answer every client alike', async (t) => {
  const expected = {
    anonymous: 'refused',
    'bob wrong password': 'refused',
    bob: 'ok',
    'alice by certificate': 'ok',
    "bob receives alice's reading": 'yes',
    "carol receives alice's reading": 'no',
  };
  const results: Record<string, Record<string, string>> = {};
  for (const kind of ['mosquitto', 'cicada'] as const) {
    const s = await setup(tempDir(t));
    const broker = kind === 'mosquitto' ? spawnProcess('mosquitto', ['-c', s.conf]) : spawnProcess(process.execPath, [BIN, 'broker', '-c', s.conf]);
    t.after(() => broker.kill('SIGKILL'));
    await waitFor(async () => (await listening(s.plain)) && (await listening(s.tls)), START_TIMEOUT_MS, `${kind} listening`).catch((error: Error) => {
      throw new Error(`${error.message}: ${broker.stdout}${broker.stderr}`);
    });
    results[kind] = await behaviour(s);
    await stop(broker);
  }
  assert.deepEqual(results.mosquitto, expected, 'the expectations hold for Mosquitto (checks the test)');
  assert.deepEqual(results.cicada, expected);
});
