/**
 * MQTT 5.0 subscription options (section 3.8.3.1: No Local, Retain As Published, Retain
 * Handling), Subscription Identifiers (3.8.2.1.2, 3.3.4) and shared subscriptions (4.8.2), over
 * raw sockets with hand-written bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mosquittoDiffers } from '../helpers/broker.js';
import { setup, type Harness } from '../helpers/harness.js';
import { T } from '../helpers/packets.js';
import type { RawClient } from '../helpers/raw.js';
import { ack5, expectDisconnect, P, parseAck5, propAll, publish5, raw5, readPublish5, readType, subOptions, subscribe5, subscribeRaw, unsubscribe5, type Publish5 } from '../helpers/v5.js';

async function client(h: Harness, clientId: string): Promise<RawClient> {
  return (await raw5(h, { clientId })).c;
}

/** Publish a retained QoS 1 message and wait for its PUBACK. */
async function retain(c: RawClient, topic: string, payload: string): Promise<void> {
  c.send(publish5({ topic, payload, qos: 1, id: 1, retain: true }));
  await readType(c, T.PUBACK);
}

/** A retained message on `topic` (from `<clientId>-pub`, still connected), and a client `clientId` not subscribed yet. */
async function retained(h: Harness, clientId: string, topic: string, payload: string): Promise<{ pub: RawClient; c: RawClient }> {
  const pub = await client(h, `${clientId}-pub`);
  await retain(pub, topic, payload);
  return { pub, c: await client(h, clientId) };
}

/** Read PUBLISHes until none arrives for `quietMs`. */
async function drain(c: RawClient, quietMs = 250): Promise<Publish5[]> {
  const out: Publish5[] = [];
  while (true) {
    try {
      out.push(await readPublish5(c, quietMs));
    } catch (error) {
      if (error instanceof Error && error.message.includes('timed out')) return out;
      throw error;
    }
  }
}

const ids = (m: Publish5): number[] => (propAll(m.props, P.SUBSCRIPTION_ID) as number[]).sort((a, b) => a - b);

describe('v5 subscription options', { concurrency: true }, () => {
  // [MQTT-3.8.3-3]: with No Local, messages MUST NOT be forwarded to the publishing client's own connection.
  test('[MQTT-3.8.3-3] No Local: own messages not received, others\' are; without No Local own messages come back', async (t) => {
    const h = await setup(t);
    const c = await client(h, 'nl');
    await subscribeRaw(c, 'nl/a', subOptions(0, { noLocal: true }));
    await subscribeRaw(c, 'nl/b', subOptions(0));
    c.send(publish5({ topic: 'nl/a', payload: 'mine' }));
    c.send(publish5({ topic: 'nl/b', payload: 'echo' }));
    const other = await client(h, 'nl-other');
    other.send(publish5({ topic: 'nl/a', payload: 'theirs' }));
    const got = (await drain(c)).map((m) => `${m.topic} ${m.payload.toString()}`);
    assert.deepEqual(got, ['nl/b echo', 'nl/a theirs']);
  });

  // [MQTT-3.3.1-12] Retain As Published 0: RETAIN 0 when forwarding; [MQTT-3.3.1-13] 1: as received.
  test('[MQTT-3.3.1-12][MQTT-3.3.1-13] Retain As Published: live retained PUBLISH forwarded with RETAIN 0 (option 0) or 1 (option 1)', async (t) => {
    const h = await setup(t);
    const plain = await client(h, 'rap0');
    await subscribeRaw(plain, 'rap/t', subOptions(0));
    const asPublished = await client(h, 'rap1');
    await subscribeRaw(asPublished, 'rap/t', subOptions(0, { rap: true }));
    const pub = await client(h, 'rap-pub');
    pub.send(publish5({ topic: 'rap/t', payload: 'r', retain: true }));
    pub.send(publish5({ topic: 'rap/t', payload: 'n', retain: false }));
    assert.deepEqual((await drain(plain)).map((m) => [m.payload.toString(), m.retain]), [['r', false], ['n', false]]);
    assert.deepEqual((await drain(asPublished)).map((m) => [m.payload.toString(), m.retain]), [['r', true], ['n', false]]);
  });

  // [MQTT-3.3.1-9] Retain Handling 0: retained messages sent at every subscribe.
  test('[MQTT-3.3.1-9] Retain Handling 0: retained message sent on subscribe (RETAIN 1), and again on re-subscribe', async (t) => {
    const h = await setup(t);
    const { c } = await retained(h, 'rh0', 'rh0/t', 'kept');
    for (let i = 0; i < 2; i++) {
      await subscribeRaw(c, 'rh0/t', subOptions(1, { rh: 0 }));
      const m = await readPublish5(c);
      assert.deepEqual([m.payload.toString(), m.retain], ['kept', true]);
      c.send(ack5(T.PUBACK, m.id!));
    }
  });

  // [MQTT-3.3.1-10] Retain Handling 1: only if the subscription did not exist.
  test('[MQTT-3.3.1-10] Retain Handling 1: retained message sent for a new subscription, not for a re-subscribe', async (t) => {
    const h = await setup(t);
    const { c } = await retained(h, 'rh1', 'rh1/t', 'kept');
    await subscribeRaw(c, 'rh1/t', subOptions(0, { rh: 1 }));
    const m = await readPublish5(c);
    assert.deepEqual([m.payload.toString(), m.retain], ['kept', true]);
    await subscribeRaw(c, 'rh1/t', subOptions(0, { rh: 1 }));
    await c.expectNothingPending();
  });

  // [MQTT-3.3.1-11] Retain Handling 2: never at subscribe.
  test('[MQTT-3.3.1-11] Retain Handling 2: no retained message at subscribe; live messages still delivered', async (t) => {
    const h = await setup(t);
    const { pub, c } = await retained(h, 'rh2', 'rh2/t', 'kept');
    await subscribeRaw(c, 'rh2/t', subOptions(0, { rh: 2 }));
    await c.expectNothingPending();
    pub.send(publish5({ topic: 'rh2/t', payload: 'live' }));
    assert.equal((await readPublish5(c)).payload.toString(), 'live');
  });
});

describe('v5 Subscription Identifiers', { concurrency: true }, () => {
  // [MQTT-3.3.4-3]/[MQTT-3.3.4-4]: one copy for overlapping subscriptions carries every matching identifier.
  test('[MQTT-3.3.4-3][MQTT-3.3.4-4] overlapping subscriptions: the delivery carries the identifier of every matching subscription', mosquittoDiffers('one copy per subscription, allowed by [MQTT-3.3.4-5]'), async (t) => {
    const h = await setup(t);
    const c = await client(h, 'sid');
    await subscribeRaw(c, 'sid/#', subOptions(0), [[P.SUBSCRIPTION_ID, 1]]);
    await subscribeRaw(c, 'sid/+/x', subOptions(0), [[P.SUBSCRIPTION_ID, 268435455]]);
    await subscribeRaw(c, 'sid/a/x', subOptions(0));
    await subscribeRaw(c, 'sid/a/+', subOptions(0), [[P.SUBSCRIPTION_ID, 200]]);
    const pub = await client(h, 'sid-pub');
    pub.send(publish5({ topic: 'sid/a/x', payload: 'all' }));
    pub.send(publish5({ topic: 'sid/b', payload: 'one' }));
    const got = await drain(c);
    const all = got.filter((m) => m.payload.toString() === 'all');
    // A single copy (Cicada collapses overlapping subscriptions), with all identifiers.
    assert.equal(all.length, 1, `copies of the overlapping message: ${all.length}`);
    assert.deepEqual(ids(all[0]!), [1, 200, 268435455]);
    const one = got.filter((m) => m.payload.toString() === 'one');
    assert.deepEqual(one.map(ids), [[1]]);
  });

  test('re-subscribing replaces the identifier (and without one, removes it); retained messages carry it too', async (t) => {
    const h = await setup(t);
    const { pub, c } = await retained(h, 'sidr', 'sidr/t', 'ret');
    await subscribeRaw(c, 'sidr/t', subOptions(0), [[P.SUBSCRIPTION_ID, 5]]);
    assert.deepEqual(ids(await readPublish5(c)), [5]);
    await subscribeRaw(c, 'sidr/t', subOptions(0, { rh: 2 }), [[P.SUBSCRIPTION_ID, 6]]);
    pub.send(publish5({ topic: 'sidr/t', payload: 'live' }));
    assert.deepEqual(ids(await readPublish5(c)), [6]);
    await subscribeRaw(c, 'sidr/t', subOptions(0, { rh: 2 }));
    pub.send(publish5({ topic: 'sidr/t', payload: 'live2' }));
    assert.deepEqual(ids(await readPublish5(c)), []);
  });

  test('Subscription Identifier 0 is a protocol error: DISCONNECT 0x82', mosquittoDiffers('DISCONNECT 0x81'), async (t) => {
    const h = await setup(t);
    const c = await client(h, 'sid0');
    c.send(subscribe5(1, [['sid0/t', subOptions(0)]], [[P.SUBSCRIPTION_ID, 0]]));
    await expectDisconnect(c, 0x82);
  });
});

describe('v5 shared subscriptions', { concurrency: true }, () => {
  test('[MQTT-4.8.2-3] two members of one group: each message to exactly one member, round robin (10 messages: 4..6 each)', async (t) => {
    const h = await setup(t);
    const a = await client(h, 'sh-a');
    const b = await client(h, 'sh-b');
    await subscribeRaw(a, '$share/g/sh/t', subOptions(1));
    await subscribeRaw(b, '$share/g/sh/t', subOptions(1));
    const pub = await client(h, 'sh-pub');
    for (let i = 0; i < 10; i++) pub.send(publish5({ topic: 'sh/t', payload: String(i), qos: 1, id: i + 1 }));
    const [gotA, gotB] = await Promise.all([drain(a, 400), drain(b, 400)]);
    for (const m of [...gotA, ...gotB]) assert.equal(m.qos, 1, '[MQTT-4.8.2-3] granted QoS respected');
    const all = [...gotA, ...gotB].map((m) => Number(m.payload.toString())).sort((x, y) => x - y);
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every message exactly once across the group');
    assert.ok(gotA.length >= 4 && gotA.length <= 6, `split ${gotA.length}/${gotB.length}`);
    assert.equal(gotA[0]!.topic, 'sh/t', 'delivered with the published topic, not the $share filter');
  });

  test('two groups on the same filter each get every message, and so does a non-shared subscriber', async (t) => {
    const h = await setup(t);
    const g1 = await client(h, 'shg-1');
    const g2 = await client(h, 'shg-2');
    const plain = await client(h, 'shg-plain');
    await subscribeRaw(g1, '$share/one/shg/#', subOptions(0));
    await subscribeRaw(g2, '$share/two/shg/#', subOptions(0));
    await subscribeRaw(plain, 'shg/#', subOptions(0));
    const pub = await client(h, 'shg-pub');
    for (let i = 0; i < 4; i++) pub.send(publish5({ topic: 'shg/t', payload: String(i) }));
    for (const c of [g1, g2, plain]) assert.deepEqual((await drain(c)).map((m) => m.payload.toString()), ['0', '1', '2', '3']);
  });

  test('no retained messages on a shared subscribe', mosquittoDiffers('sends retained messages on a shared subscribe'), async (t) => {
    const h = await setup(t);
    const { pub, c } = await retained(h, 'shr', 'shr/t', 'kept');
    await subscribeRaw(c, '$share/g/shr/t', subOptions(1));
    await c.expectNothingPending();
    pub.send(publish5({ topic: 'shr/t', payload: 'live' }));
    assert.equal((await readPublish5(c)).payload.toString(), 'live');
  });

  // For QoS 1 the standard says the Server SHOULD send the message to another member when the
  // chosen member's session ends before it acknowledged (4.8.2); the issue makes it a feature.
  test('a QoS 1 message in flight to a member whose session ends goes to another member', mosquittoDiffers('no hand-over to another member'), async (t) => {
    const h = await setup(t);
    const a = (await raw5(h, { clientId: 'shf-a', props: [[P.RECEIVE_MAXIMUM, 1]] })).c;
    const b = (await raw5(h, { clientId: 'shf-b', props: [[P.RECEIVE_MAXIMUM, 1]] })).c;
    await subscribeRaw(a, '$share/g/shf/t', subOptions(1));
    await subscribeRaw(b, '$share/g/shf/t', subOptions(1));
    const pub = await client(h, 'shf-pub');
    pub.send(publish5({ topic: 'shf/t', payload: 'm0', qos: 1, id: 1 }));
    pub.send(publish5({ topic: 'shf/t', payload: 'm1', qos: 1, id: 2 }));
    for (let i = 0; i < 2; i++) await readType(pub, T.PUBACK); // both routed: m0 in flight to one member, m1 to the other
    a.close(); // session expiry 0: the session ends now, with its message unacknowledged
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await readPublish5(b);
      got.push(m.payload.toString());
      b.send(ack5(T.PUBACK, m.id!));
    }
    assert.deepEqual(got.sort(), ['m0', 'm1']);
    await b.expectNothingPending();
  });

  test('a member whose Receive Maximum window is full is skipped: the other member gets the rest', mosquittoDiffers('no skipping of busy members'), async (t) => {
    const h = await setup(t);
    const busy = (await raw5(h, { clientId: 'shb-busy', props: [[P.RECEIVE_MAXIMUM, 1]] })).c;
    await subscribeRaw(busy, '$share/g/shb/t', subOptions(1));
    const free = await client(h, 'shb-free');
    await subscribeRaw(free, '$share/g/shb/t', subOptions(1));
    const pub = await client(h, 'shb-pub');
    for (let i = 0; i < 6; i++) pub.send(publish5({ topic: 'shb/t', payload: String(i), qos: 1, id: i + 1 }));
    const toFree: Publish5[] = [];
    while (toFree.length < 5) {
      const m = await readPublish5(free);
      free.send(ack5(T.PUBACK, m.id!));
      toFree.push(m);
    }
    const toBusy = await drain(busy, 200);
    assert.equal(toBusy.length, 1, 'the busy member (never acknowledging) got more than its window');
    const all = [...toFree, ...toBusy].map((m) => Number(m.payload.toString())).sort((a, b) => a - b);
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5]);
  });

  test('[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error: DISCONNECT 0x82', mosquittoDiffers('grants it'), async (t) => {
    const h = await setup(t);
    const c = await client(h, 'shnl');
    c.send(subscribe5(1, [['$share/g/shnl/t', subOptions(0, { noLocal: true })]]));
    await expectDisconnect(c, 0x82);
  });

  test('unsubscribing from a shared subscription (UNSUBACK 0x00): the remaining member gets everything', async (t) => {
    const h = await setup(t);
    const a = await client(h, 'shu-a');
    const b = await client(h, 'shu-b');
    await subscribeRaw(a, '$share/g/shu/t', subOptions(0));
    await subscribeRaw(b, '$share/g/shu/t', subOptions(0));
    a.send(unsubscribe5(2, ['$share/g/shu/t']));
    assert.deepEqual(parseAck5(await readType(a, T.UNSUBACK)).reasons, [0]);
    const pub = await client(h, 'shu-pub');
    for (let i = 0; i < 4; i++) pub.send(publish5({ topic: 'shu/t', payload: String(i) }));
    assert.equal((await drain(b)).length, 4);
    await a.expectNothingPending();
  });
});

