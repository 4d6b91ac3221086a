/**
 * Reader of Mosquitto's persistence file (`mosquitto.db`), format version 6 (Mosquitto 2.0).
 *
 * Layout (Mosquitto's src/persist.h, persist_read*.c, persist_write*.c): a 15-byte magic
 * (`00 B5 00 "mosquitto db"`), a 4-byte CRC (unused, 0), the format version (uint32 big-endian),
 * then chunks, each an 8-byte header (type, length: uint32 big-endian) and `length` bytes. A
 * chunk starts with a fixed C struct written as it is in memory: 64-bit fields (message store ids,
 * times) in the writer's byte order (little-endian on x86-64 and ARM, which is what this reads),
 * 16/32-bit fields big-endian, padding to the struct's alignment; then its strings, unprefixed,
 * with their lengths in the struct:
 *
 * | type | chunk | fixed part (bytes) | then |
 * |---|---|---|---|
 * | 1 | CFG | last_db_id u64, shutdown u8, dbid_size u8 (16) | |
 * | 2 | MSG_STORE (BASE_MSG) | store_id u64, expiry_time i64, payloadlen u32, source_mid, source_id_len, source_username_len, topic_len, source_port u16, qos, retain u8 (32) | source id, source user name, topic, payload, PUBLISH property block |
 * | 3 | CLIENT_MSG | store_id u64, mid, id_len u16, qos, state, retain_dup, direction u8 (16) | client id, property block (subscription identifier) |
 * | 4 | RETAIN | store_id u64 (8) | |
 * | 5 | SUB | identifier u32, id_len, topic_len u16, qos, options u8 (12) | client id, topic filter |
 * | 6 | CLIENT | session_expiry_time i64, session_expiry_interval u32, last_mid, id_len, listener_port, username_len u16 (24) | client id, user name |
 *
 * The reader is bounded: every length is checked against its chunk and the chunk against the
 * file, so a truncated or corrupt file is a MosquittoDbError naming the offset, never a read
 * past the data or an unbounded allocation (strings and payloads are views of the file).
 * Unknown chunk types are skipped, as Mosquitto does.
 */
import type { Properties, QoS } from '../protocol/packets.js';
import { readProperties, packetBit } from '../protocol/properties.js';
import { Reader } from '../protocol/reader.js';
import { isValidTopicFilter, isValidTopicName, isValidUtf8String } from '../protocol/validate.js';

export const MOSQUITTO_DB_VERSION = 6;
const MAGIC = Buffer.from([0x00, 0xb5, 0x00, ...Buffer.from('mosquitto db')]);
const HEADER = MAGIC.length + 8;

const CHUNK_CFG = 1;
const CHUNK_MSG_STORE = 2;
const CHUNK_CLIENT_MSG = 3;
const CHUNK_RETAIN = 4;
const CHUNK_SUB = 5;
const CHUNK_CLIENT = 6;

/** Mosquitto's message states (lib/mosquitto_internal.h, enum mosquitto_msg_state). */
export const MsgState = {
  publishQos0: 1,
  publishQos1: 2,
  waitForPuback: 3,
  publishQos2: 4,
  waitForPubrec: 5,
  resendPubrel: 6,
  waitForPubrel: 7,
  resendPubcomp: 8,
  waitForPubcomp: 9,
  sendPubrec: 10,
  queued: 11,
} as const;

export interface MosquittoMessage {
  /** Message store id (a 64-bit number, as a decimal string). */
  storeId: string;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: Properties | undefined;
  /** The publisher's client id ('' when none was stored). */
  sourceId: string;
  /** Absolute expiry in seconds since the epoch, 0 for never. */
  expiryTime: number;
}

export interface MosquittoClient {
  clientId: string;
  /** Seconds; 0xFFFFFFFF for never. */
  sessionExpiryInterval: number;
  /** When the session expires (seconds since the epoch), 0 when it is not counting down. */
  sessionExpiryTime: number;
}

export interface MosquittoSubscription {
  clientId: string;
  topicFilter: string;
  qos: QoS;
  /** MQTT 5.0 subscription options bits: No Local 0x04, Retain As Published 0x08, Retain Handling 0x30. */
  options: number;
  identifier: number;
}

export interface MosquittoClientMessage {
  clientId: string;
  storeId: string;
  mid: number;
  qos: QoS;
  state: number;
  retain: boolean;
  dup: boolean;
  /** 0: incoming (from the client), 1: outgoing (to the client). */
  direction: 0 | 1;
  subscriptionIdentifier: number;
}

export interface MosquittoDb {
  version: number;
  messages: Map<string, MosquittoMessage>;
  /** Store ids of retained messages. */
  retained: string[];
  clients: MosquittoClient[];
  subscriptions: MosquittoSubscription[];
  /** In file order (Mosquitto writes each client's messages in queue order). */
  clientMessages: MosquittoClientMessage[];
  /** Chunks of unknown types, skipped. */
  skippedChunks: number;
}

/** The file is not a Mosquitto 2.0 persistence file, or is truncated or corrupt. */
export class MosquittoDbError extends Error {
  override readonly name = 'MosquittoDbError';
}

/** A bounds-checked cursor over one chunk. */
class Chunk {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    readonly type: number,
    readonly start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new MosquittoDbError(`chunk type ${this.type} at offset ${this.start - 8}: ${what}`);
  }

  need(n: number, what: string): number {
    const at = this.pos;
    if (n > this.end - at) this.fail(`${what} overruns the chunk (${n} bytes at offset ${at}, chunk ends at ${this.end})`);
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.need(1, 'a byte')]!;
  }
  u16(): number {
    return this.buf.readUInt16BE(this.need(2, 'a 16-bit field'));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.need(4, 'a 32-bit field'));
  }
  /** A 64-bit store id in the writer's (little-endian) byte order, as a decimal string. */
  id64(): string {
    return this.buf.readBigUInt64LE(this.need(8, 'a 64-bit id')).toString();
  }
  /** A signed 64-bit time (seconds), little-endian. */
  time64(): number {
    const value = this.buf.readBigInt64LE(this.need(8, 'a 64-bit time'));
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`time out of range (${value})`);
    return Number(value);
  }
  advance(n: number): void {
    this.need(n, 'padding');
  }
  bytes(n: number, what: string): Buffer {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }
  /** `n` bytes of valid UTF-8 (MQTT strings: no U+0000). */
  text(n: number, what: string): string {
    const at = this.need(n, what);
    if (!isValidUtf8String(this.buf, at, at + n)) this.fail(`${what} is not valid UTF-8`);
    return this.buf.toString('utf8', at, at + n);
  }
  /** What is left of the chunk: a PUBLISH property block (varint length first), or nothing. */
  properties(): Properties | undefined {
    if (this.pos === this.end) return undefined;
    const reader = new Reader();
    reader.reset(this.buf, this.pos, this.end);
    try {
      const properties = readProperties(reader, packetBit(3));
      if (reader.pos !== this.end) this.fail('bytes after the property block');
      this.pos = this.end;
      return properties;
    } catch (error) {
      if (error instanceof MosquittoDbError) throw error;
      return this.fail(`bad property block: ${(error as Error).message}`);
    }
  }
  qos(value: number): QoS {
    if (value > 2) this.fail(`QoS ${value}`);
    return value as QoS;
  }
}

/** Parse a whole mosquitto.db. Throws MosquittoDbError (one line) on anything it cannot read. */
export function parseMosquittoDb(buf: Buffer): MosquittoDb {
  if (buf.length < HEADER) throw new MosquittoDbError(`too short for a Mosquitto persistence file (${buf.length} bytes)`);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new MosquittoDbError('not a Mosquitto persistence file (no "mosquitto db" magic at the start)');
  const version = buf.readUInt32BE(MAGIC.length + 4);
  if (version !== MOSQUITTO_DB_VERSION) {
    throw new MosquittoDbError(`format version ${version}: Cicada reads version ${MOSQUITTO_DB_VERSION}, written by Mosquitto 2.0 (start Mosquitto 2.0 once on the file and stop it to convert it)`);
  }
  const db: MosquittoDb = { version, messages: new Map(), retained: [], clients: [], subscriptions: [], clientMessages: [], skippedChunks: 0 };
  let pos = HEADER;
  let sawConfig = false;
  // Bounded: every round advances by at least the 8-byte header.
  while (pos < buf.length) {
    if (buf.length - pos < 8) throw new MosquittoDbError(`truncated chunk header at offset ${pos}`);
    const type = buf.readUInt32BE(pos);
    const length = buf.readUInt32BE(pos + 4);
    const start = pos + 8;
    if (length > buf.length - start) throw new MosquittoDbError(`chunk type ${type} at offset ${pos}: length ${length} overruns the file (${buf.length - start} bytes left): truncated`);
    const chunk = new Chunk(buf, type, start, start + length);
    if (type === CHUNK_CFG) {
      readConfig(chunk);
      sawConfig = true;
    } else if (!sawConfig && type >= CHUNK_MSG_STORE && type <= CHUNK_CLIENT) {
      chunk.fail('comes before the configuration chunk');
    } else readChunk(chunk, db);
    pos = start + length;
  }
  if (!sawConfig) throw new MosquittoDbError('no configuration chunk: the file is empty or truncated');
  return db;
}

function readChunk(chunk: Chunk, db: MosquittoDb): void {
  switch (chunk.type) {
    case CHUNK_MSG_STORE: {
      const message = readMessage(chunk);
      if (db.messages.has(message.storeId)) chunk.fail(`message store id ${message.storeId} appears twice`);
      db.messages.set(message.storeId, message);
      return;
    }
    case CHUNK_CLIENT_MSG:
      db.clientMessages.push(readClientMessage(chunk));
      return;
    case CHUNK_RETAIN:
      db.retained.push(chunk.id64());
      return;
    case CHUNK_SUB:
      db.subscriptions.push(readSubscription(chunk));
      return;
    case CHUNK_CLIENT:
      db.clients.push(readClient(chunk));
      return;
    default:
      db.skippedChunks++;
  }
}

function readConfig(chunk: Chunk): void {
  chunk.id64(); // last_db_id
  chunk.u8(); // shutdown
  const dbidSize = chunk.u8();
  if (dbidSize !== 8) chunk.fail(`message store ids of ${dbidSize} bytes (Cicada reads 8)`);
}

function readMessage(chunk: Chunk): MosquittoMessage {
  const storeId = chunk.id64();
  const expiryTime = chunk.time64();
  const payloadLength = chunk.u32();
  chunk.u16(); // source_mid
  const sourceIdLength = chunk.u16();
  const sourceUsernameLength = chunk.u16();
  const topicLength = chunk.u16();
  chunk.u16(); // source_port
  const qos = chunk.qos(chunk.u8());
  const retain = chunk.u8() !== 0;
  const sourceId = chunk.text(sourceIdLength, 'source client id');
  chunk.bytes(sourceUsernameLength, 'source user name');
  const topic = chunk.text(topicLength, 'topic');
  if (!isValidTopicName(topic)) chunk.fail(`invalid topic name ${JSON.stringify(topic)}`);
  const payload = chunk.bytes(payloadLength, 'payload');
  const properties = chunk.properties();
  return { storeId, topic, payload, qos, retain, properties, sourceId, expiryTime };
}

function readClientMessage(chunk: Chunk): MosquittoClientMessage {
  const storeId = chunk.id64();
  const mid = chunk.u16();
  const idLength = chunk.u16();
  const qos = chunk.qos(chunk.u8());
  const state = chunk.u8();
  const retainDup = chunk.u8();
  const direction = chunk.u8();
  if (direction > 1) chunk.fail(`direction ${direction}`);
  const clientId = chunk.text(idLength, 'client id');
  const identifiers = chunk.properties()?.subscriptionIdentifiers;
  return {
    clientId,
    storeId,
    mid,
    qos,
    state,
    retain: (retainDup & 0xf0) !== 0,
    dup: (retainDup & 0x0f) !== 0,
    direction: direction as 0 | 1,
    subscriptionIdentifier: identifiers?.[0] ?? 0,
  };
}

function readSubscription(chunk: Chunk): MosquittoSubscription {
  const identifier = chunk.u32();
  const idLength = chunk.u16();
  const topicLength = chunk.u16();
  const qos = chunk.qos(chunk.u8() & 0x03);
  const options = chunk.u8();
  chunk.advance(2); // padding to 12
  const clientId = chunk.text(idLength, 'client id');
  const topicFilter = chunk.text(topicLength, 'topic filter');
  if (!isValidTopicFilter(topicFilter)) chunk.fail(`invalid topic filter ${JSON.stringify(topicFilter)}`);
  return { clientId, topicFilter, qos, options, identifier };
}

function readClient(chunk: Chunk): MosquittoClient {
  const sessionExpiryTime = chunk.time64();
  const sessionExpiryInterval = chunk.u32();
  chunk.u16(); // last_mid
  const idLength = chunk.u16();
  chunk.u16(); // listener_port
  const usernameLength = chunk.u16();
  chunk.advance(4); // padding to 24
  if (idLength === 0) chunk.fail('empty client id');
  const clientId = chunk.text(idLength, 'client id');
  chunk.bytes(usernameLength, 'user name');
  return { clientId, sessionExpiryInterval, sessionExpiryTime };
}
