/** The PostgreSQL sink against PostgreSQL 15 started by the test: the shared contract, and rows refused one by one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, startBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { rulesFrom, rulesOf } from './helpers.js';
import { publishStream, sinkContract, sinkStatus } from './sink-contract.js';
import { PostgresServer } from './servers.js';

sinkContract('postgres', () => new PostgresServer());

void test('postgres: a row the server refuses (CHECK constraint) fails alone; the rest of its batch is written; values are parameters', { ...cicadaOnly('the rule engine is Cicada\'s'), timeout: 60_000 }, async () => {
  const server = new PostgresServer();
  await server.start();
  // i = 13 becomes -1: refused by CHECK (i >= 0). A device name with a quote is data, never SQL.
  const rules = rulesFrom([
    `sink out ${server.sinkLine}`,
    'rule stream',
    'sql SELECT CASE WHEN payload.i = 13 THEN -1 ELSE payload.i END AS i, concat(clientid, \'\'\'); DROP TABLE readings; --\') AS clientid FROM "stream/#"',
    `action out ${server.template}`,
  ]);
  const b = await startBroker({ rules });
  const pub = await connectMqtt(b.url, { clientId: 'dev-1' });
  try {
    await publishStream(pub, 0, 100);
    await waitFor(() => sinkStatus(b).success + sinkStatus(b).failed === 100, 30_000, `100 settled (${JSON.stringify(sinkStatus(b))})`);
    assert.deepEqual([sinkStatus(b).success, sinkStatus(b).failed, sinkStatus(b).retried], [99, 1, 0]);
    assert.equal(rulesOf(b.broker).rules[0]?.actions[0]?.counters.failed, 1);
    assert.equal(await server.distinct(), 99);
    const [row] = await server.query('SELECT device FROM readings LIMIT 1');
    assert.equal(row?.device, 'dev-1\'); DROP TABLE readings; --');
  } finally {
    await endMqtt(pub);
    await b.close();
    await server.close();
  }
});
