// The client library against Cicada (in process) and Debian's Mosquitto: QoS flows, subscribe
// results, typed errors, both message interfaces, will, topic aliases, TLS, WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { connect, ConnectionRefusedError, ConnectionClosedError, InvalidArgumentError, type Message, type MqttClient } from '../../src/client/index.js';
import { clientGone, startBroker } from '../helpers/broker.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { makeCerts, startMosquitto, tempDir } from './support.js';

async function take(client: MqttClient, n: number, ms = 5000): Promise<Message[]> {
  const out: Message[] = [];
  const it = client.messages();
  await withTimeout(
    (async () => {
      for await (const m of it) {
        out.push(m);
        if (out.length === n) break;
      }
    })(),
    ms,
    `${n} messages`,
  );
  return out;
}

for (const protocolVersion of [3, 4, 5] as const) {
  test(`v${protocolVersion}: publish at QoS 0/1/2 resolves after its flow; subscriber gets each once, in order [MQTT-4.3.3-2] [MQTT-4.6.0-6]`, async (t) => {
    const broker = await startBroker();
    t.after(() => broker.close());
    const sub = await connect(broker.url, { protocolVersion, clientId: `sub${protocolVersion}` });
    const pub = await connect(broker.url, { protocolVersion });
    t.after(() => Promise.all([sub.end({ force: true }), pub.end({ force: true })]));
    const granted = await sub.subscribe({ 'q/0': { qos: 0 }, 'q/1': { qos: 1 }, 'q/2': { qos: 2 } });
    assert.deepEqual(granted.map((g) => g.reasonCode), [0, 1, 2]);
    const received = take(sub, 3);
    for (const qos of [0, 1, 2] as const) {
      const result = await pub.publish(`q/${qos}`, `m${qos}`, { qos });
      assert.equal(result.reasonCode, 0);
    }
    const msgs = await received;
    assert.deepEqual(msgs.map((m) => [m.topic, m.payload.toString(), m.qos]), [['q/0', 'm0', 0], ['q/1', 'm1', 1], ['q/2', 'm2', 2]]);
  });
}

test('messages arrive as events too; unsubscribe stops them', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const client = await connect(broker.url, { protocolVersion: 5 });
  t.after(() => client.end({ force: true }));
  const seen: string[] = [];
  client.on('message', (m) => seen.push(m.payload.toString()));
  await client.subscribe('ev/#', { qos: 1 });
  await client.publish('ev/a', 'one', { qos: 1 });
  await waitFor(() => seen.length >= 1, 3000, 'event');
  assert.deepEqual(await client.unsubscribe('ev/#'), [0]);
  await client.publish('ev/a', 'two', { qos: 1 });
  // The broker routes a publication before it acknowledges it, and the client emits a message
  // as it parses it: a copy of 'two' would have been seen before publish() resolved.
  assert.deepEqual(seen, ['one']);
});

test('a refused CONNECT rejects with ConnectionRefusedError carrying the CONNACK code (3.1.1: 5, 5.0: 0x87)', async (t) => {
  const broker = await startBroker({ authenticate: () => false });
  t.after(() => broker.close());
  await assert.rejects(connect(broker.url, { protocolVersion: 4, reconnect: false }), (e: unknown) => {
    assert.ok(e instanceof ConnectionRefusedError);
    assert.ok(e.reasonCode === 5 || e.reasonCode === 4, `code ${String(e.reasonCode)}`);
    assert.match(e.message, /Connection Refused: (not authorised|bad user name or password)/);
    return true;
  });
  await assert.rejects(connect(broker.url, { protocolVersion: 5 }), (e: unknown) => e instanceof ConnectionRefusedError && (e.reasonCode === 0x87 || e.reasonCode === 0x86));
});

test('nothing listening: ConnectionClosedError; bad topic: InvalidArgumentError', async (t) => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  await assert.rejects(connect(`mqtt://127.0.0.1:${port}`), ConnectionClosedError);
  const broker = await startBroker();
  t.after(() => broker.close());
  const client = await connect(broker.url);
  t.after(() => client.end());
  await assert.rejects(client.publish('a/+', 'x'), InvalidArgumentError);
  await assert.rejects(client.subscribe('a/#/b'), InvalidArgumentError);
});

test('the will is published when the connection is lost, not after end() [MQTT-3.1.2-8] [MQTT-3.1.2-10]', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const watcher = await connect(broker.url);
  t.after(() => watcher.end({ force: true }));
  await watcher.subscribe('will/#', { qos: 1 });
  const got = take(watcher, 1);
  const polite = await connect(broker.url, { clientId: 'polite', will: { topic: 'will/polite', payload: 'x', qos: 1 }, reconnect: false });
  await polite.end();
  await clientGone(broker, 'polite'); // a will published by mistake would be on its way before the rude one
  const rude = await connect(broker.url, { will: { topic: 'will/rude', payload: 'gone', qos: 1 }, reconnect: false, keepalive: 1, pingTimeout: 200 });
  // Kill the socket under the client without DISCONNECT.
  (rude as unknown as { connection: { destroy(e: Error | undefined): void } }).connection.destroy(undefined);
  const [m] = await got;
  assert.equal(m?.topic, 'will/rude');
  assert.equal(m?.payload.toString(), 'gone');
});

test('5.0: outgoing topic aliases are used when the server allows them (topic sent once)', async (t) => {
  // A tiny fake server records the PUBLISH topics it receives.
  const { Parser, encode } = await import('../../src/protocol/index.js');
  const topics: Array<[string, number | undefined]> = [];
  const server = net.createServer((socket) => {
    const parser = new Parser({ version: 5 });
    socket.on('data', (chunk) =>
      parser.push(chunk, {
        onPacket(p) {
          if (p.type === 'connect') socket.write(encode({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { topicAliasMaximum: 2 } }, 5));
          if (p.type === 'publish') {
            topics.push([p.topic, p.properties?.topicAlias]);
            socket.write(encode({ type: 'puback', packetId: p.packetId!, reasonCode: 0 }, 5));
          }
        },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const client = await connect(`mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { protocolVersion: 5 });
  for (const topic of ['long/topic/a', 'long/topic/a', 'long/topic/b', 'long/topic/c', 'long/topic/b']) await client.publish(topic, 'x', { qos: 1 });
  await client.end({ force: true });
  assert.deepEqual(topics, [['long/topic/a', 1], ['', 1], ['long/topic/b', 2], ['long/topic/c', undefined], ['', 2]]);
});

test('5.0 topic aliases against Cicada: messages still arrive with their topic', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const client = await connect(broker.url, { protocolVersion: 5 });
  t.after(() => client.end({ force: true }));
  await client.subscribe('al/#', { qos: 1 });
  const got = take(client, 3);
  for (let i = 0; i < 3; i++) await client.publish('al/x', String(i), { qos: 1 });
  assert.deepEqual((await got).map((m) => `${m.topic}=${m.payload.toString()}`), ['al/x=0', 'al/x=1', 'al/x=2']);
});

test('mqtts:// with CA, client certificate and servername against Mosquitto; a wrong CA is refused', async (t) => {
  const dir = tempDir(t);
  const certs = makeCerts(dir);
  const mosq = await startMosquitto(dir, ['allow_anonymous true', `cafile ${certs.ca}`, `certfile ${certs.cert}`, `keyfile ${certs.key}`, 'require_certificate true']);
  t.after(() => mosq.stop());
  const url = `mqtts://127.0.0.1:${mosq.port}`;
  const tls = { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), servername: 'localhost' };
  const client = await connect(url, { ...tls, protocolVersion: 5 });
  await client.subscribe('tls/t', { qos: 1 });
  const got = take(client, 1);
  await client.publish('tls/t', 'secure', { qos: 1 });
  assert.equal((await got)[0]?.payload.toString(), 'secure');
  await client.end();
  await assert.rejects(connect(url, { ...tls, ca: readFileSync(certs.cert), reconnect: false }), ConnectionClosedError);
});

for (const secure of [false, true]) {
  test(`${secure ? 'wss' : 'ws'}:// with subprotocol "mqtt" (a WebSocket-to-TCP bridge in front of Cicada)`, async (t) => {
    const broker = await startBroker();
    t.after(() => broker.close());
    const certs = secure ? makeCerts(tempDir(t)) : undefined;
    const server = certs ? https.createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) }) : http.createServer();
    const protocols: string[] = [];
    const wss = new WebSocketServer({ server, handleProtocols: (p) => (protocols.push(...p), 'mqtt') });
    wss.on('connection', (ws) => {
      const stream = createWebSocketStream(ws);
      const tcp = net.connect(broker.port, '127.0.0.1');
      stream.pipe(tcp).pipe(stream);
      stream.on('error', () => tcp.destroy());
      tcp.on('error', () => stream.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => {
      for (const c of wss.clients) c.terminate();
      server.close();
    });
    const port = (server.address() as net.AddressInfo).port;
    const url = secure ? `wss://localhost:${port}/mqtt` : `ws://127.0.0.1:${port}/mqtt`;
    const client = await connect(url, { protocolVersion: 5, ...(certs ? { ca: readFileSync(certs.ca) } : {}) });
    await client.subscribe('ws/t', { qos: 2 });
    const got = take(client, 1);
    await client.publish('ws/t', 'over websocket', { qos: 2 });
    assert.equal((await got)[0]?.payload.toString(), 'over websocket');
    await client.end();
    assert.deepEqual(protocols, ['mqtt']);
    if (secure) await assert.rejects(connect(url, { reconnect: false }), ConnectionClosedError); // no CA: certificate refused
  });
}

test('messages(): the iterator buffers at most `limit` unread messages (oldest dropped, counted) and ends with the client', async () => {
  const { MessageQueue } = await import('../../src/client/message-queue.js');
  let done = 0;
  const q = new MessageQueue<number>(2, () => done++);
  for (const n of [1, 2, 3]) q.push(n);
  assert.equal(q.dropped, 1);
  assert.deepEqual([(await q.next()).value, (await q.next()).value], [2, 3]);
  const pending = q.next();
  q.close();
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.equal(done, 1);
});

test('the client connects to Cicada\'s own WebSocket listener (ws://.../mqtt) and exchanges QoS 1 messages', async (t) => {
  const { createBroker } = await import('../../src/index.js');
  const broker = createBroker({ logLevel: 'silent', sysInterval: 0, listeners: [{ port: 0, host: '127.0.0.1', protocol: 'websockets' }] });
  await broker.listen();
  t.after(() => broker.close());
  const url = broker.urls[0] ?? '';
  assert.ok(url.startsWith('ws://127.0.0.1:') && url.endsWith('/mqtt'), `listener url ${url}`);
  const client = await connect(url, { protocolVersion: 5, reconnect: false });
  t.after(() => client.end({ force: true }));
  await client.subscribe('ws/own', { qos: 1 });
  const received = take(client, 1);
  await client.publish('ws/own', 'over websocket', { qos: 1 });
  const [message] = await received;
  assert.equal(message?.payload.toString(), 'over websocket');
});
