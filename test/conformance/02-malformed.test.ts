/**
 * Malformed packets and protocol violations after CONNECT: the offending connection is closed,
 * and another connected client keeps being served (its publish/receive round trip still works).
 * Spec quotes are from MQTT Version 3.1.1 (OASIS Standard).
 */
import { describe, test } from 'node:test';
import { mosquittoDiffers } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { hex, packet, publish, str, subscribe, T, u16, unsubscribe } from '../helpers/packets.js';

// [MQTT-4.8.0-1] "Unless stated otherwise, if either the Server or Client encounters a protocol
// violation, it MUST close the Network Connection on which it received that Control Packet which
// caused the protocol violation."
const cases: Array<[string, Buffer, string?]> = [
  // Section 2.2.3: the Remaining Length uses at most four bytes.
  ['[MQTT-4.8.0-1] remaining length of five bytes', hex('30 ff ff ff ff 01')],
  ['[MQTT-4.8.0-1] PUBLISH topic length beyond the remaining length', hex('30 03 00 05 61')],
  ['[MQTT-4.8.0-1] SUBSCRIBE filter length beyond the remaining length', hex('82 06 00 01 00 09 61 00')],
  ['[MQTT-4.8.0-1] packet type 0 (reserved)', hex('00 00')],
  ['[MQTT-4.8.0-1] packet type 15 (reserved)', hex('f0 00')],
  ['[MQTT-4.8.0-1] CONNACK sent by a client', hex('20 02 00 00')],
  // Mosquitto accepts a SUBACK from any client (its bridge code path); a SUBACK only flows from
  // Server to Client (table 2.1), so Cicada treats it as a protocol violation.
  ['[MQTT-4.8.0-1] SUBACK sent by a client', hex('90 03 00 01 00'), 'accepts SUBACK from clients (bridges)'],
  // [MQTT-2.2.2-2] "If invalid flags are received, the receiver MUST close the Network Connection."
  // [MQTT-3.6.1-1] "Bits 3,2,1 and 0 of the fixed header in the PUBREL Control Packet are reserved and
  // MUST be set to 0,0,1 and 0 respectively. The Server MUST treat any other value as malformed and
  // close the Network Connection."
  ['[MQTT-3.6.1-1][MQTT-2.2.2-2] PUBREL with flags 0000', packet(T.PUBREL, 0, u16(1))],
  // [MQTT-3.8.1-1] "Bits 3,2,1 and 0 of the fixed header of the SUBSCRIBE Control Packet are reserved
  // and MUST be set to 0,0,1 and 0 respectively. The Server MUST treat any other value as malformed
  // and close the Network Connection."
  ['[MQTT-3.8.1-1][MQTT-2.2.2-2] SUBSCRIBE with flags 0000', subscribe(1, [['a', 0]], 0)],
  ['[MQTT-3.8.1-1][MQTT-2.2.2-2] SUBSCRIBE with flags 0011', subscribe(1, [['a', 0]], 3)],
  // [MQTT-3.10.1-1] "Bits 3,2,1 and 0 of the fixed header of the UNSUBSCRIBE Control Packet are
  // reserved and MUST be set to 0,0,1 and 0 respectively. The Server MUST treat any other value as
  // malformed and close the Network Connection."
  ['[MQTT-3.10.1-1][MQTT-2.2.2-2] UNSUBSCRIBE with flags 0000', unsubscribe(1, ['a'], 0)],
  // [MQTT-3.14.1-1] "The Server MUST validate that reserved bits are set to zero in DISCONNECT Control
  // Packet, and disconnect the Client if they are not zero."
  ['[MQTT-3.14.1-1] DISCONNECT with flags 0001', hex('e1 00')],
  // Mosquitto 2.0.11 ignores the flags of PINGREQ, against [MQTT-2.2.2-2].
  ['[MQTT-2.2.2-2] PINGREQ with flags 0001', hex('c1 00'), 'ignores PINGREQ flags (2.0.11)'],
  // [MQTT-3.3.1-4] "A PUBLISH Packet MUST NOT have both QoS bits set to 1. If a Server or Client
  // receives a PUBLISH Packet which has both QoS bits set to 1 it MUST close the Network Connection"
  ['[MQTT-3.3.1-4] PUBLISH with QoS 3', publish({ topic: 'a', payload: 'x', qos: 3, id: 1 })],
  // [MQTT-3.3.2-2] "The Topic Name in the PUBLISH Packet MUST NOT contain wildcard characters."
  ['[MQTT-3.3.2-2][MQTT-4.7.1-1] PUBLISH topic with +', publish({ topic: 'a/+/b', payload: 'x' })],
  ['[MQTT-3.3.2-2][MQTT-4.7.1-1] PUBLISH topic with #', publish({ topic: 'a/#', payload: 'x' })],
  // [MQTT-4.7.3-1] "All Topic Names and Topic Filters MUST be at least one character long."
  ['[MQTT-4.7.3-1] PUBLISH with an empty topic', publish({ topic: '', payload: 'x' })],
  // [MQTT-1.5.3-1] "The character data in a UTF-8 encoded string MUST be well-formed UTF-8 ... In
  // particular this data MUST NOT include encodings of code points between U+D800 and U+DFFF. If a
  // Server or Client receives a Control Packet containing ill-formed UTF-8 it MUST close the Network
  // Connection."
  ['[MQTT-1.5.3-1][MQTT-3.3.2-1] PUBLISH topic with invalid UTF-8 (0xff)', publish({ topic: hex('61 ff'), payload: 'x' })],
  ['[MQTT-1.5.3-1] PUBLISH topic with an encoded surrogate U+D800', publish({ topic: hex('61 ed a0 80'), payload: 'x' })],
  ['[MQTT-1.5.3-1] PUBLISH topic with an overlong encoding', publish({ topic: hex('c0 af'), payload: 'x' })],
  // [MQTT-1.5.3-2] "A UTF-8 encoded string MUST NOT include an encoding of the null character U+0000.
  // If a receiver (Server or Client) receives a Control Packet containing U+0000 it MUST close the
  // Network Connection."
  ['[MQTT-1.5.3-2][MQTT-4.7.3-2] PUBLISH topic with U+0000', publish({ topic: hex('61 00 62'), payload: 'x' })],
  ['[MQTT-1.5.3-2][MQTT-4.7.3-2] SUBSCRIBE filter with U+0000', subscribe(1, [[hex('61 00'), 0]])],
  ['[MQTT-1.5.3-1][MQTT-3.8.3-1] SUBSCRIBE filter with invalid UTF-8', subscribe(1, [[hex('61 fe'), 0]])],
  // [MQTT-4.7.1-2] "The multi-level wildcard character MUST be specified either on its own or
  // following a topic level separator. In either case it MUST be the last character specified in
  // the Topic Filter."
  ['[MQTT-4.7.1-2] SUBSCRIBE filter a/#/b', subscribe(1, [['a/#/b', 0]])],
  ['[MQTT-4.7.1-2] SUBSCRIBE filter #a', subscribe(1, [['#a', 0]])],
  ['[MQTT-4.7.1-2] SUBSCRIBE filter a/b#', subscribe(1, [['a/b#', 0]])],
  // [MQTT-4.7.1-3] "The single-level wildcard can be used at any level in the Topic Filter,
  // including first and last levels. Where it is used it MUST occupy an entire level of the filter."
  ['[MQTT-4.7.1-3] SUBSCRIBE filter a+', subscribe(1, [['a+', 0]])],
  ['[MQTT-4.7.1-3] SUBSCRIBE filter +a/b', subscribe(1, [['+a/b', 0]])],
  ['[MQTT-4.7.3-1] SUBSCRIBE with an empty filter', subscribe(1, [['', 0]])],
  // [MQTT-3-8.3-4] "The Server MUST treat a SUBSCRIBE packet as malformed and close the Network
  // Connection if any of Reserved bits in the payload are non-zero, or QoS is not 0,1 or 2."
  ['[MQTT-3-8.3-4] SUBSCRIBE requesting QoS 3', subscribe(1, [['a', 3]])],
  ['[MQTT-3-8.3-4] SUBSCRIBE with reserved bits set in the QoS byte', subscribe(1, [['a', 0x04]])],
  // [MQTT-2.3.1-1] "SUBSCRIBE, UNSUBSCRIBE, and PUBLISH (in cases where QoS > 0) Control Packets MUST
  // contain a non-zero 16-bit Packet Identifier."
  ['[MQTT-2.3.1-1] SUBSCRIBE with packet id 0', subscribe(0, [['a', 0]])],
  ['[MQTT-2.3.1-1] UNSUBSCRIBE with packet id 0', unsubscribe(0, ['a'])],
  ['[MQTT-2.3.1-1] PUBLISH QoS 1 with packet id 0', publish({ topic: 'a', payload: 'x', qos: 1, id: 0 })],
  ['[MQTT-2.3.1-1] PUBLISH QoS 2 with packet id 0', publish({ topic: 'a', payload: 'x', qos: 2, id: 0 })],
  // [MQTT-3.8.3-3] "The payload of a SUBSCRIBE packet MUST contain at least one Topic Filter / QoS
  // pair. A SUBSCRIBE packet with no payload is a protocol violation."
  ['[MQTT-3.8.3-3] SUBSCRIBE with no payload', packet(T.SUBSCRIBE, 2, u16(1))],
  ['[MQTT-3.8.3-3] SUBSCRIBE filter without its QoS byte', packet(T.SUBSCRIBE, 2, u16(1), str('a'))],
  // [MQTT-3.10.3-2] "The Payload of an UNSUBSCRIBE packet MUST contain at least one Topic Filter. An
  // UNSUBSCRIBE packet with no payload is a protocol violation."
  ['[MQTT-3.10.3-2] UNSUBSCRIBE with no payload', packet(T.UNSUBSCRIBE, 2, u16(1))],
];

describe('malformed packets close the connection; other clients are still served [MQTT-4.8.0-1]', () => {
  for (const [name, bytes, mosquitto] of cases) {
    test(name, mosquitto === undefined ? {} : mosquittoDiffers(mosquitto), async (t) => {
      const h = await setup(t);
      const witness = await h.witness();
      const victim = await h.rawConnect({ clientId: 'victim' });
      victim.send(bytes);
      await victim.expectClose();
      await witness.check();
    });
  }

  test('[MQTT-4.8.0-1] a malformed packet in the same chunk as valid ones: the valid ones before it are served, then closed', async (t) => {
    const h = await setup(t);
    const witness = await h.witness();
    const victim = await h.rawConnect({ clientId: 'victim' });
    victim.send(Buffer.concat([hex('c0 00'), publish({ topic: 'a/+', payload: 'x' })]));
    await victim.expect('d0 00');
    await victim.expectClose();
    await witness.check();
  });
});
