/**
 * Encoder: packet object -> bytes, for MQTT 3.1 (3), 3.1.1 (4) and 5.0 (5).
 *
 * Each packet is encoded in two passes over its fields: sizes first (remaining length), then one
 * exactly-sized Buffer.allocUnsafe and the writes (every byte is written). No concat, no
 * intermediate arrays, no closures.
 *
 * The encoder trusts its input (it is fed by the broker, not the network): it does not re-check
 * topic validity or which properties a packet may carry. It does refuse what cannot be put on the
 * wire (strings over 65535 bytes, an AUTH before 5.0) with a CodecError.
 *
 * - CONNECT writes the packet's own protocolName and protocolVersion bytes; `version` decides
 *   the layout (properties or not).
 * - 5.0 acknowledgements (PUBACK..PUBCOMP), DISCONNECT and AUTH use the shortest form the spec
 *   allows: no Property Length when there are no properties, and no reason code either when it
 *   is also 0 (sections 3.4.2.1, 3.14.2.1, 3.15.2.1). Elsewhere an absent or empty
 *   `properties` is written as a zero-length block.
 * - PUBLISH writes `packetId` (0 if missing) only when qos > 0.
 */
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { CodecError, CodecErrorCode } from './errors.js';
import { propertiesSize, propertiesSizeFor, propertyBlockSize, writePropertyBlock } from './properties.js';
import {
  allocPacket,
  binarySize,
  stringSize,
  writeBinary,
  writeString,
  writeU16,
} from './writer.js';

const ACK_FIRST_BYTE = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
const PINGREQ_BYTES = Buffer.from([0xc0, 0x00]);
const PINGRESP_BYTES = Buffer.from([0xd0, 0x00]);

/** Encodes one packet for the given protocol version into a new, exactly-sized Buffer. */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 'publish': return encodePublish(packet, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': return encodeAck(packet, version);
    case 'connect': return encodeConnect(packet, version);
    case 'connack': return encodeConnack(packet, version);
    case 'subscribe': return encodeSubscribe(packet, version);
    case 'suback': return encodeSuback(packet, version);
    case 'unsubscribe': return encodeUnsubscribe(packet, version);
    case 'unsuback': return encodeUnsuback(packet, version);
    case 'pingreq': return Buffer.from(PINGREQ_BYTES);
    case 'pingresp': return Buffer.from(PINGRESP_BYTES);
    case 'disconnect': return encodeDisconnect(packet, version);
    case 'auth': return encodeAuth(packet, version);
  }
}

/** PUBLISH [MQTT-3.3]: the hot path. */
export function encodePublish(packet: PublishPacket, version: ProtocolVersion): Buffer {
  const qos = packet.qos;
  let rl = stringSize(packet.topic) + packet.payload.length;
  if (qos > 0) rl += 2;
  const propSize = propertiesSizeFor(packet.properties, version);
  rl += propertyBlockSize(propSize);
  const first = 0x30 | (packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0);
  const buf = allocPacket(first, rl);
  let off = writeString(buf, buf.length - rl, packet.topic);
  if (qos > 0) off = writeU16(buf, off, packet.packetId ?? 0);
  off = writePropertyBlock(buf, off, packet.properties, propSize);
  packet.payload.copy(buf, off);
  return buf;
}

/**
 * Byte offset of the packet identifier in an encoded PUBLISH with qos > 0 (any version): after
 * the fixed header and the topic name. Lets the broker encode once and patch the id per
 * subscriber with `buf.writeUInt16BE(id, offset)`.
 */
export function publishPacketIdOffset(buf: Buffer): number {
  let off = 1;
  while (buf[off]! >= 0x80) off++; // remaining length continuation bytes
  off++;
  return off + 2 + ((buf[off]! << 8) | buf[off + 1]!);
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP [MQTT-3.4] .. [MQTT-3.7]. */
function encodeAck(packet: AckPacket, version: ProtocolVersion): Buffer {
  const first = ACK_FIRST_BYTE[packet.type];
  const reasonCode = packet.reasonCode ?? 0;
  const propSize = version === 5 ? propertiesSize(packet.properties) : 0;
  if (version !== 5 || (reasonCode === 0 && propSize === 0)) {
    const buf = allocPacket(first, 2);
    writeU16(buf, 2, packet.packetId);
    return buf;
  }
  // Reason code alone when there are no properties (Property Length omitted, rl 3).
  const rl = propSize === 0 ? 3 : 3 + propertyBlockSize(propSize);
  const buf = allocPacket(first, rl);
  let off = writeU16(buf, buf.length - rl, packet.packetId);
  buf[off++] = reasonCode;
  if (propSize !== 0) writePropertyBlock(buf, off, packet.properties, propSize);
  return buf;
}

/** CONNECT [MQTT-3.1]. */
function encodeConnect(packet: ConnectPacket, version: ProtocolVersion): Buffer {
  const will = packet.will;
  const propSize = propertiesSizeFor(packet.properties, version);
  let rl = stringSize(packet.protocolName) + 4 + propertyBlockSize(propSize) + stringSize(packet.clientId);
  let willPropSize = -1;
  let flags = packet.clean ? 0x02 : 0;
  if (will !== undefined) {
    flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
    willPropSize = propertiesSizeFor(will.properties, version);
    rl += propertyBlockSize(willPropSize) + stringSize(will.topic) + binarySize(will.payload);
  }
  if (packet.username !== undefined) {
    flags |= 0x80;
    rl += stringSize(packet.username);
  }
  if (packet.password !== undefined) {
    flags |= 0x40;
    rl += binarySize(packet.password);
  }
  const buf = allocPacket(0x10, rl);
  let off = writeString(buf, buf.length - rl, packet.protocolName);
  buf[off++] = packet.protocolVersion;
  buf[off++] = flags;
  off = writeU16(buf, off, packet.keepalive);
  off = writePropertyBlock(buf, off, packet.properties, propSize);
  off = writeString(buf, off, packet.clientId);
  if (will !== undefined) {
    off = writePropertyBlock(buf, off, will.properties, willPropSize);
    off = writeString(buf, off, will.topic);
    off = writeBinary(buf, off, will.payload);
  }
  if (packet.username !== undefined) off = writeString(buf, off, packet.username);
  if (packet.password !== undefined) writeBinary(buf, off, packet.password);
  return buf;
}

/** CONNACK [MQTT-3.2]. */
function encodeConnack(packet: ConnackPacket, version: ProtocolVersion): Buffer {
  const propSize = propertiesSizeFor(packet.properties, version);
  const rl = 2 + propertyBlockSize(propSize);
  const buf = allocPacket(0x20, rl);
  const off = buf.length - rl;
  buf[off] = packet.sessionPresent ? 1 : 0;
  buf[off + 1] = packet.reasonCode;
  writePropertyBlock(buf, off + 2, packet.properties, propSize);
  return buf;
}

/** SUBSCRIBE [MQTT-3.8]: in 5.0 the options byte carries No Local, Retain As Published and
 * Retain Handling. */
function encodeSubscribe(packet: SubscribePacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  const propSize = propertiesSizeFor(packet.properties, version);
  let rl = 2 + propertyBlockSize(propSize);
  const subs = packet.subscriptions;
  for (let i = 0; i < subs.length; i++) rl += stringSize(subs[i]!.topicFilter) + 1;
  const buf = allocPacket(0x82, rl);
  let off = writeU16(buf, buf.length - rl, packet.packetId);
  off = writePropertyBlock(buf, off, packet.properties, propSize);
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i]!;
    off = writeString(buf, off, sub.topicFilter);
    let options: number = sub.qos;
    if (v5) {
      if (sub.noLocal === true) options |= 0x04;
      if (sub.retainAsPublished === true) options |= 0x08;
      options |= (sub.retainHandling ?? 0) << 4;
    }
    buf[off++] = options;
  }
  return buf;
}

/** Shared by SUBACK and UNSUBACK: packet id, properties (5.0), one byte per reason code. */
function encodeCodes(
  first: number,
  packet: SubackPacket | UnsubackPacket,
  codes: readonly number[],
  version: ProtocolVersion,
): Buffer {
  const propSize = propertiesSizeFor(packet.properties, version);
  const rl = 2 + propertyBlockSize(propSize) + codes.length;
  const buf = allocPacket(first, rl);
  let off = writeU16(buf, buf.length - rl, packet.packetId);
  off = writePropertyBlock(buf, off, packet.properties, propSize);
  for (let i = 0; i < codes.length; i++) buf[off++] = codes[i]!;
  return buf;
}

const NO_CODES: readonly number[] = [];

/** SUBACK [MQTT-3.9]. */
function encodeSuback(packet: SubackPacket, version: ProtocolVersion): Buffer {
  return encodeCodes(0x90, packet, packet.reasonCodes, version);
}

/** UNSUBACK [MQTT-3.11]: reason codes only in 5.0. */
function encodeUnsuback(packet: UnsubackPacket, version: ProtocolVersion): Buffer {
  return encodeCodes(0xb0, packet, version === 5 ? (packet.reasonCodes ?? NO_CODES) : NO_CODES, version);
}

/** UNSUBSCRIBE [MQTT-3.10]. */
function encodeUnsubscribe(packet: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const propSize = propertiesSizeFor(packet.properties, version);
  let rl = 2 + propertyBlockSize(propSize);
  const filters = packet.topicFilters;
  for (let i = 0; i < filters.length; i++) rl += stringSize(filters[i]!);
  const buf = allocPacket(0xa2, rl);
  let off = writeU16(buf, buf.length - rl, packet.packetId);
  off = writePropertyBlock(buf, off, packet.properties, propSize);
  for (let i = 0; i < filters.length; i++) off = writeString(buf, off, filters[i]!);
  return buf;
}

/** DISCONNECT and AUTH in 5.0: reason code and properties, both omitted when 0 and empty. */
function encodeReasonOnly(first: number, packet: DisconnectPacket | AuthPacket): Buffer {
  const reasonCode = packet.reasonCode ?? 0;
  const propSize = propertiesSize(packet.properties);
  if (propSize === 0) {
    if (reasonCode === 0) return allocPacket(first, 0);
    const buf = allocPacket(first, 1);
    buf[2] = reasonCode;
    return buf;
  }
  const rl = 1 + propertyBlockSize(propSize);
  const buf = allocPacket(first, rl);
  buf[buf.length - rl] = reasonCode;
  writePropertyBlock(buf, buf.length - rl + 1, packet.properties, propSize);
  return buf;
}

/** DISCONNECT [MQTT-3.14]: no variable header before 5.0. */
function encodeDisconnect(packet: DisconnectPacket, version: ProtocolVersion): Buffer {
  return version === 5 ? encodeReasonOnly(0xe0, packet) : allocPacket(0xe0, 0);
}

/** AUTH [MQTT-3.15]: 5.0 only. */
function encodeAuth(packet: AuthPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) throw new CodecError(CodecErrorCode.UnknownPacketType, 0x82, 'AUTH exists only in MQTT 5.0');
  return encodeReasonOnly(0xf0, packet);
}
