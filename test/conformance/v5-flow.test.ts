/**
 * MQTT 5.0 topic aliases both ways (section 3.3.2.3.4), Receive Maximum both ways (3.3.4, 4.9)
 * and Maximum Packet Size toward clients (3.1.2.11.4), over raw sockets with hand-written bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, mosquittoDiffers } from '../helpers/broker.js';
import { setup, type Harness } from '../helpers/harness.js';
import { T } from '../helpers/packets.js';
import type { RawClient } from '../helpers/raw.js';
import { ack5, expectDisconnect, P, parseAck5, prop, publish5, raw5, rawSub5, readPublish5, readType, type Publish5 } from '../helpers/v5.js';

async function publisher(h: Harness, clientId: string): Promise<RawClient> {
  return (await raw5(h, { clientId })).c;
}

describe('v5 topic aliases from the client', { concurrency: true }, () => {
  // [MQTT-3.3.2-12]: the Server MUST accept every alias from 1 to its Topic Alias Maximum.
  test('[MQTT-3.3.2-12] alias set with a topic, then used with an empty topic, then remapped: all routed to the right topic', async (t) => {
    const h = await setup(t, { topicAliasMaximum: 3 });
    const sub = await rawSub5(h, 'ta-sub', 'ta/#', 0);
    const pub = await publisher(h, 'ta-pub');
    pub.send(publish5({ topic: 'ta/one', payload: '1', props: [[P.TOPIC_ALIAS, 3]] }));
    pub.send(publish5({ topic: '', payload: '2', props: [[P.TOPIC_ALIAS, 3]] }));
    pub.send(publish5({ topic: 'ta/two', payload: '3', props: [[P.TOPIC_ALIAS, 3]] }));
    pub.send(publish5({ topic: '', payload: '4', props: [[P.TOPIC_ALIAS, 3]] }));
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const m = await readPublish5(sub);
      got.push(`${m.topic} ${m.payload.toString()}`);
    }
    assert.deepEqual(got, ['ta/one 1', 'ta/one 2', 'ta/two 3', 'ta/two 4']);
  });

  // [MQTT-3.3.2-8]: a Topic Alias of 0 is not permitted; the receiver answers DISCONNECT 0x94.
  test('[MQTT-3.3.2-8] Topic Alias 0: DISCONNECT 0x94 (topic alias invalid), nothing delivered', mosquittoDiffers('DISCONNECT 0x81'), async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, 'ta0-sub', 'ta0/#', 0);
    const pub = await publisher(h, 'ta0-pub');
    pub.send(publish5({ topic: 'ta0/t', payload: 'x', props: [[P.TOPIC_ALIAS, 0]] }));
    await expectDisconnect(pub, 0x94);
    await sub.expectNothingPending();
  });

  // [MQTT-3.3.2-9]: a Client MUST NOT send a Topic Alias above the Topic Alias Maximum of CONNACK.
  test('[MQTT-3.3.2-9] Topic Alias above the CONNACK Topic Alias Maximum: DISCONNECT 0x94', cicadaOnly('topicAliasMaximum option'), async (t) => {
    const h = await setup(t, { topicAliasMaximum: 5 });
    const { c, connack } = await raw5(h, { clientId: 'tabig' });
    assert.equal(prop(connack.props, P.TOPIC_ALIAS_MAXIMUM), 5);
    c.send(publish5({ topic: 'tabig/t', payload: 'x', props: [[P.TOPIC_ALIAS, 5]] }));
    c.send(publish5({ topic: 'tabig/t', payload: 'x', props: [[P.TOPIC_ALIAS, 6]] }));
    await expectDisconnect(c, 0x94);
  });

  test('topicAliasMaximum 0: no aliases accepted (alias 1 gets DISCONNECT 0x94)', cicadaOnly('topicAliasMaximum option'), async (t) => {
    const h = await setup(t, { topicAliasMaximum: 0 });
    const { c, connack } = await raw5(h, { clientId: 'tanone' });
    const max = prop(connack.props, P.TOPIC_ALIAS_MAXIMUM);
    assert.ok(max === undefined || max === 0, `Topic Alias Maximum ${String(max)}`);
    c.send(publish5({ topic: 'tanone/t', payload: 'x', props: [[P.TOPIC_ALIAS, 1]] }));
    await expectDisconnect(c, 0x94);
  });

  test('an empty topic with an alias never set: DISCONNECT 0x82 (protocol error)', async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'taunknown' });
    c.send(publish5({ topic: '', payload: 'x', props: [[P.TOPIC_ALIAS, 2]] }));
    await expectDisconnect(c, 0x82);
  });

  // [MQTT-3.3.2-7]: Topic Alias mappings are not carried from one Network Connection to another.
  test('[MQTT-3.3.2-7] an alias set on a previous connection of the same session is unknown on the next one', async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'tacarry', props: [[P.SESSION_EXPIRY, 60]] });
    c.send(publish5({ topic: 'tacarry/t', payload: 'x', props: [[P.TOPIC_ALIAS, 1]] }));
    await c.expectNothingPending();
    c.close();
    const { c: again } = await raw5(h, { clientId: 'tacarry', clean: false, props: [[P.SESSION_EXPIRY, 60]] }, true);
    again.send(publish5({ topic: '', payload: 'y', props: [[P.TOPIC_ALIAS, 1]] }));
    await expectDisconnect(again, 0x82);
  });
});

/** Resolve outbound aliases as a client must: a topic with an alias sets it, an empty topic uses it. */
function resolver(max: number): (m: Publish5) => string {
  const map = new Map<number, string>();
  return (m) => {
    const alias = prop(m.props, P.TOPIC_ALIAS) as number | undefined;
    if (alias === undefined) {
      assert.ok(m.topic.length > 0, 'an empty topic without a Topic Alias');
      return m.topic;
    }
    // [MQTT-3.3.2-11]: never above the Topic Alias Maximum the client sent; [MQTT-3.3.2-8]: never 0.
    assert.ok(alias >= 1 && alias <= max, `Topic Alias ${alias} outside 1..${max}`);
    if (m.topic.length > 0) map.set(alias, m.topic);
    const topic = map.get(alias);
    assert.ok(topic !== undefined, `Topic Alias ${alias} used before it was set`);
    return topic;
  };
}

describe('v5 topic aliases toward the client', { concurrency: true }, () => {
  test('[MQTT-3.3.2-11] a client with Topic Alias Maximum 2 gets the topic once, then alias-only PUBLISHes (empty topic)', mosquittoDiffers('no outbound topic aliases'), async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, { clientId: 'tao-sub', props: [[P.TOPIC_ALIAS_MAXIMUM, 2]] }, 'tao/#', 0);
    const pub = await publisher(h, 'tao-pub');
    for (const payload of ['a', 'b', 'c']) pub.send(publish5({ topic: 'tao/long/topic/name', payload }));
    const first = await readPublish5(sub);
    const alias = prop(first.props, P.TOPIC_ALIAS);
    assert.equal(first.topic, 'tao/long/topic/name');
    assert.ok(alias === 1 || alias === 2, `first PUBLISH Topic Alias ${String(alias)}`);
    for (const payload of ['b', 'c']) {
      const m = await readPublish5(sub);
      assert.equal(m.topic, '', 'the topic name is sent again instead of the alias alone');
      assert.equal(prop(m.props, P.TOPIC_ALIAS), alias);
      assert.equal(m.payload.toString(), payload);
      assert.equal(m.size, 2 + 2 + 1 + 3 + 1, 'alias-only PUBLISH: header, empty topic, properties (alias), payload');
    }
  });

  test('[MQTT-3.3.2-11] more topics than the client allows aliases for: every alias within 1..2 and each resolves to its topic', async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, { clientId: 'tao3-sub', props: [[P.TOPIC_ALIAS_MAXIMUM, 2]] }, 'tao/#', 0);
    const pub = await publisher(h, 'tao3-pub');
    const sent = ['tao/x', 'tao/y', 'tao/z', 'tao/x', 'tao/z', 'tao/y', 'tao/x'];
    sent.forEach((topic, i) => pub.send(publish5({ topic, payload: String(i) })));
    const resolve = resolver(2);
    const got: string[] = [];
    for (let i = 0; i < sent.length; i++) got.push(resolve(await readPublish5(sub)));
    assert.deepEqual(got, sent);
  });

  test('[MQTT-3.3.2-11] a client that announces no Topic Alias Maximum never gets an alias', async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, 'tao0-sub', 'tao0/#', 0);
    const pub = await publisher(h, 'tao0-pub');
    for (let i = 0; i < 3; i++) pub.send(publish5({ topic: 'tao0/t', payload: String(i) }));
    for (let i = 0; i < 3; i++) {
      const m = await readPublish5(sub);
      assert.equal(m.topic, 'tao0/t');
      assert.equal(prop(m.props, P.TOPIC_ALIAS), undefined);
    }
  });

  test('outboundTopicAliases: false: no alias even toward a client that allows them', cicadaOnly('outboundTopicAliases option'), async (t) => {
    const h = await setup(t, { outboundTopicAliases: false });
    const sub = await rawSub5(h, { clientId: 'taoff-sub', props: [[P.TOPIC_ALIAS_MAXIMUM, 10]] }, 'tao/#', 0);
    const pub = await publisher(h, 'taoff-pub');
    for (let i = 0; i < 2; i++) pub.send(publish5({ topic: 'tao/off', payload: String(i) }));
    for (let i = 0; i < 2; i++) {
      const m = await readPublish5(sub);
      assert.equal(m.topic, 'tao/off');
      assert.equal(prop(m.props, P.TOPIC_ALIAS), undefined);
    }
  });
});

describe('v5 Receive Maximum', { concurrency: true }, () => {
  // [MQTT-3.3.4-9]: the Server MUST NOT send more than Receive Maximum unacknowledged QoS 1/2 PUBLISHes.
  test('[MQTT-3.3.4-9] receiveMaximum 2, QoS 1: never more than 2 unacknowledged; each PUBACK lets one more through, in order', mosquittoDiffers('2.0.11 exceeds the Receive Maximum after a PUBACK'), async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, { clientId: 'rm1-sub', props: [[P.RECEIVE_MAXIMUM, 2]] }, 'rm1/t', 1);
    const pub = await publisher(h, 'rm1-pub');
    for (let i = 0; i < 5; i++) pub.send(publish5({ topic: 'rm1/t', payload: `m${i}`, qos: 1, id: i + 1 }));
    const first = [await readPublish5(sub), await readPublish5(sub)];
    assert.deepEqual(first.map((m) => m.payload.toString()), ['m0', 'm1']);
    for (let i = 0; i < 5; i++) await readType(pub, T.PUBACK); // all five routed
    await sub.expectNothingPending();
    const got = first.map((m) => m.payload.toString());
    const pending = first.map((m) => m.id!);
    while (got.length < 5) {
      sub.send(ack5(T.PUBACK, pending.shift()!));
      const m = await readPublish5(sub);
      got.push(m.payload.toString());
      pending.push(m.id!);
      assert.equal(pending.length, 2);
      if (got.length < 5) await sub.expectNothingPending();
    }
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  test('[MQTT-3.3.4-9] receiveMaximum 1, QoS 2: a PUBREC does not free the slot, the PUBCOMP does', mosquittoDiffers('2.0.11 holds the next message after PUBCOMP'), async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, { clientId: 'rm2-sub', props: [[P.RECEIVE_MAXIMUM, 1]] }, 'rm2/t', 2);
    const pub = await publisher(h, 'rm2-pub');
    for (let i = 0; i < 2; i++) pub.send(publish5({ topic: 'rm2/t', payload: `q${i}`, qos: 2, id: i + 1 }));
    const m0 = await readPublish5(sub);
    assert.deepEqual([m0.payload.toString(), m0.qos], ['q0', 2]);
    for (let i = 0; i < 2; i++) await readType(pub, T.PUBREC); // both routed
    await sub.expectNothingPending();
    sub.send(ack5(T.PUBREC, m0.id!));
    const rel = parseAck5(await readType(sub, T.PUBREL));
    assert.equal(rel.id, m0.id);
    await sub.expectNothingPending();
    sub.send(ack5(T.PUBCOMP, m0.id!));
    assert.equal((await readPublish5(sub)).payload.toString(), 'q1');
  });

  // [MQTT-3.3.4-7]: a client MUST NOT exceed the server's Receive Maximum; the server answers 0x93.
  test('[MQTT-3.3.4-7] more unreleased QoS 2 PUBLISHes than the broker\'s Receive Maximum (2): DISCONNECT 0x93', mosquittoDiffers('PUBREC 0x97 instead of DISCONNECT 0x93'), async (t) => {
    const h = await setup(t, { maxInflightMessages: 2 });
    const { c, connack } = await raw5(h, { clientId: 'rmin' });
    assert.equal(prop(connack.props, P.RECEIVE_MAXIMUM), 2);
    for (let id = 1; id <= 2; id++) {
      c.send(publish5({ topic: 'rmin/t', payload: 'x', qos: 2, id }));
      assert.equal(parseAck5(await readType(c, T.PUBREC)).id, id);
    }
    c.send(publish5({ topic: 'rmin/t', payload: 'x', qos: 2, id: 3 }));
    await expectDisconnect(c, 0x93);
  });

  test('within the broker\'s Receive Maximum (2): releasing one QoS 2 message makes room for the next', async (t) => {
    const h = await setup(t, { maxInflightMessages: 2 });
    const { c } = await raw5(h, { clientId: 'rmok' });
    for (let id = 1; id <= 2; id++) {
      c.send(publish5({ topic: 'rmok/t', payload: 'x', qos: 2, id }));
      await readType(c, T.PUBREC);
    }
    c.send(ack5(T.PUBREL, 1));
    assert.equal(parseAck5(await readType(c, T.PUBCOMP)).id, 1);
    c.send(publish5({ topic: 'rmok/t', payload: 'x', qos: 2, id: 3 }));
    assert.equal(parseAck5(await readType(c, T.PUBREC)).id, 3);
    c.send(publish5({ topic: 'rmok/t', payload: 'x', qos: 2, id: 2, dup: true }));
    assert.equal(parseAck5(await readType(c, T.PUBREC)).id, 2, 'a re-sent PUBLISH is not a new one');
  });
});

describe('v5 Maximum Packet Size toward the client', { concurrency: true }, () => {
  // [MQTT-3.1.2-24]: the Server MUST NOT send packets exceeding the client's Maximum Packet Size;
  // [MQTT-3.1.2-25]: such a message is discarded as if it had been sent.
  test('[MQTT-3.1.2-24][MQTT-3.1.2-25] maximumPacketSize 100: a 500-byte message is not sent, a small one after it is', mosquittoDiffers('2.0.11 also drops the small message'), async (t) => {
    const h = await setup(t);
    // Receive Maximum 1 too: a discarded QoS 1 message must not hold the only inflight slot.
    const sub = await rawSub5(h, { clientId: 'mpc-sub', props: [[P.MAXIMUM_PACKET_SIZE, 100], [P.RECEIVE_MAXIMUM, 1]] }, 'mpc/t', 1);
    const pub = await publisher(h, 'mpc-pub');
    pub.send(publish5({ topic: 'mpc/t', payload: Buffer.alloc(500, 0x62), qos: 1, id: 1 }));
    pub.send(publish5({ topic: 'mpc/t', payload: 'small', qos: 1, id: 2 }));
    const m = await readPublish5(sub);
    assert.equal(m.payload.toString(), 'small');
    assert.ok(m.size <= 100);
    await sub.expectNothingPending();
  });

  test('[MQTT-3.1.2-24] maximumPacketSize 100: a PUBLISH of exactly 100 bytes is sent, one of 101 is not', mosquittoDiffers('2.0.11 counts the size differently'), async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, { clientId: 'mpx-sub', props: [[P.MAXIMUM_PACKET_SIZE, 100]] }, 'mpx/t', 0);
    const pub = await publisher(h, 'mpx-pub');
    // QoS 0: 2 (fixed header) + 7 (topic "mpx/t") + 1 (no properties) + payload.
    pub.send(publish5({ topic: 'mpx/t', payload: Buffer.alloc(91, 0x63) }));
    pub.send(publish5({ topic: 'mpx/t', payload: Buffer.alloc(90, 0x64) }));
    const m = await readPublish5(sub);
    assert.equal(m.size, 100);
    assert.equal(m.payload[0], 0x64, 'the 101-byte PUBLISH was sent');
    await sub.expectNothingPending();
  });
});
