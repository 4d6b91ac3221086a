/**
 * The contract every sink passes against its real server (sinks-*.test.ts): a 10,000-message
 * rule stream lands complete; the server killed mid-stream and brought back: everything
 * buffered arrives, the status said `disconnected` meanwhile and `connected` after, and the
 * counters add up (success + failed + dropped + queued = outputs, retried > 0). MQTT keeps
 * flowing meanwhile: every publish is acknowledged while the sink is down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, startBroker, type TestBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt, type TestClient } from '../helpers/mqttjs.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { rulesFrom, rulesOf } from './helpers.js';
import type { SinkServer } from './servers.js';
import type { RulesSnapshot } from '../../src/rules/index.js';

export const STREAM = 10_000;

export async function publishStream(client: TestClient, from: number, count: number): Promise<void> {
  for (let start = from; start < from + count; start += 500) {
    const window: Array<Promise<unknown>> = [];
    for (let i = start; i < Math.min(start + 500, from + count); i++) window.push(client.publishAsync(`stream/${i % 7}`, `{"i": ${i}}`, { qos: 1 }));
    await withTimeout(Promise.all(window), 10_000, `publish ${start}..`);
  }
}

export function sinkStatus(b: TestBroker): RulesSnapshot['sinks'][number] {
  const sink = rulesOf(b.broker).sinks[0];
  assert.ok(sink !== undefined);
  return sink;
}

async function withSink(server: SinkServer, run: (b: TestBroker, pub: TestClient) => Promise<void>): Promise<void> {
  await server.start();
  const rules = rulesFrom([`sink out ${server.sinkLine} max_backoff=400`, 'rule stream', 'sql SELECT payload.i AS i, clientid FROM "stream/#"', `action out ${server.template}`]);
  const b = await startBroker({ rules });
  const pub = await connectMqtt(b.url, { clientId: 'dev-1' });
  try {
    await run(b, pub);
  } finally {
    await endMqtt(pub);
    await b.close();
    await server.close();
  }
}

export function sinkContract(name: string, make: () => SinkServer): void {
  const only = cicadaOnly('the rule engine is Cicada\'s');

  void test(`${name}: a 10,000-message rule stream lands complete`, { ...only, timeout: 120_000 }, async () => {
    const server = make();
    await withSink(server, async (b, pub) => {
      await publishStream(pub, 0, STREAM);
      await waitFor(() => sinkStatus(b).success === STREAM, 60_000, `${STREAM} written (${JSON.stringify(sinkStatus(b))})`, 50);
      assert.equal(await server.distinct(), STREAM);
      assert.deepEqual({ ...sinkStatus(b), retried: 0 }, { name: 'out', type: sinkStatus(b).type, status: 'connected', queued: 0, success: STREAM, failed: 0, retried: 0, dropped: 0, lastError: sinkStatus(b).lastError });
      const action = rulesOf(b.broker).rules[0]?.actions[0]?.counters;
      assert.equal(action?.success, STREAM);
    });
  });

  void test(`${name}: killed mid-stream and brought back, everything buffered arrives; status and counters tell the truth`, { ...only, timeout: 120_000 }, async () => {
    const server = make();
    await withSink(server, async (b, pub) => {
      await publishStream(pub, 0, 1000);
      await waitFor(() => sinkStatus(b).success === 1000, 30_000, 'first 1000 written', 20);
      assert.equal(sinkStatus(b).status, 'connected');
      await server.stop();
      // MQTT goes on while the sink is down: every QoS 1 publish is acknowledged.
      await publishStream(pub, 1000, 2000);
      await waitFor(() => sinkStatus(b).status === 'disconnected', 30_000, `status disconnected (${JSON.stringify(sinkStatus(b))})`, 20);
      const down = sinkStatus(b);
      assert.ok(down.queued > 0, `buffered while down: ${JSON.stringify(down)}`);
      assert.ok(down.success < 3000);
      await server.start();
      await waitFor(() => sinkStatus(b).success === 3000, 60_000, `all 3000 written after the restart (${JSON.stringify(sinkStatus(b))})`, 50);
      assert.equal(await server.distinct(), 3000);
      const after = sinkStatus(b);
      assert.equal(after.status, 'connected');
      assert.equal(after.queued, 0);
      assert.equal(after.failed + after.dropped, 0);
      assert.ok(after.retried > 0, 'retries counted');
      const rule = rulesOf(b.broker).rules[0];
      assert.equal(rule?.counters.passed, 3000);
      const action = rule?.actions[0]?.counters;
      assert.equal((action?.success ?? 0) + (action?.failed ?? 0) + (action?.dropped ?? 0) + after.queued, rule?.counters.passed);
      assert.equal(action?.retried, after.retried);
    });
  });
}
