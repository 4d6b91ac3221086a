/**
 * Publish/subscribe with MQTT.js as an independent client, over MQTT 3.1.1 (protocolVersion 4) and
 * MQTT 3.1 (protocolVersion 3): QoS in both directions, QoS downgrade, overlapping subscriptions,
 * re-subscription and topic wildcards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IClientOptions } from 'mqtt';
import { mosquittoDiffers } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';

const versions: Array<[string, IClientOptions]> = [
  ['MQTT 3.1.1', { protocolVersion: 4 }],
  ['MQTT 3.1', { protocolVersion: 3, protocolId: 'MQIsdp' }],
];

for (const [version, base] of versions) {
  describe(`MQTT.js ${version}`, () => {
    for (const qos of [0, 1, 2] as const) {
      test(`QoS ${qos} publish and subscribe, both directions`, async (t) => {
        const h = await setup(t);
        const a = await h.mqtt({ ...base, clientId: `a${qos}` });
        const b = await h.mqtt({ ...base, clientId: `b${qos}` });
        await a.subscribeAsync('ping/b-to-a', { qos });
        await b.subscribeAsync('ping/a-to-b', { qos });
        await a.publishAsync('ping/a-to-b', `from a q${qos}`, { qos });
        await b.publishAsync('ping/b-to-a', `from b q${qos}`, { qos });
        const [toB] = await b.inbox.next(1);
        const [toA] = await a.inbox.next(1);
        assert.deepEqual([toB?.topic, toB?.payload, toB?.qos], ['ping/a-to-b', `from a q${qos}`, qos]);
        assert.deepEqual([toA?.topic, toA?.payload, toA?.qos], ['ping/b-to-a', `from b q${qos}`, qos]);
        await a.inbox.expectNoMore(b);
        await b.inbox.expectNoMore(a);
      });
    }

    // [MQTT-3.8.4-6] "The QoS of Payload Messages sent in response to a Subscription MUST be the
    // minimum of the QoS of the originally published message and the maximum QoS granted by the
    // Server."
    test('[MQTT-3.8.4-6] delivered QoS is min(published QoS, granted QoS)', async (t) => {
      const h = await setup(t);
      const pub = await h.mqtt({ ...base, clientId: 'pub' });
      const subs = [];
      for (const subQos of [0, 1, 2] as const) {
        const s = await h.mqtt({ ...base, clientId: `sub${subQos}` });
        const [grant] = await s.subscribeAsync('min/t', { qos: subQos });
        assert.equal(grant?.qos, subQos);
        subs.push(s);
      }
      for (const pubQos of [0, 1, 2] as const) {
        await pub.publishAsync('min/t', `p${pubQos}`, { qos: pubQos });
      }
      for (const [subQos, s] of subs.entries()) {
        const got = await s.inbox.next(3);
        assert.deepEqual(
          got.map((m) => [m.payload, m.qos]),
          [0, 1, 2].map((pubQos) => [`p${pubQos}`, Math.min(pubQos, subQos)]),
          `subscriber at QoS ${subQos}`,
        );
      }
    });
  });
}

describe('subscriptions', () => {
  // Section 3.3.5: "When Clients make subscriptions with Topic Filters that include wildcards, it is
  // possible for a Client's subscriptions to overlap so that a published message might match
  // multiple filters. In this case the Server MUST deliver the message to the Client respecting the
  // maximum QoS of all the matching subscriptions." Cicada sends one copy; Mosquitto sends one per
  // matching subscription, which 3.1.1 allows ("MAY deliver further copies").
  test('overlapping subscriptions in one session: one copy, at the maximum QoS', mosquittoDiffers('one copy per matching subscription'), async (t) => {
    const h = await setup(t);
    const s = await h.mqtt({ clientId: 'overlap' });
    await s.subscribeAsync({ 'ov/#': { qos: 0 }, 'ov/+/c': { qos: 2 }, 'ov/b/c': { qos: 1 } });
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('ov/b/c', 'one copy', { qos: 2 });
    const [m] = await s.inbox.next(1);
    assert.deepEqual([m?.payload, m?.qos], ['one copy', 2]);
    await s.inbox.expectNoMore();
  });

  // [MQTT-3.8.4-3] "A subscribe request which contains a Topic Filter that is identical to an
  // existing Subscription's Topic Filter completely replaces that existing Subscription with a new
  // Subscription. The Topic Filter in the new Subscription will be identical to that in the previous
  // Subscription, although its maximum QoS value could be different. Any existing retained messages
  // matching the Topic Filter are re-sent, but the flow of publications is not interrupted."
  test('[MQTT-3.8.4-3] re-subscribing replaces the QoS and re-sends retained messages', async (t) => {
    const h = await setup(t);
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('re/t', 'kept', { qos: 1, retain: true });
    const s = await h.mqtt({ clientId: 'resub' });
    await s.subscribeAsync('re/t', { qos: 0 });
    const [first] = await s.inbox.next(1);
    assert.deepEqual([first?.payload, first?.retain, first?.qos], ['kept', true, 0]);
    const [grant] = await s.subscribeAsync('re/t', { qos: 2 });
    assert.equal(grant?.qos, 2);
    const [again] = await s.inbox.next(1);
    assert.deepEqual([again?.payload, again?.retain, again?.qos], ['kept', true, 1]);
    await pub.publishAsync('re/t', 'live', { qos: 2 });
    const [live] = await s.inbox.next(1);
    assert.deepEqual([live?.payload, live?.qos], ['live', 2], 'one subscription, now at QoS 2');
    await s.inbox.expectNoMore();
  });

  // Section 4.7.1: "#" matches the parent and any number of child levels ("sport/#" also matches
  // "sport"); "+" matches exactly one level, which may be empty.
  // [MQTT-4.7.2-1] "The Server MUST NOT match Topic Filters starting with a wildcard character (# or
  // +) with Topic Names beginning with a $ character."
  const matching: Array<[string, string[], string[]]> = [
    ['a/#', ['a', 'a/b', 'a/b/c', 'a/'], ['ab', 'b/a']],
    ['a/+', ['a/b', 'a/'], ['a', 'a/b/c']],
    ['+/+', ['a/b', '/b', 'a/'], ['a', 'a/b/c']],
    // Clients may not publish to $SYS itself (Mosquitto drops it), so other $ topics stand in.
    ['+', ['a'], ['a/b', '/a', '$app']],
    ['#', ['a', 'a/b', '/a'], ['$app/broker', '$app', '$']],
    ['+/broker', ['x/broker'], ['$app/broker']],
    ['$app/#', ['$app/broker', '$app/x/y'], ['app/x']],
    ['a/+/c', ['a/b/c', 'a//c'], ['a/c', 'a/b/d', 'a/b/c/d']],
  ];
  for (const [filter, yes, no] of matching) {
    const label = filter.startsWith('#') || filter.startsWith('+') ? '[MQTT-4.7.2-1] ' : '';
    test(`${label}filter ${filter} matches ${JSON.stringify(yes)}, not ${JSON.stringify(no)}`, async (t) => {
      const h = await setup(t);
      const s = await h.mqtt({ clientId: 'matcher' });
      await s.subscribeAsync(filter, { qos: 1 });
      const pub = await h.mqtt({ clientId: 'pub' });
      for (const topic of [...no, ...yes]) await pub.publishAsync(topic, topic, { qos: 1 });
      const got = await s.inbox.next(yes.length);
      assert.deepEqual(got.map((m) => m.topic), yes);
      await s.inbox.expectNoMore();
    });
  }

  // [MQTT-4.7.3-4] "When it performs subscription matching the Server MUST NOT perform any
  // normalization of Topic Names or Topic Filters, or any modification or substitution of
  // unrecognized characters". [MQTT-1.5.3-3]: a BOM (U+FEFF) "MUST NOT be skipped over or stripped
  // off by a packet receiver."
  test('[MQTT-4.7.3-4][MQTT-1.5.3-3] matching is exact: case, U+FEFF and non-ASCII are kept', async (t) => {
    const h = await setup(t);
    const s = await h.mqtt({ clientId: 'exact' });
    await s.subscribeAsync('caf\u00e9/\ufeffx', { qos: 1 });
    const pub = await h.mqtt({ clientId: 'pub' });
    for (const topic of ['CAF\u00c9/\ufeffx', 'cafe\u0301/\ufeffx', 'caf\u00e9/x', 'caf\u00e9/\ufeffx']) {
      await pub.publishAsync(topic, 'x', { qos: 1 });
    }
    const [m] = await s.inbox.next(1);
    assert.equal(m?.topic, 'caf\u00e9/\ufeffx');
    await s.inbox.expectNoMore();
  });
});
