// What must not come back after a restart or a crash: a session whose client reconnected with
// Session Expiry 0, sessions abandoned longer than persistent_client_expiration, expired
// retained messages (in memory and as rows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { createBroker, type Broker } from '../../src/index.js';
import { freePort } from '../helpers/broker.js';
import { persistentConfig, startBrokerProcess } from '../helpers/persistence.js';
import { waitFor } from '../helpers/wait.js';

const v5 = (clientId: string, sessionExpiryInterval: number): mqtt.IClientOptions => ({
  clientId,
  protocolVersion: 5,
  clean: false,
  reconnectPeriod: 0,
  properties: { sessionExpiryInterval },
});

async function connack(client: mqtt.MqttClient): Promise<mqtt.IConnackPacket> {
  return new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
}

test('[MQTT-3.1.2-23] a 5.0 session resumed with Session Expiry 0 does not come back after a SIGKILL: the change is stored before CONNACK', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-expiry0-'));
  const port = await freePort();
  const conf = persistentConfig(dir, port);
  let broker = await startBrokerProcess(conf, port);
  const url = `mqtt://127.0.0.1:${port}`;
  try {
    const first = await mqtt.connectAsync(url, v5('shrinking', 3600));
    await first.subscribeAsync('x/#', { qos: 1 });
    await first.endAsync();
    const again = mqtt.connect(url, v5('shrinking', 0));
    assert.equal((await connack(again)).sessionPresent, true);
    broker.kill('SIGKILL'); // at once after the CONNACK: what it reported must be committed
    await broker.exit(5000);
    again.end(true);
    broker = await startBrokerProcess(conf, port);
    const back = mqtt.connect(url, v5('shrinking', 3600));
    assert.equal((await connack(back)).sessionPresent, false, 'the session ended with its connection; a crash must not bring it back');
    await back.endAsync();
  } finally {
    broker.kill('SIGKILL');
  }
});

async function start(dir: string, extra: { persistentClientExpiration?: number } = {}): Promise<Broker> {
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, persistence: true, persistenceLocation: dir, ...extra });
  await broker.listen();
  return broker;
}

function rows(dir: string, sql: string): number {
  const db = new Database(join(dir, 'cicada.db'), { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('persistent_client_expiration applies to sessions restored from an earlier run, counted from their disconnection', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-pce-'));
  let broker = await start(dir); // no expiration: 3.1.1 sessions are kept forever
  t.after(() => broker.close());
  const url = (): string => `mqtt://127.0.0.1:${broker.port}`;
  for (const clientId of ['abandoned', 'recent']) {
    const c = await mqtt.connectAsync(url(), { clientId, clean: false, reconnectPeriod: 0 });
    await c.subscribeAsync('q/#', { qos: 1 });
    await c.endAsync();
  }
  const pub = await mqtt.connectAsync(url(), { reconnectPeriod: 0 });
  for (let i = 0; i < 20; i++) await pub.publishAsync('q/m', `m${i}`, { qos: 1 });
  await pub.endAsync();
  await broker.close();
  // 'abandoned' left two hours ago, 'recent' now.
  const db = new Database(join(dir, 'cicada.db'));
  db.prepare("UPDATE sessions SET disconnected_at = ? WHERE client_id = 'abandoned'").run(Date.now() - 2 * 3600_000);
  db.close();

  broker = await start(dir, { persistentClientExpiration: 3600 });
  await waitFor(() => rows(dir, "SELECT count(*) AS n FROM sessions WHERE client_id = 'abandoned'") === 0, 5000, 'the abandoned session is deleted');
  assert.equal(rows(dir, "SELECT count(*) AS n FROM deliveries WHERE client_id = 'abandoned'"), 0, 'with its queue');
  assert.equal(rows(dir, "SELECT count(*) AS n FROM deliveries WHERE client_id = 'recent'"), 20, 'the recent one keeps its queue');
  const abandoned = mqtt.connect(url(), { clientId: 'abandoned', clean: false, reconnectPeriod: 0 });
  assert.equal((await connack(abandoned)).sessionPresent, false);
  await abandoned.endAsync();
  const recent = mqtt.connect(url(), { clientId: 'recent', clean: false, reconnectPeriod: 0 });
  assert.equal((await connack(recent)).sessionPresent, true);
  await recent.endAsync();
});

test('MQTT 5.0 3.3.2.3.3: expired retained messages are removed from memory and from the store, by the sweep and at load', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-retexp-'));
  let broker = await start(dir);
  t.after(() => broker.close());
  const url = (): string => `mqtt://127.0.0.1:${broker.port}`;
  const pub = await mqtt.connectAsync(url(), { protocolVersion: 5, reconnectPeriod: 0 });
  for (let i = 0; i < 50; i++) await pub.publishAsync(`ret/short/${i}`, `s${i}`, { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
  await pub.publishAsync('ret/kept', 'kept', { qos: 1, retain: true });
  await pub.endAsync();
  assert.equal(rows(dir, 'SELECT count(*) AS n FROM retained'), 51);
  assert.equal(broker.stats.retainedMessages, 51);
  // The sweep (every second) removes them once expired, from memory and rows, messages included.
  await waitFor(() => broker.stats.retainedMessages === 1, 5000, 'expired retained messages leave memory');
  await waitFor(() => rows(dir, 'SELECT count(*) AS n FROM retained') === 1, 5000, 'and the store');
  assert.equal(rows(dir, 'SELECT count(*) AS n FROM messages'), 1);
  await broker.close();

  // At load: rows of messages that expired while the broker was down are dropped.
  const db = new Database(join(dir, 'cicada.db'));
  db.prepare("INSERT INTO messages VALUES (1000, 'ret/stale', x'41', 0, 1, NULL, NULL, ?)").run(Date.now() - 1000);
  db.prepare("INSERT INTO retained VALUES ('ret/stale', 1000)").run();
  db.close();
  broker = await start(dir);
  assert.equal(broker.stats.retainedMessages, 1, 'the stale one is not loaded');
  await waitFor(() => rows(dir, "SELECT count(*) AS n FROM retained WHERE topic = 'ret/stale'") === 0, 5000, 'and its rows are deleted');
  assert.equal(rows(dir, 'SELECT count(*) AS n FROM messages WHERE id = 1000'), 0);
});
