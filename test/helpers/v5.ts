/**
 * Hand-written MQTT 5.0 bytes for the v5 conformance and interop tests, built field by field as
 * the MQTT 5.0 standard lays them out (section 2.2.2 properties, chapter 3 packets). Like
 * packets.ts it is deliberately independent of src/protocol. Also: a raw v5 connect, and a
 * recorder of the full PUBLISH packets (with properties) an MQTT.js client receives.
 */
import assert from 'node:assert/strict';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { Harness } from './harness.js';
import type { TestClient } from './mqttjs.js';
import { connect, packet, parsePacket, parsePublish, publish, remainingLength, str, T, u16, type ConnectOptions, type Packet, type PublishOptions, type QoS, type ReceivedPublish, type Will } from './packets.js';
import type { RawClient } from './raw.js';
import { waitFor } from './wait.js';

/** Property identifiers (MQTT 5.0 table 2-4). */
export const P = {
  PAYLOAD_FORMAT: 0x01,
  MESSAGE_EXPIRY: 0x02,
  CONTENT_TYPE: 0x03,
  RESPONSE_TOPIC: 0x08,
  CORRELATION_DATA: 0x09,
  SUBSCRIPTION_ID: 0x0b,
  SESSION_EXPIRY: 0x11,
  ASSIGNED_CLIENT_ID: 0x12,
  SERVER_KEEP_ALIVE: 0x13,
  REQUEST_PROBLEM_INFO: 0x17,
  WILL_DELAY: 0x18,
  REQUEST_RESPONSE_INFO: 0x19,
  RESPONSE_INFO: 0x1a,
  REASON_STRING: 0x1f,
  RECEIVE_MAXIMUM: 0x21,
  TOPIC_ALIAS_MAXIMUM: 0x22,
  TOPIC_ALIAS: 0x23,
  MAXIMUM_QOS: 0x24,
  RETAIN_AVAILABLE: 0x25,
  USER_PROPERTY: 0x26,
  MAXIMUM_PACKET_SIZE: 0x27,
  WILDCARD_AVAILABLE: 0x28,
  SUBSCRIPTION_ID_AVAILABLE: 0x29,
  SHARED_AVAILABLE: 0x2a,
} as const;

type Kind = 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';

const KIND: Record<number, Kind> = {
  0x01: 'byte', 0x17: 'byte', 0x19: 'byte', 0x24: 'byte', 0x25: 'byte', 0x28: 'byte', 0x29: 'byte', 0x2a: 'byte',
  0x13: 'u16', 0x21: 'u16', 0x22: 'u16', 0x23: 'u16',
  0x02: 'u32', 0x11: 'u32', 0x18: 'u32', 0x27: 'u32',
  0x0b: 'varint',
  0x03: 'string', 0x08: 'string', 0x12: 'string', 0x15: 'string', 0x1a: 'string', 0x1c: 'string', 0x1f: 'string',
  0x09: 'binary', 0x16: 'binary',
  0x26: 'pair',
};

export type PropValue = number | string | Buffer | [string, string];
/** Properties in wire order, as [identifier, value] pairs. */
export type Props = Array<[number, PropValue]>;

function kindOf(id: number): Kind {
  const kind = KIND[id];
  if (kind === undefined) throw new Error(`unknown property identifier 0x${id.toString(16)}`);
  return kind;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Property Length (a Variable Byte Integer) followed by the properties. */
export function props(list: Props = []): Buffer {
  const parts = list.map(([id, value]) => {
    const head = Buffer.from([id]);
    switch (kindOf(id)) {
      case 'byte':
        return Buffer.concat([head, Buffer.from([value as number])]);
      case 'u16':
        return Buffer.concat([head, u16(value as number)]);
      case 'u32':
        return Buffer.concat([head, u32(value as number)]);
      case 'varint':
        return Buffer.concat([head, remainingLength(value as number)]);
      case 'string':
      case 'binary':
        return Buffer.concat([head, str(value as string | Buffer)]);
      case 'pair': {
        const [k, v] = value as [string, string];
        return Buffer.concat([head, str(k), str(v)]);
      }
    }
  });
  const body = Buffer.concat(parts);
  return Buffer.concat([remainingLength(body.length), body]);
}

function readVarint(buf: Buffer, offset: number): [number, number] {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    const byte = buf[offset + i];
    if (byte === undefined) throw new Error(`truncated variable byte integer in ${buf.toString('hex')}`);
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return [value, offset + i + 1];
  }
  throw new Error(`invalid variable byte integer in ${buf.toString('hex')}`);
}

/** Decode a property block at `offset`; returns the properties and the offset after them. */
export function parseProps(buf: Buffer, offset: number): [Props, number] {
  const [length, start] = readVarint(buf, offset);
  const end = start + length;
  const out: Props = [];
  let i = start;
  const readStr = (): Buffer => {
    const n = buf.readUInt16BE(i);
    const s = buf.subarray(i + 2, i + 2 + n);
    i += 2 + n;
    return s;
  };
  while (i < end) {
    const id = buf[i++]!;
    switch (kindOf(id)) {
      case 'byte':
        out.push([id, buf[i++]!]);
        break;
      case 'u16':
        out.push([id, buf.readUInt16BE(i)]);
        i += 2;
        break;
      case 'u32':
        out.push([id, buf.readUInt32BE(i)]);
        i += 4;
        break;
      case 'varint': {
        const [v, next] = readVarint(buf, i);
        out.push([id, v]);
        i = next;
        break;
      }
      case 'string':
        out.push([id, readStr().toString('utf8')]);
        break;
      case 'binary':
        out.push([id, Buffer.from(readStr())]);
        break;
      case 'pair': {
        const k = readStr().toString('utf8');
        out.push([id, [k, readStr().toString('utf8')]]);
        break;
      }
    }
  }
  assert.equal(i, end, `property block overruns its length in ${buf.toString('hex')}`);
  return [out, end];
}

/** The value of property `id` (the first one), or undefined. */
export function prop(list: Props, id: number): PropValue | undefined {
  return list.find(([k]) => k === id)?.[1];
}

/** Every value of property `id`, in order. */
export function propAll(list: Props, id: number): PropValue[] {
  return list.filter(([k]) => k === id).map(([, v]) => v);
}

export interface Will5 extends Will {
  props?: Props;
}

export interface Connect5Options extends Omit<ConnectOptions, 'will' | 'protocolName' | 'protocolLevel' | 'extraFlags'> {
  props?: Props;
  will?: Will5;
}

/**
 * CONNECT with protocol level 5 (section 3.1): the 3.1.1 layout of packets.ts with the two property
 * blocks 5.0 adds, after the Keep Alive and (for a will) after the Client Identifier.
 */
export function connect5(o: Connect5Options = {}): Buffer {
  const body = parsePacket(connect({ ...o, protocolLevel: 5 })).body;
  const idEnd = 10 + 2 + body.readUInt16BE(10);
  const parts = [body.subarray(0, 10), props(o.props), body.subarray(10, idEnd)];
  if (o.will) parts.push(props(o.will.props));
  parts.push(body.subarray(idEnd));
  return packet(T.CONNECT, 0, ...parts);
}

export interface Publish5Options extends PublishOptions {
  qos?: QoS;
  props?: Props;
}

/** PUBLISH (section 3.3): the 3.1.1 layout with the property block in front of the payload. */
export function publish5(o: Publish5Options): Buffer {
  const payload = typeof o.payload === 'string' ? Buffer.from(o.payload) : (o.payload ?? Buffer.alloc(0));
  return publish({ ...o, payload: Buffer.concat([props(o.props), payload]) });
}

/** Subscription Options byte (figure 3-21): QoS, No Local, Retain As Published, Retain Handling. */
export function subOptions(qos: QoS, o: { noLocal?: boolean; rap?: boolean; rh?: 0 | 1 | 2 } = {}): number {
  return qos | (o.noLocal ? 0x04 : 0) | (o.rap ? 0x08 : 0) | ((o.rh ?? 0) << 4);
}

export function subscribe5(id: number, filters: Array<[string, number]>, list: Props = []): Buffer {
  return packet(T.SUBSCRIBE, 0x02, u16(id), props(list), ...filters.flatMap(([f, o]) => [str(f), Buffer.from([o])]));
}

export function unsubscribe5(id: number, filters: string[]): Buffer {
  return packet(T.UNSUBSCRIBE, 0x02, u16(id), props(), ...filters.map((f) => str(f)));
}

/** PUBACK/PUBREC/PUBREL/PUBCOMP with a reason code (and properties when given). */
export function ack5(type: number, id: number, reason = 0, list: Props = []): Buffer {
  const body = [u16(id), Buffer.from([reason])];
  if (list.length > 0) body.push(props(list));
  return packet(type, type === T.PUBREL ? 0x02 : 0, ...body);
}

export function disconnect5(reason = 0, list: Props = []): Buffer {
  return packet(T.DISCONNECT, 0, Buffer.from([reason]), props(list));
}

export interface Connack5 {
  sessionPresent: boolean;
  reason: number;
  props: Props;
}

export function parseConnack5(p: Packet): Connack5 {
  assert.equal(p.type, T.CONNACK, `expected CONNACK, got ${p.raw.toString('hex')}`);
  const [list] = p.body.length > 2 ? parseProps(p.body, 2) : [[] as Props];
  return { sessionPresent: (p.body[0]! & 1) === 1, reason: p.body[1]!, props: list };
}

export interface Publish5 extends ReceivedPublish {
  props: Props;
  /** Whole packet size in bytes. */
  size: number;
}

/** A PUBLISH from the broker: the 3.1.1 fields of packets.ts, then the property block in front of the payload. */
export function parsePublish5(p: Packet): Publish5 {
  const base = parsePublish(p);
  const [list, end] = parseProps(base.payload, 0);
  return { ...base, payload: Buffer.from(base.payload.subarray(end)), props: list, size: p.raw.length };
}

/** An acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK): packet id, reason code(s), properties. */
export interface Ack5 {
  type: number;
  id: number;
  /** Reason codes: one for PUBACK..PUBCOMP (0 when omitted), one per filter for SUBACK/UNSUBACK. */
  reasons: number[];
  props: Props;
}

export function parseAck5(p: Packet): Ack5 {
  const id = p.body.readUInt16BE(0);
  if (p.type === T.SUBACK || p.type === T.UNSUBACK) {
    const [list, end] = parseProps(p.body, 2);
    return { type: p.type, id, reasons: [...p.body.subarray(end)], props: list };
  }
  if (p.body.length <= 2) return { type: p.type, id, reasons: [0], props: [] };
  const [list] = p.body.length > 3 ? parseProps(p.body, 3) : [[] as Props];
  return { type: p.type, id, reasons: [p.body[2]!], props: list };
}

export interface Disconnect5 {
  reason: number;
  props: Props;
}

export function parseDisconnect5(p: Packet): Disconnect5 {
  assert.equal(p.type, T.DISCONNECT, `expected DISCONNECT, got ${p.raw.toString('hex')}`);
  if (p.body.length === 0) return { reason: 0, props: [] };
  const [list] = p.body.length > 1 ? parseProps(p.body, 1) : [[] as Props];
  return { reason: p.body[0]!, props: list };
}

/** The next packet, which must be of `type`. */
export async function readType(c: RawClient, type: number, timeoutMs?: number): Promise<Packet> {
  const p = await c.readPacket(timeoutMs);
  assert.equal(p.type, type, `expected packet type ${type}, got ${p.raw.toString('hex')}`);
  return p;
}

/** Expect a DISCONNECT with `reason` from the broker, then the connection closed. */
export async function expectDisconnect(c: RawClient, reason: number, timeoutMs = 3000): Promise<Disconnect5> {
  const d = parseDisconnect5(await readType(c, T.DISCONNECT, timeoutMs));
  assert.equal(d.reason, reason, `DISCONNECT reason 0x${d.reason.toString(16)}, expected 0x${reason.toString(16)}`);
  // [MQTT-3.14.2-2]: the Server MUST NOT send a Session Expiry Interval in DISCONNECT.
  assert.equal(prop(d.props, P.SESSION_EXPIRY), undefined, 'Session Expiry Interval on a server DISCONNECT');
  await c.expectClose(timeoutMs);
  return d;
}

/** A raw v5 connection: CONNECT sent, CONNACK read and checked for reason 0 (and session present). */
export async function raw5(h: Harness, o: Connect5Options = {}, sessionPresent = false): Promise<{ c: RawClient; connack: Connack5 }> {
  const c = await h.raw();
  c.send(connect5(o));
  const connack = parseConnack5(await c.readPacket());
  assert.equal(connack.reason, 0, `CONNACK reason 0x${connack.reason.toString(16)}`);
  assert.equal(connack.sessionPresent, sessionPresent, 'CONNACK session present');
  return { c, connack };
}

/** A raw v5 client (a Client Identifier or CONNECT options) subscribed to `filter` (SUBACK checked to grant `qos`). */
export async function rawSub5(h: Harness, client: string | Connect5Options, filter: string, qos: QoS, options = subOptions(qos), list: Props = []): Promise<RawClient> {
  const { c } = await raw5(h, typeof client === 'string' ? { clientId: client } : client);
  c.send(subscribe5(1, [[filter, options]], list));
  const ack = parseAck5(await readType(c, T.SUBACK));
  assert.deepEqual(ack.reasons, [qos]);
  return c;
}

/** Every PUBLISH packet (with properties) an MQTT.js client receives, from now on. */
export class Packets {
  readonly all: IPublishPacket[] = [];

  constructor(client: MqttClient) {
    client.on('message', (_topic: string, _payload: Buffer, packet: IPublishPacket) => {
      this.all.push(packet);
    });
  }

  async count(n: number, timeoutMs = 3000): Promise<IPublishPacket[]> {
    await waitFor(() => this.all.length >= n, timeoutMs, `awaiting ${n} PUBLISH packet(s), have ${this.all.length}`);
    return this.all.slice(0, n);
  }
}

/** The next packet, which must be a PUBLISH, decoded with its properties. */
export async function readPublish5(c: RawClient, timeoutMs?: number): Promise<Publish5> {
  return parsePublish5(await c.readPacket(timeoutMs));
}

/** Subscribe an already connected raw v5 client to `filter` with an options byte; SUBACK must grant `options & 3`. */
export async function subscribeRaw(c: RawClient, filter: string, options: number, list: Props = []): Promise<void> {
  c.send(subscribe5(1, [[filter, options]], list));
  assert.deepEqual(parseAck5(await readType(c, T.SUBACK)).reasons, [options & 3]);
}

/** An MQTT.js client speaking 5.0, connected (closed after the test). */
export function mqtt5(h: Harness, clientId: string, options: IClientOptions = {}): Promise<TestClient> {
  return h.mqtt({ clientId, protocolVersion: 5, ...options });
}

/** An MQTT.js 5.0 client subscribed to `filter`, recording the full PUBLISH packets it receives. */
export async function mqtt5Subscriber(h: Harness, clientId: string, filter: string, qos: QoS, options: IClientOptions = {}): Promise<{ client: TestClient; packets: Packets }> {
  const client = await mqtt5(h, clientId, options);
  const packets = new Packets(client);
  await client.subscribeAsync(filter, { qos });
  return { client, packets };
}
