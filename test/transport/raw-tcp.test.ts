// Plain TCP on libuv's handle (src/transport/raw-tcp.ts) behaves as net.Socket did: half-close,
// reset, IPv6, the last bytes before a close, and the net.Socket fallback (CICADA_NET_SOCKETS=1)
// still serving real clients. The rest of the suite runs over this transport too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cicadaOnly, freePort, startBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { connack, connect, hex, pingreq } from '../helpers/packets.js';
import { rawClient, rawConnect } from '../helpers/raw.js';
import { runProcess, spawnProcess, START_TIMEOUT_MS } from '../helpers/processes.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { createBroker } from '../../src/index.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

/** Everything a plain socket receives until the broker closes it. */
function readUntilClose(socket: net.Socket): Promise<{ bytes: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let ended = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('end', () => (ended = true));
  socket.on('error', () => undefined);
  return withTimeout(
    new Promise((resolve) => socket.once('close', () => resolve({ bytes: Buffer.concat(chunks), ended }))),
    5000,
    'broker closes the connection',
  );
}

test('plain TCP listeners run on the raw TCP handle; a client that half-closes right after CONNECT gets its CONNACK, and its will is published [MQTT-3.1.2-8]', cicadaOnly('raw TCP transport'), async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  assert.match(broker.logs(), /listening on mqtt:\/\/127\.0\.0\.1:\d+ .*"transport":"raw-tcp"/);
  const watcher = await connectMqtt(broker.url, { clientId: 'watcher' });
  t.after(() => endMqtt(watcher));
  await watcher.subscribeAsync('raw/will', { qos: 1 });

  const socket = net.connect(broker.port, '127.0.0.1');
  const received = readUntilClose(socket);
  // CONNECT and FIN in one go: the broker must read the packet, answer, then close its side.
  socket.end(connect({ clientId: 'half', will: { topic: 'raw/will', payload: 'gone', qos: 1 } }));
  const { bytes, ended } = await received;
  assert.equal(bytes.toString('hex'), connack(0).toString('hex'));
  assert.ok(ended, 'the broker sent FIN after the CONNACK');
  const [will] = await watcher.inbox.next(1);
  assert.equal(will?.payload, 'gone');
});

test('a client reset (RST) closes only that connection: its will is published and other clients go on [MQTT-3.1.2-8]', cicadaOnly('raw TCP transport'), async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const watcher = await connectMqtt(broker.url, { clientId: 'watcher' });
  t.after(() => endMqtt(watcher));
  await watcher.subscribeAsync('raw/#', { qos: 1 });
  const victim = await rawConnect(broker.port, { clientId: 'reset', will: { topic: 'raw/will', payload: 'reset', qos: 1 } });
  victim.socket.resetAndDestroy();
  const [will] = await watcher.inbox.next(1);
  assert.equal(will?.topic, 'raw/will');
  assert.equal(will?.payload, 'reset');
  await watcher.publishAsync('raw/after', 'still here', { qos: 1 });
  const [after] = await watcher.inbox.next(1);
  assert.equal(after?.payload, 'still here');
  assert.equal(broker.broker?.stats.clientsConnected, 1);
});

test('the broker closing a connection sends its last packet before FIN: 5.0 DISCONNECT 0x82 on a second CONNECT [MQTT-3.1.0-2]', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const client = await rawClient(broker.port);
  // 5.0 CONNECT, clean start, keepalive 60, no properties, client id "twice".
  const connect5 = hex('10 12 0004 4d515454 05 02 003c 00 0005 7477696365');
  client.send(connect5);
  const connack5 = await client.readPacket();
  assert.equal(connack5.type, 2);
  const received = readUntilClose(client.socket);
  client.send(connect5);
  const { bytes, ended } = await received;
  // DISCONNECT (0xe0), reason 0x82 Protocol Error: the bytes arrived, then the FIN.
  assert.equal(bytes[0], 0xe0);
  assert.equal(bytes[2], 0x82);
  assert.ok(ended);
});

test('a subscriber that does not read is held back by the kernel, not dropped: 20,000 QoS 1 messages arrive in order once it reads', async (t) => {
  const broker = await startBroker({ maxQueuedMessages: 100_000 });
  t.after(() => broker.close());
  const slow = await connectMqtt(broker.url, { clientId: 'slow' });
  t.after(() => endMqtt(slow));
  await slow.subscribeAsync('raw/flood', { qos: 1 });
  const stream = (slow as unknown as { stream: net.Socket }).stream;
  stream.pause();
  const publisher = await connectMqtt(broker.url, { clientId: 'flood' });
  t.after(() => endMqtt(publisher));
  const payload = 'x'.repeat(1000);
  for (let i = 0; i < 20_000; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => publisher.publishAsync('raw/flood', `${i + j}:${payload}`, { qos: 1 })));
  }
  stream.resume();
  const got = await slow.inbox.next(20_000, 20_000);
  assert.deepEqual(
    got.map((m) => Number(m.payload.split(':')[0])),
    Array.from({ length: 20_000 }, (_, i) => i),
  );
});

test('IPv6: a listener on ::1 serves MQTT.js and logs the client address', cicadaOnly('raw TCP transport'), async (t) => {
  const broker = await startBroker({ host: '::1' });
  t.after(() => broker.close());
  const url = `mqtt://[::1]:${broker.port}`;
  const client = await connectMqtt(url, { clientId: 'six' });
  t.after(() => endMqtt(client));
  await client.subscribeAsync('raw/six', { qos: 1 });
  await client.publishAsync('raw/six', 'over v6', { qos: 1 });
  const [message] = await client.inbox.next(1);
  assert.equal(message?.payload, 'over v6');
  assert.match(broker.logs(), /client connected .*"remote":"::1:\d+"/);
});

test('CICADA_NET_SOCKETS=1 puts plain TCP on net.Socket, which serves mosquitto_pub and mosquitto_sub alike', cicadaOnly('raw TCP transport'), async (t) => {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'cicada-cwd-')); // its ./data, not the repository's
  const cicada = spawnProcess('env', ['CICADA_NET_SOCKETS=1', process.execPath, BIN, 'broker', '-p', String(port)], { cwd });
  t.after(() => cicada.kill('SIGKILL'));
  await cicada.waitForOutput('"transport":"stream"', START_TIMEOUT_MS);
  const sub = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'net/t', '-C', '1', '-W', '5']);
  for (let i = 0; i < 20 && sub.running; i++) {
    await runProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'net/t', '-m', 'via net'], 5000);
    await waitFor(() => !sub.running, 100, 'mosquitto_sub got the message').catch(() => undefined); // else publish again
  }
  assert.equal((await sub.exit(5000)).stdout.trim(), 'via net');
});

test('the warm-up checks the raw TCP handle by its traffic: when it delivers short there (CICADA_RAW_TCP_FAULT=drop-reads), plain TCP falls back to net.Server for the run and the log says why', cicadaOnly('raw TCP transport'), async (t) => {
  const port = await freePort();
  const cicada = spawnProcess('env', ['CICADA_RAW_TCP_FAULT=drop-reads', process.execPath, BIN, 'broker', '-p', String(port)]);
  t.after(() => cicada.kill('SIGKILL'));
  await cicada.waitForOutput('"transport":"stream"', 30_000);
  const lines = cicada.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; why?: string; messages?: number });
  const fallback = lines.find((l) => l.msg.startsWith('plain TCP falls back to net.Server'));
  assert.equal(fallback?.why, 'delivered only 0 of 600 messages', 'the log says why');
  assert.ok(lines.some((l) => l.msg === 'check of the raw TCP handle delivered only 0 of 600 messages'), 'a short warm-up is checked again, unhurried, before the fallback');
  const client = await connectMqtt(`mqtt://127.0.0.1:${port}`);
  t.after(() => endMqtt(client));
  await client.subscribeAsync('fallback/t', { qos: 1 });
  await runProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'fallback/t', '-q', '1', '-m', 'via net'], 5000);
  assert.deepEqual((await client.inbox.next(1)).map((m) => m.payload), ['via net']);
});

test('a reset while the connection is paused (CONNECT waiting for a slow authenticate hook, input backlog full) closes it at once: the late yes of the hook connects no one', cicadaOnly('hook'), async (t) => {
  const events: string[] = [];
  // The hook says yes only when the test lets it, after the reset was handled.
  let allow: (yes: boolean) => void = () => undefined;
  const decision = new Promise<boolean>((resolve) => (allow = resolve));
  const broker = await startBroker({
    authenticate: (info) => {
      events.push(`auth ${info.clientId}`);
      return decision;
    },
  });
  t.after(() => broker.close());
  broker.broker?.on('clientConnected', (c) => events.push(`connected ${c.clientId}`));
  // The open connections of the core (a private field: no public API counts connections before CONNECT).
  const channels = (broker.broker as unknown as { core: { channels: Set<unknown> } }).core.channels;
  const socket = net.connect(broker.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  // 300 PINGREQs behind the CONNECT fill the backlog kept while the hook runs: input is paused.
  socket.write(Buffer.concat([connect({ clientId: 'gone' }), ...Array.from({ length: 300 }, () => pingreq())]));
  await waitFor(() => events.length === 1 && channels.size === 1, 5000, 'the hook was called');
  socket.resetAndDestroy();
  await waitFor(() => channels.size === 0, 5000, 'the reset closed the paused connection while its hook was pending');
  allow(true);
  await decision;
  await new Promise((resolve) => setImmediate(resolve)); // the core's handling of the answer has run
  assert.deepEqual(events, ['auth gone']);
  assert.equal(broker.broker?.stats.clientsConnected, 0);
});

test('a port outside 0-65535 is refused with the message net gives (the handle would take it modulo 65536)', cicadaOnly('embedded API'), async () => {
  for (const port of [70_000, -1]) {
    const broker = createBroker({ host: '127.0.0.1', port, sysInterval: 0, logLevel: 'silent' });
    try {
      await assert.rejects(broker.listen(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: options\\.port should be >= 0 and < 65536`));
    } finally {
      await broker.close(); // had it listened (on the port modulo 65536), the test must still end
    }
  }
});
