/**
 * MQTT 5.0 with MQTT.js (protocolVersion 5): PUBLISH properties passed through unchanged (3.3.2.3),
 * topic aliases both ways resolved by a real client, subscription identifiers, will properties,
 * shared subscriptions with 5.0 and 3.1.1 members, reason codes and server DISCONNECT as MQTT.js
 * reports them, and 3.1.1 and 5.0 clients on the same topics.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IDisconnectPacket } from 'mqtt';
import { cicadaOnly, mosquittoDiffers } from '../helpers/broker.js';
import { endMqtt, roundTrip } from '../helpers/mqttjs.js';
import { setup } from '../helpers/harness.js';
import { subscribe, suback } from '../helpers/packets.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { mqtt5, mqtt5Subscriber, Packets } from '../helpers/v5.js';


describe('MQTT.js v5: properties passed through', { concurrency: true }, () => {
  // [MQTT-3.3.2-4] Payload Format Indicator, [MQTT-3.3.2-15] Response Topic, [MQTT-3.3.2-16]
  // Correlation Data, [MQTT-3.3.2-17]/[MQTT-3.3.2-18] User Properties (all, in order),
  // [MQTT-3.3.2-20] Content Type: sent unaltered to every subscriber.
  test('[MQTT-3.3.2-4][MQTT-3.3.2-15][MQTT-3.3.2-16][MQTT-3.3.2-17][MQTT-3.3.2-18][MQTT-3.3.2-20] user properties, response topic, correlation data, content type, payload format', async (t) => {
    const h = await setup(t);
    const { packets } = await mqtt5Subscriber(h, 'props-sub', 'props/t', 1);
    const p = await mqtt5(h, 'props-pub');
    await p.publishAsync('props/t', 'h\u00e9llo', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'application/json; charset=utf-8',
        responseTopic: 'props/reply/1',
        correlationData: Buffer.from([0x00, 0xff, 0x10, 0x20]),
        userProperties: { region: 'eu', tag: ['a', 'b', 'c'] },
        messageExpiryInterval: 60,
      },
    });
    const [m] = await packets.count(1);
    assert.equal(m?.payload.toString(), 'h\u00e9llo');
    const props = m?.properties ?? {};
    assert.equal(props.payloadFormatIndicator, true);
    assert.equal(props.contentType, 'application/json; charset=utf-8');
    assert.equal(props.responseTopic, 'props/reply/1');
    assert.equal(props.correlationData?.toString('hex'), '00ff1020');
    assert.deepEqual({ ...props.userProperties }, { region: 'eu', tag: ['a', 'b', 'c'] });
    // [MQTT-3.3.2-6]: the remaining interval, at most the original.
    assert.ok(props.messageExpiryInterval !== undefined && props.messageExpiryInterval <= 60 && props.messageExpiryInterval >= 59, `Message Expiry Interval ${String(props.messageExpiryInterval)}`);
  });

  test('a message without properties arrives without Response Topic, Correlation Data, Content Type or User Properties', async (t) => {
    const h = await setup(t);
    const { packets } = await mqtt5Subscriber(h, 'noprops-sub', 'noprops/t', 0);
    const p = await mqtt5(h, 'noprops-pub');
    await p.publishAsync('noprops/t', 'bare', { qos: 0 });
    const [m] = await packets.count(1);
    const props = m?.properties ?? {};
    assert.deepEqual([props.responseTopic, props.correlationData, props.contentType, props.userProperties, props.messageExpiryInterval], [undefined, undefined, undefined, undefined, undefined]);
  });

  test('will properties (delay 0): content type, user properties, response topic, correlation data forwarded', async (t) => {
    const h = await setup(t);
    const { packets } = await mqtt5Subscriber(h, 'will-sub', 'jswill/t', 1);
    const w = await mqtt5(h, 'will-client', {
      will: {
        topic: 'jswill/t',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { contentType: 'text/plain', responseTopic: 'jswill/reply', correlationData: Buffer.from('corr'), userProperties: { why: 'crash' } },
      },
    });
    w.kill();
    const [m] = await packets.count(1);
    assert.equal(m?.payload.toString(), 'gone');
    assert.equal(m?.properties?.contentType, 'text/plain');
    assert.equal(m?.properties?.responseTopic, 'jswill/reply');
    assert.equal(m?.properties?.correlationData?.toString(), 'corr');
    assert.deepEqual({ ...m?.properties?.userProperties }, { why: 'crash' });
  });

  test('[MQTT-3.3.4-3] subscription identifiers of every matching subscription, as MQTT.js reports them', mosquittoDiffers('one copy per subscription, allowed by [MQTT-3.3.4-5]'), async (t) => {
    const h = await setup(t);
    const s = await mqtt5(h, 'sid-js');
    const packets = new Packets(s);
    await s.subscribeAsync('jssid/#', { qos: 0, properties: { subscriptionIdentifier: 7 } });
    await s.subscribeAsync('jssid/+', { qos: 0, properties: { subscriptionIdentifier: 9 } });
    const p = await mqtt5(h, 'sid-js-pub');
    await p.publishAsync('jssid/x', 'both', { qos: 0 });
    const [m] = await packets.count(1);
    const got = m?.properties?.subscriptionIdentifier;
    assert.deepEqual((Array.isArray(got) ? got : [got]).sort(), [7, 9]);
  });
});

describe('MQTT.js v5: session expiry and will delay', { concurrency: true }, () => {
  test('[MQTT-3.1.2-23] sessionExpiryInterval 60: resumed with the queued message; set to 0 on the next connection: gone after it', async (t) => {
    const h = await setup(t);
    const first = await mqtt5(h, 'js-sei', { clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribeAsync('jssei/t', { qos: 1 });
    await endMqtt(first);
    const p = await mqtt5(h, 'js-sei-pub');
    await p.publishAsync('jssei/t', 'while away', { qos: 1 });
    const again = await mqtt5(h, 'js-sei', { clean: false, properties: { sessionExpiryInterval: 0 } });
    const [m] = await again.inbox.next(1);
    assert.equal(m?.payload, 'while away');
    await endMqtt(again);
    await p.publishAsync('jssei/t', 'after the end', { qos: 1 });
    const third = await mqtt5(h, 'js-sei', { clean: false });
    await third.inbox.expectNoMore();
  });

  test('will delay 1 s from MQTT.js (willDelayInterval): the will arrives after the delay, with its properties', async (t) => {
    const h = await setup(t);
    const { packets } = await mqtt5Subscriber(h, 'jswd-sub', 'jswd/t', 1);
    const w = await mqtt5(h, 'jswd', {
      properties: { sessionExpiryInterval: 10 },
      will: { topic: 'jswd/t', payload: Buffer.from('late'), qos: 1, retain: false, properties: { willDelayInterval: 1, contentType: 'x/y' } },
    });
    const start = Date.now();
    w.kill();
    const [m] = await packets.count(1, 3000);
    assert.ok(Date.now() - start >= 900, `will after ${Date.now() - start} ms`);
    assert.equal(m?.payload.toString(), 'late');
    assert.equal(m?.properties?.contentType, 'x/y');
  });
});

describe('MQTT.js v5: topic aliases', { concurrency: true }, () => {
  test('a subscriber announcing topicAliasMaximum gets aliases, and MQTT.js resolves each to its topic', mosquittoDiffers('no outbound topic aliases'), async (t) => {
    const h = await setup(t);
    const { client: s, packets } = await mqtt5Subscriber(h, 'alias-sub', 'jsalias/#', 1, { properties: { topicAliasMaximum: 4 } });
    const p = await mqtt5(h, 'alias-pub');
    const topics = ['jsalias/a', 'jsalias/b', 'jsalias/a', 'jsalias/b', 'jsalias/a'];
    for (const [i, topic] of topics.entries()) await p.publishAsync(topic, String(i), { qos: 1 });
    await packets.count(topics.length);
    assert.deepEqual(s.inbox.all.map((m) => `${m.topic} ${m.payload}`), topics.map((topic, i) => `${topic} ${i}`));
    const aliases = packets.all.map((m) => m.properties?.topicAlias);
    assert.ok(aliases.every((a) => a !== undefined && a >= 1 && a <= 4), `aliases used: ${JSON.stringify(aliases)}`);
  });

  test('an MQTT.js publisher with autoUseTopicAlias: inbound aliases resolved by the broker', async (t) => {
    const h = await setup(t);
    const s = await mqtt5(h, 'autoalias-sub');
    await s.subscribeAsync('jsauto/#', { qos: 1 });
    const p = await mqtt5(h, 'autoalias-pub', { autoAssignTopicAlias: true });
    for (let i = 0; i < 3; i++) await p.publishAsync('jsauto/long/topic', String(i), { qos: 1 });
    await p.publishAsync('jsauto/other', 'x', { qos: 1 });
    const got = await s.inbox.next(4);
    assert.deepEqual(got.map((m) => `${m.topic} ${m.payload}`), ['jsauto/long/topic 0', 'jsauto/long/topic 1', 'jsauto/long/topic 2', 'jsauto/other x']);
  });
});

describe('MQTT.js v5: reason codes and server DISCONNECT', { concurrency: true }, () => {
  test('PUBACK 0x87: MQTT.js rejects the publish with reason code 135', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authorizePublish: (_c, topic) => topic !== 'jsdeny/t' });
    const p = await mqtt5(h, 'deny-js');
    await assert.rejects(p.publishAsync('jsdeny/t', 'x', { qos: 1 }), (error: Error & { code?: number }) => error.code === 135);
    await p.publishAsync('jsallow/t', 'x', { qos: 1 });
  });

  test('SUBACK 0x87 as MQTT.js reports it (a rejected subscribe, granted [135])', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authorizeSubscribe: () => false });
    const s = await mqtt5(h, 'subdeny-js');
    await assert.rejects(s.subscribeAsync('jsdenied/t', { qos: 1 }), (error: Error & { packet?: { granted?: number[] } }) => {
      assert.deepEqual(error.packet?.granted, [0x87]);
      return true;
    });
  });

  test('[MQTT-3.1.4-3] the first MQTT.js client gets DISCONNECT 0x8E (session taken over) when its id connects again', mosquittoDiffers('2.0.11 closes without DISCONNECT 0x8E'), async (t) => {
    const h = await setup(t);
    const first = await mqtt5(h, 'takeover-js');
    const disconnected = new Promise<IDisconnectPacket>((resolve) => first.once('disconnect', resolve));
    await mqtt5(h, 'takeover-js');
    const packet = await withTimeout(disconnected, 3000, 'DISCONNECT to the first client');
    assert.equal(packet.reasonCode, 0x8e);
  });

  test('CONNACK 0x86 refuses an MQTT.js client when authenticate returns false', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authenticate: () => false });
    await assert.rejects(mqtt5(h, 'refused-js', { username: 'u', password: 'p' }), (error: Error & { code?: number }) => error.code === 0x86);
  });
});

describe('MQTT.js: shared subscriptions and 3.1.1 next to 5.0', { concurrency: true }, () => {
  test('a 3.1.1 MQTT.js client (protocolVersion 4) and a 5.0 one share $share/g/…: every message exactly once, split between them', async (t) => {
    const h = await setup(t);
    const old = await h.mqtt({ clientId: 'share-v4', protocolVersion: 4 });
    const neu = await mqtt5(h, 'share-v5');
    await old.subscribeAsync('$share/g/jsshare/t', { qos: 1 });
    await neu.subscribeAsync('$share/g/jsshare/t', { qos: 1 });
    const p = await mqtt5(h, 'share-pub');
    for (let i = 0; i < 10; i++) await p.publishAsync('jsshare/t', String(i), { qos: 1 });
    await waitFor(() => old.inbox.all.length + neu.inbox.all.length >= 10, 3000, 'all 10 shared messages');
    await roundTrip(old); // anything else routed to the members has arrived by now
    await roundTrip(neu);
    assert.equal(old.inbox.all.length + neu.inbox.all.length, 10, 'a message went to both members');
    const all = [...old.inbox.all, ...neu.inbox.all].map((m) => Number(m.payload)).sort((a, b) => a - b);
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(old.inbox.all.length >= 4 && old.inbox.all.length <= 6, `split ${old.inbox.all.length}/${neu.inbox.all.length}`);
    assert.ok(old.inbox.all.every((m) => m.topic === 'jsshare/t'));
  });

  test('a raw 3.1.1 client can subscribe to $share/g/…: SUBACK granted, messages delivered', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'share-raw-v4' });
    c.send(subscribe(1, [['$share/g/rawshare/t', 1]]));
    await c.expect(suback(1, 1));
    const p = await mqtt5(h, 'rawshare-pub');
    await p.publishAsync('rawshare/t', 'to 3.1.1', { qos: 0, properties: { userProperties: { k: 'v' } } });
    const m = await c.readPublish();
    assert.deepEqual([m.topic, m.payload.toString()], ['rawshare/t', 'to 3.1.1']);
  });

  test('5.0 publisher with properties to a 3.1.1 subscriber: the payload arrives exactly (no property bytes), and 3.1.1 to 5.0', async (t) => {
    const h = await setup(t);
    const raw311 = await h.rawConnect({ clientId: 'mix-raw' });
    raw311.send(subscribe(1, [['mix/#', 1]]));
    await raw311.expect(suback(1, 1));
    const old = await h.mqtt({ clientId: 'mix-v4', protocolVersion: 4 });
    await old.subscribeAsync('mix/#', { qos: 1 });
    const { client: neu, packets } = await mqtt5Subscriber(h, 'mix-v5', 'mix/#', 1);
    await neu.publishAsync('mix/from5', 'five', {
      qos: 1,
      properties: { userProperties: { a: 'b' }, contentType: 'text/plain', messageExpiryInterval: 30, responseTopic: 'mix/r', correlationData: Buffer.from('c'), payloadFormatIndicator: true },
    });
    const m = await raw311.readPublish();
    assert.deepEqual([m.topic, m.payload.toString('hex'), m.qos], ['mix/from5', Buffer.from('five').toString('hex'), 1]);
    const [o] = await old.inbox.next(1);
    assert.deepEqual([o?.topic, o?.payload], ['mix/from5', 'five']);
    await old.publishAsync('mix/from4', 'four', { qos: 1 });
    await packets.count(2);
    const four = packets.all.find((x) => x.topic === 'mix/from4');
    assert.equal(four?.payload.toString(), 'four');
    assert.deepEqual(four?.properties?.userProperties, undefined);
  });
});
