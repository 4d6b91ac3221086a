// Rows that cancel: a QoS 1 delivery to an online persistent subscriber that acknowledges it
// before the next commit (and its message) is created and deleted within one batch, so SQLite
// never sees either; an offline subscriber's deliveries are stored until it takes them. Checked
// with MQTT.js clients, the broker's counters and the database file itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import type { Broker } from '../../src/index.js';
import { startPersistentBroker } from '../helpers/persistence.js';
import { elapse } from '../helpers/wait.js';

const N = 200;
const INTERVAL_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(t: { after: (fn: () => Promise<void>) => void }): Promise<{ broker: Broker; url: string; rows: (table: string) => number }> {
  const { broker, url, db } = await startPersistentBroker(t, INTERVAL_MS);
  return { broker, url, rows: (table) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n };
}

async function until(what: string, done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('persistence: QoS 1 deliveries acknowledged before the next commit are never written, and nothing is left in the file', async (t) => {
  const { broker, url, rows } = await start(t);
  const subscriber = await mqtt.connectAsync(url, { clientId: 'cancel-sub', clean: false, reconnectPeriod: 0 });
  await subscriber.subscribeAsync('cancel/t', { qos: 1 });
  let received = 0;
  subscriber.on('message', () => received++);
  // Persistent too, and its CONNACK waits for a commit: the stream starts right after one.
  const publisher = await mqtt.connectAsync(url, { clientId: 'cancel-pub', clean: false, reconnectPeriod: 0 });
  t.after(async () => {
    await Promise.all([subscriber.endAsync(true), publisher.endAsync(true)]);
  });
  const before = broker.stats.persistenceRowsWritten;
  const acknowledged = await Promise.all(Array.from({ length: N }, (_, i) => publisher.publishAsync('cancel/t', `m${i}`, { qos: 1 })));
  assert.equal(acknowledged.length, N);
  await until('every message at the subscriber', () => received >= N);
  await elapse(INTERVAL_MS * 3, 'the commit cadence: the commit after the last acknowledgement comes within it');
  assert.equal(rows('deliveries'), 0, 'no delivery row in the file');
  assert.equal(rows('messages'), 0, 'no message row in the file');
  // Without cancellation each message costs 4 rows (2 inserts, 2 deletes): 800 here.
  const written = broker.stats.persistenceRowsWritten - before;
  assert.ok(written < N / 2, `${written} rows written for ${N} messages acknowledged by an online subscriber`);
});

test('persistence: deliveries to an offline persistent subscriber are in the file until it takes them', async (t) => {
  const { url, rows } = await start(t);
  const first = await mqtt.connectAsync(url, { clientId: 'cancel-offline', clean: false, reconnectPeriod: 0 });
  await first.subscribeAsync('cancel/off', { qos: 1 });
  await first.endAsync();
  const publisher = await mqtt.connectAsync(url, { clientId: 'cancel-pub2', clean: false, reconnectPeriod: 0 });
  await Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publishAsync('cancel/off', `o${i}`, { qos: 1 })));
  await publisher.endAsync();
  // Acknowledged to the publisher, so committed.
  assert.equal(rows('deliveries'), 50);
  assert.equal(rows('messages'), 50);

  const back = mqtt.connect(url, { clientId: 'cancel-offline', clean: false, reconnectPeriod: 0 });
  t.after(async () => {
    await back.endAsync(true);
  });
  let received = 0;
  back.on('message', () => received++);
  await until('the stored messages at the subscriber', () => received >= 50);
  await until('the acknowledged rows deleted from the file', () => rows('deliveries') === 0 && rows('messages') === 0);
});
