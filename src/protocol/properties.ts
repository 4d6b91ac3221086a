/**
 * MQTT 5.0 properties (section 2.2.2): the table of identifiers, their wire types and the packets
 * each may appear in (Table 2-4), and their encoding and decoding.
 *
 * Invariants enforced on decode (each a Protocol Error, 0x82, as section 2.2.2.2 requires):
 * - an unknown identifier, or one not allowed in the packet at hand;
 * - a property present twice, except User Property (any packet) and Subscription Identifier
 *   (PUBLISH only) which accumulate in order;
 * - a byte property other than 0 or 1 (every byte property is a 0/1 flag or Maximum QoS 0/1);
 * - zero where the spec forbids it: Receive Maximum, Maximum Packet Size,
 *   Topic Alias [MQTT-3.3.2-8], Subscription Identifier.
 * The property block's declared length bounds every read inside it (Malformed when overrun).
 * Canonical form: decode returns undefined when the block is empty.
 */
import type { Properties } from './packets.js';
import { CodecError, CodecErrorCode, malformed, protocolError } from './errors.js';
import type { Reader } from './reader.js';
import {
  binarySize,
  stringSize,
  varintSize,
  writeBinary,
  writeString,
  writeU16,
  writeU32,
  writeVarint,
} from './writer.js';

const enum Kind {
  Byte,
  U16,
  U32,
  Varint,
  String,
  Binary,
  Pair,
}

/** Bit of "the Will" in the allowed-packets mask (packet types use bits 1..15). */
export const WILL_BIT = 1 << 0;
const CONNECT = 1 << 1;
const CONNACK = 1 << 2;
const PUBLISH = 1 << 3;
const PUBACK = 1 << 4;
const PUBREC = 1 << 5;
const PUBREL = 1 << 6;
const PUBCOMP = 1 << 7;
const SUBSCRIBE = 1 << 8;
const SUBACK = 1 << 9;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;
const ACKS = PUBACK | PUBREC | PUBREL | PUBCOMP;
const ALL = 0xffff;

interface PropertyDef {
  id: number;
  name: keyof Properties;
  kind: Kind;
  /** Packets (bit = packet type, bit 0 = Will) where the property may appear. */
  allowed: number;
  /** Smallest valid value for numeric properties. */
  min: number;
}

function def(id: number, name: keyof Properties, kind: Kind, allowed: number, min = 0): PropertyDef {
  return { id, name, kind, allowed, min };
}

const PUB_WILL = PUBLISH | WILL_BIT;
const DEFS: PropertyDef[] = [
  def(0x01, 'payloadFormatIndicator', Kind.Byte, PUB_WILL),
  def(0x02, 'messageExpiryInterval', Kind.U32, PUB_WILL),
  def(0x03, 'contentType', Kind.String, PUB_WILL),
  def(0x08, 'responseTopic', Kind.String, PUB_WILL),
  def(0x09, 'correlationData', Kind.Binary, PUB_WILL),
  def(0x0b, 'subscriptionIdentifiers', Kind.Varint, PUBLISH | SUBSCRIBE, 1),
  def(0x11, 'sessionExpiryInterval', Kind.U32, CONNECT | CONNACK | DISCONNECT),
  def(0x12, 'assignedClientIdentifier', Kind.String, CONNACK),
  def(0x13, 'serverKeepAlive', Kind.U16, CONNACK),
  def(0x15, 'authenticationMethod', Kind.String, CONNECT | CONNACK | AUTH),
  def(0x16, 'authenticationData', Kind.Binary, CONNECT | CONNACK | AUTH),
  def(0x17, 'requestProblemInformation', Kind.Byte, CONNECT),
  def(0x18, 'willDelayInterval', Kind.U32, WILL_BIT),
  def(0x19, 'requestResponseInformation', Kind.Byte, CONNECT),
  def(0x1a, 'responseInformation', Kind.String, CONNACK),
  def(0x1c, 'serverReference', Kind.String, CONNACK | DISCONNECT),
  def(0x1f, 'reasonString', Kind.String, CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH),
  def(0x21, 'receiveMaximum', Kind.U16, CONNECT | CONNACK, 1),
  def(0x22, 'topicAliasMaximum', Kind.U16, CONNECT | CONNACK),
  def(0x23, 'topicAlias', Kind.U16, PUBLISH, 1),
  def(0x24, 'maximumQoS', Kind.Byte, CONNACK),
  def(0x25, 'retainAvailable', Kind.Byte, CONNACK),
  def(0x26, 'userProperties', Kind.Pair, ALL),
  def(0x27, 'maximumPacketSize', Kind.U32, CONNECT | CONNACK, 1),
  def(0x28, 'wildcardSubscriptionAvailable', Kind.Byte, CONNACK),
  def(0x29, 'subscriptionIdentifierAvailable', Kind.Byte, CONNACK),
  def(0x2a, 'sharedSubscriptionAvailable', Kind.Byte, CONNACK),
];

const BY_ID: Array<PropertyDef | undefined> = [];
const BY_NAME = new Map<string, PropertyDef>();
for (const d of DEFS) {
  BY_ID[d.id] = d;
  BY_NAME.set(d.name, d);
}

/** Mask bit of a packet type number (1..15) for `allowed`. */
export function packetBit(type: number): number {
  return 1 << type;
}

/** Bytes of the property block's content (without its length prefix). */
export function propertiesSize(props: Properties | undefined): number {
  if (props === undefined) return 0;
  let size = 0;
  for (const name in props) {
    const value = props[name as keyof Properties];
    if (value === undefined) continue;
    const d = BY_NAME.get(name);
    if (d === undefined) continue;
    switch (d.kind) {
      case Kind.Byte: size += 2; break;
      case Kind.U16: size += 3; break;
      case Kind.U32: size += 5; break;
      case Kind.String: size += 1 + stringSize(value as string); break;
      case Kind.Binary: size += 1 + binarySize(value as Buffer); break;
      case Kind.Varint:
        for (const id of value as number[]) size += 1 + varintSize(id);
        break;
      case Kind.Pair:
        for (const [k, v] of value as Array<[string, string]>) size += 1 + stringSize(k) + stringSize(v);
        break;
    }
  }
  return size;
}

/** Writes the property block content (size from propertiesSize) at `off`. */
export function writeProperties(buf: Buffer, off: number, props: Properties): number {
  for (const name in props) {
    const value = props[name as keyof Properties];
    if (value === undefined) continue;
    const d = BY_NAME.get(name);
    if (d === undefined) continue;
    if (d.kind === Kind.Varint) {
      for (const id of value as number[]) {
        buf[off] = d.id;
        off = writeVarint(buf, off + 1, id);
      }
      continue;
    }
    if (d.kind === Kind.Pair) {
      for (const [k, v] of value as Array<[string, string]>) {
        buf[off] = d.id;
        off = writeString(buf, off + 1, k);
        off = writeString(buf, off, v);
      }
      continue;
    }
    buf[off++] = d.id;
    switch (d.kind) {
      case Kind.Byte: buf[off++] = value as number; break;
      case Kind.U16: off = writeU16(buf, off, value as number); break;
      case Kind.U32: off = writeU32(buf, off, value as number); break;
      case Kind.String: off = writeString(buf, off, value as string); break;
      default: off = writeBinary(buf, off, value as Buffer); break;
    }
  }
  return off;
}

/**
 * Reads a property block (length prefix included) for the packet whose mask bit is `bit`.
 * Returns undefined for an empty block (canonical form).
 */
export function readProperties(r: Reader, bit: number): Properties | undefined {
  const len = r.varint();
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) throw malformed('property length overruns the packet', CodecErrorCode.InvalidProperty);
  const outerEnd = r.end;
  r.end = end; // every read below is bounded by the property block
  const props: Properties = {};
  const bag = props as Record<string, unknown>;
  while (r.pos < end) {
    const id = r.u8();
    const d = BY_ID[id];
    if (d === undefined) throw protocolError(`unknown property 0x${id.toString(16)}`, CodecErrorCode.InvalidProperty);
    if ((d.allowed & bit) === 0) throw protocolError(`property ${d.name} not allowed here`, CodecErrorCode.InvalidProperty);
    readOne(r, d, bit, bag);
  }
  r.end = outerEnd;
  return props;
}

function readOne(r: Reader, d: PropertyDef, bit: number, bag: Record<string, unknown>): void {
  const name = d.name;
  if (d.kind === Kind.Pair) {
    const k = r.utf8();
    const pair: [string, string] = [k, r.utf8()];
    const list = bag[name] as Array<[string, string]> | undefined;
    if (list === undefined) bag[name] = [pair];
    else list.push(pair);
    return;
  }
  if (d.kind === Kind.Varint) {
    // Subscription Identifier: repeated in PUBLISH, once in SUBSCRIBE.
    const value = r.varint();
    if (value < d.min) throw protocolError(`${name} is 0`, CodecErrorCode.InvalidProperty);
    const list = bag[name] as number[] | undefined;
    if (list === undefined) bag[name] = [value];
    else if (bit === PUBLISH) list.push(value);
    else throw protocolError(`${name} appears twice`, CodecErrorCode.InvalidProperty);
    return;
  }
  if (bag[name] !== undefined) throw protocolError(`${name} appears twice`, CodecErrorCode.InvalidProperty);
  let value: number | string | Buffer;
  switch (d.kind) {
    case Kind.Byte:
      value = r.u8();
      if (value > 1) throw protocolError(`${name} must be 0 or 1`, CodecErrorCode.InvalidProperty);
      break;
    case Kind.U16: value = r.u16(); break;
    case Kind.U32: value = r.u32(); break;
    case Kind.String: value = r.utf8(); break;
    default: value = r.binary(); break;
  }
  if (typeof value === 'number' && value < d.min) {
    // Topic Alias 0 has its own reason code, Topic Alias invalid (0x94) [MQTT-3.3.2-8].
    if (name === 'topicAlias') throw new CodecError(CodecErrorCode.InvalidProperty, 0x94, 'topic alias 0 [MQTT-3.3.2-8]');
    throw protocolError(`${name} is 0`, CodecErrorCode.InvalidProperty);
  }
  bag[name] = value;
}

/** Content size of `props` when encoding for `version`, or -1 when the version has no
 * properties (before 5.0). Feed the result to propertyBlockSize and writePropertyBlock. */
export function propertiesSizeFor(props: Properties | undefined, version: number): number {
  return version === 5 ? propertiesSize(props) : -1;
}

/** Bytes of a whole property block (length prefix plus content); 0 for size -1 (no block). */
export function propertyBlockSize(contentSize: number): number {
  return contentSize < 0 ? 0 : varintSize(contentSize) + contentSize;
}

/** Writes a whole property block (length prefix plus content); nothing for size -1. */
export function writePropertyBlock(buf: Buffer, off: number, props: Properties | undefined, contentSize: number): number {
  if (contentSize < 0) return off;
  off = writeVarint(buf, off, contentSize);
  return props === undefined || contentSize === 0 ? off : writeProperties(buf, off, props);
}
