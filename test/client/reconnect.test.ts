// Reconnecting: back-off timing, no QoS 1 message lost when the broker goes away mid-stream
// (Cicada restarted on the same port; Mosquitto restarted with its persistence file), the
// offline queue bound, resubscription.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { createBroker } from '../../src/index.js';
import { backoffDelay, connect, NotConnectedError } from '../../src/client/index.js';
import { freePort } from '../helpers/broker.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';
import { startMosquitto, tempDir } from './support.js';

async function cicadaOn(port: number) {
  const broker = createBroker({ host: '127.0.0.1', port, logLevel: 'silent', sysInterval: 0 });
  await broker.listen();
  return broker;
}

test('back-off: initial delay times factor^attempt, capped at the maximum, jitter takes off at most its fraction', () => {
  const o = { initialDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.5 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, o, () => 0)), [100, 200, 400, 800, 1000, 1000]);
  assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, o, () => 1)), [50, 100, 200]);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, o);
    assert.ok(d >= 400 && d <= 800, String(d));
  }
});

test('reconnect attempts are spaced by the back-off (bounds), and the counter resets after a success', async (t) => {
  const port = await freePort();
  let broker = await cicadaOn(port);
  const client = await connect(`mqtt://127.0.0.1:${port}`, { reconnect: { initialDelay: 60, maxDelay: 240, factor: 2, jitter: 0 } });
  t.after(() => client.end({ force: true }));
  const times: number[] = [];
  client.on('reconnect', () => times.push(Date.now()));
  const lostAt = Date.now();
  await broker.close();
  await waitFor(() => times.length >= 5, 5000, '5 reconnect attempts');
  const gaps = [times[0]! - lostAt, ...times.slice(1, 5).map((x, i) => x - times[i]!)];
  const expected = [60, 120, 240, 240, 240];
  gaps.forEach((gap, i) => assert.ok(gap >= expected[i]! - 5 && gap <= expected[i]! + 150, `gap ${i}: ${gap} ms, expected about ${expected[i]}`));
  broker = await cicadaOn(port);
  t.after(() => broker.close());
  await waitFor(() => client.state === 'connected', 3000, 'reconnected');
  // After a success the back-off starts over: the next loss waits the initial delay, not the maximum.
  const before = times.length;
  const lostAgainAt = Date.now();
  await broker.close();
  broker = await cicadaOn(port);
  await waitFor(() => client.state === 'connected' && times.length > before, 3000, 'reconnected again');
  const again = times[before]! - lostAgainAt;
  assert.ok(again >= 55 && again < 200, `first delay after a success: ${again} ms`);
});

test('publisher side: Cicada closed and restarted on the same port mid-stream, every QoS 1 publish reaches a broker [MQTT-4.4.0-1]', async (t) => {
  const port = await freePort();
  const received = new Set<string>();
  const track = (b: Awaited<ReturnType<typeof cicadaOn>>): void => {
    b.on('message', (topic, payload) => {
      if (topic === 'stream') received.add(payload.toString());
    });
  };
  let broker = await cicadaOn(port);
  track(broker);
  const client = await connect(`mqtt://127.0.0.1:${port}`, { clientId: 'pub-fixed', clean: false, reconnect: { initialDelay: 20, maxDelay: 100, factor: 2, jitter: 0.2 } });
  t.after(() => client.end({ force: true }));
  const N = 300;
  const publishes: Array<Promise<unknown>> = [];
  for (let i = 0; i < N; i++) {
    publishes.push(client.publish('stream', String(i), { qos: 1 }));
    if (i === 100) {
      await broker.close();
      broker = await cicadaOn(port);
      track(broker);
    }
    if (i % 10 === 0) await sleep(1);
  }
  await withTimeout(Promise.all(publishes), 10_000, 'all publishes acknowledged');
  t.after(() => broker.close());
  const missing = Array.from({ length: N }, (_, i) => String(i)).filter((i) => !received.has(i));
  assert.deepEqual(missing, []);
});

test('end to end: Mosquitto (persistent sessions) killed and restarted mid-stream, the clean=false subscriber misses no QoS 1 message', async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o777);
  const conf = ['allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'autosave_interval 1'];
  let mosq = await startMosquitto(dir, conf);
  const port = mosq.port;
  t.after(() => mosq.stop());
  const url = `mqtt://127.0.0.1:${port}`;
  const reconnect = { initialDelay: 30, maxDelay: 200, factor: 2, jitter: 0.2 };
  const sub = await connect(url, { clientId: 'sub-fixed', clean: false, reconnect });
  const pub = await connect(url, { clientId: 'pub-fixed', clean: false, reconnect });
  t.after(() => Promise.all([sub.end({ force: true }), pub.end({ force: true })]));
  await sub.subscribe('stream', { qos: 1 });
  const received = new Set<string>();
  sub.on('message', (m) => received.add(m.payload.toString()));
  const N = 200;
  const publishes: Array<Promise<unknown>> = [];
  for (let i = 0; i < N; i++) {
    publishes.push(pub.publish('stream', String(i), { qos: 1 }));
    if (i === 80) {
      await mosq.stop();
      mosq = await startMosquitto(dir, conf, port);
    }
    if (i % 10 === 0) await sleep(2);
  }
  await withTimeout(Promise.all(publishes), 15_000, 'all publishes acknowledged');
  await waitFor(() => received.size === N, 10_000, `all ${N} messages (have ${received.size})`);
});

test('offline queue: publishes while disconnected are kept up to the limit, then rejected; kept ones go out after reconnect', async (t) => {
  const port = await freePort();
  let broker = await cicadaOn(port);
  const client = await connect(`mqtt://127.0.0.1:${port}`, { offlineQueueLimit: 3, reconnect: { initialDelay: 50, maxDelay: 50, factor: 1, jitter: 0 } });
  t.after(() => client.end({ force: true }));
  await broker.close();
  await waitFor(() => client.state === 'reconnecting', 2000, 'offline');
  const kept = [1, 2, 3].map((i) => client.publish('q', String(i), { qos: 1 }));
  await assert.rejects(client.publish('q', '4', { qos: 1 }), NotConnectedError);
  broker = await cicadaOn(port);
  t.after(() => broker.close());
  const got: string[] = [];
  broker.on('message', (_t, p) => got.push(p.toString()));
  await withTimeout(Promise.all(kept), 5000, 'queued publishes');
  assert.deepEqual(got, ['1', '2', '3']);
});

test('resubscribe: after a broker restart (session gone) the client subscribes again by itself', async (t) => {
  const port = await freePort();
  let broker = await cicadaOn(port);
  const client = await connect(`mqtt://127.0.0.1:${port}`, { reconnect: { initialDelay: 20, maxDelay: 50, factor: 2, jitter: 0 } });
  t.after(() => client.end({ force: true }));
  await client.subscribe('re/sub', { qos: 1 });
  await broker.close();
  broker = await cicadaOn(port);
  t.after(() => broker.close());
  const subscribed = new Promise<void>((resolve) => broker.on('subscribed', () => resolve()));
  await withTimeout(subscribed, 3000, 'resubscribed');
  const msg = client.messages();
  broker.publish({ topic: 're/sub', payload: 'back', qos: 1 });
  const first = await withTimeout(msg.next(), 3000, 'message');
  assert.equal(first.value?.payload.toString(), 'back');
});

test('keepalive: a server that stops answering PINGREQ is detected within keepalive + ping timeout', async (t) => {
  const net = await import('node:net');
  const { encode } = await import('../../src/protocol/index.js');
  const server = net.createServer((socket) => {
    socket.once('data', () => socket.write(encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 4)));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const client = await connect(`mqtt://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`, { keepalive: 1, pingTimeout: 300, reconnect: false });
  const started = Date.now();
  const offline = new Promise<Error | undefined>((resolve) => client.once('offline', resolve));
  const error = await withTimeout(offline, 3000, 'offline');
  const elapsed = Date.now() - started;
  assert.match(String(error), /PINGRESP timed out/);
  assert.ok(elapsed >= 1000 && elapsed < 2000, `${elapsed} ms`);
});
