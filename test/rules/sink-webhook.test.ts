/** The webhook sink against a local HTTP server: the shared contract, 4xx/5xx, templates, overflow, slowness. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, startBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { rulesFrom, rulesOf } from './helpers.js';
import { publishStream, sinkContract, sinkStatus } from './sink-contract.js';
import { HttpServer } from './servers.js';

sinkContract('webhook', () => new HttpServer());

const only = cicadaOnly('the rule engine is Cicada\'s');

async function withWebhook(server: HttpServer, sinkOptions: string, run: (b: Awaited<ReturnType<typeof startBroker>>) => Promise<void>): Promise<void> {
  await server.start();
  const rules = rulesFrom([`sink out ${server.sinkLine} ${sinkOptions}`, 'rule stream', 'sql SELECT payload.i AS i, clientid FROM "stream/#"', `action out ${server.template}`]);
  const b = await startBroker({ rules });
  try {
    await run(b);
  } finally {
    await b.close();
    await server.close();
  }
}

void test('webhook: a 400 answer counts as failed, never as success, and is not retried', only, async () => {
  const server = new HttpServer();
  server.status = 400;
  await withWebhook(server, '', async (b) => {
    const pub = await connectMqtt(b.url, { clientId: 'dev-1' });
    await publishStream(pub, 0, 50);
    await waitFor(() => sinkStatus(b).failed === 50, 10_000, `50 failed (${JSON.stringify(sinkStatus(b))})`);
    const s = sinkStatus(b);
    assert.deepEqual([s.success, s.retried, s.dropped, s.queued], [0, 0, 0, 0]);
    assert.equal(rulesOf(b.broker).rules[0]?.actions[0]?.counters.failed, 50);
    await endMqtt(pub);
  });
});

void test('webhook: a 503 answer is retried until the server accepts; body and headers are templated', only, async () => {
  const server = new HttpServer();
  server.status = 503;
  await withWebhook(server, 'max_backoff=200', async (b) => {
    const pub = await connectMqtt(b.url, { clientId: 'dev-9' });
    await publishStream(pub, 0, 20);
    await waitFor(() => sinkStatus(b).retried >= 40, 10_000, `retried twice (${JSON.stringify(sinkStatus(b))})`);
    assert.equal(sinkStatus(b).status, 'disconnected');
    server.status = 200;
    await waitFor(() => sinkStatus(b).success === 20, 10_000, '20 written');
    assert.equal(sinkStatus(b).status, 'connected');
    assert.deepEqual(JSON.parse(server.bodies[0] as string), { i: JSON.parse(server.bodies[0] as string).i, device: 'dev-9' });
    assert.equal(server.headers[0]?.['x-device'], 'dev-9');
    assert.equal(server.headers[0]?.['content-type'], 'application/json');
    await endMqtt(pub);
  });
});

void test('webhook: overflow of the bounded buffer is counted as dropped and logged once per interval', only, async () => {
  const server = new HttpServer();
  await withWebhook(server, 'buffer_size=100 max_backoff=200', async (b) => {
    await server.stop();
    const pub = await connectMqtt(b.url, { clientId: 'dev-1' });
    await publishStream(pub, 0, 500);
    await waitFor(() => sinkStatus(b).dropped + sinkStatus(b).queued === 500, 10_000, `500 accounted (${JSON.stringify(sinkStatus(b))})`);
    const s = sinkStatus(b);
    assert.ok(s.queued <= 100 && s.dropped >= 400, JSON.stringify(s));
    assert.equal(rulesOf(b.broker).rules[0]?.actions[0]?.counters.dropped, s.dropped);
    assert.equal(b.logs().match(/sink buffer full: messages dropped/g)?.length, 1);
    await server.start();
    await waitFor(() => sinkStatus(b).queued === 0 && sinkStatus(b).status === 'connected', 10_000, 'buffer written');
    assert.equal(sinkStatus(b).success + sinkStatus(b).dropped, 500);
    await endMqtt(pub);
  });
});

void test('webhook: a sink that never answers does not slow MQTT delivery', only, async () => {
  const server = new HttpServer();
  server.delayMs = 60_000;
  await withWebhook(server, 'timeout=30000', async (b) => {
    const sub = await connectMqtt(b.url, { clientId: 'sub' });
    const pub = await connectMqtt(b.url, { clientId: 'dev-1' });
    await sub.subscribeAsync('stream/#', { qos: 1 });
    const started = Date.now();
    // 800: within the subscriber's queue bound (max_queued_messages 1000), so none may be dropped.
    await publishStream(pub, 0, 800);
    await waitFor(() => sub.inbox.all.length === 800, 10_000, `800 delivered (have ${sub.inbox.all.length})`);
    const elapsed = Date.now() - started;
    assert.equal(sinkStatus(b).success, 0);
    assert.ok(sinkStatus(b).queued > 0);
    assert.ok(elapsed < 10_000, `800 QoS 1 messages took ${elapsed} ms`);
    await endMqtt(sub);
    await endMqtt(pub);
  });
});
