// Rights checked again where they may have changed since a subscription or a will was accepted:
// state restored from the database after a restart (subscriptions, delayed wills, session
// owners) and a resumed session whose new JWT carries fewer ACL claims. Cicada only: the store
// is Cicada's (Mosquitto checks its restored state the same way, per delivery).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { BrokerOptions } from '../../src/index.js';
import { cicadaOnly } from '../helpers/broker.js';
import { connectMqtt, endMqtt, type TestClient } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { writePasswords } from './conf-broker.js';
import { startCicada, tempDir, type SecureBroker } from './support.js';

const ONLY = cicadaOnly('the persistence store and JWT ACL claims are Cicada\'s');

interface Files {
  dir: string;
  acl: string;
  options: BrokerOptions;
}

async function files(t: Parameters<typeof tempDir>[0], acl: string): Promise<Files> {
  const dir = tempDir(t);
  const passwd = join(dir, 'passwd');
  await writePasswords(passwd, { alice: 'a', bob: 'b' });
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, acl);
  return {
    dir,
    acl: aclFile,
    options: { listeners: [{ port: 0, host: '127.0.0.1' }], persistence: true, persistenceLocation: dir, security: { passwordFile: passwd, aclFile } },
  };
}

async function connect(t: { after(fn: () => Promise<void>): void }, b: SecureBroker, user: 'alice' | 'bob', clientId: string, extra: object = {}): Promise<TestClient> {
  const c = await connectMqtt(b.url(), { username: user, password: user === 'alice' ? 'a' : 'b', clientId, ...extra });
  t.after(() => endMqtt(c, true));
  return c;
}

test('a subscription restored from the database is checked at delivery against the rules in force', ONLY, async (t) => {
  const f = await files(t, 'user alice\ntopic readwrite #\nuser bob\ntopic read news/#\ntopic read ping/#\n');
  const first = await startCicada(t, f.options);
  const bob = await connect(t, first, 'bob', 'bob', { clean: false });
  await bob.subscribeAsync(['news/#', 'ping/#'], { qos: 1 });
  await endMqtt(bob);
  await first.broker.close();
  writeFileSync(f.acl, 'user alice\ntopic readwrite #\nuser bob\ntopic read ping/#\n');
  const second = await startCicada(t, f.options);
  const again = await connect(t, second, 'bob', 'bob', { clean: false });
  const alice = await connect(t, second, 'alice', 'alice');
  await alice.publishAsync('news/a', 'no longer readable', { qos: 1 });
  await alice.publishAsync('ping/a', 'sentinel', { qos: 1 });
  assert.deepEqual((await again.inbox.next(1)).map((m) => m.payload), ['sentinel']);
  await again.inbox.expectNoMore();
});

test('a delayed will restored from the database is checked when sent: not sent once its topic is no longer writable', ONLY, async (t) => {
  const f = await files(t, 'user alice\ntopic readwrite #\nuser bob\ntopic readwrite bob/#\n');
  const first = await startCicada(t, f.options);
  const will = { topic: 'bob/status', payload: Buffer.from('gone'), qos: 1 as const, retain: true, properties: { willDelayInterval: 1 } };
  const bob = await connect(t, first, 'bob', 'bob', { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 }, will });
  bob.kill();
  await waitFor(() => first.broker.stats.clientsConnected === 0, 3000, 'bob gone');
  await first.broker.close(); // within the will delay: the will stays in the store
  writeFileSync(f.acl, 'user alice\ntopic readwrite #\nuser bob\ntopic read bob/#\n');
  const second = await startCicada(t, f.options);
  await waitFor(() => second.logs.some((l) => l.includes('will not authorized: dropped')), 5000, 'restored will refused');
  const alice = await connect(t, second, 'alice', 'alice');
  await alice.subscribeAsync('bob/#');
  await alice.inbox.expectNoMore();
});

test('the owner of a persistent session is kept in the database: after a restart another user still gets a fresh session', ONLY, async (t) => {
  const f = await files(t, 'user alice\ntopic readwrite #\nuser bob\ntopic readwrite #\n');
  const first = await startCicada(t, f.options);
  const alice = await connect(t, first, 'alice', 'shared', { clean: false });
  await alice.subscribeAsync('inbox/#', { qos: 1 });
  await endMqtt(alice);
  await first.broker.close();
  const second = await startCicada(t, f.options);
  const bob = await connect(t, second, 'bob', 'shared', { clean: false });
  assert.equal((bob as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent, false);
  assert.ok(second.logs.some((l) => l.includes('session made by another user')));
});

test('JWT ACL claims decide each delivery: a session resumed with a token of fewer claims no longer receives the rest', ONLY, async (t) => {
  const secret = 'a-long-shared-secret-for-hs256-tokens';
  const b = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], security: { jwt: { secret } } });
  const token = (sub: string[]): Promise<string> =>
    new SignJWT({ sub: 'dev1', acl: { sub, pub: ['#'] } }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
  const wide = await connectMqtt(b.url(), { username: 'dev1', password: await token(['a/#', 'b/#']), clientId: 'dev1', clean: false });
  await wide.subscribeAsync(['a/#', 'b/#'], { qos: 1 });
  await endMqtt(wide);
  const narrow = await connectMqtt(b.url(), { username: 'dev1', password: await token(['a/#']), clientId: 'dev1', clean: false });
  t.after(() => endMqtt(narrow, true));
  const publisher = await connectMqtt(b.url(), { username: 'dev1', password: await token(['#']), clientId: 'pub' });
  t.after(() => endMqtt(publisher, true));
  await publisher.publishAsync('b/x', 'not in the claims any more', { qos: 1 });
  await publisher.publishAsync('a/x', 'sentinel', { qos: 1 });
  assert.deepEqual((await narrow.inbox.next(1)).map((m) => m.payload), ['sentinel']);
  await narrow.inbox.expectNoMore();
});
