// Mosquitto 2.0 directives, each checked by its effect on real clients. The same mosquitto.conf
// text is given to Cicada (through its configuration reader) and, with
// CICADA_TEST_BROKER=mosquitto, to Debian's Mosquitto, so each test also checks that the
// directive keeps Mosquitto's meaning (zero values included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { createBroker } from '../../src/index.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { brokerKind, cicadaOnly, freePort, mosquittoDiffers } from '../helpers/broker.js';
import { connectMqtt, endMqtt, type TestClient } from '../helpers/mqttjs.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { capture, makePki, tempDir } from '../security/support.js';

interface Running {
  /** mqtt://127.0.0.1:PORT of the n-th listener line. */
  url: (n?: number) => string;
  logs: () => string;
}

type T = { after(fn: () => unknown): void };

/** Start the broker under test with `listener PORT 127.0.0.1` per entry of `sections`, each followed by its lines. */
async function startWithConf(t: T, global: string[], sections: string[][] = [[]]): Promise<Running> {
  const dir = tempDir(t, 'cicada-dir-');
  const ports: number[] = [];
  for (let i = 0; i < sections.length; i++) ports.push(await freePort());
  const text = [
    'allow_anonymous true',
    'persistence false',
    'sys_interval 0',
    ...global,
    ...sections.flatMap((lines, i) => [`listener ${ports[i]} 127.0.0.1`, ...lines]),
    '',
  ].join('\n');
  const file = join(dir, 'm.conf');
  writeFileSync(file, text);
  const url = (n = 0): string => `mqtt://127.0.0.1:${ports[n]}`;
  if (brokerKind === 'mosquitto') {
    const child = spawn('mosquitto', ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    t.after(() => child.kill('SIGKILL'));
    await waitFor(async () => (await tcpOpen(ports[0] as number)) || child.exitCode !== null, 5000, 'mosquitto start');
    assert.equal(child.exitCode, null, output);
    return { url, logs: () => output };
  }
  const lines: string[] = [];
  const broker = createBroker(loadConfigText(text, file).options, capture(lines));
  await withTimeout(broker.listen(), 5000, 'cicada listen');
  t.after(() => withTimeout(broker.close(), 5000, 'cicada close'));
  return { url, logs: () => lines.join('\n') };
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function client(t: T, url: string, options: IClientOptions): Promise<TestClient> {
  const c = await connectMqtt(url, options);
  t.after(() => endMqtt(c));
  return c;
}

async function connackCode(url: string, options: IClientOptions): Promise<number | undefined> {
  try {
    await endMqtt(await connectMqtt(url, options));
    return 0;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

/** A persistent session that subscribes, goes away, and comes back to collect what was queued. */
async function offlineSession(t: T, url: string, filter: string, qos: 0 | 1 | 2, whileAway: () => Promise<void>): Promise<TestClient> {
  const away = await connectMqtt(url, { clientId: 'offline-1', clean: false });
  await away.subscribeAsync(filter, { qos });
  await endMqtt(away);
  await whileAway();
  return client(t, url, { clientId: 'offline-1', clean: false });
}

test('max_queued_messages 0 means no limit, as in Mosquitto (1,500 queued QoS 1 messages all delivered) [MQTT-3.1.2-5]', async (t) => {
  const { url } = await startWithConf(t, ['max_queued_messages 0']);
  const back = await offlineSession(t, url(), 'q/#', 1, async () => {
    const pub = await client(t, url(), { clientId: 'pub' });
    for (let i = 0; i < 1500; i++) pub.publish('q/t', String(i), { qos: 1 });
    await pub.publishAsync('q/t', 'last', { qos: 1 });
  });
  const got = await back.inbox.next(1501, 15_000);
  assert.equal(got.at(-1)?.payload, 'last');
});

test('max_inflight_messages 0 means no maximum: a 5.0 client is offered the largest Receive Maximum', async (t) => {
  const { url } = await startWithConf(t, ['max_inflight_messages 0']);
  const c = await client(t, url(), { protocolVersion: 5, clientId: 'rm' });
  const props = (c as unknown as { connackPacket?: { properties?: { receiveMaximum?: number; maximumPacketSize?: number } } }).connackPacket?.properties;
  // An absent Receive Maximum means 65535.
  assert.ok(props?.receiveMaximum === undefined || props.receiveMaximum === 65535, JSON.stringify(props));
});

test('max_connections 0 and -1 mean no limit, as in Mosquitto', async (t) => {
  const { url } = await startWithConf(t, [], [['max_connections 0'], ['max_connections -1']]);
  for (const n of [0, 1]) {
    await client(t, url(n), { clientId: `mc-${n}-a` });
    await client(t, url(n), { clientId: `mc-${n}-b` });
  }
});

test('upgrade_outgoing_qos true: a QoS 0 message reaches a QoS 2 subscriber at QoS 2', async (t) => {
  const { url } = await startWithConf(t, ['upgrade_outgoing_qos true']);
  const sub = await client(t, url(), { clientId: 'up-sub' });
  await sub.subscribeAsync('up/t', { qos: 2 });
  const pub = await client(t, url(), { clientId: 'up-pub' });
  await pub.publishAsync('up/t', 'x', { qos: 0 });
  assert.equal((await sub.inbox.next(1))[0]?.qos, 2);
});

test('queue_qos0_messages true: QoS 0 messages wait for a disconnected persistent session', async (t) => {
  const { url } = await startWithConf(t, ['queue_qos0_messages true']);
  const back = await offlineSession(t, url(), 'q0/#', 0, async () => {
    const pub = await client(t, url(), { clientId: 'q0-pub' });
    await pub.publishAsync('q0/t', 'kept', { qos: 0 });
    await pub.publishAsync('q0/sync', 'sync', { qos: 1 }); // QoS 1 after it: the broker has routed the first
  });
  const got = await back.inbox.next(2);
  assert.deepEqual(got.map((m) => [m.topic, m.payload, m.qos]), [['q0/t', 'kept', 0], ['q0/sync', 'sync', 0]]);
});

test('queue_qos0_messages false (default): QoS 0 messages to a disconnected session are not kept', async (t) => {
  const { url } = await startWithConf(t, []);
  const back = await offlineSession(t, url(), 'q0/#', 1, async () => {
    const pub = await client(t, url(), { clientId: 'q0-pub' });
    await pub.publishAsync('q0/t', 'lost', { qos: 0 });
    await pub.publishAsync('q0/sync', 'sync', { qos: 1 });
  });
  assert.deepEqual((await back.inbox.next(1)).map((m) => m.payload), ['sync']);
});

test('max_qos 1 on a listener: 5.0 CONNACK Maximum QoS 1, SUBSCRIBE granted QoS 1, a QoS 2 PUBLISH disconnects (0x9B)', async (t) => {
  const { url } = await startWithConf(t, [], [['max_qos 1']]);
  const c = await client(t, url(), { protocolVersion: 5, clientId: 'mq' });
  const props = (c as unknown as { connackPacket?: { properties?: { maximumQoS?: number } } }).connackPacket?.properties;
  assert.equal(props?.maximumQoS, 1);
  const granted = await c.subscribeAsync('mq/t', { qos: 2 });
  assert.equal(granted[0]?.qos, 1);
  const closed = new Promise<number | undefined>((resolve) => c.once('disconnect', (packet) => resolve(packet.reasonCode)));
  c.publish('mq/t', 'too high', { qos: 2 });
  assert.equal(await withTimeout(closed, 3000, 'DISCONNECT'), 0x9b);
});

test('max_topic_alias 3 on a listener: announced in CONNACK', async (t) => {
  const { url } = await startWithConf(t, [], [['max_topic_alias 3']]);
  const c = await client(t, url(), { protocolVersion: 5, clientId: 'ta' });
  const props = (c as unknown as { connackPacket?: { properties?: { topicAliasMaximum?: number } } }).connackPacket?.properties;
  assert.equal(props?.topicAliasMaximum, 3);
});

test('mount_point: a listener\'s clients live under its prefix and see topics without it', mosquittoDiffers('2.0.11 sends the mounted topic (tenant/a/b) against its manual: "This prefix is removed when any messages are sent to the client"'), async (t) => {
  const { url } = await startWithConf(t, [], [[], ['mount_point tenant/']]);
  const outside = await client(t, url(0), { clientId: 'outside' });
  await outside.subscribeAsync('#', { qos: 1 });
  const inside = await client(t, url(1), { clientId: 'inside' });
  await inside.subscribeAsync('a/#', { qos: 1 });
  await outside.publishAsync('tenant/a/b', 'down', { qos: 1 });
  await outside.publishAsync('a/b', 'not for tenants', { qos: 1 });
  await inside.publishAsync('up', 'from inside', { qos: 1 });
  assert.deepEqual((await inside.inbox.next(1)).map((m) => [m.topic, m.payload]), [['a/b', 'down']]);
  const seen = await outside.inbox.next(3);
  assert.deepEqual(seen.map((m) => m.topic).sort(), ['a/b', 'tenant/a/b', 'tenant/up']);
  await inside.publishAsync('a/sync', 'sync', { qos: 1 });
  assert.deepEqual((await inside.inbox.next(1)).map((m) => m.topic), ['a/sync'], 'a/b from outside the mount point never arrived');
});

test('clientid_prefixes: only client ids with the prefix may connect (3.1.1: not authorized)', async (t) => {
  const { url } = await startWithConf(t, ['clientid_prefixes dev-']);
  assert.equal(await connackCode(url(), { clientId: 'dev-1' }), 0);
  assert.equal(await connackCode(url(), { clientId: 'other' }), 5);
});

test('use_username_as_clientid: the user name is the client id (a second connection takes over), none is refused', async (t) => {
  const { url } = await startWithConf(t, [], [['use_username_as_clientid true']]);
  const first = await client(t, url(), { clientId: 'a', username: 'u1' });
  const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
  await client(t, url(), { clientId: 'b', username: 'u1' });
  await withTimeout(closed, 3000, 'the first connection taken over');
  assert.equal(await connackCode(url(), { clientId: 'c' }), 5);
});

test('auto_id_prefix: an assigned client id starts with it [MQTT-3.2.2-16]', async (t) => {
  const { url } = await startWithConf(t, ['auto_id_prefix gen-']);
  const c = await client(t, url(), { protocolVersion: 5, clientId: '' });
  const props = (c as unknown as { connackPacket?: { properties?: { assignedClientIdentifier?: string } } }).connackPacket?.properties;
  assert.match(props?.assignedClientIdentifier ?? '', /^gen-([0-9a-f]{32}|[0-9A-F-]{36})$/);
});

test('memory_limit: past it a PUBLISH disconnects its client, as Mosquitto does', cicadaOnly('Mosquitto refuses allocations, not packets'), async (t) => {
  const { url } = await startWithConf(t, ['memory_limit 1']);
  const c = await client(t, url(), { protocolVersion: 5, clientId: 'mem' });
  const closed = new Promise<number | undefined>((resolve) => c.once('disconnect', (packet) => resolve(packet.reasonCode)));
  await waitFor(async () => {
    c.publish('m/t', 'x', { qos: 0 });
    return c.disconnected || !c.connected;
  }, 3000, 'the sweep saw the limit');
  assert.equal(await withTimeout(closed, 3000, 'DISCONNECT'), 0x97);
});

test('crlfile: a revoked client certificate is refused at the TLS handshake, others connect', async (t) => {
  const dir = tempDir(t, 'cicada-crl-');
  const pki = makePki(dir, ['alice', 'bob']);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n');
  const ca = ['ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem'];
  execFileSync('openssl', [...ca, '-revoke', 'client-bob.pem'], { cwd: dir, stdio: 'pipe' });
  execFileSync('openssl', [...ca, '-gencrl', '-out', 'crl.pem'], { cwd: dir, stdio: 'pipe' });
  // Mosquitto started as root reads its files as the mosquitto user.
  if (brokerKind === 'mosquitto') for (const path of [dir, pki.serverKey]) chmodSync(path, 0o755);
  const { url } = await startWithConf(t, [], [[`cafile ${pki.ca}`, `certfile ${pki.serverCert}`, `keyfile ${pki.serverKey}`, 'require_certificate true', `crlfile ${join(dir, 'crl.pem')}`]]);
  const tls = (cn: string): IClientOptions => ({ ca: readFileSync(pki.ca), cert: readFileSync(pki.client(cn).cert), key: readFileSync(pki.client(cn).key), servername: 'localhost' });
  const secure = url().replace('mqtt://', 'mqtts://');
  await client(t, secure, { clientId: 'alice', ...tls('alice') });
  await assert.rejects(connectMqtt(secure, { clientId: 'bob', ...tls('bob') }));
});
