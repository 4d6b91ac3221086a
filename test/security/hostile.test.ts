// Hostile input: each limit has a test that checks the client is stopped, the broker says so in
// its log, counts it in stats, and goes on serving a well-behaved client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, type Packet, type ProtocolVersion } from '../../src/protocol/index.js';
import type { BrokerOptions } from '../../src/index.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { rawClient, type RawClient } from '../helpers/raw.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makePki, portOf, read, startCicada, tempDir, type SecureBroker } from './support.js';

async function start(t: Parameters<typeof startCicada>[0], options: BrokerOptions): Promise<SecureBroker & { port: number }> {
  const broker = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], ...options });
  return { ...broker, port: portOf(broker.url()) };
}

async function connected(port: number, version: ProtocolVersion = 4, clientId = 'hostile'): Promise<RawClient> {
  const client = await rawClient(port);
  client.send(encode({ type: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId }, version));
  const connack = decode((await client.readPacket()).raw, version);
  assert.equal(connack.type === 'connack' && connack.reasonCode, 0);
  return client;
}

async function next(client: RawClient, version: ProtocolVersion): Promise<Packet> {
  return decode((await client.readPacket()).raw, version);
}

/** A well-behaved MQTT.js client still gets its own message back. */
async function stillServed(url: string): Promise<void> {
  const client = await connectMqtt(url, { clientId: `good-${Math.random().toString(36).slice(2)}` });
  try {
    await client.subscribeAsync('good/t');
    await client.publishAsync('good/t', 'ok');
    assert.equal((await client.inbox.next(1))[0]?.payload, 'ok');
  } finally {
    await endMqtt(client);
  }
}

test('malformed packets close the connection, counted as protocolErrors and logged', async (t) => {
  const { broker, port, url, logs } = await start(t, {});
  const client = await connected(port);
  client.send('32 03 00 01 61'); // QoS 1 PUBLISH without its packet id
  await client.expectClose();
  const garbage = await rawClient(port);
  garbage.send('ff ff ff ff ff');
  await garbage.expectClose();
  assert.equal(broker.stats.protocolErrors, 2);
  assert.ok(logs.some((l) => l.includes('closing connection')));
  await stillServed(url());
});

test('a huge remaining length is refused before any body byte (maxPacketSize), counted as packetsTooLarge', async (t) => {
  const { broker, port, url, logs } = await start(t, { maxPacketSize: 1024 });
  const client = await connected(port, 5);
  client.send('30 ff ff ff 7f'); // PUBLISH announcing 268,435,455 bytes
  const disconnect = await next(client, 5);
  assert.equal(disconnect.type === 'disconnect' && disconnect.reasonCode, 0x95);
  await client.expectClose();
  assert.equal(broker.stats.packetsTooLarge, 1);
  assert.ok(logs.some((l) => l.includes('PACKET_TOO_LARGE')));
  await stillServed(url());
});

test('too many topic levels: PUBLISH closes the connection, SUBSCRIBE gets 0x80 (3.1.1) / 0x8F (5.0)', async (t) => {
  const { broker, port, url, logs } = await start(t, { maxTopicLevels: 8 });
  const deep = Array.from({ length: 200 }, (_, i) => `l${i}`).join('/');
  const v4 = await connected(port, 4, 'deep4');
  v4.send(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: deep, qos: 0 }, { topicFilter: 'a/b/c', qos: 1 }] }, 4));
  const suback4 = await next(v4, 4);
  assert.deepEqual(suback4.type === 'suback' && suback4.reasonCodes, [0x80, 1]);
  const v5 = await connected(port, 5, 'deep5');
  v5.send(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: `${deep}/#`, qos: 0 }] }, 5));
  const suback5 = await next(v5, 5);
  assert.deepEqual(suback5.type === 'suback' && suback5.reasonCodes, [0x8f]);
  v5.send(encode({ type: 'publish', topic: deep, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, 5));
  const disconnect = await next(v5, 5);
  assert.equal(disconnect.type === 'disconnect' && disconnect.reasonCode, 0x90);
  await v5.expectClose();
  assert.equal(broker.stats.topicLimitRefusals, 3);
  assert.ok(logs.some((l) => l.includes('too many levels')));
  await stillServed(url());
});

test('huge topics: a 65,535-byte topic is served; a 30,000-level filter is refused by the default maxTopicLevels (128)', async (t) => {
  const { broker, port, url } = await start(t, {});
  const client = await connected(port, 4, 'huge');
  const long = 'x'.repeat(65_535);
  client.send(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: long, qos: 0 }, { topicFilter: Array(30_000).fill('+').join('/'), qos: 0 }] }, 4));
  const suback = await next(client, 4);
  assert.deepEqual(suback.type === 'suback' && suback.reasonCodes, [0, 0x80]);
  client.send(encode({ type: 'publish', topic: long, payload: Buffer.from('big topic'), qos: 0, retain: true, dup: false }, 4));
  const delivered = await next(client, 4);
  assert.equal(delivered.type === 'publish' && delivered.topic.length, 65_535);
  assert.equal(broker.stats.topicLimitRefusals, 1);
  await stillServed(url());
  client.close();
});

test('subscription floods: maxSubscriptionsPerClient refuses the extra filters (re-subscribing is fine)', async (t) => {
  const { broker, port, logs } = await start(t, { maxSubscriptionsPerClient: 3 });
  const client = await connected(port, 5);
  const subscriptions = ['a', 'b', 'c', 'd', 'e'].map((topicFilter) => ({ topicFilter, qos: 0 as const }));
  client.send(encode({ type: 'subscribe', packetId: 1, subscriptions }, 5));
  const suback = await next(client, 5);
  assert.deepEqual(suback.type === 'suback' && suback.reasonCodes, [0, 0, 0, 0x97, 0x97]);
  client.send(encode({ type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'a', qos: 1 }] }, 5));
  const again = await next(client, 5);
  assert.deepEqual(again.type === 'suback' && again.reasonCodes, [1]);
  assert.equal(broker.stats.subscriptionLimitRefusals, 2);
  assert.ok(logs.some((l) => l.includes('too many subscriptions')));
  client.close();
});

test('a client that never sends CONNECT is closed after connectTimeoutMs, counted as connectTimeouts', async (t) => {
  const { broker, port, url } = await start(t, { connectTimeoutMs: 300 });
  const silent = await rawClient(port);
  const half = await rawClient(port);
  half.send('10 ff ff'); // half a CONNECT header
  await silent.expectClose(2000);
  await half.expectClose(2000);
  assert.equal(broker.stats.connectTimeouts, 2);
  await stillServed(url());
});

test('TLS and WebSocket listeners: a client that never finishes the handshake or the upgrade is closed too', async (t) => {
  const pki = makePki(tempDir(t), []);
  const tls = { cert: read(pki.serverCert), key: read(pki.serverKey) };
  const { url } = await startCicada(t, {
    connectTimeoutMs: 500,
    listeners: [
      { port: 0, host: '127.0.0.1', tls },
      { port: 0, host: '127.0.0.1', protocol: 'websockets' },
    ],
  });
  const silentTls = await rawClient(portOf(url(0)));
  const silentWs = await rawClient(portOf(url(1)));
  silentWs.send(Buffer.from('GET /mqtt HTTP/1.1\r\nHost: x\r\n')); // headers never finished
  await silentTls.expectClose(3000);
  await silentWs.expectClose(3000);
});

test('publish floods: publishRateLimit disconnects the flooder (5.0: 0x96), others unaffected', async (t) => {
  const { broker, port, url, logs } = await start(t, { publishRateLimit: 50 });
  const client = await connected(port, 5);
  const one = encode({ type: 'publish', topic: 'flood', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, 5);
  client.send(Buffer.concat(Array.from({ length: 200 }, () => one)));
  const disconnect = await next(client, 5);
  assert.equal(disconnect.type === 'disconnect' && disconnect.reasonCode, 0x96);
  await client.expectClose();
  assert.equal(broker.stats.publishRateRefusals, 1);
  assert.ok(logs.some((l) => l.includes('publish rate limit exceeded')));
  await stillServed(url());
});

test('message_size_limit: a larger payload is dropped (5.0 PUBACK 0x97), counted', async (t) => {
  const { broker, port } = await start(t, { messageSizeLimit: 100 });
  const client = await connected(port, 5);
  client.send(encode({ type: 'publish', topic: 'big', payload: Buffer.alloc(101), qos: 1, retain: false, dup: false, packetId: 7 }, 5));
  const puback = await next(client, 5);
  assert.equal(puback.type === 'puback' && puback.reasonCode, 0x97);
  assert.equal(broker.stats.messageSizeRefusals, 1);
  client.close();
});

/** A subscriber that never reads, and a publisher pushing QoS 0 messages at it. */
async function slowConsumer(t: Parameters<typeof startCicada>[0], slow: 'drop' | 'disconnect') {
  const b = await start(t, { maxOutgoingBytes: 256 * 1024, slowConsumer: slow });
  const reader = await connected(b.port, 4, 'never-reads');
  reader.send(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'firehose', qos: 0 }] }, 4));
  await next(reader, 4);
  reader.socket.pause(); // never read again: the kernel buffers fill, then the broker's
  const publisher = await connectMqtt(b.url(), { clientId: 'publisher' });
  t.after(() => endMqtt(publisher));
  const payload = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 400 && !reader.isClosed; i++) {
    publisher.publish('firehose', payload);
    if (i % 20 === 0) await sleep(5);
  }
  return { ...b, reader };
}

test('a client that never reads: slowConsumer "drop" drops its QoS 0 messages and keeps the connection', async (t) => {
  const { broker, reader, url } = await slowConsumer(t, 'drop');
  await waitFor(() => broker.stats.messagesDropped > 0, 5000, 'messages dropped for the slow consumer');
  assert.equal(reader.isClosed, false);
  assert.equal(broker.stats.slowConsumerDisconnects, 0);
  await stillServed(url());
  reader.close();
});

test('a client that never reads: slowConsumer "disconnect" closes it, counted and logged', async (t) => {
  const { broker, reader, url, logs } = await slowConsumer(t, 'disconnect');
  await waitFor(() => broker.stats.slowConsumerDisconnects === 1, 5000, 'the slow consumer disconnected');
  assert.ok(logs.some((l) => l.includes('slow consumer: disconnecting')));
  await stillServed(url());
  reader.close();
});
