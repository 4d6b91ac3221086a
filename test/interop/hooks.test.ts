/**
 * The hook chain seen from real clients (Cicada only): `broker.hooks.add` callbacks that change
 * or drop messages, refuse publishes and subscriptions with the right reason codes, and observe
 * deliveries, acknowledgements, dropped copies and the life of sessions, through MQTT.js.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alteredMessage, type SessionEndReason } from '../../src/index.js';
import { cicadaOnly } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../security/support.js';

const only = cicadaOnly('the hook chain is Cicada API');

describe('hook chain through real clients', only, () => {
  test('message.publish: a callback changes a message before routing, another drops it (message.dropped says why)', async (t) => {
    const h = await setup(t);
    const hooks = h.broker.broker!.hooks;
    const dropped: string[] = [];
    hooks.add('message.publish', (m) => (m.topic.startsWith('drop/') ? 'stop' : undefined), 10);
    hooks.add('message.publish', (m) => (m.topic === 'alter/x' ? alteredMessage(m, { topic: 'altered/x', payload: m.payload.toString().toUpperCase() }) : undefined), 0);
    hooks.add('message.dropped', (m, reason) => void dropped.push(`${m.topic} ${reason}`));
    const sub = await h.mqtt({ clientId: 'hsub' });
    await sub.subscribeAsync({ 'drop/#': { qos: 1 }, 'alter/#': { qos: 1 }, 'altered/#': { qos: 1 }, plain: { qos: 1 } });
    const pub = await h.mqtt({ clientId: 'hpub' });
    await pub.publishAsync('drop/a', 'gone', { qos: 1 });
    await pub.publishAsync('alter/x', 'quiet', { qos: 1 });
    await pub.publishAsync('plain', 'as sent', { qos: 1 });
    await pub.publishAsync('nobody/listens', 'x', { qos: 0 });
    const got = await sub.inbox.next(2);
    assert.deepEqual(got.map((m) => [m.topic, m.payload]), [
      ['altered/x', 'QUIET'],
      ['plain', 'as sent'],
    ]);
    await waitFor(() => dropped.includes('nobody/listens no-subscribers'), 2000, `message.dropped (seen ${JSON.stringify(dropped)})`);
    assert.deepEqual(dropped, ['drop/a stopped', 'nobody/listens no-subscribers']);
  });

  test('client.authorize deny: 5.0 PUBACK and SUBACK 0x87, 3.1.1 SUBACK 0x80; other topics pass to the next callback', async (t) => {
    const h = await setup(t);
    const hooks = h.broker.broker!.hooks;
    const asked: string[] = [];
    hooks.add('client.authorize', (_c, action, topic) => (topic.startsWith('secret') ? 'deny' : 'ignore'), 5);
    hooks.add('client.authorize', (_c, action, topic) => (asked.push(`${action} ${topic}`), 'allow'), 0);
    const v5 = await h.mqtt({ clientId: 'authz5', protocolVersion: 5 });
    // MQTT.js rejects a subscribe with a failure code and gives the SUBACK's codes.
    const suback = (codes: number[]) => (error: Error & { packet?: { granted?: number[] } }) => (assert.deepEqual(error.packet?.granted, codes), true);
    await assert.rejects(v5.subscribeAsync({ 'secret/#': { qos: 1 }, 'open/#': { qos: 1 } }), suback([0x87, 1]), '5.0 SUBACK: Not authorized, then QoS 1');
    await assert.rejects(v5.publishAsync('secret/x', 'no', { qos: 1 }), (e: Error & { code?: number }) => e.code === 0x87, '5.0 PUBACK 0x87');
    await v5.publishAsync('open/x', 'yes', { qos: 1 });
    const [delivered] = await v5.inbox.next(1);
    assert.equal(delivered?.topic, 'open/x');
    const v4 = await h.mqtt({ clientId: 'authz4', protocolVersion: 4 });
    const granted4 = await v4.subscribeAsync('secret/y', { qos: 2 }).catch((error: Error & { packet?: { granted?: number[] } }) => error.packet?.granted);
    assert.deepEqual(Array.isArray(granted4) ? granted4.map((g) => (typeof g === 'number' ? g : g.qos)) : granted4, [0x80], '3.1.1 SUBACK failure 0x80');
    assert.deepEqual(asked, ['subscribe open/#', 'publish open/x', 'deliver open/x']);
  });

  for (const qos of [1, 2] as const) {
    test(`message.delivered and message.acked fire once per delivery and acknowledgement at QoS ${qos}`, async (t) => {
      const h = await setup(t);
      const hooks = h.broker.broker!.hooks;
      const delivered: string[] = [];
      const acked: string[] = [];
      hooks.add('message.delivered', (c, m) => void delivered.push(`${c.clientId} ${m.topic} ${m.payload.toString()}`));
      hooks.add('message.acked', (c, m) => void acked.push(`${c.clientId} ${m.topic} ${m.payload.toString()}`));
      const subs = [await h.mqtt({ clientId: 'd1' }), await h.mqtt({ clientId: 'd2', protocolVersion: 5 })];
      for (const s of subs) await s.subscribeAsync('q/#', { qos });
      const pub = await h.mqtt({ clientId: 'dpub' });
      for (const n of [1, 2, 3]) await pub.publishAsync('q/t', `m${n}`, { qos });
      for (const s of subs) await s.inbox.next(3);
      const expected = ['d1', 'd2'].flatMap((id) => [1, 2, 3].map((n) => `${id} q/t m${n}`)).sort();
      await waitFor(() => acked.length >= 6, 3000, `six acknowledgements (seen ${JSON.stringify(acked)})`);
      assert.deepEqual([...delivered].sort(), expected, 'one message.delivered per copy sent');
      assert.deepEqual([...acked].sort(), expected, 'one message.acked per PUBACK / PUBCOMP');
    });
  }

  test('delivery.dropped fires for each copy that finds the queue of an offline session full', async (t) => {
    const h = await setup(t, { maxQueuedMessages: 2 });
    const dropped: string[] = [];
    h.broker.broker!.hooks.add('delivery.dropped', (clientId, m, reason) => void dropped.push(`${clientId} ${m.payload.toString()} ${reason}`));
    const sub = await h.mqtt({ clientId: 'slow', clean: false });
    await sub.subscribeAsync('full/#', { qos: 1 });
    await sub.endAsync();
    const pub = await h.mqtt({ clientId: 'fpub' });
    for (let n = 1; n <= 5; n++) await pub.publishAsync('full/t', `m${n}`, { qos: 1 });
    assert.deepEqual(dropped, ['slow m3 queue-full', 'slow m4 queue-full', 'slow m5 queue-full']);
  });

  test('session.created / resumed / terminated on a new session, a resumption, a take-over with clean start and an expiry', async (t) => {
    const h = await setup(t);
    const hooks = h.broker.broker!.hooks;
    const seen: string[] = [];
    hooks.add('session.created', (c) => void seen.push(`created ${c.clientId}`));
    hooks.add('session.resumed', (c) => void seen.push(`resumed ${c.clientId}`));
    hooks.add('session.terminated', (id: string, reason: SessionEndReason) => void seen.push(`terminated ${id} ${reason}`));
    hooks.add('client.disconnected', (c, reason) => void seen.push(`disconnected ${c.clientId} ${reason}`));
    const first = await h.mqtt({ clientId: 's1', clean: false });
    const taker = await h.mqtt({ clientId: 's1', clean: false }); // take-over, session kept
    await waitFor(() => seen.includes('resumed s1'), 2000, `resumed (seen ${JSON.stringify(seen)})`);
    const cleaner = await h.mqtt({ clientId: 's1', clean: true }); // take-over, session discarded
    await waitFor(() => seen.filter((s) => s === 'created s1').length === 2, 2000, `second created (seen ${JSON.stringify(seen)})`);
    assert.deepEqual(seen, [
      'created s1',
      'disconnected s1 session taken over',
      'resumed s1',
      'disconnected s1 session taken over',
      'terminated s1 clean-start',
      'created s1',
    ]);
    void first;
    void taker;
    await cleaner.endAsync();
    await waitFor(() => seen.includes('terminated s1 closed'), 2000, `end with the connection (seen ${JSON.stringify(seen)})`);
    seen.length = 0;
    const expiring = await h.mqtt({ clientId: 's2', protocolVersion: 5, properties: { sessionExpiryInterval: 1 } });
    await expiring.endAsync();
    await waitFor(() => seen.includes('terminated s2 expired'), 4000, `expiry after 1 s (seen ${JSON.stringify(seen)})`);
    assert.deepEqual(seen, ['created s2', 'disconnected s2 client disconnected', 'terminated s2 expired']);
  });

  test('client.connack reports refusals and acceptances with their reason code; client.authenticate refuses', async (t) => {
    const h = await setup(t);
    const hooks = h.broker.broker!.hooks;
    const connacks: string[] = [];
    hooks.add('client.authenticate', (info) => (info.username === 'mallory' ? false : 'ignore'), 1);
    hooks.add('client.authenticate', () => true, 0);
    hooks.add('client.connack', (c, code) => void connacks.push(`${c.clientId} ${code}`));
    await assert.rejects(h.mqtt({ clientId: 'bad', username: 'mallory', password: 'x' }), (e: Error & { code?: number }) => e.code === 4);
    await h.mqtt({ clientId: 'good', username: 'alice', password: 'x' });
    assert.deepEqual(connacks, ['bad 134', 'good 0']);
  });

  test('the ACL file is a registration at priority -1000: a higher callback decides first, an option hook (priority 0) too, a lower one is never asked', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'acl'), 'topic readwrite open/#\n');
    const lower: string[] = [];
    const h = await setup(t, {
      security: { allowAnonymous: true, aclFile: join(dir, 'acl') },
      authorizeSubscribe: (_c, filter) => (filter === 'granted-by-option' ? true : filter === 'open/refused-by-option' ? false : 2),
    });
    const hooks = h.broker.broker!.hooks;
    hooks.add('client.authorize', (_c, _a, topic) => (topic === 'open/vetoed' ? 'deny' : 'ignore'), 10, { actions: ['publish'] });
    hooks.add('client.authorize', (_c, action, topic) => (lower.push(`${action} ${topic}`), 'allow'), -2000);
    const c = await h.mqtt({ clientId: 'acl5', protocolVersion: 5 });
    await c.subscribeAsync('open/#', { qos: 1 });
    await c.publishAsync('open/a', 'allowed by the ACL file', { qos: 1 });
    await assert.rejects(c.publishAsync('open/vetoed', 'x', { qos: 1 }), (e: Error & { code?: number }) => e.code === 0x87, 'priority 10 denies before the ACL file');
    await assert.rejects(c.publishAsync('closed/a', 'x', { qos: 1 }), (e: Error & { code?: number }) => e.code === 0x87, 'the ACL file denies');
    await c.subscribeAsync('granted-by-option', { qos: 1 }); // the option hook answers first: the ACL file is not asked
    const refused = await c.subscribeAsync('open/refused-by-option', { qos: 1 }).catch((e: Error & { packet?: { granted?: number[] } }) => e.packet?.granted);
    assert.deepEqual(refused, [0x87]);
    const [got] = await c.inbox.next(1);
    assert.equal(got?.payload, 'allowed by the ACL file');
    assert.deepEqual(lower, [], 'the ACL file always answers: a callback below it is never asked');
  });
});
