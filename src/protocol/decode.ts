/**
 * Decoder: the bytes of one complete packet -> a packet object in canonical form (packets.ts).
 *
 * `checkFixedHeader` validates the first byte alone, so the parser rejects a bad packet type or
 * flags before buffering the body. `decodeBody` reads the variable header and payload through a
 * bounds-checked Reader and then requires that every byte of the remaining length was used:
 * a length that overruns, or bytes left unexplained, is a Malformed Packet (0x81).
 *
 * Every failure is a CodecError; see the report of each rule at its throw site, with spec IDs.
 * Binary fields (payload, password, correlation data, ...) are views into the given buffer.
 */
import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  AuthPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  Subscription,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from './packets.js';
import { CodecError, CodecErrorCode, malformed, protocolError } from './errors.js';
import { packetBit, readProperties, WILL_BIT } from './properties.js';
import { Reader } from './reader.js';
import { isValidTopicFilter, parseSharedFilter, scanTopicName, TopicScan } from './validate.js';

/** Packet type numbers [MQTT-2.2.1]. */
const T = {
  Connect: 1,
  Connack: 2,
  Publish: 3,
  Puback: 4,
  Pubrec: 5,
  Pubrel: 6,
  Pubcomp: 7,
  Subscribe: 8,
  Suback: 9,
  Unsubscribe: 10,
  Unsuback: 11,
  Pingreq: 12,
  Pingresp: 13,
  Disconnect: 14,
  Auth: 15,
} as const;

const ACK_TYPES = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

/**
 * Validates the first byte of a packet: type and reserved flags [MQTT-2.2.2-1], [MQTT-2.2.2-2].
 * MQTT 3.1 (version 3) allowed DUP on PUBREL/SUBSCRIBE/UNSUBSCRIBE resends, so it is ignored there.
 */
export function checkFixedHeader(first: number, version: ProtocolVersion): void {
  const type = first >> 4;
  const flags = first & 0x0f;
  if (type === T.Publish) {
    const qos = flags >> 1 & 3;
    if (qos === 3) throw malformed('PUBLISH with QoS 3 [MQTT-3.3.1-4]', CodecErrorCode.InvalidQoS);
    if (qos === 0 && (flags & 0x08) !== 0) throw malformed('DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]');
    return;
  }
  if (type === 0 || (type === T.Auth && version !== 5)) {
    throw malformed(`unknown packet type ${type}`, CodecErrorCode.UnknownPacketType);
  }
  if (type === T.Pubrel || type === T.Subscribe || type === T.Unsubscribe) {
    if ((version === 3 ? flags & 0x07 : flags) !== 0x02) {
      throw malformed(`packet type ${type} needs flags 0010 [MQTT-2.2.2-2]`, CodecErrorCode.ReservedFlags);
    }
  } else if (flags !== 0) {
    throw malformed(`packet type ${type} needs flags 0000 [MQTT-2.2.2-2]`, CodecErrorCode.ReservedFlags);
  }
}

/**
 * Decodes the body of one packet, `r` spanning exactly its remaining length. CONNECT is decoded
 * with the rules of its own protocol level; everything else with `version`.
 */
export function decodeBody(r: Reader, first: number, version: ProtocolVersion): Packet {
  let packet: Packet;
  switch (first >> 4) {
    case T.Publish: packet = decodePublish(r, first, version); break;
    case T.Puback:
    case T.Pubrec:
    case T.Pubrel:
    case T.Pubcomp: packet = decodeAck(r, first, version); break;
    case T.Connect: packet = decodeConnect(r); break;
    case T.Connack: packet = decodeConnack(r, version); break;
    case T.Subscribe: packet = decodeSubscribe(r, version); break;
    case T.Suback: packet = decodeSuback(r, version); break;
    case T.Unsubscribe: packet = decodeUnsubscribe(r, version); break;
    case T.Unsuback: packet = decodeUnsuback(r, version); break;
    case T.Pingreq: packet = { type: 'pingreq' }; break;
    case T.Pingresp: packet = { type: 'pingresp' }; break;
    case T.Disconnect: packet = decodeReasonOnly(r, 'disconnect', version); break;
    case T.Auth: packet = decodeReasonOnly(r, 'auth', version); break;
    default: throw malformed(`unknown packet type ${first >> 4}`, CodecErrorCode.UnknownPacketType);
  }
  if (r.pos !== r.end) throw malformed('bytes left over after the packet');
  return packet;
}

const sharedReader = new Reader();

/**
 * Decodes one complete packet: `buf` must hold exactly the fixed header and the remaining length.
 * For streams use Parser.
 */
export function decode(buf: Buffer, version: ProtocolVersion): Packet {
  if (buf.length < 2) throw malformed('packet too short');
  const first = buf[0]!;
  checkFixedHeader(first, version);
  let rl = 0;
  let mult = 1;
  let off = 1;
  for (;;) {
    if (off >= buf.length || off > 4) throw malformed('bad remaining length', CodecErrorCode.MalformedRemainingLength);
    const b = buf[off++]!;
    rl += (b & 0x7f) * mult;
    mult *= 128;
    if (b < 0x80) break;
  }
  if (off + rl !== buf.length) throw malformed('remaining length does not match the buffer');
  sharedReader.reset(buf, off, buf.length);
  try {
    return decodeBody(sharedReader, first, version);
  } finally {
    sharedReader.release();
  }
}

/** Reads a 5.0 property block and sets `packet.properties` when it is not empty. */
function readPropertiesInto(r: Reader, type: number, packet: { properties?: Properties }): void {
  const props = readProperties(r, packetBit(type));
  if (props !== undefined) packet.properties = props;
}

/** A packet identifier that must be non-zero [MQTT-2.3.1-1]. */
function packetId(r: Reader): number {
  const id = r.u16();
  if (id === 0) throw malformed('packet identifier 0 [MQTT-2.3.1-1]', CodecErrorCode.MissingPacketId);
  return id;
}

/** PUBLISH [MQTT-3.3]: the hot path. */
function decodePublish(r: Reader, first: number, version: ProtocolVersion): PublishPacket {
  const qos = (first >> 1 & 3) as QoS;
  const len = r.u16();
  const start = r.pos;
  const end = start + len;
  if (end > r.end) throw malformed('topic length overruns the packet');
  const buf = r.buf;
  const scan = scanTopicName(buf, start, end);
  if (scan === TopicScan.BadUtf8) throw malformed('topic name is not valid UTF-8 [MQTT-1.5.4-1]', CodecErrorCode.InvalidUtf8);
  if (scan === TopicScan.Wildcard) {
    // Not "Topic Name invalid" (0x90: correctly formed but not accepted): a protocol error, as Mosquitto answers.
    throw new CodecError(CodecErrorCode.InvalidTopicName, 0x82, 'wildcard in a topic name [MQTT-3.3.2-2]');
  }
  const topic = buf.toString('utf8', start, end);
  r.pos = end;
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: buf, // replaced below; keeps the object's shape stable
    qos,
    retain: (first & 1) === 1,
    dup: (first & 0x08) !== 0,
  };
  if (qos > 0) packet.packetId = packetId(r);
  if (version === 5) {
    const props = readProperties(r, packetBit(T.Publish));
    if (props !== undefined) packet.properties = props;
    if (len === 0 && props?.topicAlias === undefined) {
      throw new CodecError(CodecErrorCode.InvalidTopicName, 0x82, 'empty topic name without a topic alias');
    }
  } else if (len === 0) {
    throw new CodecError(CodecErrorCode.InvalidTopicName, 0x82, 'empty topic name [MQTT-4.7.3-1]');
  }
  packet.payload = r.rest();
  return packet;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: in 5.0 the reason code and properties may be omitted. */
function decodeAck(r: Reader, first: number, version: ProtocolVersion): AckPacket {
  const packet: AckPacket = { type: ACK_TYPES[(first >> 4) - T.Puback]!, packetId: packetId(r) };
  if (version === 5) {
    packet.reasonCode = r.pos < r.end ? r.u8() : 0;
    if (r.pos < r.end) readPropertiesInto(r, first >> 4, packet);
  }
  return packet;
}

/** CONNECT [MQTT-3.1], decoded by the rules of its own protocol level. */
function decodeConnect(r: Reader): ConnectPacket {
  const name = r.binary().toString('latin1');
  const level = r.u8();
  if (name === 'MQTT') {
    if (level !== 4 && level !== 5) throw unsupportedVersion(level);
  } else if (name === 'MQIsdp') {
    if (level !== 3) throw unsupportedVersion(level);
  } else {
    throw new CodecError(CodecErrorCode.InvalidProtocolName, 0x82, 'unknown protocol name [MQTT-3.1.2-1]');
  }
  const version: ProtocolVersion = level;
  const flags = r.u8();
  if ((flags & 0x01) !== 0) throw malformed('reserved connect flag set [MQTT-3.1.2-3]', CodecErrorCode.ReservedFlags);
  const hasWill = (flags & 0x04) !== 0;
  const willQos = flags >> 3 & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (willQos === 3) throw malformed('will QoS 3 [MQTT-3.1.2-14]', CodecErrorCode.InvalidQoS);
  if (!hasWill && (willQos !== 0 || willRetain)) {
    throw malformed('will QoS or retain without will flag [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-15]');
  }
  const hasUsername = (flags & 0x80) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  if (hasPassword && !hasUsername && version !== 5) {
    throw malformed('password without username [MQTT-3.1.2-22]');
  }
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: name,
    protocolVersion: version,
    clean: (flags & 0x02) !== 0,
    keepalive: r.u16(),
    clientId: '',
  };
  if (version === 5) readPropertiesInto(r, T.Connect, packet);
  packet.clientId = r.utf8();
  if (hasWill) packet.will = decodeWill(r, version, willQos, willRetain);
  if (hasUsername) packet.username = r.utf8();
  if (hasPassword) packet.password = r.binary();
  return packet;
}

function unsupportedVersion(level: number): CodecError {
  return new CodecError(
    CodecErrorCode.UnsupportedProtocolVersion,
    0x84,
    `unsupported protocol level ${level} [MQTT-3.1.2-2]`,
  );
}

/** The will of a CONNECT: properties (5.0), topic name, payload. */
function decodeWill(r: Reader, version: ProtocolVersion, qos: number, retain: boolean): Will {
  const props = version === 5 ? readProperties(r, WILL_BIT) : undefined;
  const topic = r.utf8();
  if (topic.length === 0 || topic.indexOf('+') !== -1 || topic.indexOf('#') !== -1) {
    throw new CodecError(CodecErrorCode.InvalidTopicName, 0x82, 'invalid will topic [MQTT-3.1.3-11]');
  }
  const will: Will = { topic, payload: r.binary(), qos: qos as QoS, retain };
  if (props !== undefined) will.properties = props;
  return will;
}

/** CONNACK [MQTT-3.2]: bits 7-1 of the acknowledge flags are reserved (3.1.1 and 5.0). */
function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const flags = r.u8();
  if (version !== 3 && (flags & 0xfe) !== 0) {
    throw malformed('reserved connect acknowledge flags set', CodecErrorCode.ReservedFlags);
  }
  const packet: ConnackPacket = { type: 'connack', sessionPresent: (flags & 1) === 1, reasonCode: r.u8() };
  if (version === 5) readPropertiesInto(r, T.Connack, packet);
  return packet;
}

/** SUBSCRIBE [MQTT-3.8]. */
function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packet: SubscribePacket = { type: 'subscribe', packetId: packetId(r), subscriptions: [] };
  if (version === 5) readPropertiesInto(r, T.Subscribe, packet);
  if (r.pos === r.end) throw protocolError('SUBSCRIBE without topic filters [MQTT-3.8.3-3]');
  while (r.pos < r.end) {
    const topicFilter = readFilter(r);
    packet.subscriptions.push(decodeOptions(topicFilter, r.u8(), version));
  }
  return packet;
}

/**
 * A topic filter: UTF-8 and wildcard placement [MQTT-4.7.1-2], [MQTT-4.7.1-3], a share name
 * [MQTT-4.8.2-1], [MQTT-4.8.2-2]. A filter that breaks them does not conform to the standard: a
 * Malformed Packet (0x81, as Mosquitto answers), not "Topic Filter invalid" (0x8F, which is for a
 * correctly formed filter the server does not accept).
 */
function readFilter(r: Reader): string {
  const filter = r.utf8();
  if (!isValidTopicFilter(filter)) {
    throw new CodecError(CodecErrorCode.InvalidTopicFilter, 0x81, `invalid topic filter "${filter}"`);
  }
  return filter;
}

/** The subscription options byte. 3.1.1: bits 7-2 reserved [MQTT-3-8.3-4]; 5.0: bits 7-6
 * reserved [MQTT-3.8.3-5], Retain Handling 3 and No Local on a shared subscription are protocol
 * errors [MQTT-3.8.3-4]. */
function decodeOptions(topicFilter: string, options: number, version: ProtocolVersion): Subscription {
  const qos = options & 3;
  if (qos === 3) throw malformed('subscription QoS 3 [MQTT-3-8.3-4]', CodecErrorCode.InvalidQoS);
  if (version !== 5) {
    if (options > 3) throw malformed('reserved subscription option bits [MQTT-3-8.3-4]', CodecErrorCode.ReservedFlags);
    return { topicFilter, qos: qos as QoS };
  }
  if (options > 0x3f) throw malformed('reserved subscription option bits [MQTT-3.8.3-5]', CodecErrorCode.ReservedFlags);
  const retainHandling = options >> 4 & 3;
  if (retainHandling === 3) throw protocolError('retain handling 3');
  const noLocal = (options & 0x04) !== 0;
  if (noLocal && parseSharedFilter(topicFilter) !== undefined) {
    throw protocolError('no local on a shared subscription [MQTT-3.8.3-4]');
  }
  return {
    topicFilter,
    qos: qos as QoS,
    noLocal,
    retainAsPublished: (options & 0x08) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
  };
}

/** The reason code bytes that end SUBACK and (5.0) UNSUBACK. */
function readCodes(r: Reader): number[] {
  const codes: number[] = [];
  while (r.pos < r.end) codes.push(r.u8());
  return codes;
}

/** SUBACK [MQTT-3.9]: before 5.0 only 0, 1, 2 and 0x80 are allowed [MQTT-3.9.3-2]. */
function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packet: SubackPacket = { type: 'suback', packetId: packetId(r), reasonCodes: [] };
  if (version === 5) readPropertiesInto(r, T.Suback, packet);
  packet.reasonCodes = readCodes(r);
  if (packet.reasonCodes.length === 0) throw protocolError('SUBACK without return codes');
  if (version !== 5) {
    for (const code of packet.reasonCodes) {
      if (code > 2 && code !== 0x80) throw malformed(`SUBACK return code ${code} [MQTT-3.9.3-2]`);
    }
  }
  return packet;
}

/** UNSUBSCRIBE [MQTT-3.10]. */
function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId: packetId(r), topicFilters: [] };
  if (version === 5) readPropertiesInto(r, T.Unsubscribe, packet);
  if (r.pos === r.end) throw protocolError('UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]');
  while (r.pos < r.end) packet.topicFilters.push(readFilter(r));
  return packet;
}

/** UNSUBACK [MQTT-3.11]: reason codes only in 5.0. */
function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packet: UnsubackPacket = { type: 'unsuback', packetId: packetId(r) };
  if (version === 5) {
    readPropertiesInto(r, T.Unsuback, packet);
    packet.reasonCodes = readCodes(r);
  }
  return packet;
}

/** DISCONNECT [MQTT-3.14] and AUTH [MQTT-3.15]: empty before 5.0; in 5.0 the reason code and
 * properties may be omitted (reason 0). */
function decodeReasonOnly(r: Reader, type: 'disconnect' | 'auth', version: ProtocolVersion): DisconnectPacket | AuthPacket {
  const packet: DisconnectPacket | AuthPacket = { type };
  if (version === 5) {
    packet.reasonCode = r.pos < r.end ? r.u8() : 0;
    if (r.pos < r.end) readPropertiesInto(r, type === 'auth' ? T.Auth : T.Disconnect, packet);
  }
  return packet;
}
