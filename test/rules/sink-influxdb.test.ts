/** The InfluxDB sink: the shared contract against Debian's InfluxDB 1.x started by the test (1.x /write), refused lines, and the 2.x API form. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, startBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { rulesFrom } from './helpers.js';
import { publishStream, sinkContract, sinkStatus } from './sink-contract.js';
import { HttpServer, InfluxServer } from './servers.js';

sinkContract('influxdb', () => new InfluxServer());

const only = { ...cicadaOnly('the rule engine is Cicada\'s'), timeout: 60_000 };

void test('influxdb: a line the server refuses (field type conflict) fails alone; the rest of its batch is written', only, async () => {
  const server = new InfluxServer();
  await server.start();
  // i = 7 writes value as a string: a type conflict with the integer field of the other points.
  const rules = rulesFrom([
    `sink out ${server.sinkLine}`,
    'rule stream',
    'sql SELECT payload.i AS i, clientid, CASE WHEN payload.i = 7 THEN \'"text"\' ELSE concat(payload.i, \'i\') END AS v FROM "stream/#"',
    'action out "readings,i=${i} value=${v}"',
  ]);
  const b = await startBroker({ rules });
  const pub = await connectMqtt(b.url, { clientId: 'dev-1' });
  try {
    await publishStream(pub, 0, 50);
    await waitFor(() => sinkStatus(b).success + sinkStatus(b).failed === 50, 20_000, `50 settled (${JSON.stringify(sinkStatus(b))})`);
    assert.deepEqual([sinkStatus(b).success, sinkStatus(b).failed], [49, 1]);
    assert.equal(await server.distinct(), 49);
  } finally {
    await endMqtt(pub);
    await b.close();
    await server.close();
  }
});

void test('influxdb: the 2.x API (/api/v2/write with org and bucket) gets the token and the batch of lines', only, async () => {
  const server = new HttpServer();
  server.status = 204;
  await server.start();
  const rules = rulesFrom([
    `sink out influxdb http://127.0.0.1:${server.port}/api/v2/write?org=o&bucket=b&precision=ms token=s3cret`,
    'rule stream',
    'sql SELECT payload.i AS i, clientid FROM "stream/#"',
    'action out "readings,device=${clientid} value=${i}i"',
  ]);
  const b = await startBroker({ rules });
  const pub = await connectMqtt(b.url, { clientId: 'dev 1,x' });
  try {
    await publishStream(pub, 0, 10);
    await waitFor(() => sinkStatus(b).success === 10, 10_000, '10 written');
    assert.equal(server.headers[0]?.authorization, 'Token s3cret');
    const lines = server.bodies.join('\n').split('\n');
    assert.equal(lines.length, 10);
    // Tag values are escaped (space and comma), so the line stays one point.
    assert.equal(lines[0], 'readings,device=dev\\ 1\\,x value=0i');
  } finally {
    await endMqtt(pub);
    await b.close();
    await server.close();
  }
});
