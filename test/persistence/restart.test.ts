// Persistence through the broker: sessions, subscriptions, queued messages and retained messages
// survive a restart (SQLite in a temp dir), seen by MQTT.js clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createBroker, type Broker } from '../../src/index.js';
import { elapse } from '../helpers/wait.js';

async function start(dir: string, port = 0): Promise<Broker> {
  const broker = createBroker({ host: '127.0.0.1', port, logLevel: 'silent', sysInterval: 0, persistence: true, persistenceLocation: dir });
  await broker.listen();
  return broker;
}

test('[MQTT-3.1.2-4] [MQTT-3.1.2-5] a persistent session, its queued QoS 1/2 messages and retained messages survive a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-persist-'));
  let broker = await start(dir);
  t.after(() => broker.close());
  const url = (): string => `mqtt://127.0.0.1:${broker.port}`;
  const sub = await mqtt.connectAsync(url(), { clientId: 'keeper', clean: false, reconnectPeriod: 0 });
  await sub.subscribeAsync('persist/#', { qos: 2 });
  await sub.endAsync();
  const pub = await mqtt.connectAsync(url(), { reconnectPeriod: 0 });
  for (let i = 0; i < 5; i++) await pub.publishAsync('persist/q', `m${i}`, { qos: (1 + (i % 2)) as 1 | 2 });
  await pub.publishAsync('persist/retained', 'kept', { qos: 1, retain: true });
  await pub.endAsync();
  await broker.close();

  broker = await start(dir);
  const back = mqtt.connect(url(), { clientId: 'keeper', clean: false, reconnectPeriod: 0 });
  const got: string[] = [];
  back.on('message', (_topic, payload) => got.push(payload.toString()));
  const connack = await new Promise<mqtt.IConnackPacket>((resolve) => back.once('connect', resolve));
  assert.equal(connack.sessionPresent, true, 'session present after restart');
  const deadline = Date.now() + 5000;
  while (got.filter((m) => m.startsWith('m')).length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  // MQTT.js hands QoS 2 messages over at PUBREL, so compare each QoS's order separately.
  const queued = got.filter((m) => m.startsWith('m'));
  assert.deepEqual(queued.filter((m) => ['m0', 'm2', 'm4'].includes(m)), ['m0', 'm2', 'm4']);
  assert.deepEqual(queued.filter((m) => ['m1', 'm3'].includes(m)), ['m1', 'm3']);
  assert.equal(queued.length, 5);
  await back.endAsync();

  const fresh = await mqtt.connectAsync(url(), { reconnectPeriod: 0 });
  const retained = new Promise<string>((resolve) => fresh.once('message', (_t, p) => resolve(p.toString())));
  await fresh.subscribeAsync('persist/retained', { qos: 1 });
  assert.equal(await retained, 'kept');
  await fresh.endAsync();
});

test('a clean session leaves nothing behind after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-persist-'));
  let broker = await start(dir);
  t.after(() => broker.close());
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'temp', clean: true, reconnectPeriod: 0 });
  await c.subscribeAsync('x', { qos: 1 });
  await c.endAsync();
  await broker.close();
  broker = await start(dir);
  const again = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'temp', clean: false, reconnectPeriod: 0 });
  const connack = await new Promise<mqtt.IConnackPacket>((resolve) => again.once('connect', resolve));
  assert.equal(connack.sessionPresent, false);
  await again.endAsync();
});

test('persistent_client_expiration ends a disconnected 3.1.1 persistent session after that many seconds', async (t) => {
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, persistentClientExpiration: 1 });
  await broker.listen();
  t.after(() => broker.close());
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const first = await mqtt.connectAsync(url, { clientId: 'expiring', clean: false, reconnectPeriod: 0 });
  await first.subscribeAsync('e', { qos: 1 });
  await first.endAsync();
  const soon = mqtt.connect(url, { clientId: 'expiring', clean: false, reconnectPeriod: 0 });
  assert.equal((await new Promise<mqtt.IConnackPacket>((resolve) => soon.once('connect', resolve))).sessionPresent, true);
  await soon.endAsync();
  await elapse(1500, 'persistent_client_expiration (1 s) passes');
  const late = mqtt.connect(url, { clientId: 'expiring', clean: false, reconnectPeriod: 0 });
  assert.equal((await new Promise<mqtt.IConnackPacket>((resolve) => late.once('connect', resolve))).sessionPresent, false);
  await late.endAsync();
});
