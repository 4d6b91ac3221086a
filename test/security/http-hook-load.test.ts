// The HTTP auth hook under load, against a real local HTTP server: a SUBSCRIBE of 2,000 filters
// asks at most pool_size questions at once and every filter gets its answer; a full queue denies
// at once with one clear (throttled) log line and is not cached; failures are logged at most once
// a second; connect decisions are cached whatever the client's port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpAuthOptions } from '../../src/auth/options.js';
import { ConfigError, parseConfig } from '../../src/config/config-file.js';
import { connect, subscribe, T } from '../helpers/packets.js';
import { rawClient, type RawClient } from '../helpers/raw.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { startCicada } from './support.js';

interface UserStore {
  url: string;
  /** Bodies received, in order. */
  bodies: Array<Record<string, unknown>>;
  /** Most requests the server was answering at the same time. */
  maxConcurrent: number;
}

/** A user store on 127.0.0.1 that answers `decide(body)` after `delayMs` (connect questions at once). */
async function userStore(t: { after(fn: () => Promise<void>): void }, delayMs: number, decide: (body: Record<string, unknown>) => string): Promise<UserStore> {
  const store: UserStore = { url: '', bodies: [], maxConcurrent: 0 };
  let concurrent = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    concurrent++;
    store.maxConcurrent = Math.max(store.maxConcurrent, concurrent);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
      store.bodies.push(body);
      setTimeout(() => {
        concurrent--;
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ result: decide(body) }));
      }, body.action === 'connect' ? 0 : delayMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  store.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
  return store;
}

async function brokerWithHook(t: Parameters<typeof startCicada>[0], httpAuth: HttpAuthOptions): Promise<{ port: number; logs: string[] }> {
  const { broker, logs } = await startCicada(t, { host: '127.0.0.1', port: 0, security: { httpAuth: { authorize: true, ...httpAuth } } });
  return { port: broker.port, logs };
}

async function connected(port: number, clientId: string): Promise<RawClient> {
  const c = await rawClient(port);
  c.send(connect({ clientId, username: 'load', password: 'pw' }));
  const connack = await c.readPacket(5000);
  assert.equal(connack.body[1], 0, 'CONNACK accepted');
  return c;
}

/** SUBSCRIBE `filters` at QoS 1 in one packet; the SUBACK's return codes. */
async function subscribeAll(c: RawClient, id: number, filters: string[], timeoutMs: number): Promise<number[]> {
  c.send(subscribe(id, filters.map((f) => [f, 1])));
  const suback = await c.readPacket(timeoutMs);
  assert.equal(suback.type, T.SUBACK);
  assert.equal(suback.body.readUInt16BE(0), id);
  return [...suback.body.subarray(2)];
}

const topicAllowed = (body: Record<string, unknown>): string =>
  body.action === 'connect' ? 'allow' : Number(String(body.topic).split('/')[1]) % 2 === 0 ? 'allow' : 'deny';

test('a SUBSCRIBE of 2,000 filters: at most pool_size requests at once, every filter answered (none timed out), the same SUBSCRIBE again answered from the cache', async (t) => {
  const store = await userStore(t, 2, topicAllowed);
  const { port, logs } = await brokerWithHook(t, { url: store.url, poolSize: 8 }); // the default time-out, 2 s
  const c = await connected(port, 'load-2000');
  t.after(() => c.close());
  const filters = Array.from({ length: 2000 }, (_, i) => `load/${i}`);
  const codes = await subscribeAll(c, 1, filters, 60_000);
  assert.deepEqual(codes, filters.map((_, i) => (i % 2 === 0 ? 1 : 0x80)));
  assert.ok(store.maxConcurrent <= 8, `${store.maxConcurrent} requests at once, pool_size 8`);
  assert.equal(store.bodies.filter((b) => b.action === 'subscribe').length, 2000);
  assert.deepEqual(logs.filter((l) => l.includes('HTTP auth hook')), [], 'no time-out, no failure');
  const asked = store.bodies.length;
  assert.deepEqual(await subscribeAll(c, 2, filters, 10_000), codes);
  assert.equal(store.bodies.length, asked, 'the second SUBSCRIBE was answered from the cache');
});

test('a full queue denies at once, logged once a second and not cached; failures and time-outs are logged once a second too', async (t) => {
  const store = await userStore(t, 100, () => 'allow');
  const { port, logs } = await brokerWithHook(t, { url: store.url, poolSize: 1, queueSize: 10 });
  const c = await connected(port, 'load-queue');
  t.after(() => c.close());
  const filters = Array.from({ length: 100 }, (_, i) => `full/${i}`);
  const codes = await subscribeAll(c, 1, filters, 30_000);
  // One in flight, 10 waiting, 89 refused without asking.
  assert.deepEqual(codes, filters.map((_, i) => (i < 11 ? 1 : 0x80)));
  assert.equal(store.bodies.filter((b) => b.action === 'subscribe').length, 11);
  const full = logs.filter((l) => l.includes('HTTP auth hook queue full: denied without asking'));
  assert.equal(full.length, 1, `one line for 89 refusals within a second: ${full.join('\n')}`);
  assert.match(full[0]!, /"poolSize":1,"queueSize":10/);
  // An overload refusal is not remembered: asked again with room, the filter is granted.
  assert.deepEqual(await subscribeAll(c, 2, ['full/50'], 10_000), [1]);

  // A user store that does not answer in time: 50 time-outs, one warning.
  const slow = await userStore(t, 5000, () => 'allow');
  const late = await brokerWithHook(t, { url: slow.url, poolSize: 64, timeoutMs: 300 });
  const d = await connected(late.port, 'load-slow');
  t.after(() => d.close());
  const lateCodes = await subscribeAll(d, 1, Array.from({ length: 50 }, (_, i) => `slow/${i}`), 10_000);
  assert.deepEqual(lateCodes, Array<number>(50).fill(0x80), 'a time-out means no');
  const timedOut = late.logs.filter((l) => l.includes('HTTP auth hook failed or timed out'));
  assert.equal(timedOut.length, 1, timedOut.join('\n'));
  assert.match(timedOut[0]!, /"sinceLastLog":1\b/);
});

test('connect decisions are cached whatever the client port; a different password is asked again', async (t) => {
  const store = await userStore(t, 0, (body) => (body.password === 'pw' ? 'allow' : 'deny'));
  const { broker } = await startCicada(t, { host: '127.0.0.1', port: 0, security: { httpAuth: { url: store.url } } });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  for (let i = 0; i < 3; i++) await endMqtt(await connectMqtt(url, { clientId: 'same-client', username: 'load', password: 'pw' }));
  assert.equal(store.bodies.length, 1, 'three connections from three ports, one question');
  await assert.rejects(connectMqtt(url, { clientId: 'same-client', username: 'load', password: 'other' }));
  assert.equal(store.bodies.length, 2);
});

test('http_auth_pool_size and http_auth_queue_size in a configuration file (file:line on a bad value)', () => {
  const options = parseConfig('http_auth_url http://127.0.0.1:1/auth\nhttp_auth_pool_size 16\nhttp_auth_queue_size 0', 'c.conf');
  assert.deepEqual(options.security?.httpAuth, { url: 'http://127.0.0.1:1/auth', poolSize: 16, queueSize: 0 });
  for (const [text, message] of [
    ['http_auth_url http://h/a\nhttp_auth_pool_size 0', /^c\.conf:2: http_auth_pool_size: /],
    ['http_auth_url http://h/a\nhttp_auth_queue_size -1', /^c\.conf:2: http_auth_queue_size: /],
    ['http_auth_pool_size 4', /^c\.conf:1: http_auth_pool_size: http_auth_url is not set$/],
  ] as const) {
    assert.throws(() => parseConfig(text, 'c.conf'), (error: unknown) => error instanceof ConfigError && message.test(error.message), text);
  }
});
