// The client's 5.0 session options (issue 13, item 14): `clean: false` alone keeps no session
// with 5.0 (no Session Expiry Interval means the session ends with the connection), so the
// README's example sets `sessionExpiry`; user properties also in MQTT.js's object form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, InvalidArgumentError, MqttClient, type Message } from '../../src/client/index.js';
import type { Packet } from '../../src/protocol/index.js';
import { startBroker } from '../helpers/broker.js';
import { withTimeout } from '../helpers/wait.js';

function nextMessage(client: MqttClient, ms = 5000): Promise<Message> {
  return withTimeout(new Promise<Message>((resolve) => client.once('message', resolve)), ms, 'a message');
}

test('5.0 README example: clean false + sessionExpiry sends a Session Expiry Interval, and the session (subscription, queued QoS 1 message) is kept across a reconnect: Session Present 1', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const sent: Packet[] = [];
  const options = {
    protocolVersion: 5 as const,
    clientId: 'kitchen-display',
    clean: false,
    sessionExpiry: 3600,
    trace: (direction: 'send' | 'receive', packet: Packet) => {
      if (direction === 'send') sent.push(packet);
    },
  };
  const first = await connect(broker.url, options);
  await first.subscribe('sensors/#', { qos: 1 });
  await first.end();
  const connectPacket = sent.find((p) => p.type === 'connect');
  assert.equal(connectPacket?.type === 'connect' ? connectPacket.properties?.sessionExpiryInterval : undefined, 3600);

  const publisher = await connect(broker.url, { protocolVersion: 5 });
  await publisher.publish('sensors/kitchen/temp', '21.5', { qos: 1 });
  await publisher.end();

  const again = new MqttClient(broker.url, options);
  const message = nextMessage(again);
  const connack = await again.start();
  t.after(() => again.end({ force: true }));
  assert.equal(connack.sessionPresent, true, 'Session Present 1');
  const m = await message;
  assert.deepEqual([m.topic, m.payload.toString(), m.qos], ['sensors/kitchen/temp', '21.5', 1]);
});

test('5.0 without sessionExpiry, clean false keeps no session past the connection (Session Present 0): why the option exists', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const first = await connect(broker.url, { protocolVersion: 5, clientId: 'no-expiry', clean: false });
  await first.subscribe('ne/#', { qos: 1 });
  await first.end();
  const again = await connect(broker.url, { protocolVersion: 5, clientId: 'no-expiry', clean: false });
  t.after(() => again.end({ force: true }));
  assert.equal(again.connack?.sessionPresent, false);
});

test('sessionExpiry: the session survives a lost connection and the automatic reconnect resumes it with the messages sent meanwhile', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  // A proxy whose connections can be cut, as a network failure would.
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((inbound) => {
    const outbound = net.connect(broker.port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
  const port = (proxy.address() as net.AddressInfo).port;
  const client = await connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId: 'roamer', clean: false, sessionExpiry: 60, reconnect: { initialDelay: 50, maxDelay: 100, factor: 1, jitter: 0 } });
  t.after(() => client.end({ force: true }));
  await client.subscribe('roam/#', { qos: 1 });
  const offline = withTimeout(new Promise((resolve) => client.once('offline', resolve)), 5000, 'offline');
  proxy.close(); // no new connection through the proxy while the message is published
  for (const s of sockets) s.destroy();
  await offline;
  const publisher = await connect(broker.url, { protocolVersion: 5 });
  await publisher.publish('roam/x', 'while away', { qos: 1 });
  await publisher.end();
  const reconnected = withTimeout(new Promise<boolean>((resolve) => client.once('connect', (c) => resolve(c.sessionPresent))), 5000, 'reconnect');
  const message = nextMessage(client);
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  assert.equal(await reconnected, true, 'Session Present 1 after the reconnect');
  assert.equal((await message).payload.toString(), 'while away');
});

test('sessionExpiry is validated: 5.0 only, 0..0xFFFFFFFF or Infinity, consistent with properties.sessionExpiryInterval', async () => {
  const url = 'mqtt://127.0.0.1:1';
  await assert.rejects(connect(url, { protocolVersion: 4, clean: false, sessionExpiry: 60 }), (e: Error) => e instanceof InvalidArgumentError && /needs protocolVersion 5/.test(e.message));
  await assert.rejects(connect(url, { protocolVersion: 5, sessionExpiry: -1 }), InvalidArgumentError);
  await assert.rejects(connect(url, { protocolVersion: 5, sessionExpiry: 1.5 }), InvalidArgumentError);
  await assert.rejects(connect(url, { protocolVersion: 5, sessionExpiry: 60, properties: { sessionExpiryInterval: 30 } }), /disagree/);
});

test('sessionExpiry Infinity is sent as 0xFFFFFFFF', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  let interval: number | undefined;
  const client = await connect(broker.url, {
    protocolVersion: 5,
    sessionExpiry: Infinity,
    trace: (direction, packet) => {
      if (direction === 'send' && packet.type === 'connect') interval = packet.properties?.sessionExpiryInterval;
    },
  });
  t.after(() => client.end({ force: true }));
  assert.equal(interval, 0xffffffff);
});

test('userProperties in MQTT.js object form ({ k: v, k2: [v1, v2] }) on publish, subscribe and connect arrive as pairs, in order [MQTT-3.3.2-17] [MQTT-3.3.2-18]', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const sent: Packet[] = [];
  const sub = await connect(broker.url, {
    protocolVersion: 5,
    properties: { userProperties: { app: 'kitchen' } },
    trace: (direction, packet) => {
      if (direction === 'send') sent.push(packet);
    },
  });
  const pub = await connect(broker.url, { protocolVersion: 5 });
  t.after(() => Promise.all([sub.end({ force: true }), pub.end({ force: true })]));
  await sub.subscribe('up/#', { qos: 1, properties: { userProperties: { reason: ['a', 'b'] } } });
  const message = nextMessage(sub);
  await pub.publish('up/1', 'x', { qos: 1, properties: { userProperties: { a: '1', b: ['2', '3'] } } });
  assert.deepEqual((await message).properties?.userProperties, [['a', '1'], ['b', '2'], ['b', '3']]);
  const pairs = await nextAfter(sub, pub, [['c', '4']]);
  assert.deepEqual(pairs, [['c', '4']], 'the pairs form still works');
  const connectPacket = sent.find((p) => p.type === 'connect');
  const subscribePacket = sent.find((p) => p.type === 'subscribe');
  assert.deepEqual(connectPacket?.properties?.userProperties, [['app', 'kitchen']]);
  assert.deepEqual(subscribePacket?.properties?.userProperties, [['reason', 'a'], ['reason', 'b']]);
  await assert.rejects(pub.publish('up/2', 'x', { properties: { userProperties: { n: 1 as unknown as string } } }), InvalidArgumentError);
});

async function nextAfter(sub: MqttClient, pub: MqttClient, userProperties: Array<[string, string]>): Promise<Array<[string, string]> | undefined> {
  const message = nextMessage(sub);
  await pub.publish('up/p', 'y', { qos: 1, properties: { userProperties } });
  return (await message).properties?.userProperties;
}
