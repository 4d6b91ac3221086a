/**
 * Protocol edge cases found by review, over raw sockets with hand-written bytes: assigned client
 * identifiers, retained wills without retain support, DISCONNECT reason codes and the will,
 * optional properties past the client's Maximum Packet Size, Receive Maximum on resumed sessions,
 * max_keepalive with 3.1.1 clients, and the reason codes of malformed topics and filters.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, mosquittoDiffers } from '../helpers/broker.js';
import { setup, type Harness } from '../helpers/harness.js';
import { connack, connect, packet, str, T } from '../helpers/packets.js';
import type { RawClient } from '../helpers/raw.js';
import {
  ack5,
  connect5,
  disconnect5,
  expectDisconnect,
  P,
  parseAck5,
  parseConnack5,
  prop,
  publish5,
  raw5,
  rawSub5,
  readPublish5,
  readType,
  subscribe5,
  unsubscribe5,
} from '../helpers/v5.js';

/** Positions at which two strings of hex digits hold the same digit. */
function sameDigits(a: string, b: string): number {
  let same = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) same++;
  return same;
}

describe('assigned client identifiers', { concurrency: true }, () => {
  // [MQTT-3.1.3-6] the Server assigns a unique ClientID; [MQTT-3.2.2-16] "The Assigned Client
  // Identifier MUST be a new Client Identifier not used by any other Session currently in the
  // Server". A counter is guessable: a client that learns it plants sessions under the next ids.
  test('[MQTT-3.1.3-6][MQTT-3.2.2-16] assigned identifiers carry at least 128 random bits, not a counter', async (t) => {
    const h = await setup(t);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { connack: ack } = await raw5(h, {});
      const id = prop(ack.props, P.ASSIGNED_CLIENT_ID);
      assert.equal(typeof id, 'string');
      ids.push(id as string);
    }
    const digits = ids.map((id) => id.replace(/[^0-9a-f]/gi, '').toLowerCase());
    for (const [i, d] of digits.entries()) assert.ok(d.length >= 32, `assigned id ${ids[i]} has fewer than 32 hex digits (128 bits)`);
    for (let i = 1; i < digits.length; i++) {
      // Random digits match at 1 position in 16; consecutive counters share all but the last few.
      const same = sameDigits(digits[i - 1] as string, digits[i] as string);
      assert.ok(same < 16, `assigned ids ${ids[i - 1]} and ${ids[i]} share ${same} of 32 digits`);
    }
  });

  // A victim's empty-id CONNECT with Clean Start 0 gets a new session, never an existing one.
  test('[MQTT-3.2.2-16] an empty Client Identifier with Clean Start 0 never resumes a session (Session Present 0)', async (t) => {
    const h = await setup(t);
    const { c: first, connack: a } = await raw5(h, { clean: false, props: [[P.SESSION_EXPIRY, 300]] });
    first.close();
    const { connack: b } = await raw5(h, { clean: false, props: [[P.SESSION_EXPIRY, 300]] }, false);
    assert.notEqual(prop(b.props, P.ASSIGNED_CLIENT_ID), prop(a.props, P.ASSIGNED_CLIENT_ID));
  });
});

/** A raw v5 subscriber to `filter` at QoS 0 (SUBACK checked). */
function watcher(h: Harness, clientId: string, filter: string): Promise<RawClient> {
  return rawSub5(h, clientId, filter, 0);
}

describe('retained wills when retain is not available', { concurrency: true }, () => {
  // [MQTT-3.2.2-13] "If a Server receives a CONNECT packet containing a Will Message with the Will
  // Retain 1, and it does not support retained messages, the Server MUST reject the connection
  // request. It SHOULD send CONNACK with Reason Code 0x9A (Retain not supported) and then it MUST
  // close the Network Connection."
  test('[MQTT-3.2.2-13] 5.0 CONNECT with Will Retain 1 under retain_available false: CONNACK 0x9A, closed', async (t) => {
    const h = await setup(t, { retainAvailable: false });
    const c = await h.raw();
    c.send(connect5({ clientId: 'rw5', will: { topic: 'rw/will', payload: 'gone', retain: true } }));
    const ack = parseConnack5(await readType(c, T.CONNACK));
    assert.equal(ack.reason, 0x9a);
    assert.equal(ack.sessionPresent, false);
    await c.expectClose();
    // A will without Will Retain is still accepted.
    await raw5(h, { clientId: 'rw5-plain', will: { topic: 'rw/will', payload: 'gone' } });
  });

  // 3.1.1 has no return code for it: closed without CONNACK, as Mosquitto does.
  test('[MQTT-3.2.2-13] 3.1.1 CONNECT with Will Retain 1 under retain_available false: closed without CONNACK', async (t) => {
    const h = await setup(t, { retainAvailable: false });
    const c = await h.raw();
    c.send(connect({ clientId: 'rw4', will: { topic: 'rw/will', payload: 'gone', retain: true } }));
    await c.expectClose();
    await c.expectNothing(0);
  });

  test('[MQTT-3.2.2-13] no retained message is stored when retain is not available, whatever its path (broker.publish)', cicadaOnly('broker.publish API'), async (t) => {
    const h = await setup(t, { retainAvailable: false });
    h.broker.broker?.publish({ topic: 'rw/api', payload: 'kept?', qos: 1, retain: true });
    assert.equal(h.broker.broker?.stats.retainedMessages, 0);
    const sub = await watcher(h, 'rw-api-sub', 'rw/#');
    await sub.expectNothingPending();
  });
});

/** A 5.0 client with a will on `topic`, a watcher subscribed to it; the client then sends DISCONNECT `code`. */
async function disconnectWith(h: Harness, code: number, id: string): Promise<{ c: RawClient; w: RawClient }> {
  const topic = `dw/${id}`;
  const w = await watcher(h, `${id}-watch`, topic);
  const { c } = await raw5(h, { clientId: id, will: { topic, payload: `will ${id}` } });
  c.send(disconnect5(code));
  return { c, w };
}

async function expectWill(w: RawClient, id: string): Promise<void> {
  const m = await readPublish5(w);
  assert.equal(m.payload.toString(), `will ${id}`);
}

describe('DISCONNECT reason codes and the will', { concurrency: true }, () => {
  // [MQTT-3.1.2-8] the will is published "unless the Will Message has been deleted by the Server
  // on receipt of a DISCONNECT packet with Reason Code 0x00 (Normal disconnection)";
  // [MQTT-3.1.2-10] it is removed on a DISCONNECT with 0x00; [MQTT-3.14.4-3] "On receipt of
  // DISCONNECT with a Reason Code of 0x00 (Success) the Server MUST discard any Will Message".
  test('[MQTT-3.1.2-8][MQTT-3.1.2-10][MQTT-3.14.4-3] DISCONNECT 0x80, 0x83, 0x93 keep the will: it is published', mosquittoDiffers('2.0.11 discards the will for every code but 0x04'), async (t) => {
    const h = await setup(t);
    for (const code of [0x80, 0x83, 0x93]) {
      const id = `dw${code.toString(16)}`;
      const { c, w } = await disconnectWith(h, code, id);
      await c.expectClose();
      await expectWill(w, id);
    }
  });

  test('[MQTT-3.14.4-3] DISCONNECT 0x00 discards the will; 0x04 publishes it', async (t) => {
    const h = await setup(t);
    const normal = await disconnectWith(h, 0x00, 'dw00');
    await normal.c.expectClose();
    await normal.w.expectNothingPending();
    const withWill = await disconnectWith(h, 0x04, 'dw04');
    await withWill.c.expectClose();
    await expectWill(withWill.w, 'dw04');
  });

  // [MQTT-3.14.2-1] "The Client or Server sending the DISCONNECT packet MUST use one of the
  // DISCONNECT Reason Code values": 0x01 and 0xFF are none, 0x8E (Session taken over) is sent by
  // servers only (Table 3-10). Such a packet does not conform: Malformed Packet, and the
  // connection ends as a failure, so the will goes out.
  test('[MQTT-3.14.2-1][MQTT-3.1.2-8] DISCONNECT 0xFF, 0x01, 0x8E: DISCONNECT 0x81 (malformed) and the will is published', mosquittoDiffers('2.0.11 accepts any code and discards the will'), async (t) => {
    const h = await setup(t);
    for (const code of [0xff, 0x01, 0x8e]) {
      const id = `dwbad${code.toString(16)}`;
      const { c, w } = await disconnectWith(h, code, id);
      await expectDisconnect(c, 0x81);
      await expectWill(w, id);
    }
  });
});

describe('optional properties past the client Maximum Packet Size', { concurrency: true }, () => {
  // [MQTT-3.1.2-24] "The Server MUST NOT send packets exceeding Maximum Packet Size to the Client";
  // [MQTT-3.4.2-2] the sender "MUST NOT send this property [Reason String] if it would increase
  // the size of the PUBACK packet beyond the Maximum Packet Size specified by the receiver".
  test('[MQTT-3.1.2-24][MQTT-3.4.2-2] PUBACK 0x99 to a client whose maximum is 12: sent without its Reason String', mosquittoDiffers('2.0.11 does not check the payload format (PUBACK 0x10)'), async (t) => {
    const h = await setup(t);
    const notUtf8 = Buffer.from([0xff, 0xfe, 0xfd]);
    const { c } = await raw5(h, { clientId: 'mps-puback', props: [[P.MAXIMUM_PACKET_SIZE, 12]] });
    c.send(publish5({ topic: 'mps/t', qos: 1, id: 7, payload: notUtf8, props: [[P.PAYLOAD_FORMAT, 1]] }));
    const p = await readType(c, T.PUBACK);
    assert.ok(p.raw.length <= 12, `PUBACK of ${p.raw.length} bytes to a client whose maximum is 12: ${p.raw.toString('hex')}`);
    const ack = parseAck5(p);
    assert.equal(ack.id, 7);
    assert.equal(ack.reasons[0], 0x99);
    // Without a maximum, the same refusal says why.
    const { c: free } = await raw5(h, { clientId: 'mps-puback-free' });
    free.send(publish5({ topic: 'mps/t', qos: 1, id: 8, payload: notUtf8, props: [[P.PAYLOAD_FORMAT, 1]] }));
    const full = parseAck5(await readType(free, T.PUBACK));
    assert.equal(full.reasons[0], 0x99);
    assert.equal(typeof prop(full.props, P.REASON_STRING), 'string');
  });

  // [MQTT-3.9.2-1] "The Server MUST NOT send this Property [Reason String] if it would increase the
  // size of the SUBACK packet beyond the Maximum Packet Size specified by the Client."
  test('[MQTT-3.1.2-24][MQTT-3.9.2-1] SUBACK 0x97 to a client whose maximum is 10: sent without its Reason String', cicadaOnly('maxSubscriptionsPerClient option'), async (t) => {
    const h = await setup(t, { maxSubscriptionsPerClient: 1 });
    const { c } = await raw5(h, { clientId: 'mps-suback', props: [[P.MAXIMUM_PACKET_SIZE, 10]] });
    c.send(subscribe5(1, [['mps/a', 0]]));
    assert.deepEqual(parseAck5(await readType(c, T.SUBACK)).reasons, [0]);
    c.send(subscribe5(2, [['mps/b', 0]]));
    const p = await readType(c, T.SUBACK);
    assert.ok(p.raw.length <= 10, `SUBACK of ${p.raw.length} bytes to a client whose maximum is 10: ${p.raw.toString('hex')}`);
    const ack = parseAck5(p);
    assert.deepEqual([ack.id, ...ack.reasons], [2, 0x97]);
    assert.equal(prop(ack.props, P.REASON_STRING), undefined);
  });
});

/** Send `n` QoS 2 PUBLISHes with ids from `first` and read their PUBRECs. */
async function publishQos2(c: RawClient, first: number, n: number): Promise<void> {
  for (let id = first; id < first + n; id++) c.send(publish5({ topic: 'rm2/t', qos: 2, id, payload: `m${id}` }));
  for (let id = first; id < first + n; id++) {
    const ack = parseAck5(await readType(c, T.PUBREC));
    assert.deepEqual([ack.id, ack.reasons[0]], [id, 0]);
  }
}

describe('Receive Maximum per connection', { concurrency: true }, () => {
  // [MQTT-3.3.4-9] "The Server MUST NOT send more than Receive Maximum QoS 1 and QoS 2 PUBLISH
  // packets for which it has not received PUBACK, PUBCOMP, or PUBREC with a Reason Code of 128 or
  // greater from the Client"; [MQTT-4.9.0-2] at a send quota of zero no more go out. The quota
  // starts at the new connection's Receive Maximum: re-sent PUBLISHes count.
  test('[MQTT-3.3.4-9][MQTT-4.9.0-2] a resumed session with 5 unacknowledged QoS 1 messages and Receive Maximum 1: re-sent one per PUBACK', mosquittoDiffers('2.0.11 re-sends all five at once'), async (t) => {
    const h = await setup(t);
    const session: [number, number][] = [[P.SESSION_EXPIRY, 300]];
    const sub = await rawSub5(h, { clientId: 'rm-resume', props: session }, 'rm/t', 1);
    const { c: pub } = await raw5(h, { clientId: 'rm-pub' });
    for (let i = 1; i <= 5; i++) pub.send(publish5({ topic: 'rm/t', qos: 1, id: i, payload: `m${i}` }));
    for (let i = 1; i <= 5; i++) assert.equal((await readPublish5(sub)).payload.toString(), `m${i}`);
    sub.close(); // none acknowledged
    const { c } = await raw5(h, { clientId: 'rm-resume', clean: false, props: [...session, [P.RECEIVE_MAXIMUM, 1]] }, true);
    for (let i = 1; i <= 5; i++) {
      const m = await readPublish5(c);
      assert.equal(m.payload.toString(), `m${i}`);
      assert.equal(m.dup, true);
      await c.expectNothingPending(); // the quota is used up until the PUBACK
      c.send(ack5(T.PUBACK, m.id as number));
    }
  });

  // Inbound, the client's quota is per connection too: QoS 2 messages left unreleased by an
  // earlier connection do not count against the new one (Mosquitto keeps the connection but
  // refuses the new message with 0x97).
  test('[MQTT-3.3.4-9][MQTT-4.9.0-2] 20 unreleased QoS 2 messages from an earlier connection: a new QoS 2 PUBLISH is accepted, not DISCONNECT 0x93', mosquittoDiffers('2.0.11 keeps the connection but refuses the new one (PUBREC 0x97)'), async (t) => {
    const h = await setup(t, { maxInflightMessages: 20 });
    const session: [number, number][] = [[P.SESSION_EXPIRY, 300]];
    const { c: first, connack: ack } = await raw5(h, { clientId: 'rm2', props: session });
    assert.equal(prop(ack.props, P.RECEIVE_MAXIMUM), 20);
    await publishQos2(first, 1, 20);
    first.close();
    const { c } = await raw5(h, { clientId: 'rm2', clean: false, props: session }, true);
    await publishQos2(c, 21, 1);
    for (let id = 1; id <= 21; id++) {
      c.send(ack5(T.PUBREL, id));
      const comp = parseAck5(await readType(c, T.PUBCOMP));
      assert.deepEqual([comp.id, comp.reasons[0]], [id, 0]);
    }
  });

  test('[MQTT-3.3.4-9] the inbound QoS 2 quota still holds within a connection: the 21st unreleased gets DISCONNECT 0x93', cicadaOnly('Mosquitto 2.0.11 queues past its Receive Maximum'), async (t) => {
    const h = await setup(t, { maxInflightMessages: 20 });
    const { c } = await raw5(h, { clientId: 'rm2-limit' });
    await publishQos2(c, 1, 20);
    c.send(publish5({ topic: 'rm2/t', qos: 2, id: 21, payload: 'over' }));
    await expectDisconnect(c, 0x93);
  });
});

describe('max_keepalive', { concurrency: true }, () => {
  // A 3.1.1 client cannot be told another Keep Alive (no Server Keep Alive before 5.0), and the
  // server "MUST disconnect" only after 1.5 times the client's own value [MQTT-3.1.2-24] (3.1.1):
  // refused at CONNECT with return code 2 (identifier rejected), as Mosquitto documents.
  test('[MQTT-3.1.2-24] 3.1.1 Keep Alive 60 (or 0) under max_keepalive 30: CONNACK 2 and closed; 30 is accepted', mosquittoDiffers('2.0.11 accepts (2.0.12+ refuses)'), async (t) => {
    const h = await setup(t, { maxKeepalive: 30 });
    for (const keepalive of [60, 0]) {
      const c = await h.raw();
      c.send(connect({ clientId: `ka4-${keepalive}`, keepalive }));
      await c.expect(connack(2));
      await c.expectClose();
    }
    await h.rawConnect({ clientId: 'ka4-30', keepalive: 30 });
  });

  // [MQTT-3.2.2-21] the client uses the Server Keep Alive; Keep Alive 0 (never checked) is above
  // any limit, so it gets max_keepalive, as Mosquitto sends.
  test('[MQTT-3.2.2-21] 5.0 Keep Alive 0 under max_keepalive 30: Server Keep Alive 30', async (t) => {
    const h = await setup(t, { maxKeepalive: 30 });
    const { connack: ack } = await raw5(h, { clientId: 'ka5-0', keepalive: 0 });
    assert.equal(prop(ack.props, P.SERVER_KEEP_ALIVE), 30);
  });
});

describe('reason codes of malformed topics and filters', { concurrency: true }, () => {
  // [MQTT-4.7.1-2] "#" must be the last character of a filter; 0x8F (Topic Filter invalid) is for
  // a filter that "is correctly formed, but is not accepted": a badly formed one is malformed.
  test('[MQTT-4.7.1-2] SUBSCRIBE and UNSUBSCRIBE with the filter a/#/b: DISCONNECT 0x81, not 0x8F', async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'bad-sub' });
    c.send(subscribe5(1, [['a/#/b', 0]]));
    await expectDisconnect(c, 0x81);
    const { c: u } = await raw5(h, { clientId: 'bad-unsub' });
    u.send(unsubscribe5(1, ['a/#/b']));
    await expectDisconnect(u, 0x81);
  });

  // [MQTT-4.8.2-1] a Shared Subscription's ShareName is at least one character long.
  test('[MQTT-4.8.2-1] SUBSCRIBE $share//a (empty share name): DISCONNECT 0x81', mosquittoDiffers('2.0.11 grants $share//a'), async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'bad-share' });
    c.send(subscribe5(1, [['$share//a', 0]]));
    await expectDisconnect(c, 0x81);
  });

  // [MQTT-3.3.2-2] "The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters":
  // a Protocol Error (0x82, as Mosquitto answers), not 0x90 ("correctly formed, but not accepted").
  test('[MQTT-3.3.2-2] PUBLISH to a/#: DISCONNECT 0x82, not 0x90', async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'bad-topic' });
    c.send(packet(T.PUBLISH, 0, str('a/#'), Buffer.from([0]), Buffer.from('x')));
    await expectDisconnect(c, 0x82);
  });
});
