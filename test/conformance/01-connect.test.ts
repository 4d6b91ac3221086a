/**
 * CONNECT and CONNACK at the byte level (MQTT 3.1.1 sections 3.1 and 3.2; MQTT 3.1 where noted).
 * Spec quotes are from MQTT Version 3.1.1 (OASIS Standard), Appendix B.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerKind, cicadaOnly } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { connack, connect, hex, pingreq, pingresp, publish, subscribe, suback, disconnect, type ConnectOptions } from '../helpers/packets.js';

describe('CONNECT: first packet and protocol', () => {
  // [MQTT-3.1.0-1] "After a Network Connection is established by a Client to a Server, the first
  // Packet sent from the Client to the Server MUST be a CONNECT Packet."
  const notConnect: Array<[string, Buffer]> = [
    ['PINGREQ', pingreq()],
    ['PUBLISH', publish({ topic: 'a', payload: 'x' })],
    ['SUBSCRIBE', subscribe(1, [['a', 0]])],
    ['DISCONNECT', disconnect()],
  ];
  for (const [name, bytes] of notConnect) {
    test(`[MQTT-3.1.0-1] first packet ${name} instead of CONNECT: connection closed, nothing answered`, async (t) => {
      const h = await setup(t);
      const c = await h.raw();
      c.send(bytes);
      await c.expectClose();
      await c.expectNothing(0);
    });
  }

  // [MQTT-3.1.0-2] "The Server MUST process a second CONNECT Packet sent from a Client as a protocol
  // violation and disconnect the Client."
  test('[MQTT-3.1.0-2] a second CONNECT on the same connection closes it', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'twice' });
    c.send(connect({ clientId: 'twice' }));
    await c.expectClose();
    await c.expectNothing(0);
  });

  // [MQTT-3.1.2-1] "If the protocol name is incorrect the Server MAY disconnect the Client, or it MAY
  // continue processing the CONNECT packet in accordance with some other specification. In the
  // latter case, the Server MUST NOT continue to process the CONNECT packet in line with this
  // specification". Cicada implements no other specification: it must close without accepting.
  for (const name of ['MQTX', 'mqtt', 'MQIsdp4']) {
    test(`[MQTT-3.1.2-1] protocol name ${JSON.stringify(name)}: closed, not accepted`, async (t) => {
      const h = await setup(t);
      const c = await h.raw();
      c.send(connect({ clientId: 'badname', protocolName: name, protocolLevel: 4 }));
      await c.expectClose();
      // No CONNACK 0: the connection was never accepted under this specification.
      await c.expectNothing(0);
    });
  }

  // [MQTT-3.1.2-2] "The Server MUST respond to the CONNECT Packet with a CONNACK return code 0x01
  // (unacceptable protocol level) and then disconnect the Client if the Protocol Level is not
  // supported by the Server."
  // [MQTT-3.2.2-4] "If a server sends a CONNACK packet containing a non-zero return code it MUST set
  // Session Present to 0." [MQTT-3.2.2-5] "... it MUST then close the Network Connection."
  const badLevels: Array<[string, number]> = [
    ['MQTT', 0],
    ['MQTT', 1],
    ['MQTT', 2],
    ['MQTT', 6],
    ['MQTT', 0x7f],
    ['MQIsdp', 4],
  ];
  for (const [name, level] of badLevels) {
    test(`[MQTT-3.1.2-2][MQTT-3.2.2-4][MQTT-3.2.2-5] ${name} level ${level}: CONNACK 0x01, then closed`, async (t) => {
      const h = await setup(t);
      const c = await h.raw();
      c.send(connect({ clientId: 'badlevel', clean: false, protocolName: name, protocolLevel: level }));
      await c.expect(connack(1, false));
      await c.expectClose();
    });
  }

  test('MQTT 3.1: protocol name "MQIsdp" with level 3 is accepted and served', async (t) => {
    const h = await setup(t);
    const c = await h.raw();
    c.send(connect({ clientId: 'v31client', protocolName: 'MQIsdp', protocolLevel: 3 }));
    await c.expect(connack(0));
    c.send(subscribe(1, [['v31/topic', 1]]));
    await c.expect(suback(1, 1));
    c.send(publish({ topic: 'v31/topic', payload: 'hello 3.1' }));
    const m = await c.readPublish();
    assert.equal(m.topic, 'v31/topic');
    assert.equal(m.payload.toString(), 'hello 3.1');
  });

  // [MQTT-3.1.2-3] "The Server MUST validate that the reserved flag in the CONNECT Control Packet is
  // set to zero and disconnect the Client if it is not zero."
  test('[MQTT-3.1.2-3] CONNECT reserved flag set: closed without CONNACK', async (t) => {
    const h = await setup(t);
    const c = await h.raw();
    c.send(connect({ clientId: 'reserved', extraFlags: 0x01 }));
    await c.expectClose();
    await c.expectNothing(0);
  });
});

describe('CONNECT: malformed CONNECT packets are closed without CONNACK [MQTT-3.1.4-1]', () => {
  // [MQTT-3.1.4-1] "The Server MUST validate that the CONNECT Packet conforms to section 3.1 and
  // close the Network Connection without sending a CONNACK if it does not conform."
  const cases: Array<[string, Buffer]> = [
    // [MQTT-3.1.2-13] "If the Will Flag is set to 0, then the Will QoS MUST be set to 0 (0x00)."
    ['[MQTT-3.1.2-13] will QoS 1 without will flag', connect({ clientId: 'c', extraFlags: 0x08 })],
    // [MQTT-3.1.2-15] "If the Will Flag is set to 0, then the Will Retain Flag MUST be set to 0."
    ['[MQTT-3.1.2-15] will retain without will flag', connect({ clientId: 'c', extraFlags: 0x20 })],
    // [MQTT-3.1.2-14] "If the Will Flag is set to 1, the value of Will QoS can be 0 (0x00), 1 (0x01),
    // or 2 (0x02). It MUST NOT be 3 (0x03)."
    ['[MQTT-3.1.2-14] will QoS 3', connect({ clientId: 'c', will: { topic: 'w', payload: 'x' }, extraFlags: 0x18 })],
    // [MQTT-3.1.2-22] "If the User Name Flag is set to 0 then the Password Flag MUST be set to 0."
    ['[MQTT-3.1.2-22] password flag without user name flag', connect({ clientId: 'c', password: 'secret' })],
    // [MQTT-3.1.2-9] "If the Will Flag is set to 1 ... the Will Topic and Will Message fields MUST be
    // present in the payload."
    ['[MQTT-3.1.2-9] will flag set, will topic and message missing', connect({ clientId: 'c', extraFlags: 0x04 })],
    // [MQTT-3.1.2-19] "If the User Name Flag is set to 1, a user name MUST be present in the payload."
    ['[MQTT-3.1.2-19] user name flag set, user name missing', connect({ clientId: 'c', extraFlags: 0x80 })],
    // [MQTT-3.1.3-4] "The ClientId MUST be a UTF-8 encoded string as defined in Section 1.5.3."
    // [MQTT-1.5.3-1] "... If a Server or Client receives a Control Packet containing ill-formed UTF-8
    // it MUST close the Network Connection."
    ['[MQTT-3.1.3-4][MQTT-1.5.3-1] client id is not UTF-8', connect({ clientId: hex('61 ff 62') })],
    // [MQTT-1.5.3-2] "... If a receiver (Server or Client) receives a Control Packet containing U+0000
    // it MUST close the Network Connection."
    ['[MQTT-1.5.3-2] client id contains U+0000', connect({ clientId: hex('61 00 62') })],
    // [MQTT-3.1.3-10] "The WillTopic MUST be a UTF-8 encoded string as defined in Section 1.5.3."
    ['[MQTT-3.1.3-10] will topic is not UTF-8', connect({ clientId: 'c', will: { topic: hex('77 ed b0 80'), payload: 'x' } })],
    // [MQTT-3.1.3-3] "The Client Identifier (ClientId) MUST be present and MUST be the first field in
    // the CONNECT packet payload."
    ['[MQTT-3.1.3-3] payload without client id', hex('10 0a 00 04 4d 51 54 54 04 02 00 3c')],
  ];
  for (const [name, bytes] of cases) {
    test(`[MQTT-3.1.4-1] ${name}`, async (t) => {
      const h = await setup(t);
      const w = await h.witness();
      const c = await h.raw();
      c.send(bytes);
      await c.expectClose();
      await c.expectNothing(0);
      await w.check();
    });
  }
});

describe('CONNECT: client identifier', () => {
  // [MQTT-3.1.3-6] "A Server MAY allow a Client to supply a ClientId that has a length of zero bytes.
  // However if it does so the Server MUST treat this as a special case and assign a unique ClientId
  // to that Client. It MUST then process the CONNECT packet as if the Client had provided that
  // unique ClientId."
  test('[MQTT-3.1.3-6] empty client id with clean session: accepted, each gets its own identity', async (t) => {
    const h = await setup(t);
    const a = await h.rawConnect({ clientId: '', clean: true });
    const b = await h.rawConnect({ clientId: '', clean: true });
    // Were both given the same identity, the second would have taken over the first [MQTT-3.1.4-2].
    a.send(subscribe(1, [['anon/a', 0]]));
    await a.expect(suback(1, 0));
    b.send(publish({ topic: 'anon/a', payload: 'to a' }));
    const m = await a.readPublish();
    assert.equal(m.payload.toString(), 'to a');
    b.send(pingreq());
    await b.expect(pingresp());
  });

  // [MQTT-3.1.3-8] "If the Client supplies a zero-byte ClientId with CleanSession set to 0, the
  // Server MUST respond to the CONNECT Packet with a CONNACK return code 0x02 (Identifier rejected)
  // and then close the Network Connection."
  test('[MQTT-3.1.3-8][MQTT-3.2.2-4][MQTT-3.2.2-5] empty client id without clean session: CONNACK 0x02, closed', async (t) => {
    const h = await setup(t);
    const c = await h.raw();
    c.send(connect({ clientId: '', clean: false }));
    await c.expect(connack(2, false));
    await c.expectClose();
  });

  // [MQTT-3.1.4-5] "If the Server rejects the CONNECT, it MUST NOT process any data sent by the
  // Client after the CONNECT Packet."
  test('[MQTT-3.1.4-5] data after a rejected CONNECT is not processed', async (t) => {
    const h = await setup(t);
    const c = await h.raw();
    c.send(Buffer.concat([connect({ clientId: '', clean: false }), publish({ topic: 'rejected/retained', payload: 'must not exist', retain: true })]));
    await c.expect(connack(2, false));
    await c.expectClose();
    const s = await h.rawConnect({ clientId: 'checker' });
    s.send(subscribe(1, [['rejected/#', 0]]));
    await s.expect(suback(1, 0));
    await s.expectNothingPending();
  });

  // [MQTT-3.1.3-5] "The Server MUST allow ClientIds which are between 1 and 23 UTF-8 encoded bytes in
  // length, and that contain only the characters 0-9a-zA-Z".
  test('[MQTT-3.1.3-5] 1- and 23-byte alphanumeric client ids are accepted', async (t) => {
    const h = await setup(t);
    await h.rawConnect({ clientId: 'z' });
    await h.rawConnect({ clientId: 'AZaz09AZaz09AZaz09AZaz0' });
  });
});

describe('CONNECT: timeout and session present', () => {
  test('no CONNECT within connectTimeoutMs (500 ms): connection closed', cicadaOnly("Mosquitto's connect timeout is fixed"), async (t) => {
    const h = await setup(t, { connectTimeoutMs: 500 });
    const c = await h.raw();
    const started = Date.now();
    await c.expectClose(2500);
    assert.ok(Date.now() - started >= 400, `closed after ${Date.now() - started} ms, before the 500 ms timeout`);
  });

  const connectWith = (o: ConnectOptions): ConnectOptions => ({ clientId: 'sp', keepalive: 60, ...o });

  // [MQTT-3.2.2-1] "If the Server accepts a connection with CleanSession set to 1, the Server MUST set
  // Session Present to 0 in the CONNACK packet in addition to setting a zero return code in the
  // CONNACK packet."
  // [MQTT-3.2.2-2] "If the Server accepts a connection with CleanSession set to 0, the value set in
  // Session Present depends on whether the Server already has stored Session state for the supplied
  // client ID. If the Server has stored Session state, it MUST set Session Present to 1 in the
  // CONNACK packet."
  // [MQTT-3.2.2-3] "If the Server does not have stored Session state, it MUST set Session Present to
  // 0 in the CONNACK packet."
  test('[MQTT-3.2.2-1][MQTT-3.2.2-2][MQTT-3.2.2-3] session present flag follows the stored session', async (t) => {
    const h = await setup(t);
    const first = await h.rawConnect(connectWith({ clean: false }), false); // [MQTT-3.2.2-3]: no session yet
    first.send(subscribe(1, [['sp/t', 1]]));
    await first.expect(suback(1, 1));
    first.send(disconnect());
    await first.expectClose();
    const second = await h.rawConnect(connectWith({ clean: false }), true); // [MQTT-3.2.2-2]
    second.send(disconnect());
    await second.expectClose();
    const third = await h.rawConnect(connectWith({ clean: true }), false); // [MQTT-3.2.2-1]
    third.send(disconnect());
    await third.expectClose();
    // The clean connection discarded the session [MQTT-3.1.2-6]: nothing to resume.
    const fourth = await h.rawConnect(connectWith({ clean: false }), false);
    fourth.send(disconnect());
  });

  // [MQTT-3.1.2-4] "If CleanSession is set to 0, the Server MUST resume communications with the Client
  // based on state from the current Session (as identified by the Client identifier)."
  test('[MQTT-3.1.2-4] a resumed session keeps its subscriptions', async (t) => {
    const h = await setup(t);
    const first = await h.rawConnect({ clientId: 'resume', clean: false });
    first.send(subscribe(1, [['resume/t', 1]]));
    await first.expect(suback(1, 1));
    first.send(disconnect());
    await first.expectClose();
    const again = await h.rawConnect({ clientId: 'resume', clean: false }, true);
    const p = await h.rawConnect({ clientId: 'pub' });
    p.send(publish({ topic: 'resume/t', payload: 'still subscribed' }));
    const m = await again.readPublish();
    assert.equal(m.payload.toString(), 'still subscribed');
  });

  test(`broker kind under test: ${brokerKind}`, () => undefined);
});
