/**
 * The embeddable API (Cicada only): createBroker's events, broker.publish, the authenticate and
 * authorize hooks, stats and logs, observed through real MQTT.js and raw clients.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { connack, connect, publish, puback, subscribe, suback } from '../helpers/packets.js';
import { waitFor } from '../helpers/wait.js';

const only = cicadaOnly('embeddable API');

describe('embedding Cicada', only, () => {
  test('events: clientConnected, subscribed, message, unsubscribed, clientDisconnected', async (t) => {
    const h = await setup(t);
    const broker = h.broker.broker!;
    const seen: string[] = [];
    broker.on('clientConnected', (c) => seen.push(`connected ${c.clientId}`));
    broker.on('subscribed', (c, filter, qos) => seen.push(`subscribed ${c.clientId} ${filter} ${qos}`));
    broker.on('unsubscribed', (c, filter) => seen.push(`unsubscribed ${c.clientId} ${filter}`));
    broker.on('message', (topic, payload, qos, retain, c) => {
      if (!topic.startsWith('$SYS')) seen.push(`message ${topic} ${payload.toString()} ${qos} ${retain} ${c?.clientId ?? '-'}`);
    });
    broker.on('clientDisconnected', (c) => seen.push(`disconnected ${c.clientId}`));
    const c = await h.mqtt({ clientId: 'evented' });
    await c.subscribeAsync('ev/t', { qos: 1 });
    await c.publishAsync('ev/t', 'hi', { qos: 1, retain: true });
    await c.inbox.next(1);
    await c.unsubscribeAsync('ev/t');
    await c.endAsync();
    await waitFor(() => seen.includes('disconnected evented'), 2000, `clientDisconnected (seen ${JSON.stringify(seen)})`);
    assert.deepEqual(seen, ['connected evented', 'subscribed evented ev/t 1', 'message ev/t hi 1 true evented', 'unsubscribed evented ev/t', 'disconnected evented']);
  });

  test('broker.publish reaches MQTT.js subscribers (QoS and retain kept) and fires message with no client', async (t) => {
    const h = await setup(t);
    const broker = h.broker.broker!;
    const fromBroker: Array<string | undefined> = [];
    broker.on('message', (topic, _payload, _qos, _retain, c) => {
      if (topic === 'api/t') fromBroker.push(c?.clientId);
    });
    const s = await h.mqtt({ clientId: 'listener' });
    await s.subscribeAsync('api/#', { qos: 2 });
    broker.publish({ topic: 'api/t', payload: 'from the host', qos: 1 });
    broker.publish({ topic: 'api/kept', payload: Buffer.from('retained by the host'), qos: 2, retain: true });
    const got = await s.inbox.next(2);
    assert.deepEqual(got.map((m) => [m.topic, m.payload, m.qos]), [
      ['api/t', 'from the host', 1],
      ['api/kept', 'retained by the host', 2],
    ]);
    assert.deepEqual(fromBroker, [undefined]);
    const late = await h.mqtt({ clientId: 'late' });
    await late.subscribeAsync('api/kept', { qos: 2 });
    const [kept] = await late.inbox.next(1);
    assert.deepEqual([kept?.payload, kept?.retain], ['retained by the host', true]);
    assert.throws(() => broker.publish({ topic: 'api/+', payload: 'x' }), 'a wildcard topic is refused');
  });

  test('authenticate false: CONNACK 4 (bad user name or password), MQTT.js gets the error; true: accepted', async (t) => {
    const seen: Array<[string, string | undefined, string | undefined]> = [];
    const h = await setup(t, {
      authenticate: (info) => {
        seen.push([info.clientId, info.username, info.password?.toString()]);
        return info.username === 'alice' && info.password?.toString() === 'open sesame';
      },
    });
    const raw = await h.raw();
    raw.send(connect({ clientId: 'mallory', username: 'mallory', password: 'guess' }));
    await raw.expect(connack(4));
    await raw.expectClose();
    await assert.rejects(h.mqtt({ clientId: 'eve', username: 'eve', password: 'nope' }), (error: Error & { code?: number }) => error.code === 4);
    const ok = await h.mqtt({ clientId: 'alice', username: 'alice', password: 'open sesame' });
    assert.equal(ok.connected, true);
    assert.deepEqual(seen, [
      ['mallory', 'mallory', 'guess'],
      ['eve', 'eve', 'nope'],
      ['alice', 'alice', 'open sesame'],
    ]);
  });

  test('authenticate returning 0x87 (not authorized, async): CONNACK 5 for 3.1.1 and 3.1', async (t) => {
    const h = await setup(t, { authenticate: async () => 0x87 });
    await assert.rejects(h.mqtt({ clientId: 'nope' }), (error: Error & { code?: number }) => error.code === 5);
    const raw = await h.raw();
    raw.send(connect({ clientId: 'old', protocolName: 'MQIsdp', protocolLevel: 3 }));
    await raw.expect(connack(5));
    await raw.expectClose();
  });

  test('authorizePublish false: message acknowledged but not delivered; true: delivered', async (t) => {
    const h = await setup(t, { authorizePublish: (_c, topic) => !topic.startsWith('forbidden/') });
    const s = await h.mqtt({ clientId: 'reader' });
    await s.subscribeAsync('#', { qos: 1 });
    const p = await h.rawConnect({ clientId: 'writer' });
    p.send(publish({ topic: 'forbidden/x', payload: 'no', qos: 1, id: 1 }));
    await p.expect(puback(1));
    p.send(publish({ topic: 'forbidden/y', payload: 'no', retain: true }));
    p.send(publish({ topic: 'allowed/x', payload: 'yes', qos: 1, id: 2 }));
    await p.expect(puback(2));
    const [m] = await s.inbox.next(1);
    assert.equal(m?.topic, 'allowed/x');
    await s.inbox.expectNoMore();
    const late = await h.mqtt({ clientId: 'late' });
    await late.subscribeAsync('forbidden/#', { qos: 1 });
    await late.inbox.expectNoMore();
  });

  test('authorizeSubscribe false: SUBACK 0x80; a QoS number caps the granted QoS', async (t) => {
    const h = await setup(t, {
      authorizeSubscribe: (_c, filter) => (filter.startsWith('deny/') ? false : filter.startsWith('cap/') ? 1 : true),
    });
    const c = await h.rawConnect({ clientId: 'sub' });
    c.send(subscribe(3, [['deny/t', 0], ['cap/t', 2], ['free/t', 2]]));
    await c.expect(suback(3, 0x80, 1, 2));
    // MQTT.js reports a 0x80 return code as a failed subscribe.
    const js = await h.mqtt({ clientId: 'js' });
    await assert.rejects(js.subscribeAsync('deny/x', { qos: 1 }), /Subscribe error/);
  });

  test('stats move: clients, messages, bytes, subscriptions, retained', async (t) => {
    const h = await setup(t);
    const stats = h.broker.broker!.stats;
    const before = { ...stats };
    const a = await h.mqtt({ clientId: 'a' });
    const b = await h.mqtt({ clientId: 'b' });
    assert.equal(stats.clientsConnected, before.clientsConnected + 2);
    await a.subscribeAsync('st/+', { qos: 1 });
    await b.publishAsync('st/x', 'counted', { qos: 1, retain: true });
    await a.inbox.next(1);
    await waitFor(() => stats.messagesSent > before.messagesSent, 1000, 'messagesSent');
    assert.ok(stats.clientsTotal >= before.clientsTotal + 2, 'clientsTotal');
    assert.ok(stats.messagesReceived > before.messagesReceived, 'messagesReceived');
    assert.ok(stats.bytesReceived > before.bytesReceived, 'bytesReceived');
    assert.ok(stats.bytesSent > before.bytesSent, 'bytesSent');
    assert.equal(stats.subscriptions, before.subscriptions + 1);
    assert.equal(stats.retainedMessages, before.retainedMessages + 1);
    await a.endAsync();
    await b.endAsync();
    await waitFor(() => stats.clientsConnected === before.clientsConnected, 2000, 'clientsConnected back to baseline');
  });

  test('logs: the broker logs connections and protocol violations', async (t) => {
    const h = await setup(t);
    const c = await h.mqtt({ clientId: 'logged' });
    await c.endAsync();
    const bad = await h.rawConnect({ clientId: 'offender' });
    bad.send(publish({ topic: 'a/#', payload: 'x' }));
    await bad.expectClose();
    await waitFor(() => h.broker.logs().includes('offender'), 1000, `a log line about the offender in:\n${h.broker.logs()}`);
    assert.match(h.broker.logs(), /logged/);
  });
});
