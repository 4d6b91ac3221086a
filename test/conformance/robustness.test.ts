/**
 * Robustness: a stream of malformed connections (bounded in count and time, on 127.0.0.1) must
 * neither stall a well-behaved client nor leak connections or memory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerKind, cicadaOnly } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { connect, hex, publish, subscribe } from '../helpers/packets.js';
import { rawClient, rawConnect } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

const CONNECTIONS = 200;
const AT_ONCE = 10;

/** Byte sequences that each make the broker close the connection. */
const offences: Array<(i: number) => Buffer[]> = [
  () => [hex('ff ff ff ff ff ff')], // garbage: packet type 15, bad remaining length
  () => [hex('30 ff ff ff ff 01')], // five-byte remaining length
  () => [publish({ topic: 'x', payload: 'not connected' })], // first packet not CONNECT
  (i) => [connect({ clientId: `r${i}`, extraFlags: 0x01 })], // reserved flag
  (i) => [connect({ clientId: `r${i}` }), publish({ topic: 'a', payload: 'x', qos: 3, id: 1 })],
  (i) => [connect({ clientId: `r${i}` }), subscribe(1, [['a/#/b', 0]])],
  (i) => [connect({ clientId: `r${i}` }), connect({ clientId: `r${i}` })],
  (i) => [connect({ clientId: `r${i}`, protocolName: 'HTTP' })],
];

describe('robustness', () => {
  test('[MQTT-4.8.0-1] 200 malformed connections while a good client keeps a ping-pong going', async (t) => {
    const h = await setup(t);
    const baseline = h.broker.broker?.stats.clientsConnected ?? 0;
    const good = await h.mqtt({ clientId: 'good' });
    await good.subscribeAsync('pingpong', { qos: 1 });
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;

    let stop = false;
    let rounds = 0;
    let slowest = 0;
    const pingPong = (async () => {
      while (!stop) {
        const started = Date.now();
        await good.publishAsync('pingpong', `round ${rounds}`, { qos: 1 });
        const [m] = await good.inbox.next(1, 2000);
        assert.equal(m?.payload, `round ${rounds}`);
        slowest = Math.max(slowest, Date.now() - started);
        rounds++;
      }
    })();

    const deadline = Date.now() + 20_000;
    let notClosed = 0;
    for (let start = 0; start < CONNECTIONS && Date.now() < deadline; start += AT_ONCE) {
      await Promise.all(
        Array.from({ length: AT_ONCE }, async (_, k) => {
          const i = start + k;
          const c = await rawClient(h.port);
          try {
            for (const bytes of offences[i % offences.length]!(i)) c.send(bytes);
            if (!(await c.closesWithin(2000))) notClosed++;
          } finally {
            c.close();
          }
        }),
      );
    }
    stop = true;
    await pingPong;

    assert.equal(notClosed, 0, `${notClosed} malformed connections were left open`);
    assert.ok(rounds >= 1, 'no ping-pong round completed during the storm');
    assert.ok(slowest < 1000, `a ping-pong round took ${slowest} ms`);
    // The broker still accepts and serves new clients.
    const after = await rawConnect(h.port, { clientId: 'after' });
    after.close();
    if (brokerKind === 'cicada') {
      const stats = h.broker.broker!.stats;
      await waitFor(() => stats.clientsConnected === baseline + 1, 2000, `clientsConnected back to baseline+1 (is ${stats.clientsConnected})`);
      globalThis.gc?.();
      const growth = process.memoryUsage().heapUsed - heapBefore;
      assert.ok(growth < 20 * 1024 * 1024, `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MB`);
    }
  });

  test('half-sent packets are cut off by the connect timeout and do not pile up', cicadaOnly("Mosquitto's connect timeout is fixed"), async (t) => {
    const h = await setup(t, { connectTimeoutMs: 500 });
    const clients = await Promise.all(Array.from({ length: 20 }, () => rawClient(h.port)));
    clients.forEach((c, i) => c.send(i % 2 === 0 ? hex('10') : connect({ clientId: `half${i}` }).subarray(0, 8)));
    const closed = await Promise.all(clients.map((c) => c.closesWithin(2500)));
    clients.forEach((c) => c.close());
    assert.deepEqual(closed.filter((x) => !x).length, 0, 'every half-open connection is closed');
    await waitFor(() => h.broker.broker!.stats.clientsConnected === 0, 1000, 'no connected clients left');
  });
});
