/**
 * MQTT 5.0 reason codes on every acknowledgement (section 2.4), reason strings only when the
 * client allows problem information (section 3.1.2.11.7), and the Payload Format Indicator check
 * (0x99), over raw sockets with hand-written bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, mosquittoDiffers } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { T } from '../helpers/packets.js';
import { connect5, P, parseAck5, parseConnack5, prop, propAll, publish5, raw5, rawSub5, readPublish5, readType, subOptions, subscribe5, unsubscribe5, type Props } from '../helpers/v5.js';

const NO_PROBLEM_INFO: Props = [[P.REQUEST_PROBLEM_INFO, 0]];

/** Assert that `list` carries a non-empty Reason String. */
function hasReasonString(list: Props): void {
  const reason = prop(list, P.REASON_STRING);
  assert.equal(typeof reason, 'string', `expected a Reason String in ${JSON.stringify(list)}`);
  assert.ok((reason as string).length > 0, 'the Reason String is empty');
}

describe('v5 reason codes on acknowledgements', { concurrency: true }, () => {
  test('PUBACK 0x00 for an accepted QoS 1 PUBLISH (no subscribers), PUBREC/PUBCOMP 0x00 for QoS 2', mosquittoDiffers('PUBACK 0x10 (no matching subscribers)'), async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'ack-ok' });
    c.send(publish5({ topic: 'acks/none', payload: 'x', qos: 1, id: 3 }));
    const puback = parseAck5(await readType(c, T.PUBACK));
    assert.deepEqual([puback.id, puback.reasons], [3, [0]]);
    c.send(publish5({ topic: 'acks/none', payload: 'x', qos: 2, id: 4 }));
    const pubrec = parseAck5(await readType(c, T.PUBREC));
    assert.deepEqual([pubrec.id, pubrec.reasons], [4, [0]]);
    c.send(Buffer.from([0x62, 0x03, 0x00, 0x04, 0x00]));
    const pubcomp = parseAck5(await readType(c, T.PUBCOMP));
    assert.deepEqual([pubcomp.id, pubcomp.reasons], [4, [0]]);
  });

  test('PUBACK/PUBREC 0x87 (not authorized) with a Reason String when authorizePublish refuses; nothing delivered', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authorizePublish: (_c, topic) => !topic.startsWith('acks/deny') });
    const sub = await rawSub5(h, 'deny-sub', 'acks/#', 1);
    const { c } = await raw5(h, { clientId: 'deny-pub' });
    c.send(publish5({ topic: 'acks/deny', payload: 'x', qos: 1, id: 5 }));
    const puback = parseAck5(await readType(c, T.PUBACK));
    assert.deepEqual([puback.id, puback.reasons], [5, [0x87]]);
    hasReasonString(puback.props);
    c.send(publish5({ topic: 'acks/deny', payload: 'x', qos: 2, id: 6 }));
    const pubrec = parseAck5(await readType(c, T.PUBREC));
    assert.deepEqual([pubrec.id, pubrec.reasons], [6, [0x87]]);
    hasReasonString(pubrec.props);
    await sub.expectNothingPending();
  });

  // [MQTT-3.1.2-29]: with Request Problem Information 0 the Server MUST NOT send a Reason String
  // or User Properties on any packet other than PUBLISH, CONNACK or DISCONNECT.
  test('[MQTT-3.1.2-29] Request Problem Information 0: PUBACK/PUBREC/SUBACK 0x87 without a Reason String', cicadaOnly('hooks'), async (t) => {
    const h = await setup(t, { authorizePublish: () => false, authorizeSubscribe: () => false });
    const { c } = await raw5(h, { clientId: 'quiet', props: NO_PROBLEM_INFO });
    c.send(publish5({ topic: 'acks/q', payload: 'x', qos: 1, id: 7 }));
    const puback = parseAck5(await readType(c, T.PUBACK));
    assert.deepEqual(puback, { type: T.PUBACK, id: 7, reasons: [0x87], props: [] });
    c.send(publish5({ topic: 'acks/q', payload: 'x', qos: 2, id: 8 }));
    const pubrec = parseAck5(await readType(c, T.PUBREC));
    assert.deepEqual(pubrec, { type: T.PUBREC, id: 8, reasons: [0x87], props: [] });
    c.send(subscribe5(9, [['acks/q', subOptions(1)]]));
    const suback = parseAck5(await readType(c, T.SUBACK));
    assert.deepEqual(suback, { type: T.SUBACK, id: 9, reasons: [0x87], props: [] });
  });

  test('SUBACK 0x87 for a subscription authorizeSubscribe denies, next to a granted one; the denied filter delivers nothing', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authorizeSubscribe: (_c, filter) => filter !== 'acks/secret' });
    const { c } = await raw5(h, { clientId: 'subdeny' });
    c.send(subscribe5(10, [['acks/secret', subOptions(1)], ['acks/open', subOptions(2)]]));
    const suback = parseAck5(await readType(c, T.SUBACK));
    assert.equal(suback.id, 10);
    assert.deepEqual(suback.reasons, [0x87, 0x02]);
    const { c: pub } = await raw5(h, { clientId: 'subdeny-pub' });
    pub.send(publish5({ topic: 'acks/secret', payload: 'hidden' }));
    await pub.expectNothingPending(); // the broker has handled the publication
    await c.expectNothingPending();
  });

  // The issue: reason strings on acknowledgements when the client allows problem information
  // (as PUBACK/PUBREC above); a Reason String is optional in the standard (3.9.2.1.2).
  test('SUBACK 0x87 carries a Reason String when problem information is allowed (the default)', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authorizeSubscribe: () => false });
    const { c } = await raw5(h, { clientId: 'subdeny-rs' });
    c.send(subscribe5(12, [['acks/denied', subOptions(0)]]));
    const suback = parseAck5(await readType(c, T.SUBACK));
    assert.deepEqual(suback.reasons, [0x87]);
    hasReasonString(suback.props);
  });

  test('UNSUBACK 0x11 (no subscription existed) and 0x00 for an existing one, in filter order', async (t) => {
    const h = await setup(t);
    const c = await rawSub5(h, 'unsub', 'acks/u', 1);
    c.send(unsubscribe5(11, ['acks/none', 'acks/u', 'acks/u']));
    const unsuback = parseAck5(await readType(c, T.UNSUBACK));
    assert.equal(unsuback.id, 11);
    assert.deepEqual(unsuback.reasons, [0x11, 0x00, 0x11]);
  });

  // [MQTT-3.2.2-6]: a non-zero CONNACK reason has Session Present 0; [MQTT-3.2.2-7]: reason >= 0x80
  // then the Server closes the connection.
  test('[MQTT-3.2.2-6][MQTT-3.2.2-7] CONNACK 0x86 (bad user name or password) when authenticate refuses, then close', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authenticate: (info) => info.username === 'good' });
    const c = await h.raw();
    c.send(connect5({ clientId: 'badpw', username: 'bad', password: 'x' }));
    const connack = parseConnack5(await c.readPacket());
    assert.equal(connack.reason, 0x86);
    assert.equal(connack.sessionPresent, false);
    await c.expectClose();
    await raw5(h, { clientId: 'goodpw', username: 'good', password: 'x' });
  });

  test('CONNACK 0x86 without a Reason String when Request Problem Information is 0', cicadaOnly('hook'), async (t) => {
    const h = await setup(t, { authenticate: () => false });
    const c = await h.raw();
    c.send(connect5({ clientId: 'badpw2', username: 'u', password: 'p', props: NO_PROBLEM_INFO }));
    const connack = parseConnack5(await c.readPacket());
    assert.equal(connack.reason, 0x86);
    // A Reason String is allowed on CONNACK even then [MQTT-3.1.2-29]; only check the code and the close.
    await c.expectClose();
  });
});

describe('v5 PUBLISH properties', { concurrency: true }, () => {
  test('[MQTT-3.3.2-15][MQTT-3.3.2-16][MQTT-3.3.2-17][MQTT-3.3.2-18][MQTT-3.3.2-20] forwarded unaltered at the byte level, user properties in order with repeated names', async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, 'pp-sub', 'pp/t', 1);
    const { c } = await raw5(h, { clientId: 'pp-pub' });
    const sent: Props = [
      [P.USER_PROPERTY, ['z', '1']],
      [P.CONTENT_TYPE, 'application/octet-stream'],
      [P.USER_PROPERTY, ['a', '\u00e9t\u00e9']],
      [P.RESPONSE_TOPIC, 'pp/reply'],
      [P.CORRELATION_DATA, Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef])],
      [P.USER_PROPERTY, ['z', '']],
      [P.USER_PROPERTY, ['', 'empty name']],
    ];
    c.send(publish5({ topic: 'pp/t', payload: Buffer.from([0, 1, 2]), qos: 1, id: 1, props: sent }));
    await readType(c, T.PUBACK);
    const m = await readPublish5(sub);
    assert.equal(m.payload.toString('hex'), '000102');
    assert.deepEqual(propAll(m.props, P.USER_PROPERTY), [['z', '1'], ['a', '\u00e9t\u00e9'], ['z', ''], ['', 'empty name']]);
    assert.equal(prop(m.props, P.CONTENT_TYPE), 'application/octet-stream');
    assert.equal(prop(m.props, P.RESPONSE_TOPIC), 'pp/reply');
    assert.equal((prop(m.props, P.CORRELATION_DATA) as Buffer).toString('hex'), 'dead00beef');
    assert.equal(prop(m.props, P.PAYLOAD_FORMAT), undefined, 'no Payload Format Indicator was sent');
  });

  test('indicator 1 with invalid UTF-8: PUBACK 0x99 (payload format invalid), not delivered; valid UTF-8 is delivered', mosquittoDiffers('2.0.11 does not check the Payload Format Indicator'), async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, 'pfi-sub', 'pfi/t', 0);
    const { c } = await raw5(h, { clientId: 'pfi-pub' });
    c.send(publish5({ topic: 'pfi/t', payload: Buffer.from([0xc3, 0x28]), qos: 1, id: 12, props: [[P.PAYLOAD_FORMAT, 1]] }));
    const puback = parseAck5(await readType(c, T.PUBACK));
    assert.deepEqual([puback.id, puback.reasons], [12, [0x99]]);
    await sub.expectNothingPending();
    c.send(publish5({ topic: 'pfi/t', payload: Buffer.from([0xc3, 0x28]), qos: 2, id: 13, props: [[P.PAYLOAD_FORMAT, 1]] }));
    const pubrec = parseAck5(await readType(c, T.PUBREC));
    assert.deepEqual([pubrec.id, pubrec.reasons], [13, [0x99]]);
    c.send(publish5({ topic: 'pfi/t', payload: 'h\u00e9', qos: 1, id: 14, props: [[P.PAYLOAD_FORMAT, 1]] }));
    assert.deepEqual(parseAck5(await readType(c, T.PUBACK)).reasons, [0]);
    const m = await readPublish5(sub);
    assert.equal(m.payload.toString('hex'), Buffer.from('h\u00e9').toString('hex'));
    assert.equal(prop(m.props, P.PAYLOAD_FORMAT), 1, '[MQTT-3.3.2-4] the indicator is forwarded unaltered');
  });

  // Indicator 0 (unspecified bytes) is not checked: any bytes go through.
  test('indicator 0 with the same bytes is accepted and delivered unchanged', async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, 'pfi0-sub', 'pfi0/t', 0);
    const { c } = await raw5(h, { clientId: 'pfi0-pub' });
    c.send(publish5({ topic: 'pfi0/t', payload: Buffer.from([0xc3, 0x28]), qos: 1, id: 15, props: [[P.PAYLOAD_FORMAT, 0]] }));
    assert.deepEqual(parseAck5(await readType(c, T.PUBACK)).reasons, [0]);
    const m = await readPublish5(sub);
    assert.equal(m.payload.toString('hex'), 'c328');
    assert.equal(prop(m.props, P.PAYLOAD_FORMAT), 0);
  });
});
