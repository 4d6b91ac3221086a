// Access control checked where Mosquitto checks it: wills against the publish ACL, every delivery
// against the receiver's read rights (so a SUBSCRIBE overlapping a deny rule is granted and
// filtered), patterns substituted as Mosquitto 2.0 does. The same files go to the broker under
// test: CICADA_TEST_BROKER=mosquitto runs these tests against Debian's Mosquitto 2.0.11.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mosquittoDiffers } from '../helpers/broker.js';
import type { IClientOptions } from 'mqtt';
import { connectMqtt, endMqtt, type TestClient } from '../helpers/mqttjs.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { startConfBroker, writePasswords, type ConfBroker } from './conf-broker.js';
import { tempDir } from './support.js';

const USERS = { alice: 'a', bob: 'b', carol: 'c' };

interface Setup {
  dir: string;
  acl: string;
  passwd: string;
  broker: ConfBroker;
}

async function setup(t: Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void>): void }, acl: string[]): Promise<Setup> {
  const dir = tempDir(t);
  const passwd = join(dir, 'passwd');
  await writePasswords(passwd, USERS);
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, `${acl.join('\n')}\n`);
  const broker = await startConfBroker(t, dir, ['allow_anonymous false', `password_file ${passwd}`, `acl_file ${aclFile}`]);
  return { dir, acl: aclFile, passwd, broker };
}

async function client(t: { after(fn: () => Promise<void>): void }, s: Setup, user: keyof typeof USERS, options: IClientOptions = {}): Promise<TestClient> {
  const c = await connectMqtt(s.broker.url, { username: user, password: USERS[user], ...options });
  t.after(() => endMqtt(c, true));
  return c;
}

/** Session Present of the CONNACK a client got (MQTT.js keeps the packet). */
function sessionPresent(c: TestClient): boolean {
  return (c as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent === true;
}

/** The SUBACK return codes of one SUBSCRIBE. */
async function granted(c: TestClient, filter: string, qos: 0 | 1 = 0): Promise<number[]> {
  const result = await c.subscribeAsync(filter, { qos });
  return result.map((g) => g.qos);
}

test('a will on a topic its client may not write is dropped, the connection accepted (3.1.1 and 5.0); a permitted will is published', async (t) => {
  const s = await setup(t, ['user alice', 'topic readwrite #', 'user bob', 'topic readwrite bob/#']);
  const alice = await client(t, s, 'alice', { clientId: 'alice' });
  await granted(alice, 'control/#');
  await granted(alice, 'bob/#');
  const will = { topic: 'control/reboot', payload: Buffer.from('now'), qos: 1 as const, retain: true };
  const bob = await client(t, s, 'bob', { clientId: 'bob-denied', will });
  const bob5 = await client(t, s, 'bob', { clientId: 'bob-denied-5', protocolVersion: 5, will });
  bob.kill();
  bob5.kill();
  const allowed = await client(t, s, 'bob', { clientId: 'bob-allowed', will: { topic: 'bob/status', payload: Buffer.from('gone'), qos: 1, retain: false } });
  allowed.kill();
  assert.equal((await alice.inbox.next(1))[0]?.topic, 'bob/status');
  await alice.inbox.expectNone(300); // time: the refused wills of two other connections, ended before, are not ordered with this one
  // Nor was the refused will retained.
  const late = await client(t, s, 'alice', { clientId: 'alice-late' });
  await granted(late, 'control/#');
  await late.inbox.expectNoMore();
  if (s.broker.broker !== undefined) assert.match(s.broker.logs(), /will not authorized: dropped.*control\/reboot/);
});

test('a SUBSCRIBE overlapping a deny rule is granted and the denied topic filtered from deliveries, retained ones and # included', async (t) => {
  const s = await setup(t, ['user alice', 'topic readwrite #', 'user bob', 'topic read secret/#', 'topic deny secret/private', 'topic read news/#']);
  const alice = await client(t, s, 'alice', { clientId: 'alice' });
  await alice.publishAsync('secret/private', 'r-private', { qos: 1, retain: true });
  await alice.publishAsync('secret/ok', 'r-ok', { qos: 1, retain: true });
  await alice.publishAsync('news/x', 'r-news', { qos: 1, retain: true });
  const bob = await client(t, s, 'bob', { clientId: 'bob' });
  assert.deepEqual(await granted(bob, 'secret/#', 1), [1], 'granted, as Mosquitto grants it');
  assert.deepEqual((await bob.inbox.next(1)).map((m) => m.payload), ['r-ok']);
  await alice.publishAsync('secret/private', 'live-private', { qos: 1 });
  await alice.publishAsync('secret/ok', 'live-ok', { qos: 1 });
  assert.deepEqual((await bob.inbox.next(1)).map((m) => m.payload), ['live-ok']);
  // A client clearing retained messages subscribes #: it gets every one it may read.
  const sweeper = await client(t, s, 'bob', { clientId: 'bob-sweeper' });
  assert.deepEqual(await granted(sweeper, '#', 1), [1]);
  assert.deepEqual((await sweeper.inbox.next(2)).map((m) => m.payload).sort(), ['r-news', 'r-ok']);
  await sweeper.inbox.expectNoMore();
  await bob.inbox.expectNoMore();
});

test('pattern substitution as Mosquitto 2.0: %c with / substituted as it is; an id with + or # gets nothing from any pattern', async (t) => {
  const s = await setup(t, ['user alice', 'topic readwrite #', 'user bob', 'topic read news/#', 'pattern readwrite devices/%c/#', 'pattern read public/#', 'pattern read users/%u/#']);
  const alice = await client(t, s, 'alice', { clientId: 'alice' });
  const device = await client(t, s, 'bob', { clientId: 'a/b' });
  const plus = await client(t, s, 'bob', { clientId: 'x+y' });
  assert.deepEqual(await granted(device, '#'), [0]);
  assert.deepEqual(await granted(plus, '#'), [0]);
  await alice.subscribeAsync('devices/#');
  await device.publishAsync('devices/a/b/state', 'written by a/b', { qos: 1 });
  assert.deepEqual((await alice.inbox.next(1)).map((m) => m.topic), ['devices/a/b/state'], '%c = a/b: devices/a/b/# is writable');
  assert.deepEqual((await device.inbox.next(1)).map((m) => m.payload), ['written by a/b'], 'and readable');
  for (const topic of ['public/p', 'users/bob/u', 'news/n']) await alice.publishAsync(topic, topic, { qos: 1 });
  assert.deepEqual((await device.inbox.next(3)).map((m) => m.topic), ['public/p', 'users/bob/u', 'news/n']);
  // x+y: its user's own rule (news/#) still applies; no pattern grants it anything.
  assert.deepEqual((await plus.inbox.next(1)).map((m) => m.topic), ['news/n']);
  await plus.inbox.expectNoMore();
});

test('SIGHUP: a read rule removed stops deliveries to a subscriber already subscribed', async (t) => {
  const s = await setup(t, ['user alice', 'topic readwrite #', 'user bob', 'topic read news/#', 'topic read ping/#']);
  const alice = await client(t, s, 'alice', { clientId: 'alice' });
  const bob = await client(t, s, 'bob', { clientId: 'bob' });
  await granted(bob, 'news/#');
  await granted(bob, 'ping/#');
  await alice.publishAsync('news/a', 'before', { qos: 1 });
  assert.equal((await bob.inbox.next(1))[0]?.payload, 'before');
  writeFileSync(s.acl, 'user alice\ntopic readwrite #\nuser bob\ntopic read ping/#\n');
  await s.broker.reload();
  await alice.publishAsync('news/a', 'after', { qos: 1 });
  await alice.publishAsync('ping/x', 'sentinel', { qos: 1 });
  assert.deepEqual((await bob.inbox.next(1)).map((m) => m.payload), ['sentinel'], 'news/a is no longer readable');
  await bob.inbox.expectNoMore();
});

test('SIGHUP: a client whose user is removed from the password file, or whose password changed, is disconnected', mosquittoDiffers('Mosquitto 2.0.11 keeps delivering to them'), async (t) => {
  const s = await setup(t, ['user alice', 'topic readwrite #', 'user bob', 'topic read #', 'user carol', 'topic read #']);
  const alice = await client(t, s, 'alice', { clientId: 'alice' });
  const bob = await client(t, s, 'bob', { clientId: 'bob', protocolVersion: 5 });
  const carol = await client(t, s, 'carol', { clientId: 'carol' });
  await granted(bob, 'news/#');
  await granted(carol, 'news/#');
  const disconnectReason = new Promise<number | undefined>((resolve) => bob.once('disconnect', (packet) => resolve(packet.reasonCode)));
  await writePasswords(s.passwd, { alice: 'a', carol: 'changed' });
  await s.broker.reload();
  assert.equal(await withTimeout(disconnectReason, 3000, 'bob disconnected'), 0x87, '5.0: DISCONNECT Not authorized');
  await waitFor(() => !carol.connected, 3000, 'carol disconnected (password changed)');
  assert.ok(alice.connected, 'alice (unchanged) stays');
  await alice.publishAsync('news/x', 'after', { qos: 1 });
  assert.equal(bob.connected, false, 'bob stays disconnected: nothing more reaches him');
  assert.match(s.broker.logs(), /user removed from the password file \(reload\)/);
});

test('a persistent session is resumed only by the user who made it: another user gets a fresh one (session present 0), logged', mosquittoDiffers('Mosquitto 2.0.11 resumes it'), async (t) => {
  const s = await setup(t, ['user alice', 'topic readwrite #', 'user bob', 'topic readwrite #']);
  const owner = await client(t, s, 'alice', { clientId: 'shared-id', clean: false });
  await granted(owner, 'inbox/#', 1);
  await endMqtt(owner);
  const publisher = await client(t, s, 'alice', { clientId: 'publisher' });
  await publisher.publishAsync('inbox/1', 'for alice', { qos: 1 });
  const intruder = await client(t, s, 'bob', { clientId: 'shared-id', clean: false });
  assert.equal(sessionPresent(intruder), false);
  await intruder.inbox.expectNoMore();
  assert.match(s.broker.logs(), /session made by another user: starting a fresh session/);
  await endMqtt(intruder);
  // The same user resumes its own session.
  const again = await client(t, s, 'bob', { clientId: 'shared-id', clean: false });
  assert.equal(sessionPresent(again), true);
});
