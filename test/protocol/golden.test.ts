/**
 * Golden bytes for every packet type in every version, checked both ways: encode(packet) gives
 * exactly these bytes, and parsing these bytes gives exactly this packet (canonical form).
 * Byte arrays are hand-written, annotated field by field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/protocol/encode.js';
import { decode } from '../../src/protocol/decode.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { hex, parseAll } from './helpers.js';

interface Golden {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  bytes: string;
}

const b = (s: string): Buffer => Buffer.from(s);

const goldens: Golden[] = [
  // ---- CONNECT
  {
    name: 'CONNECT 3.1 minimal',
    version: 3,
    packet: { type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 60, clientId: 'c1' },
    bytes: '10 10  00 06 4d 51 49 73 64 70  03  02  00 3c  00 02 63 31',
  },
  {
    name: 'CONNECT 3.1.1 minimal',
    version: 4,
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'test' },
    bytes: '10 10  00 04 4d 51 54 54  04  02  00 1e  00 04 74 65 73 74',
  },
  {
    name: 'CONNECT 3.1.1 with will, username, password',
    version: 4,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 10, clientId: 'cid',
      will: { topic: 'w/t', payload: b('bye'), qos: 1, retain: true }, username: 'user', password: b('pass'),
    },
    // flags: username 80 | password 40 | will retain 20 | will qos 1 08 | will 04 = ec
    bytes: '10 25  00 04 4d 51 54 54  04  ec  00 0a  00 03 63 69 64  00 03 77 2f 74  00 03 62 79 65  00 04 75 73 65 72  00 04 70 61 73 73',
  },
  {
    name: 'CONNECT 5.0 with properties and will properties',
    version: 5,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: 'c',
      properties: { sessionExpiryInterval: 300, receiveMaximum: 10 },
      will: { topic: 't', payload: b('x'), qos: 0, retain: false, properties: { willDelayInterval: 5 } },
    },
    // props: 11 (session expiry) 0000012c, 21 (receive max) 000a; will props: 18 (delay) 00000005
    bytes: '10 22  00 04 4d 51 54 54  05  06  00 3c  08 11 00 00 01 2c 21 00 0a  00 01 63  05 18 00 00 00 05  00 01 74  00 01 78',
  },
  {
    name: 'CONNECT 5.0 password without username',
    version: 5,
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: '', password: b('p') },
    bytes: '10 10  00 04 4d 51 54 54  05  40  00 00  00  00 00  00 01 70',
  },
  // ---- CONNACK
  { name: 'CONNACK 3.1', version: 3, packet: { type: 'connack', sessionPresent: false, reasonCode: 0 }, bytes: '20 02 00 00' },
  { name: 'CONNACK 3.1.1 session present', version: 4, packet: { type: 'connack', sessionPresent: true, reasonCode: 0 }, bytes: '20 02 01 00' },
  { name: 'CONNACK 3.1.1 not authorized', version: 4, packet: { type: 'connack', sessionPresent: false, reasonCode: 5 }, bytes: '20 02 00 05' },
  {
    name: 'CONNACK 5.0 with properties',
    version: 5,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { topicAliasMaximum: 10, maximumQoS: 1 } },
    bytes: '20 08  00 00  05 22 00 0a 24 01',
  },
  { name: 'CONNACK 5.0 failure', version: 5, packet: { type: 'connack', sessionPresent: false, reasonCode: 0x80 }, bytes: '20 03 00 80 00' },
  // ---- PUBLISH
  {
    name: 'PUBLISH 3.1 QoS 2, empty payload',
    version: 3,
    packet: { type: 'publish', topic: 't', payload: b(''), qos: 2, retain: false, dup: false, packetId: 0x1234 },
    bytes: '34 05  00 01 74  12 34',
  },
  {
    name: 'PUBLISH 3.1.1 QoS 0 retained',
    version: 4,
    packet: { type: 'publish', topic: 'a/b', payload: b('hi'), qos: 0, retain: true, dup: false },
    bytes: '31 07  00 03 61 2f 62  68 69',
  },
  {
    name: 'PUBLISH 3.1.1 QoS 1 DUP',
    version: 4,
    packet: { type: 'publish', topic: 'a/b', payload: b('hi'), qos: 1, retain: false, dup: true, packetId: 10 },
    bytes: '3a 09  00 03 61 2f 62  00 0a  68 69',
  },
  {
    name: 'PUBLISH 5.0 QoS 0 without properties',
    version: 5,
    packet: { type: 'publish', topic: 'a', payload: b('p'), qos: 0, retain: false, dup: false },
    bytes: '30 05  00 01 61  00  70',
  },
  {
    name: 'PUBLISH 5.0 QoS 1 with properties',
    version: 5,
    packet: {
      type: 'publish', topic: 'a', payload: b('p'), qos: 1, retain: false, dup: false, packetId: 1,
      properties: { payloadFormatIndicator: 1, topicAlias: 2 },
    },
    bytes: '32 0c  00 01 61  00 01  05 01 01 23 00 02  70',
  },
  {
    name: 'PUBLISH 5.0 empty topic with topic alias',
    version: 5,
    packet: { type: 'publish', topic: '', payload: b('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 5 } },
    bytes: '30 07  00 00  03 23 00 05  78',
  },
  {
    name: 'PUBLISH 5.0 all publish properties, repeated subscription ids and user properties',
    version: 5,
    packet: {
      type: 'publish', topic: 'a', payload: b(''), qos: 0, retain: false, dup: false,
      properties: {
        payloadFormatIndicator: 0, messageExpiryInterval: 60, contentType: 'c', responseTopic: 'r',
        correlationData: b('d'), subscriptionIdentifiers: [1, 128], userProperties: [['k', 'v'], ['k', 'w']],
      },
    },
    // 01 00 | 02 0000003c | 03 0001 63 | 08 0001 72 | 09 0001 64 | 0b 01 | 0b 80 01 | 26 k v | 26 k w
    bytes: '30 2a  00 01 61  26  01 00  02 00 00 00 3c  03 00 01 63  08 00 01 72  09 00 01 64  0b 01  0b 80 01'
      + '  26 00 01 6b 00 01 76  26 00 01 6b 00 01 77',
  },
  // ---- PUBACK, PUBREC, PUBREL, PUBCOMP
  { name: 'PUBACK 3.1', version: 3, packet: { type: 'puback', packetId: 1 }, bytes: '40 02 00 01' },
  { name: 'PUBREC 3.1', version: 3, packet: { type: 'pubrec', packetId: 2 }, bytes: '50 02 00 02' },
  { name: 'PUBREL 3.1', version: 3, packet: { type: 'pubrel', packetId: 3 }, bytes: '62 02 00 03' },
  { name: 'PUBCOMP 3.1', version: 3, packet: { type: 'pubcomp', packetId: 4 }, bytes: '70 02 00 04' },
  { name: 'PUBACK 3.1.1', version: 4, packet: { type: 'puback', packetId: 0xffff }, bytes: '40 02 ff ff' },
  { name: 'PUBREC 3.1.1', version: 4, packet: { type: 'pubrec', packetId: 2 }, bytes: '50 02 00 02' },
  { name: 'PUBREL 3.1.1', version: 4, packet: { type: 'pubrel', packetId: 3 }, bytes: '62 02 00 03' },
  { name: 'PUBCOMP 3.1.1', version: 4, packet: { type: 'pubcomp', packetId: 4 }, bytes: '70 02 00 04' },
  { name: 'PUBACK 5.0 success (short form)', version: 5, packet: { type: 'puback', packetId: 1, reasonCode: 0 }, bytes: '40 02 00 01' },
  { name: 'PUBREC 5.0 reason code only', version: 5, packet: { type: 'pubrec', packetId: 2, reasonCode: 0x10 }, bytes: '50 03 00 02 10' },
  {
    name: 'PUBREL 5.0 with reason string',
    version: 5,
    packet: { type: 'pubrel', packetId: 3, reasonCode: 0x92, properties: { reasonString: 'x' } },
    bytes: '62 08  00 03  92  04 1f 00 01 78',
  },
  {
    name: 'PUBCOMP 5.0 with user property',
    version: 5,
    packet: { type: 'pubcomp', packetId: 4, reasonCode: 0, properties: { userProperties: [['k', 'v']] } },
    bytes: '70 0b  00 04  00  07 26 00 01 6b 00 01 76',
  },
  // ---- SUBSCRIBE
  {
    name: 'SUBSCRIBE 3.1',
    version: 3,
    packet: { type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 't', qos: 0 }] },
    bytes: '82 06  00 02  00 01 74 00',
  },
  {
    name: 'SUBSCRIBE 3.1.1 two filters',
    version: 4,
    packet: { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/+', qos: 1 }, { topicFilter: '#', qos: 2 }] },
    bytes: '82 0c  00 01  00 03 61 2f 2b 01  00 01 23 02',
  },
  {
    name: 'SUBSCRIBE 5.0 with options and subscription identifier',
    version: 5,
    packet: {
      type: 'subscribe', packetId: 3, properties: { subscriptionIdentifiers: [5] },
      subscriptions: [{ topicFilter: 'a', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    },
    // options: qos 1 | no local 04 | retain as published 08 | retain handling 2 << 4 = 2d
    bytes: '82 09  00 03  02 0b 05  00 01 61 2d',
  },
  {
    name: 'SUBSCRIBE 5.0 shared subscription',
    version: 5,
    packet: {
      type: 'subscribe', packetId: 4,
      subscriptions: [{ topicFilter: '$share/g/a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    },
    bytes: '82 10  00 04  00  00 0a 24 73 68 61 72 65 2f 67 2f 61 00',
  },
  // ---- SUBACK
  { name: 'SUBACK 3.1', version: 3, packet: { type: 'suback', packetId: 2, reasonCodes: [0] }, bytes: '90 03 00 02 00' },
  { name: 'SUBACK 3.1.1 with failure', version: 4, packet: { type: 'suback', packetId: 1, reasonCodes: [1, 0x80] }, bytes: '90 04 00 01 01 80' },
  {
    name: 'SUBACK 5.0 with reason string',
    version: 5,
    packet: { type: 'suback', packetId: 3, reasonCodes: [0, 0x8f], properties: { reasonString: 'no' } },
    bytes: '90 0a  00 03  05 1f 00 02 6e 6f  00 8f',
  },
  // ---- UNSUBSCRIBE
  { name: 'UNSUBSCRIBE 3.1', version: 3, packet: { type: 'unsubscribe', packetId: 6, topicFilters: ['t'] }, bytes: 'a2 05 00 06 00 01 74' },
  { name: 'UNSUBSCRIBE 3.1.1', version: 4, packet: { type: 'unsubscribe', packetId: 5, topicFilters: ['a/#'] }, bytes: 'a2 07 00 05 00 03 61 2f 23' },
  { name: 'UNSUBSCRIBE 5.0', version: 5, packet: { type: 'unsubscribe', packetId: 7, topicFilters: ['a'] }, bytes: 'a2 06 00 07 00 00 01 61' },
  // ---- UNSUBACK
  { name: 'UNSUBACK 3.1', version: 3, packet: { type: 'unsuback', packetId: 6 }, bytes: 'b0 02 00 06' },
  { name: 'UNSUBACK 3.1.1', version: 4, packet: { type: 'unsuback', packetId: 5 }, bytes: 'b0 02 00 05' },
  { name: 'UNSUBACK 5.0', version: 5, packet: { type: 'unsuback', packetId: 7, reasonCodes: [0, 0x11] }, bytes: 'b0 05 00 07 00 00 11' },
  // ---- PINGREQ, PINGRESP
  { name: 'PINGREQ 3.1', version: 3, packet: { type: 'pingreq' }, bytes: 'c0 00' },
  { name: 'PINGRESP 3.1', version: 3, packet: { type: 'pingresp' }, bytes: 'd0 00' },
  { name: 'PINGREQ 3.1.1', version: 4, packet: { type: 'pingreq' }, bytes: 'c0 00' },
  { name: 'PINGRESP 3.1.1', version: 4, packet: { type: 'pingresp' }, bytes: 'd0 00' },
  { name: 'PINGREQ 5.0', version: 5, packet: { type: 'pingreq' }, bytes: 'c0 00' },
  { name: 'PINGRESP 5.0', version: 5, packet: { type: 'pingresp' }, bytes: 'd0 00' },
  // ---- DISCONNECT
  { name: 'DISCONNECT 3.1', version: 3, packet: { type: 'disconnect' }, bytes: 'e0 00' },
  { name: 'DISCONNECT 3.1.1', version: 4, packet: { type: 'disconnect' }, bytes: 'e0 00' },
  { name: 'DISCONNECT 5.0 normal (short form)', version: 5, packet: { type: 'disconnect', reasonCode: 0 }, bytes: 'e0 00' },
  { name: 'DISCONNECT 5.0 session taken over', version: 5, packet: { type: 'disconnect', reasonCode: 0x8e }, bytes: 'e0 01 8e' },
  {
    name: 'DISCONNECT 5.0 with session expiry',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } },
    bytes: 'e0 07  00  05 11 00 00 00 00',
  },
  // ---- AUTH
  { name: 'AUTH 5.0 success (short form)', version: 5, packet: { type: 'auth', reasonCode: 0 }, bytes: 'f0 00' },
  {
    name: 'AUTH 5.0 continue with method',
    version: 5,
    packet: { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } },
    bytes: 'f0 06  18  04 15 00 01 6d',
  },
];

for (const g of goldens) {
  void test(`golden: ${g.name} encodes to the expected bytes`, () => {
    assert.equal(encode(g.packet, g.version).toString('hex'), hex(g.bytes).toString('hex'));
  });
  void test(`golden: ${g.name} decodes to the expected packet`, () => {
    assert.deepEqual(parseAll(hex(g.bytes), g.version), [g.packet]);
    assert.deepEqual(decode(hex(g.bytes), g.version), g.packet);
  });
}

void test('golden: every packet type appears for every version it exists in', () => {
  for (const version of [3, 4, 5] as const) {
    const types = new Set(goldens.filter((g) => g.version === version).map((g) => g.packet.type));
    assert.equal(types.size, version === 5 ? 15 : 14, `version ${version}: ${[...types].join(',')}`);
  }
});

void test('golden: long forms a 5.0 peer may send decode to the same canonical packet', () => {
  // PUBACK with explicit reason 0 and empty properties; DISCONNECT with reason 0 and no properties.
  assert.deepEqual(decode(hex('40 04 00 01 00 00'), 5), { type: 'puback', packetId: 1, reasonCode: 0 });
  assert.deepEqual(decode(hex('40 03 00 01 00'), 5), { type: 'puback', packetId: 1, reasonCode: 0 });
  assert.deepEqual(decode(hex('e0 02 00 00'), 5), { type: 'disconnect', reasonCode: 0 });
  assert.deepEqual(decode(hex('f0 02 00 00'), 5), { type: 'auth', reasonCode: 0 });
});

void test('golden: remaining length uses 2, 3 and 4 bytes at the boundaries [MQTT-1.5.5]', () => {
  for (const [size, header] of [[127, '7f'], [128, '80 01'], [16383, 'ff 7f'], [16384, '80 80 01'], [2097152, '80 80 80 01']] as const) {
    // payload size chosen so remaining length = size: topic 't' (3 bytes) + payload
    const packet: Packet = { type: 'publish', topic: 't', payload: Buffer.alloc(size - 3, 1), qos: 0, retain: false, dup: false };
    const bytes = encode(packet, 4);
    assert.equal(bytes.subarray(0, 1 + hex(header).length).toString('hex'), '30' + hex(header).toString('hex'));
    assert.equal(bytes.length, 1 + hex(header).length + size);
    assert.deepEqual(decode(bytes, 4), packet);
  }
});
