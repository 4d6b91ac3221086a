// Intervals longer than 24.8 days restored from the store: a session of 30 days / 999,999,999 s,
// its queued message and a delayed will (30 days) are still there after a restart, seen over raw
// MQTT 5 sockets (Node's setTimeout would have fired all of them 1 ms after the restore).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker, type Broker } from '../../src/index.js';
import { T } from '../helpers/packets.js';
import { rawClient } from '../helpers/raw.js';
import { connect5, disconnect5, P, parseAck5, parseConnack5, publish5, readPublish5, readType, subOptions, subscribe5, type Connect5Options } from '../helpers/v5.js';

async function start(dir: string): Promise<Broker> {
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, persistence: true, persistenceLocation: dir });
  await broker.listen();
  return broker;
}

async function connect(broker: Broker, o: Connect5Options, sessionPresent: boolean): Promise<Awaited<ReturnType<typeof rawClient>>> {
  const c = await rawClient(broker.port);
  c.send(connect5(o));
  const connack = parseConnack5(await c.readPacket());
  assert.equal(connack.reason, 0);
  assert.equal(connack.sessionPresent, sessionPresent, `${String(o.clientId)}: session present`);
  return c;
}

test('sessions of 30 days and 999999999 s, their queued messages and a 30-day will delay survive a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-long-'));
  let broker = await start(dir);
  t.after(() => broker.close());
  for (const [clientId, expiry] of [['long-a', 2_592_000], ['long-b', 999_999_999]] as const) {
    const c = await connect(broker, { clientId, props: [[P.SESSION_EXPIRY, expiry]] }, false);
    c.send(subscribe5(1, [[`long/${clientId}`, subOptions(1)]]));
    await readType(c, T.SUBACK);
    c.send(disconnect5());
    await c.expectClose();
  }
  const watcher = await connect(broker, { clientId: 'long-watch', props: [[P.SESSION_EXPIRY, 999_999_999]] }, false);
  watcher.send(subscribe5(1, [['long/will', subOptions(1)]]));
  await readType(watcher, T.SUBACK);
  const willer = await connect(
    broker,
    { clientId: 'long-will', props: [[P.SESSION_EXPIRY, 999_999_999]], will: { topic: 'long/will', payload: 'too early', qos: 1, props: [[P.WILL_DELAY, 2_592_000]] } },
    false,
  );
  willer.send(disconnect5(0x04)); // the will waits for its delay, and is stored
  await willer.expectClose();
  const pub = await connect(broker, { clientId: 'long-pub' }, false);
  pub.send(publish5({ topic: 'long/long-a', payload: 'for a', qos: 1, id: 1 }));
  pub.send(publish5({ topic: 'long/long-b', payload: 'for b', qos: 1, id: 2 }));
  assert.equal(parseAck5(await readType(pub, T.PUBACK)).id, 1);
  assert.equal(parseAck5(await readType(pub, T.PUBACK)).id, 2);
  pub.close();
  watcher.close();
  await broker.close();

  broker = await start(dir);
  // The watcher first: a will fired at the restore is queued for it.
  const back = await connect(broker, { clientId: 'long-watch', clean: false, props: [[P.SESSION_EXPIRY, 60]] }, true);
  for (const clientId of ['long-a', 'long-b']) {
    const c = await connect(broker, { clientId, clean: false, props: [[P.SESSION_EXPIRY, 60]] }, true);
    assert.equal((await readPublish5(c)).payload.toString(), `for ${clientId.slice(-1)}`);
    c.close();
  }
  (await connect(broker, { clientId: 'long-will', clean: false, props: [[P.SESSION_EXPIRY, 60]] }, true)).close();
  await back.expectSilence(300); // time is the behaviour: a restored timer that fired after 1 ms would have sent a will by now
  back.close();
});
