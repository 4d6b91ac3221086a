// password_file written by Debian's mosquitto_passwd, acl_file in Mosquitto's syntax with
// patterns, anonymous defaults and the loud warning, and reloading both files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Acl, filtersOverlap, filterWithin } from '../../src/auth/acl.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { runProcess } from '../helpers/processes.js';
import { pubackCode, refusedCode, startCicada, tempDir } from './support.js';

async function passwordFile(dir: string, users: Record<string, string>): Promise<string> {
  const file = join(dir, 'passwd');
  writeFileSync(file, '');
  for (const [user, password] of Object.entries(users)) {
    const result = await runProcess('mosquitto_passwd', ['-b', file, user, password], 10_000);
    assert.equal(result.code, 0, result.stderr);
  }
  return file;
}

test('password_file written by mosquitto_passwd -b: right password in, wrong password and unknown users out; reload picks up changes', async (t) => {
  const dir = tempDir(t);
  const file = await passwordFile(dir, { alice: 's3cret', bob: 'hunter2' });
  const { broker, url } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], security: { passwordFile: file } });
  await endMqtt(await connectMqtt(url(), { username: 'alice', password: 's3cret' }));
  await endMqtt(await connectMqtt(url(), { username: 'bob', password: 'hunter2', protocolVersion: 5 }));
  assert.equal(await refusedCode(url(), { username: 'alice', password: 'wrong' }), 4, '3.1.1: bad user name or password');
  assert.equal(await refusedCode(url(), { username: 'alice', password: 'wrong', protocolVersion: 5 }), 0x86);
  assert.equal(await refusedCode(url(), { username: 'mallory', password: 'x' }), 4);
  assert.equal(await refusedCode(url(), {}), 5, 'a password file means no anonymous access by default (not authorized)');
  // SIGHUP (broker.reload): a user added by mosquitto_passwd gets in, a deleted one does not.
  await runProcess('mosquitto_passwd', ['-b', file, 'carol', 'pw'], 10_000);
  await runProcess('mosquitto_passwd', ['-D', file, 'bob'], 10_000);
  assert.equal(await refusedCode(url(), { username: 'carol', password: 'pw' }), 4, 'not before the reload');
  broker.reload();
  await endMqtt(await connectMqtt(url(), { username: 'carol', password: 'pw' }));
  assert.equal(await refusedCode(url(), { username: 'bob', password: 'hunter2' }), 4);
});

test('ACL rules: sections, access kinds, deny first, patterns with %c and %u, $ topics', () => {
  const acl = Acl.parse(
    [
      '# anonymous clients',
      'topic read public/#',
      '',
      'user alice',
      'topic readwrite alice/#',
      'topic deny alice/secret',
      'topic write sensors/+/data',
      'topic read $SYS/#',
      'user bob',
      'topic bob only',
      'pattern read users/%u/inbox/#',
      'pattern write clients/%c/status',
    ].join('\n'),
    'acl',
  );
  const anon = { clientId: 'a1', username: undefined, remoteAddress: '' };
  const alice = { clientId: 'c1', username: 'alice', remoteAddress: '' };
  const bob = { clientId: 'b/1', username: 'bob', remoteAddress: '' };
  assert.equal(acl.canRead(anon, 'public/news'), true);
  assert.equal(acl.canWrite(anon, 'public/news'), false);
  assert.equal(acl.canRead(alice, 'public/news'), false, 'the anonymous section is for anonymous clients only');
  assert.equal(acl.canWrite(alice, 'alice/x/y'), true);
  assert.equal(acl.canRead(alice, 'alice/secret'), false, 'deny wins');
  assert.equal(acl.canWrite(alice, 'sensors/1/data'), true);
  assert.equal(acl.canRead(alice, 'sensors/1/data'), false, 'write-only');
  assert.equal(acl.canRead(alice, '$SYS/broker/uptime'), true);
  assert.equal(acl.canRead(bob, 'bob only'), true, 'topics may contain spaces');
  assert.equal(acl.canRead(alice, 'users/alice/inbox/1'), true, '%u');
  assert.equal(acl.canRead(bob, 'users/alice/inbox/1'), false);
  assert.equal(acl.canWrite(alice, 'clients/c1/status'), true, '%c');
  assert.equal(acl.canWrite(bob, 'clients/b/1/status'), true, 'a client id with / is substituted as it is (Mosquitto 2.0)');
  assert.equal(acl.canWrite({ ...alice, clientId: '+' }, 'clients/+/status'), false, 'an id with a wildcard gets nothing from patterns');
  assert.equal(acl.canRead({ ...alice, clientId: 'c#' }, 'users/alice/inbox/1'), false, 'from any pattern');
  // Subscriptions: granted when some topic they match is readable (deliveries are filtered).
  assert.equal(acl.canSubscribe(alice, 'alice/x/#'), true);
  assert.equal(acl.canSubscribe(alice, 'alice/#'), true, 'overlapping the deny rule: granted, alice/secret filtered at delivery');
  assert.equal(acl.canSubscribe(alice, '#'), true);
  assert.equal(acl.canSubscribe(alice, 'alice/secret'), false, 'within a deny rule: nothing to read');
  assert.equal(acl.canSubscribe(alice, 'bob/#'), false, 'no read rule overlaps it');
  assert.equal(acl.canSubscribe(alice, 'sensors/1/data'), false, 'write-only');
  assert.equal(acl.canSubscribe(alice, '$share/g/alice/x/+'), true, 'a shared subscription is checked by its filter');
  assert.equal(acl.canSubscribe(anon, 'public/+/x'), true);
  assert.equal(filterWithin('a', 'a/#'), true);
  assert.equal(filterWithin('$SYS/x', '#'), false);
  assert.equal(filterWithin('a/#', 'a/+'), false);
  assert.equal(filtersOverlap('a/+', 'a/b/#'), true);
  assert.equal(filtersOverlap('+/x', '$SYS/x'), false);
  assert.throws(() => Acl.parse('topic read a\nallow all', 'my.acl'), /^AclError: my\.acl:2: allow: unknown keyword/);
  assert.throws(() => Acl.parse('user', 'my.acl'), /my\.acl:1: user: expects a user name/);
});

test('ACL deny rules never fail open: a deny pattern wins over a user grant, a wildcard in a substituted value only widens a deny', () => {
  const acl = Acl.parse(['user bob', 'topic read news/#', 'pattern deny news/denied/%c', 'pattern deny inbox/%u/#', 'pattern read inbox/#'].join('\n'), 'acl');
  const bob = { clientId: 'b1', username: 'bob', remoteAddress: '' };
  assert.equal(acl.canRead(bob, 'news/denied/b1'), false, 'Mosquitto 2.0 checks the user grant first and allows it');
  assert.equal(acl.canRead(bob, 'news/denied/other'), true);
  assert.equal(acl.canRead({ ...bob, clientId: '#' }, 'news/denied/x/y'), false, 'id # widens the deny');
  assert.equal(acl.canRead({ ...bob, clientId: 'a/b' }, 'news/denied/a/b'), false, 'id a/b substituted as it is');
  assert.equal(acl.canRead(bob, 'inbox/bob/1'), false);
  assert.equal(acl.canRead(bob, 'inbox/carol/1'), true);
  assert.equal(acl.canRead({ clientId: 'anon', username: undefined, remoteAddress: '' }, 'inbox/x'), true, 'anonymous: the patterns without %u apply');
  assert.equal(acl.canSubscribe(bob, 'news/denied/b1'), false, 'within a deny pattern');
  assert.equal(acl.canSubscribe(bob, 'news/denied/+'), true);
});

test('acl_file live: denied SUBSCRIBE is 0x80 (3.1.1) / 0x87 (5.0), denied PUBLISH dropped (3.1.1) / PUBACK 0x87 (5.0)', async (t) => {
  const dir = tempDir(t);
  const file = await passwordFile(dir, { alice: 'a', bob: 'b' });
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, 'user alice\ntopic readwrite #\nuser bob\ntopic read news/#\ntopic deny news/private\npattern readwrite own/%u/#\n');
  const { broker, url, logs } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], security: { passwordFile: file, aclFile } });
  const alice = await connectMqtt(url(), { username: 'alice', password: 'a', protocolVersion: 5 });
  t.after(() => endMqtt(alice));
  await alice.publishAsync('news/private', 'secret', { qos: 1, retain: true });
  await alice.publishAsync('news/public', 'hello', { qos: 1, retain: true });
  const bob = await connectMqtt(url(), { username: 'bob', password: 'b', clientId: 'bob' });
  t.after(() => endMqtt(bob));
  // # overlaps bob's read rule: granted, and the denied retained message is filtered out.
  await bob.subscribeAsync('#');
  assert.equal((await bob.inbox.next(1))[0]?.payload, 'hello');
  await bob.unsubscribeAsync('#');
  await bob.subscribeAsync('news/public');
  assert.equal((await bob.inbox.next(1))[0]?.payload, 'hello');
  await bob.subscribeAsync('own/bob/#');
  // 3.1.1: a denied publish is acknowledged and dropped.
  await alice.subscribeAsync('news/#');
  assert.deepEqual((await alice.inbox.next(2)).map((m) => m.topic).sort(), ['news/private', 'news/public'], 'retained');
  await bob.publishAsync('news/public', 'from bob', { qos: 1 });
  await bob.publishAsync('own/bob/x', 'mine', { qos: 1 });
  assert.equal((await bob.inbox.next(1))[0]?.payload, 'mine');
  await alice.inbox.expectNoMore();
  assert.ok(logs.some((l) => l.includes('publish not authorized')));
  // 5.0: SUBACK 0x87 and PUBACK 0x87.
  const bob5 = await connectMqtt(url(), { username: 'bob', password: 'b', clientId: 'bob5', protocolVersion: 5 });
  t.after(() => endMqtt(bob5));
  const suback = await new Promise<number[]>((resolve) => {
    bob5.on('packetreceive', (packet) => {
      if (packet.cmd === 'suback') resolve(packet.granted as number[]);
    });
    bob5.subscribe('alice/#', () => undefined);
  });
  assert.deepEqual(suback, [0x87]);
  const puback = await pubackCode(bob5, 'news/public', 'no');
  assert.equal(puback, 0x87);
  assert.ok(broker.stats.messagesReceived >= 4);
});

test('anonymous access: allowed on loopback by default, refused elsewhere by default, a loud warning when allowed off loopback', async (t) => {
  const open = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], security: {} });
  await endMqtt(await connectMqtt(open.url()));
  assert.ok(!open.logs.some((l) => l.includes('SECURITY WARNING')));
  const exposed = await startCicada(t, { listeners: [{ port: 0, host: '0.0.0.0' }], security: {} });
  const port = new URL(exposed.url()).port;
  assert.equal(await refusedCode(`mqtt://127.0.0.1:${port}`, {}), 5, 'not loopback: anonymous refused by default');
  const allowed = await startCicada(t, { listeners: [{ port: 0, host: '0.0.0.0' }], security: { allowAnonymous: true } });
  assert.ok(allowed.logs.some((l) => l.startsWith('warn SECURITY WARNING: anonymous clients are allowed on mqtt:0')), allowed.logs.join('\n'));
  await endMqtt(await connectMqtt(`mqtt://127.0.0.1:${new URL(allowed.url()).port}`));
  // The embeddable API without any security settings accepts everyone: loud off loopback too.
  const bare = await startCicada(t, { host: '0.0.0.0', port: 0 });
  assert.ok(bare.logs.some((l) => l.startsWith('warn SECURITY WARNING: anonymous clients are allowed on mqtt:0')));
  const local = await startCicada(t, { host: '127.0.0.1', port: 0 });
  assert.ok(!local.logs.some((l) => l.includes('SECURITY WARNING')));
});

test('per_listener_settings: each listener has its own password file and anonymous setting', async (t) => {
  const dir = tempDir(t);
  const file = await passwordFile(dir, { alice: 'a' });
  const { url } = await startCicada(t, {
    perListenerSettings: true,
    listeners: [
      { port: 0, host: '127.0.0.1', security: { allowAnonymous: true } },
      { port: 0, host: '127.0.0.1', security: { passwordFile: file } },
    ],
  });
  await endMqtt(await connectMqtt(url(0)));
  assert.equal(await refusedCode(url(1), {}), 5);
  await endMqtt(await connectMqtt(url(1), { username: 'alice', password: 'a' }));
  appendFileSync(file, '');
});
