/**
 * Hand-written MQTT 3.1/3.1.1 bytes for the conformance tests. Deliberately independent of
 * src/protocol: if our codec is wrong, these tests must not be wrong the same way. Only the few
 * packets the tests need, built field by field as the spec's figures lay them out.
 */

export type QoS = 0 | 1 | 2;

/** Packet types (MQTT 3.1.1 table 2.1). */
export const T = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

/** Hex string (spaces allowed) to bytes. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Remaining Length, 1 to 4 bytes of 7 bits each (MQTT 3.1.1 section 2.2.3). */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A UTF-8 string field: two-byte length then the bytes (section 1.5.3). Buffers are used as is. */
export function str(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A whole packet: first byte (type << 4 | flags), remaining length, body. */
export function packet(type: number, flags: number, ...body: Buffer[]): Buffer {
  const rest = Buffer.concat(body);
  return Buffer.concat([Buffer.from([(type << 4) | flags]), remainingLength(rest.length), rest]);
}

export interface Will {
  topic: string | Buffer;
  payload: string | Buffer;
  qos?: QoS;
  retain?: boolean;
}

export interface ConnectOptions {
  clientId?: string | Buffer;
  clean?: boolean;
  keepalive?: number;
  will?: Will;
  username?: string;
  password?: string;
  /** Protocol name and level: MQTT/4 (3.1.1) by default; 3.1 is MQIsdp/3. */
  protocolName?: string;
  protocolLevel?: number;
  /** Extra bits OR-ed into the connect flags (e.g. 0x01, the reserved bit). */
  extraFlags?: number;
}

export function connect(o: ConnectOptions = {}): Buffer {
  let flags = o.extraFlags ?? 0;
  if (o.clean ?? true) flags |= 0x02;
  const payload = [str(o.clientId ?? '')];
  if (o.will) {
    flags |= 0x04 | ((o.will.qos ?? 0) << 3) | (o.will.retain ? 0x20 : 0);
    payload.push(str(o.will.topic), str(typeof o.will.payload === 'string' ? Buffer.from(o.will.payload) : o.will.payload));
  }
  if (o.username !== undefined) {
    flags |= 0x80;
    payload.push(str(o.username));
  }
  if (o.password !== undefined) {
    flags |= 0x40;
    payload.push(str(o.password));
  }
  const header = Buffer.concat([str(o.protocolName ?? 'MQTT'), Buffer.from([o.protocolLevel ?? 4, flags]), u16(o.keepalive ?? 60)]);
  return packet(T.CONNECT, 0, header, ...payload);
}

/** CONNACK bytes: 20 02, session present, return code. */
export function connack(returnCode = 0, sessionPresent = false): Buffer {
  return Buffer.from([0x20, 0x02, sessionPresent ? 1 : 0, returnCode]);
}

export interface PublishOptions {
  topic: string | Buffer;
  payload?: string | Buffer;
  qos?: QoS | 3;
  retain?: boolean;
  dup?: boolean;
  id?: number;
}

export function publish(o: PublishOptions): Buffer {
  const qos = o.qos ?? 0;
  const flags = (o.dup ? 0x08 : 0) | (qos << 1) | (o.retain ? 0x01 : 0);
  const body = [str(o.topic)];
  if (qos > 0) body.push(u16(o.id ?? 1));
  body.push(typeof o.payload === 'string' ? Buffer.from(o.payload) : (o.payload ?? Buffer.alloc(0)));
  return packet(T.PUBLISH, flags, ...body);
}

/** PUBACK, PUBREC, PUBREL (flags 2), PUBCOMP, UNSUBACK: type, flags, two-byte id. */
export function ack(type: number, id: number): Buffer {
  return packet(type, type === T.PUBREL ? 0x02 : 0, u16(id));
}

export const puback = (id: number): Buffer => ack(T.PUBACK, id);
export const pubrec = (id: number): Buffer => ack(T.PUBREC, id);
export const pubrel = (id: number): Buffer => ack(T.PUBREL, id);
export const pubcomp = (id: number): Buffer => ack(T.PUBCOMP, id);

/** SUBSCRIBE with (filter, requested QoS byte) pairs; flags must be 2 [MQTT-3.8.1-1]. */
export function subscribe(id: number, filters: Array<[string | Buffer, number]>, flags = 0x02): Buffer {
  return packet(T.SUBSCRIBE, flags, u16(id), ...filters.flatMap(([f, q]) => [str(f), Buffer.from([q])]));
}

export function suback(id: number, ...codes: number[]): Buffer {
  return packet(T.SUBACK, 0, u16(id), Buffer.from(codes));
}

export function unsubscribe(id: number, filters: string[], flags = 0x02): Buffer {
  return packet(T.UNSUBSCRIBE, flags, u16(id), ...filters.map((f) => str(f)));
}

export const unsuback = (id: number): Buffer => packet(T.UNSUBACK, 0, u16(id));
export const pingreq = (): Buffer => hex('c0 00');
export const pingresp = (): Buffer => hex('d0 00');
export const disconnect = (): Buffer => hex('e0 00');

/** A packet as read off the wire. */
export interface Packet {
  type: number;
  flags: number;
  body: Buffer;
  raw: Buffer;
}

/** Length of the first complete packet in `buf`, or undefined if more bytes are needed. */
export function frameLength(buf: Buffer): number | undefined {
  let value = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (buf.length <= i) return undefined;
    const byte = buf[i]!;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) {
      const total = 1 + i + value;
      return buf.length >= total ? total : undefined;
    }
  }
  throw new Error(`invalid remaining length from broker: ${buf.subarray(0, 5).toString('hex')}`);
}

export function parsePacket(raw: Buffer): Packet {
  let i = 1;
  while ((raw[i]! & 0x80) !== 0) i++;
  return { type: raw[0]! >> 4, flags: raw[0]! & 0x0f, body: raw.subarray(i + 1), raw };
}

export interface ReceivedPublish {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  id: number | undefined;
}

export function parsePublish(p: Packet): ReceivedPublish {
  if (p.type !== T.PUBLISH) throw new Error(`expected PUBLISH, got type ${p.type} (${p.raw.toString('hex')})`);
  const qos = ((p.flags >> 1) & 3) as QoS;
  const topicLength = p.body.readUInt16BE(0);
  const topic = p.body.subarray(2, 2 + topicLength).toString('utf8');
  let offset = 2 + topicLength;
  let id: number | undefined;
  if (qos > 0) {
    id = p.body.readUInt16BE(offset);
    offset += 2;
  }
  return { topic, payload: p.body.subarray(offset), qos, retain: (p.flags & 1) === 1, dup: (p.flags & 8) === 8, id };
}

/** The packet id of an ack-type packet (PUBACK..PUBCOMP, SUBACK, UNSUBACK). */
export function packetId(p: Packet): number {
  return p.body.readUInt16BE(0);
}
