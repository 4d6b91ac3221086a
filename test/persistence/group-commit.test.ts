// The durability invariant, checked with real clients against a broker on SQLite: no byte that
// reports stored state (PUBACK, an outgoing QoS 2 PUBLISH, what a closing connection still sends)
// leaves before the commit that contains that state, while a QoS 1 PUBLISH to a subscriber may.
// The commit interval is long (300 ms) so that a byte sent early would be seen before the commit:
// at the moment a client receives a packet, the test reads the database file through its own
// SQLite connection, which sees committed transactions only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import type { Broker } from '../../src/index.js';
import { startPersistentBroker } from '../helpers/persistence.js';
import { RawClient } from '../helpers/raw.js';
import { connect, publish, T } from '../helpers/packets.js';
import net from 'node:net';

const INTERVAL_MS = 300;

interface Setup {
  broker: Broker;
  url: string;
  /** Committed deliveries of `clientId` whose message has this payload. */
  committed: (clientId: string, payload: string) => number;
  /** Whether this incoming QoS 2 packet id of `clientId` is committed. */
  incoming: (clientId: string, packetId: number) => boolean;
}

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<Setup> {
  const { broker, url, db } = await startPersistentBroker(t, INTERVAL_MS);
  const query = db.prepare('SELECT count(*) AS n FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.client_id = ? AND m.payload = ?');
  const incoming = db.prepare('SELECT count(*) AS n FROM incoming WHERE client_id = ? AND packet_id = ?');
  return {
    broker,
    url,
    committed: (clientId, payload) => (query.get(clientId, Buffer.from(payload)) as { n: number }).n,
    incoming: (clientId, packetId) => (incoming.get(clientId, packetId) as { n: number }).n === 1,
  };
}

/** A persistent session subscribed to `topic` that is offline: its deliveries stay stored. */
async function offlineSubscriber(url: string, clientId: string, topic: string, qos: 1 | 2): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 0 });
  await client.subscribeAsync(topic, { qos });
  await client.endAsync();
}

test('persistence: a PUBACK never leaves before the commit of what it acknowledges; a QoS 1 PUBLISH to a subscriber may', async (t) => {
  const { url, committed } = await setup(t);
  await offlineSubscriber(url, 'gc-offline', 'gc/t', 1);
  const online = await mqtt.connectAsync(url, { clientId: 'gc-online', clean: false, reconnectPeriod: 0 });
  await online.subscribeAsync('gc/t', { qos: 1 });
  const publisher = await mqtt.connectAsync(url, { clientId: 'gc-pub', clean: false, reconnectPeriod: 0 });
  t.after(async () => {
    await Promise.all([online.endAsync(true), publisher.endAsync(true)]);
  });

  // What was committed at the moment each packet reached its client.
  const atPuback: number[] = [];
  const atDelivery = new Map<string, { offline: number; acknowledged: boolean }>();
  let acknowledged = false;
  publisher.on('packetreceive', (packet) => {
    if (packet.cmd === 'puback') atPuback.push(committed('gc-offline', `m${atPuback.length}`));
  });
  online.on('packetreceive', (packet) => {
    if (packet.cmd === 'publish') {
      const payload = packet.payload.toString();
      atDelivery.set(payload, { offline: committed('gc-offline', payload), acknowledged });
    }
  });

  for (let i = 0; i < 3; i++) {
    acknowledged = false;
    const started = Date.now();
    await publisher.publishAsync('gc/t', `m${i}`, { qos: 1 });
    acknowledged = true;
    // After the first, each publish follows a commit at once: its PUBACK waits for the next one.
    if (i > 0) assert.ok(Date.now() - started >= INTERVAL_MS / 2, `PUBACK of m${i} waited for the commit interval`);
  }
  assert.deepEqual(atPuback, [1, 1, 1], 'the offline delivery of each message was committed when its PUBACK arrived');
  for (const payload of ['m1', 'm2']) {
    const seen = atDelivery.get(payload);
    assert.ok(seen !== undefined, `${payload} reached the online subscriber`);
    assert.equal(seen.acknowledged, false, `${payload} reached the subscriber before its PUBACK reached the publisher`);
    assert.equal(seen.offline, 0, `${payload} reached the subscriber before the commit (not held)`);
  }
});

test('persistence: an outgoing QoS 2 PUBLISH waits for the commit of its delivery', async (t) => {
  const { url, committed } = await setup(t);
  const online = await mqtt.connectAsync(url, { clientId: 'gc2-online', clean: false, reconnectPeriod: 0 });
  await online.subscribeAsync('gc2/t', { qos: 2 });
  const publisher = await mqtt.connectAsync(url, { clientId: 'gc2-pub', clean: true, reconnectPeriod: 0 });
  t.after(async () => {
    await Promise.all([online.endAsync(true), publisher.endAsync(true)]);
  });
  const atDelivery: number[] = [];
  online.on('packetreceive', (packet) => {
    if (packet.cmd === 'publish') atDelivery.push(committed('gc2-online', packet.payload.toString()));
  });
  for (let i = 0; i < 3; i++) await publisher.publishAsync('gc2/t', `q${i}`, { qos: 2 });
  const deadline = Date.now() + 3000;
  while (atDelivery.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(atDelivery, [1, 1, 1], 'each QoS 2 delivery was committed when its PUBLISH arrived');
});

test('persistence: QoS 0 and 1 copies of a QoS 2 publication wait for the commit of its packet id', async (t) => {
  const { url, incoming } = await setup(t);
  const low = await mqtt.connectAsync(url, { clientId: 'gc4-low', clean: true, reconnectPeriod: 0 });
  await low.subscribeAsync('gc4/1', { qos: 1 });
  await low.subscribeAsync('gc4/0', { qos: 0 });
  const publisher = await mqtt.connectAsync(url, { clientId: 'gc4-pub', clean: false, reconnectPeriod: 0 });
  t.after(async () => {
    await Promise.all([low.endAsync(true), publisher.endAsync(true)]);
  });
  const ids = new Map<string, number>();
  publisher.on('packetsend', (packet) => {
    if (packet.cmd === 'publish' && packet.messageId !== undefined) ids.set(packet.payload.toString(), packet.messageId);
  });
  // Whether the publisher's packet id was committed when each copy reached the subscriber: a
  // copy sent before could be delivered again after a crash, when the publisher sends again.
  const atDelivery: boolean[] = [];
  low.on('packetreceive', (packet) => {
    if (packet.cmd === 'publish') atDelivery.push(incoming('gc4-pub', ids.get(packet.payload.toString()) ?? 0));
  });
  for (let i = 0; i < 4; i++) await publisher.publishAsync(`gc4/${i % 2}`, `x${i}`, { qos: 2 });
  const deadline = Date.now() + 3000;
  while (atDelivery.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(atDelivery, [true, true, true, true]);
});

test('persistence: a connection that closes with a held PUBACK commits, then sends it', async (t) => {
  const { broker, url, committed } = await setup(t);
  await offlineSubscriber(url, 'gc3-offline', 'gc3/t', 1);
  const socket = net.connect(broker.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const raw = new RawClient(socket);
  t.after(() => void socket.destroy());
  raw.send(connect({ clientId: 'gc3-pub', clean: false }));
  assert.equal((await raw.readPacket()).type, T.CONNACK);
  // Just after a commit (the CONNACK's), so the next one is due only in INTERVAL_MS; the
  // DISCONNECT in the same chunk closes the connection while the PUBACK waits for it.
  raw.send(Buffer.concat([publish({ topic: 'gc3/t', payload: 'last', qos: 1, id: 7 }), Buffer.from([0xe0, 0x00])]));
  const puback = await raw.readPacket();
  const atPuback = committed('gc3-offline', 'last');
  assert.equal(puback.type, T.PUBACK);
  assert.equal(atPuback, 1, 'the delivery was committed when the PUBACK arrived');
});
