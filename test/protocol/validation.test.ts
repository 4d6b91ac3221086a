/**
 * Every validation rule of the decoder, each with a packet that breaks only that rule (and, where
 * useful, the same packet made valid), so removing the rule fails its test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, CodecErrorCode, type CodecErrorCodeName } from '../../src/protocol/errors.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { hex, packet, parseAll, props, str } from './helpers.js';

const MALFORMED = 0x81;
const PROTOCOL = 0x82;

function rejects(bytes: Buffer, version: ProtocolVersion | undefined, code: CodecErrorCodeName, reasonCode: number): void {
  assert.throws(
    () => parseAll(bytes, version),
    (err: unknown) => {
      assert.ok(err instanceof CodecError, `not a CodecError: ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.equal(err.reasonCode, reasonCode, err.message);
      return true;
    },
  );
}

function accepts(bytes: Buffer, version: ProtocolVersion | undefined): Packet {
  const packets = parseAll(bytes, version);
  assert.equal(packets.length, 1);
  return packets[0]!;
}

/** A CONNECT with the given protocol name, level, flags and the rest of the body. */
function connect(name: string, level: number, flags: number, ...rest: Array<string | Buffer>): Buffer {
  return packet(0x10, str(name), Buffer.from([level, flags]), '00 3c', ...rest);
}

/** A 5.0 CONNECT carrying the given property block. */
function connect5(block: Buffer): Buffer {
  return connect('MQTT', 5, 0x02, block, str('c'));
}

/** A 5.0 PUBLISH QoS 0 to topic 't' carrying the given property block. */
function publish5(block: Buffer, topic = 't'): Buffer {
  return packet(0x30, str(topic), block, '70');
}

// ---- Remaining length and lengths inside the packet

void test('[MQTT-1.5.5] remaining length longer than 4 bytes is malformed', () => {
  rejects(hex('30 ff ff ff ff 7f'), 4, CodecErrorCode.MalformedRemainingLength, MALFORMED);
  // The largest 4-byte value is fine as a header (the body simply has not arrived).
  assert.deepEqual(parseAll(hex('30 ff ff ff 7f'), 4), []);
});

void test('a string length overrunning the remaining length is malformed', () => {
  rejects(packet(0x30, '00 05 61 62'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(packet(0x10, '00 04 4d 51 54 54 04 02 00 3c 00 09 63'), undefined, CodecErrorCode.Malformed, MALFORMED);
});

void test('a property length overrunning the remaining length is malformed', () => {
  rejects(packet(0x30, str('t'), '09 01 01'), 5, CodecErrorCode.InvalidProperty, MALFORMED);
});

void test('a property value overrunning its property block is malformed', () => {
  // Block length 2, but the content type string inside claims 1 byte after its 2-byte length.
  rejects(packet(0x30, str('t'), '02 03 00 01 61'), 5, CodecErrorCode.Malformed, MALFORMED);
});

void test('bytes left unexplained after the packet are malformed', () => {
  rejects(hex('40 03 00 01 00'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(hex('c0 01 00'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(hex('e0 01 00'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(hex('20 03 00 00 00'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(hex('b0 03 00 01 00'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(packet(0x10, str('MQTT'), '04 02 00 3c', str('c'), '00'), undefined, CodecErrorCode.Malformed, MALFORMED);
});

void test('a truncated packet body is malformed', () => {
  rejects(hex('40 01 00'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(hex('20 01 00'), 4, CodecErrorCode.Malformed, MALFORMED);
});

// ---- Fixed header

void test('[MQTT-2.2.2-2] PUBREL, SUBSCRIBE, UNSUBSCRIBE need flags 0010', () => {
  rejects(hex('60 02 00 01'), 4, CodecErrorCode.ReservedFlags, MALFORMED);
  rejects(hex('80 06 00 01 00 01 74 00'), 4, CodecErrorCode.ReservedFlags, MALFORMED);
  rejects(hex('a0 05 00 01 00 01 74'), 4, CodecErrorCode.ReservedFlags, MALFORMED);
  rejects(hex('63 02 00 01'), 5, CodecErrorCode.ReservedFlags, MALFORMED);
  accepts(hex('62 02 00 01'), 4);
});

void test('[MQTT-2.2.2-1] reserved flags of other packets must be 0', () => {
  for (const first of [0x11, 0x21, 0x41, 0x52, 0x78, 0x92, 0xb1, 0xc1, 0xd4, 0xe1]) {
    rejects(Buffer.from([first, 0]), 4, CodecErrorCode.ReservedFlags, MALFORMED);
  }
  rejects(hex('f1 00'), 5, CodecErrorCode.ReservedFlags, MALFORMED);
});

void test('MQTT 3.1 tolerates DUP on PUBREL/SUBSCRIBE/UNSUBSCRIBE but 3.1.1 does not', () => {
  assert.deepEqual(accepts(hex('6a 02 00 01'), 3), { type: 'pubrel', packetId: 1 });
  rejects(hex('6a 02 00 01'), 4, CodecErrorCode.ReservedFlags, MALFORMED);
});

void test('[MQTT-2.2.1] packet type 0 and (before 5.0) 15 are unknown', () => {
  rejects(hex('00 00'), 4, CodecErrorCode.UnknownPacketType, MALFORMED);
  rejects(hex('00 00'), 5, CodecErrorCode.UnknownPacketType, MALFORMED);
  rejects(hex('f0 00'), 4, CodecErrorCode.UnknownPacketType, MALFORMED);
  rejects(hex('f0 00'), 3, CodecErrorCode.UnknownPacketType, MALFORMED);
  accepts(hex('f0 00'), 5);
});

// ---- PUBLISH

void test('[MQTT-3.3.1-4] PUBLISH with QoS 3 is malformed', () => {
  rejects(packet(0x36, str('t'), '00 01'), 4, CodecErrorCode.InvalidQoS, MALFORMED);
});

void test('[MQTT-3.3.1-2] DUP set on a QoS 0 PUBLISH is malformed', () => {
  rejects(packet(0x38, str('t')), 4, CodecErrorCode.Malformed, MALFORMED);
  accepts(packet(0x3a, str('t'), '00 01'), 4);
});

void test('[MQTT-3.3.2-2] a topic name with a wildcard is a protocol error (0x82, not 0x90)', () => {
  for (const topic of ['#', 'a/+', 'a/#', '+', 'a+b']) {
    rejects(packet(0x30, str(topic)), 4, CodecErrorCode.InvalidTopicName, PROTOCOL);
    rejects(packet(0x30, str(topic), '00'), 5, CodecErrorCode.InvalidTopicName, PROTOCOL);
  }
});

void test('[MQTT-4.7.3-1] an empty topic name is rejected before 5.0', () => {
  rejects(packet(0x30, str('')), 4, CodecErrorCode.InvalidTopicName, PROTOCOL);
  rejects(packet(0x30, str('')), 3, CodecErrorCode.InvalidTopicName, PROTOCOL);
});

void test('an empty topic name in 5.0 needs a topic alias (protocol error otherwise)', () => {
  rejects(publish5(props(''), ''), 5, CodecErrorCode.InvalidTopicName, PROTOCOL);
  rejects(publish5(props('01 01'), ''), 5, CodecErrorCode.InvalidTopicName, PROTOCOL);
  accepts(publish5(props('23 00 01'), ''), 5);
});

void test('[MQTT-2.3.1-1] packet identifier 0 is malformed where one is required', () => {
  const cases: Array<[Buffer, ProtocolVersion]> = [
    [packet(0x32, str('t'), '00 00'), 4],
    [packet(0x34, str('t'), '00 00', '00'), 5],
    [hex('82 06 00 00 00 01 74 00'), 4],
    [hex('a2 05 00 00 00 01 74'), 4],
    [hex('40 02 00 00'), 4],
    [hex('50 02 00 00'), 4],
    [hex('62 02 00 00'), 4],
    [hex('70 02 00 00'), 5],
    [hex('90 03 00 00 00'), 4],
    [hex('b0 02 00 00'), 4],
  ];
  for (const [bytes, version] of cases) rejects(bytes, version, CodecErrorCode.MissingPacketId, MALFORMED);
});

// ---- UTF-8 [MQTT-1.5.4-1], [MQTT-1.5.4-2]

const SURROGATE = Buffer.from([0x61, 0xed, 0xa0, 0x80]); // a + encoded U+D800
const NUL = Buffer.from([0x61, 0x00, 0x62]);
const OVERLONG = Buffer.from([0xc0, 0xaf]);
const TRUNCATED = Buffer.from([0x61, 0xe2, 0x82]);

void test('[MQTT-1.5.4-1] [MQTT-1.5.4-2] invalid UTF-8 in a topic name is malformed', () => {
  for (const bad of [SURROGATE, NUL, OVERLONG, TRUNCATED]) {
    rejects(packet(0x30, str(bad)), 4, CodecErrorCode.InvalidUtf8, MALFORMED);
  }
  accepts(packet(0x30, str(Buffer.from('€/ü/😀'))), 4);
});

void test('[MQTT-1.5.4-1] invalid UTF-8 in client id, username, will topic is malformed', () => {
  rejects(connect('MQTT', 4, 0x02, str(SURROGATE)), undefined, CodecErrorCode.InvalidUtf8, MALFORMED);
  rejects(connect('MQTT', 4, 0x82, str('c'), str(NUL)), undefined, CodecErrorCode.InvalidUtf8, MALFORMED);
  rejects(connect('MQTT', 4, 0x06, str('c'), str(OVERLONG), str('m')), undefined, CodecErrorCode.InvalidUtf8, MALFORMED);
});

void test('[MQTT-1.5.4-1] invalid UTF-8 in topic filters is malformed', () => {
  rejects(packet(0x82, '00 01', str(SURROGATE), '00'), 4, CodecErrorCode.InvalidUtf8, MALFORMED);
  rejects(packet(0xa2, '00 01', str(NUL)), 4, CodecErrorCode.InvalidUtf8, MALFORMED);
});

void test('[MQTT-1.5.4-1] invalid UTF-8 in string and user properties is malformed', () => {
  rejects(publish5(props('03', str(SURROGATE))), 5, CodecErrorCode.InvalidUtf8, MALFORMED);
  rejects(publish5(props('26', str(NUL), str('v'))), 5, CodecErrorCode.InvalidUtf8, MALFORMED);
  rejects(publish5(props('26', str('k'), str(OVERLONG))), 5, CodecErrorCode.InvalidUtf8, MALFORMED);
});

void test('[MQTT-3.1.3-11] a will topic must be a valid topic name', () => {
  rejects(connect('MQTT', 4, 0x06, str('c'), str('a/#'), str('m')), undefined, CodecErrorCode.InvalidTopicName, PROTOCOL);
  rejects(connect('MQTT', 4, 0x06, str('c'), str(''), str('m')), undefined, CodecErrorCode.InvalidTopicName, PROTOCOL);
});

// ---- CONNECT

void test('[MQTT-3.1.2-1] an unknown protocol name is rejected (0x82, close without CONNACK)', () => {
  rejects(connect('MQTX', 4, 0x02, str('c')), undefined, CodecErrorCode.InvalidProtocolName, PROTOCOL);
  rejects(connect('mqtt', 4, 0x02, str('c')), undefined, CodecErrorCode.InvalidProtocolName, PROTOCOL);
});

void test('[MQTT-3.1.2-2] a known name with an unsupported level is rejected (0x84)', () => {
  rejects(connect('MQTT', 3, 0x02, str('c')), undefined, CodecErrorCode.UnsupportedProtocolVersion, 0x84);
  rejects(connect('MQTT', 6, 0x02, str('c')), undefined, CodecErrorCode.UnsupportedProtocolVersion, 0x84);
  rejects(connect('MQIsdp', 4, 0x02, str('c')), undefined, CodecErrorCode.UnsupportedProtocolVersion, 0x84);
});

void test('[MQTT-3.1.2-3] the reserved connect flag must be 0', () => {
  rejects(connect('MQTT', 4, 0x03, str('c')), undefined, CodecErrorCode.ReservedFlags, MALFORMED);
  rejects(connect('MQTT', 5, 0x03, '00', str('c')), undefined, CodecErrorCode.ReservedFlags, MALFORMED);
});

void test('[MQTT-3.1.2-14] will QoS 3 is malformed', () => {
  rejects(connect('MQTT', 4, 0x1e, str('c'), str('w'), str('m')), undefined, CodecErrorCode.InvalidQoS, MALFORMED);
  accepts(connect('MQTT', 4, 0x16, str('c'), str('w'), str('m')), undefined);
});

void test('[MQTT-3.1.2-11] [MQTT-3.1.2-13] will QoS without the will flag is malformed', () => {
  rejects(connect('MQTT', 4, 0x0a, str('c')), undefined, CodecErrorCode.Malformed, MALFORMED);
});

void test('[MQTT-3.1.2-15] will retain without the will flag is malformed', () => {
  rejects(connect('MQTT', 4, 0x22, str('c')), undefined, CodecErrorCode.Malformed, MALFORMED);
});

void test('[MQTT-3.1.2-22] a password without a username is malformed in 3.1.1 and 3.1, allowed in 5.0', () => {
  rejects(connect('MQTT', 4, 0x42, str('c'), str('p')), undefined, CodecErrorCode.Malformed, MALFORMED);
  rejects(connect('MQIsdp', 3, 0x42, str('c'), str('p')), undefined, CodecErrorCode.Malformed, MALFORMED);
  accepts(connect('MQTT', 5, 0x42, '00', str('c'), str('p')), undefined);
});

void test('CONNACK acknowledge flags bits 7-1 are reserved', () => {
  rejects(hex('20 02 02 00'), 4, CodecErrorCode.ReservedFlags, MALFORMED);
  rejects(hex('20 03 80 00 00'), 5, CodecErrorCode.ReservedFlags, MALFORMED);
});

// ---- SUBSCRIBE, SUBACK, UNSUBSCRIBE

void test('[MQTT-3.8.3-3] SUBSCRIBE without topic filters is a protocol violation', () => {
  rejects(hex('82 02 00 01'), 4, CodecErrorCode.ProtocolError, PROTOCOL);
  rejects(hex('82 03 00 01 00'), 5, CodecErrorCode.ProtocolError, PROTOCOL);
});

void test('[MQTT-3.10.3-2] UNSUBSCRIBE without topic filters is a protocol violation', () => {
  rejects(hex('a2 02 00 01'), 4, CodecErrorCode.ProtocolError, PROTOCOL);
  rejects(hex('a2 03 00 01 00'), 5, CodecErrorCode.ProtocolError, PROTOCOL);
});

void test('[MQTT-3-8.3-4] requested QoS 3 is malformed', () => {
  rejects(packet(0x82, '00 01', str('t'), '03'), 4, CodecErrorCode.InvalidQoS, MALFORMED);
  rejects(packet(0x82, '00 01', '00', str('t'), '03'), 5, CodecErrorCode.InvalidQoS, MALFORMED);
});

void test('[MQTT-3-8.3-4] 3.1.1 subscription options bits 7-2 are reserved', () => {
  for (const options of ['04', '08', '10', '80']) {
    rejects(packet(0x82, '00 01', str('t'), options), 4, CodecErrorCode.ReservedFlags, MALFORMED);
  }
});

void test('[MQTT-3.8.3-5] 5.0 subscription options bits 7-6 are reserved', () => {
  rejects(packet(0x82, '00 01', '00', str('t'), '40'), 5, CodecErrorCode.ReservedFlags, MALFORMED);
  rejects(packet(0x82, '00 01', '00', str('t'), '80'), 5, CodecErrorCode.ReservedFlags, MALFORMED);
  accepts(packet(0x82, '00 01', '00', str('t'), '2e'), 5);
});

void test('5.0 retain handling 3 is a protocol error', () => {
  rejects(packet(0x82, '00 01', '00', str('t'), '30'), 5, CodecErrorCode.ProtocolError, PROTOCOL);
});

void test('[MQTT-3.8.3-4] 5.0 No Local on a shared subscription is a protocol error', () => {
  rejects(packet(0x82, '00 01', '00', str('$share/g/t'), '04'), 5, CodecErrorCode.ProtocolError, PROTOCOL);
  accepts(packet(0x82, '00 01', '00', str('t'), '04'), 5);
});

const BAD_FILTERS = ['', 'a/#/b', 'a+', '#a', 'a/b#', '+a/b', 'a/+b', '##', '$share/g', '$share//a', '$share/g+/a', '$share/g/', '$share/g/a#'];

void test('[MQTT-4.7.1-2] [MQTT-4.7.1-3] invalid topic filters in SUBSCRIBE and UNSUBSCRIBE are malformed (0x81, not 0x8F)', () => {
  for (const filter of BAD_FILTERS) {
    rejects(packet(0x82, '00 01', str(filter), '00'), 4, CodecErrorCode.InvalidTopicFilter, MALFORMED);
    rejects(packet(0xa2, '00 01', str(filter)), 4, CodecErrorCode.InvalidTopicFilter, MALFORMED);
    rejects(packet(0x82, '00 01', '00', str(filter), '00'), 5, CodecErrorCode.InvalidTopicFilter, MALFORMED);
  }
  for (const filter of ['#', '+', 'a/#', '+/+', '/', 'a//b', '+/#', '$share/g/#', '$SYS/#']) {
    accepts(packet(0x82, '00 01', str(filter), '00'), 4);
  }
});

void test('[MQTT-3.9.3-2] SUBACK return codes other than 0, 1, 2, 0x80 are malformed before 5.0', () => {
  rejects(hex('90 03 00 01 03'), 4, CodecErrorCode.Malformed, MALFORMED);
  rejects(hex('90 03 00 01 81'), 4, CodecErrorCode.Malformed, MALFORMED);
  accepts(hex('90 04 00 01 00 8f'), 5);
});

// ---- 5.0 properties

void test('an unknown property identifier is a protocol error', () => {
  rejects(publish5(props('7f 00')), 5, CodecErrorCode.InvalidProperty, PROTOCOL);
  rejects(publish5(props('00')), 5, CodecErrorCode.InvalidProperty, PROTOCOL);
});

void test('a property not allowed in the packet is a protocol error', () => {
  rejects(publish5(props('11 00 00 00 01')), 5, CodecErrorCode.InvalidProperty, PROTOCOL); // session expiry in PUBLISH
  rejects(connect5(props('23 00 01')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL); // topic alias in CONNECT
  rejects(connect5(props('18 00 00 00 01')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL); // will delay outside the will
  rejects(hex('40 06 00 01 00 02 01 01'), 5, CodecErrorCode.InvalidProperty, PROTOCOL); // payload format in PUBACK
  rejects(connect('MQTT', 5, 0x06, '00', str('c'), props('11 00 00 00 01'), str('w'), str('m')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL);
});

void test('a property appearing twice is a protocol error', () => {
  rejects(publish5(props('03', str('a'), '03', str('b'))), 5, CodecErrorCode.InvalidProperty, PROTOCOL);
  rejects(connect5(props('21 00 01 21 00 02')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL);
  rejects(packet(0x82, '00 01', props('0b 01 0b 02'), str('t'), '00'), 5, CodecErrorCode.InvalidProperty, PROTOCOL);
});

void test('user properties and PUBLISH subscription identifiers may repeat', () => {
  const p = accepts(publish5(props('26', str('k'), str('1'), '26', str('k'), str('2'), '0b 01 0b 02')), 5);
  assert.equal(p.type, 'publish');
  assert.deepEqual(p.properties, { userProperties: [['k', '1'], ['k', '2']], subscriptionIdentifiers: [1, 2] });
});

void test('subscription identifier 0 is a protocol error', () => {
  rejects(publish5(props('0b 00')), 5, CodecErrorCode.InvalidProperty, PROTOCOL);
  rejects(packet(0x82, '00 01', props('0b 00'), str('t'), '00'), 5, CodecErrorCode.InvalidProperty, PROTOCOL);
});

void test('[MQTT-3.3.2-8] topic alias 0 is rejected with Topic Alias invalid (0x94)', () => {
  rejects(publish5(props('23 00 00')), 5, CodecErrorCode.InvalidProperty, 0x94);
});

void test('byte properties other than 0 or 1 are a protocol error', () => {
  rejects(publish5(props('01 02')), 5, CodecErrorCode.InvalidProperty, PROTOCOL); // payload format indicator
  rejects(connect5(props('17 02')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL); // request problem information
  rejects(connect5(props('19 02')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL); // request response information
  rejects(packet(0x20, '00 00', props('24 02')), 5, CodecErrorCode.InvalidProperty, PROTOCOL); // maximum QoS
  rejects(packet(0x20, '00 00', props('25 02')), 5, CodecErrorCode.InvalidProperty, PROTOCOL); // retain available
  rejects(packet(0x20, '00 00', props('28 05')), 5, CodecErrorCode.InvalidProperty, PROTOCOL); // wildcard available
  accepts(packet(0x20, '00 00', props('24 00 25 01 28 00 29 01 2a 00')), 5);
});

void test('receive maximum 0 and maximum packet size 0 are protocol errors', () => {
  rejects(connect5(props('21 00 00')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL);
  rejects(connect5(props('27 00 00 00 00')), undefined, CodecErrorCode.InvalidProperty, PROTOCOL);
  rejects(packet(0x20, '00 00', props('21 00 00')), 5, CodecErrorCode.InvalidProperty, PROTOCOL);
  accepts(connect5(props('21 00 01 27 00 00 00 01')), undefined);
});
