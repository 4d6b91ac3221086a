/** The Redis sink against redis-server started by the test: the shared contract (command template), and XADD by default. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, startBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { rulesFrom } from './helpers.js';
import { publishStream, sinkContract, sinkStatus } from './sink-contract.js';
import { RedisServer } from './servers.js';

sinkContract('redis', () => new RedisServer());

void test('redis: without a template each output row is XADDed to the stream (templated key, MAXLEN); a WRONGTYPE reply fails the row', { ...cicadaOnly('the rule engine is Cicada\'s'), timeout: 60_000 }, async () => {
  const server = new RedisServer();
  await server.start();
  await server.command('SET', 'readings:dev-bad', 'a string');
  const rules = rulesFrom([
    `sink out redis redis://127.0.0.1:${server.port} stream=readings:\${clientid} maxlen=1000`,
    'rule stream',
    'sql SELECT payload.i AS i, clientid FROM "stream/#"',
    'action out',
  ]);
  const b = await startBroker({ rules });
  const pub = await connectMqtt(b.url, { clientId: 'dev-1' });
  const bad = await connectMqtt(b.url, { clientId: 'dev-bad' });
  try {
    await publishStream(pub, 0, 20);
    await bad.publishAsync('stream/x', '{"i": 99}', { qos: 1 });
    await waitFor(() => sinkStatus(b).success + sinkStatus(b).failed === 21, 10_000, `21 settled (${JSON.stringify(sinkStatus(b))})`);
    assert.deepEqual([sinkStatus(b).success, sinkStatus(b).failed], [20, 1]);
    assert.equal(await server.command('XLEN', 'readings:dev-1'), 20);
    const entries = (await server.command('XRANGE', 'readings:dev-1', '-', '+', 'COUNT', '1')) as Array<[string, string[]]>;
    assert.deepEqual(entries[0]?.[1], ['i', '0', 'clientid', 'dev-1']);
  } finally {
    await endMqtt(pub);
    await endMqtt(bad);
    await b.close();
    await server.close();
  }
});
