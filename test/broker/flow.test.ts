// Flow control under a QoS 0 flood: a subscriber that reads is served without loss while the
// publisher is slowed to its pace, and a subscriber that never reads stalls nobody: its messages
// are dropped once it is past maxOutgoingBytes, and memory stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import { createBroker } from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';

const COUNT = 20_000;
const PAYLOAD = Buffer.alloc(1024, 0x61);

test('a subscriber that never reads does not stall the publisher or a healthy subscriber', { timeout: 30_000 }, async (t) => {
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, maxOutgoingBytes: 2 * 1024 * 1024 });
  await broker.listen();
  t.after(() => broker.close());
  const url = `mqtt://127.0.0.1:${broker.port}`;

  // A raw client that subscribes and then never reads its socket again.
  const stuck = connect(broker.port, '127.0.0.1');
  t.after(() => stuck.destroy());
  const id = Buffer.from('stuck');
  const filter = Buffer.from('flood/#');
  stuck.write(Buffer.concat([Buffer.from([0x10, 12 + id.length, 0, 4]), Buffer.from('MQTT'), Buffer.from([4, 2, 0, 60, 0, id.length]), id]));
  stuck.write(Buffer.concat([Buffer.from([0x82, 5 + filter.length, 0, 1, 0, filter.length]), filter, Buffer.from([0])]));
  await waitFor(() => broker.stats.subscriptions === 1, 3000, 'the stuck client subscribed');
  stuck.pause();

  const healthy = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  t.after(() => healthy.endAsync(true));
  let received = 0;
  healthy.on('message', () => received++);
  await healthy.subscribeAsync('flood/#', { qos: 0 });

  const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  t.after(() => publisher.endAsync(true));
  const started = Date.now();
  for (let i = 0; i < COUNT; i++) publisher.publish('flood/x', PAYLOAD, { qos: 0 });
  const deadline = started + 20_000;
  while (received < COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(received, COUNT, 'the healthy subscriber got every QoS 0 message');
  assert.ok(broker.stats.messagesDropped > 0, 'the stuck subscriber had messages dropped');
  assert.ok(process.memoryUsage().rss < 1024 * 1024 * 1024, 'memory stayed bounded');
});

test('an open-loop QoS 1 burst toward a connected subscriber is slowed to its pace, not dropped at the queue bound', { timeout: 30_000 }, async (t) => {
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, maxQueuedMessages: 100 });
  await broker.listen();
  t.after(() => broker.close());
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const subscriber = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  t.after(() => subscriber.endAsync(true));
  let received = 0;
  subscriber.on('message', () => received++);
  await subscriber.subscribeAsync('burst/#', { qos: 1 });
  const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  t.after(() => publisher.endAsync(true));
  const total = 5000;
  const acked: Array<Promise<unknown>> = [];
  for (let i = 0; i < total; i++) acked.push(publisher.publishAsync('burst/x', `m${i}`, { qos: 1 }));
  await Promise.all(acked);
  const deadline = Date.now() + 20_000;
  while (received < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(broker.stats.messagesDropped, 0, 'nothing acknowledged was dropped');
  assert.equal(received, total);
});
