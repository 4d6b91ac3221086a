/**
 * QoS 0/1/2 delivery flows at the byte level (MQTT 3.1.1 sections 4.3, 4.4 and 4.6), with raw
 * publishers and subscribers so that every flag and packet id on the wire is checked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mosquittoDiffers } from '../helpers/broker.js';
import { setup, type Harness } from '../helpers/harness.js';
import { connect, connack, disconnect, publish, puback, pubcomp, pubrec, pubrel, subscribe, suback, T, packetId, parsePublish, type QoS } from '../helpers/packets.js';
import type { RawClient } from '../helpers/raw.js';

/** A raw client subscribed to `filter` at `qos`. */
async function rawSubscriber(h: Harness, clientId: string, filter: string, qos: QoS, clean = true): Promise<RawClient> {
  const c = await h.rawConnect({ clientId, clean });
  c.send(subscribe(1, [[filter, qos]]));
  await c.expect(suback(1, qos));
  return c;
}

describe('QoS 2 from a client: exactly once', () => {
  // [MQTT-4.3.3-2] "In the QoS 2 delivery protocol, the Receiver MUST respond with a PUBREC
  // containing the Packet Identifier from the incoming PUBLISH Packet, having accepted ownership of
  // the Application Message. Until it has received the corresponding PUBREL packet, the Receiver
  // MUST acknowledge any subsequent PUBLISH packet with the same Packet Identifier by sending a
  // PUBREC. It MUST NOT cause duplicate messages to be delivered to any onward recipients in this
  // case. MUST respond to a PUBREL packet by sending a PUBCOMP packet containing the same Packet
  // Identifier as the PUBREL. After it has sent a PUBCOMP, the receiver MUST treat any subsequent
  // PUBLISH packet that contains that Packet Identifier as being a new publication."
  test('[MQTT-4.3.3-2] re-sent PUBLISH before PUBREL: PUBREC again, delivered once; PUBREL gets PUBCOMP', async (t) => {
    const h = await setup(t);
    const sub = await rawSubscriber(h, 'q2sub', 'q2/t', 2);
    const pub = await h.rawConnect({ clientId: 'q2pub' });
    pub.send(publish({ topic: 'q2/t', payload: 'once', qos: 2, id: 7 }));
    await pub.expect(pubrec(7));
    pub.send(publish({ topic: 'q2/t', payload: 'once', qos: 2, id: 7, dup: true }));
    await pub.expect(pubrec(7));
    pub.send(pubrel(7));
    await pub.expect(pubcomp(7));

    const m = await sub.readPublish();
    assert.equal(m.payload.toString(), 'once');
    assert.equal(m.qos, 2);
    sub.send(pubrec(m.id!));
    await sub.expect(pubrel(m.id!));
    sub.send(pubcomp(m.id!));
    await sub.expectNothingPending();
  });

  // Mosquitto 2.0.11 closes the connection ("protocol error") on the second re-send of the same
  // QoS 2 PUBLISH; the rule says "any subsequent PUBLISH packet with the same Packet Identifier".
  test('[MQTT-4.3.3-2] several re-sends before PUBREL: a PUBREC each, still delivered once', mosquittoDiffers('closes on the second DUP re-send (2.0.11)'), async (t) => {
    const h = await setup(t);
    const sub = await rawSubscriber(h, 'q2sub', 'q2/t', 1);
    const pub = await h.rawConnect({ clientId: 'q2pub' });
    for (let i = 0; i < 4; i++) {
      pub.send(publish({ topic: 'q2/t', payload: 'once', qos: 2, id: 8, dup: i > 0 }));
      await pub.expect(pubrec(8));
    }
    pub.send(pubrel(8));
    await pub.expect(pubcomp(8));
    const m = await sub.readPublish();
    assert.equal(m.payload.toString(), 'once');
    sub.send(puback(m.id!));
    await sub.expectNothingPending();
  });

  test('[MQTT-4.3.3-2] after PUBCOMP the same packet id is a new publication', async (t) => {
    const h = await setup(t);
    const sub = await rawSubscriber(h, 'q2sub', 'q2/t', 0);
    const pub = await h.rawConnect({ clientId: 'q2pub' });
    for (const payload of ['first', 'second']) {
      pub.send(publish({ topic: 'q2/t', payload, qos: 2, id: 9 }));
      await pub.expect(pubrec(9));
      pub.send(pubrel(9));
      await pub.expect(pubcomp(9));
      const m = await sub.readPublish();
      assert.equal(m.payload.toString(), payload);
    }
  });

  // [MQTT-4.3.2-2] "In the QoS 1 delivery protocol, the Receiver MUST respond with a PUBACK Packet
  // containing the Packet Identifier from the incoming PUBLISH Packet, having accepted ownership of
  // the Application Message. After it has sent a PUBACK Packet the Receiver MUST treat any incoming
  // PUBLISH packet that contains the same Packet Identifier as being a new publication, irrespective
  // of the setting of its DUP flag."
  test('[MQTT-4.3.2-2] QoS 1: PUBACK with the packet id; the same id again is a new publication', async (t) => {
    const h = await setup(t);
    const sub = await rawSubscriber(h, 'q1sub', 'q1/t', 0);
    const pub = await h.rawConnect({ clientId: 'q1pub' });
    pub.send(publish({ topic: 'q1/t', payload: 'one', qos: 1, id: 0x1234 }));
    await pub.expect(puback(0x1234));
    pub.send(publish({ topic: 'q1/t', payload: 'two', qos: 1, id: 0x1234, dup: true }));
    await pub.expect(puback(0x1234));
    assert.equal((await sub.readPublish()).payload.toString(), 'one');
    assert.equal((await sub.readPublish()).payload.toString(), 'two');
  });
});

describe('delivery to a subscriber', () => {
  // [MQTT-4.3.1-1] "In the QoS 0 delivery protocol, the Sender MUST send a PUBLISH packet with QoS=0,
  // DUP=0." [MQTT-3.3.1-2] "The DUP flag MUST be set to 0 for all QoS 0 messages"
  // [MQTT-2.3.1-5] "A PUBLISH Packet MUST NOT contain a Packet Identifier if its QoS value is set to 0."
  test('[MQTT-4.3.1-1][MQTT-3.3.1-2][MQTT-2.3.1-5] QoS 0 delivery: DUP 0, no packet id', async (t) => {
    const h = await setup(t);
    const sub = await rawSubscriber(h, 'q0sub', 'q0/t', 0);
    const pub = await h.rawConnect({ clientId: 'q0pub' });
    pub.send(publish({ topic: 'q0/t', payload: 'abc', qos: 1, id: 3, dup: true }));
    await pub.expect(puback(3));
    // Exactly the bytes of a QoS 0 PUBLISH: 30, length, topic, payload (no id).
    await sub.expect(publish({ topic: 'q0/t', payload: 'abc' }));
  });

  // [MQTT-4.3.2-1] "In the QoS 1 delivery protocol, the Sender MUST assign an unused Packet Identifier
  // each time it has a new Application Message to publish. MUST send a PUBLISH Packet containing
  // this Packet Identifier with QoS=1, DUP=0."
  // [MQTT-3.3.1-3] "The DUP flag in the outgoing PUBLISH packet is set independently to the incoming
  // PUBLISH packet, its value MUST be determined solely by whether the outgoing PUBLISH packet is a
  // retransmission."
  test('[MQTT-4.3.2-1][MQTT-3.3.1-3][MQTT-2.3.1-1] QoS 1 delivery: DUP 0 even if the publisher set DUP, unused non-zero ids', async (t) => {
    const h = await setup(t);
    const sub = await rawSubscriber(h, 'q1sub', 'q1/t', 1);
    const pub = await h.rawConnect({ clientId: 'q1pub' });
    pub.send(publish({ topic: 'q1/t', payload: 'a', qos: 1, id: 1, dup: true }));
    pub.send(publish({ topic: 'q1/t', payload: 'b', qos: 1, id: 1, dup: true }));
    const a = await sub.readPublish();
    const b = await sub.readPublish();
    for (const m of [a, b]) {
      assert.equal(m.qos, 1);
      assert.equal(m.dup, false);
      assert.ok(m.id !== undefined && m.id > 0);
    }
    // Both unacknowledged at once: they must not share a packet id.
    assert.notEqual(a.id, b.id);
    sub.send(puback(a.id!));
    sub.send(puback(b.id!));
  });

  // [MQTT-4.3.3-1] "In the QoS 2 delivery protocol, the Sender ... MUST send a PUBLISH packet
  // containing this Packet Identifier with QoS=2, DUP=0. ... MUST send a PUBREL packet when it
  // receives a PUBREC packet from the receiver. This PUBREL packet MUST contain the same Packet
  // Identifier as the original PUBLISH packet. ... MUST NOT re-send the PUBLISH once it has sent the
  // corresponding PUBREL packet."
  test('[MQTT-4.3.3-1][MQTT-3.6.1-1] QoS 2 delivery: PUBLISH DUP 0, PUBREC answered by PUBREL (flags 0010) with the same id', async (t) => {
    const h = await setup(t);
    const sub = await rawSubscriber(h, 'q2sub', 'q2/t', 2);
    const pub = await h.mqtt({ clientId: 'q2pub' });
    await pub.publishAsync('q2/t', 'exactly once', { qos: 2 });
    const m = await sub.readPublish();
    assert.deepEqual([m.qos, m.dup, m.payload.toString()], [2, false, 'exactly once']);
    sub.send(pubrec(m.id!));
    const rel = await sub.readPacket();
    assert.equal(rel.raw.toString('hex'), pubrel(m.id!).toString('hex'));
    sub.send(pubcomp(m.id!));
    await sub.expectNothingPending();
  });

  // [MQTT-4.6.0-6] "When a Server processes a message that has been published to an Ordered Topic, it
  // MUST follow the rules listed above when delivering messages to each of its subscribers. In
  // addition it MUST send PUBLISH packets to consumers (for the same Topic and QoS) in the order that
  // they were received from any given Client." [MQTT-4.6.0-5]: every topic is Ordered by default.
  for (const qos of [0, 1, 2] as const) {
    test(`[MQTT-4.6.0-5][MQTT-4.6.0-6] QoS ${qos}: messages of one publisher arrive in publish order`, async (t) => {
      const h = await setup(t);
      const sub = await rawSubscriber(h, 'osub', 'order/t', qos);
      const pub = await h.rawConnect({ clientId: 'opub' });
      const n = 15;
      pub.send(Buffer.concat(Array.from({ length: n }, (_, i) => publish({ topic: 'order/t', payload: `m${i}`, qos, id: i + 1 }))));
      const got: string[] = [];
      // Both sides complete every flow: the publisher answers PUBREC, the subscriber acknowledges.
      while (got.length < n) {
        const ack = qos === 2 ? await pub.readPacket() : undefined;
        if (ack !== undefined) pub.send(pubrel(packetId(ack)));
        const p = await sub.readPacket();
        if (p.type === T.PUBREL) {
          sub.send(pubcomp(packetId(p)));
          continue;
        }
        const m = parsePublish(p);
        got.push(m.payload.toString());
        if (qos === 1) sub.send(puback(m.id!));
        if (qos === 2) sub.send(pubrec(m.id!));
      }
      assert.deepEqual(got, Array.from({ length: n }, (_, i) => `m${i}`));
    });
  }
});

describe('re-delivery to a persistent session [MQTT-4.4.0-1]', () => {
  // [MQTT-4.4.0-1] "When a Client reconnects with CleanSession set to 0, both the Client and Server
  // MUST re-send any unacknowledged PUBLISH Packets (where QoS > 0) and PUBREL Packets using their
  // original Packet Identifiers."
  // [MQTT-3.3.1-1] "The DUP flag MUST be set to 1 by the Client or Server when it attempts to
  // re-deliver a PUBLISH Packet."
  // Either after the old connection is gone, or by taking over the still open one [MQTT-3.1.4-2].
  for (const [qos, takeover] of [[1, false], [2, false], [1, true], [2, true]] as const) {
    const how = takeover ? 'taking over the open connection' : 'after the old connection closed';
    test(`[MQTT-4.4.0-1][MQTT-3.3.1-1] unacknowledged QoS ${qos} PUBLISH re-sent with DUP 1 and the same id, reconnecting ${how}`, async (t) => {
      const h = await setup(t);
      const first = await rawSubscriber(h, 'persist', 'redo/t', qos, false);
      const pub = await h.mqtt({ clientId: 'redopub' });
      await pub.publishAsync('redo/t', 'unacked', { qos });
      const original = await first.readPublish();
      assert.equal(original.dup, false);
      if (!takeover) {
        first.close(); // no PUBACK / PUBREC, no DISCONNECT
        await first.expectClose();
      }
      const again = await h.raw();
      again.send(connect({ clientId: 'persist', clean: false }));
      await again.expect(connack(0, true));
      const resent = await again.readPublish();
      assert.deepEqual(
        { topic: resent.topic, payload: resent.payload.toString(), qos: resent.qos, dup: resent.dup, id: resent.id },
        { topic: 'redo/t', payload: 'unacked', qos, dup: true, id: original.id },
      );
      again.send(qos === 1 ? puback(resent.id!) : pubrec(resent.id!));
      if (qos === 2) {
        await again.expect(pubrel(resent.id!));
        again.send(pubcomp(resent.id!));
      }
      await again.expectNothingPending();
    });
  }

  test('[MQTT-4.4.0-1] an unacknowledged PUBREL is re-sent on reconnect with the original id', async (t) => {
    const h = await setup(t);
    const first = await rawSubscriber(h, 'persist', 'redo/t', 2, false);
    const pub = await h.mqtt({ clientId: 'redopub' });
    await pub.publishAsync('redo/t', 'half done', { qos: 2 });
    const m = await first.readPublish();
    first.send(pubrec(m.id!));
    await first.expect(pubrel(m.id!));
    first.close(); // no PUBCOMP
    await first.expectClose();
    const again = await h.raw();
    again.send(connect({ clientId: 'persist', clean: false }));
    await again.expect(connack(0, true));
    const p = await again.readPacket();
    assert.equal(p.type, T.PUBREL, `expected PUBREL, got ${p.raw.toString('hex')}`);
    assert.equal(p.flags, 2);
    assert.equal(packetId(p), m.id);
    again.send(pubcomp(m.id!));
    again.send(disconnect());
    await again.expectClose();
    await again.expectNothing(0);
  });
});
