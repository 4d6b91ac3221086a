/** The incremental parser: chunking, zero copy, stop(), errors, size limit, version learning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parser } from '../../src/protocol/parser.js';
import { encode, publishPacketIdOffset } from '../../src/protocol/encode.js';
import { decode } from '../../src/protocol/decode.js';
import { CodecError, CodecErrorCode } from '../../src/protocol/errors.js';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { hex, packet, parseChunks, str } from './helpers.js';

const publish = (topic: string, payload: string | Buffer, extra: Partial<PublishPacket> = {}): PublishPacket => ({
  type: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 0, retain: false, dup: false, ...extra,
});

const stream: Packet[] = [
  { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'x' },
  publish('a/b', 'one'),
  publish('a/c', Buffer.alloc(300, 7), { qos: 1, packetId: 9 }),
  { type: 'pubrel', packetId: 9 },
  { type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'a/#', qos: 2 }] },
  { type: 'pingreq' },
  { type: 'disconnect' },
];
const streamBytes = Buffer.concat(stream.map((p) => encode(p, 4)));

void test('parser: many packets in one chunk are delivered in order', () => {
  assert.deepEqual(parseChunks([streamBytes]), stream);
});

void test('parser: one byte at a time gives the same packets', () => {
  const chunks = [...streamBytes].map((b) => Buffer.from([b]));
  assert.deepEqual(parseChunks(chunks), stream);
});

void test('parser: every two-way split gives the same packets', () => {
  for (let cut = 0; cut <= streamBytes.length; cut++) {
    assert.deepEqual(parseChunks([streamBytes.subarray(0, cut), streamBytes.subarray(cut)]), stream);
  }
});

void test('parser: empty chunks are harmless', () => {
  assert.deepEqual(parseChunks([Buffer.alloc(0), streamBytes.subarray(0, 5), Buffer.alloc(0), streamBytes.subarray(5)]), stream);
});

void test('parser: a payload decoded from one chunk is a view of that chunk (zero copy)', () => {
  const chunk = Buffer.concat([encode(publish('t', 'hello'), 4), encode(publish('u', 'world'), 4)]);
  const packets = parseChunks([chunk], 4) as PublishPacket[];
  assert.equal(packets.length, 2);
  for (const p of packets) {
    assert.equal(p.payload.buffer, chunk.buffer);
    assert.ok(p.payload.byteOffset >= chunk.byteOffset && p.payload.byteOffset < chunk.byteOffset + chunk.length);
  }
  chunk[chunk.length - 1] = 0x21; // '!' : the view sees the change
  assert.equal(packets[1]!.payload.toString(), 'worl!');
});

void test('parser: a packet spanning chunks is gathered into one exactly-sized buffer', () => {
  const big = publish('t', Buffer.alloc(100_000, 3));
  const bytes = encode(big, 4);
  const chunks = [bytes.subarray(0, 10), bytes.subarray(10, 50_000), bytes.subarray(50_000)];
  const [p] = parseChunks(chunks, 4) as PublishPacket[];
  assert.deepEqual(p, big);
  // The body buffer is allocated once with the remaining length (large buffers are not pooled).
  assert.equal(p.payload.buffer.byteLength, bytes.length - 4);
  assert.notEqual(p.payload.buffer, bytes.buffer);
});

void test('parser: stop() inside onPacket ends delivery and ignores further input', () => {
  const parser = new Parser({ version: 4 });
  const got: Packet[] = [];
  const handler = {
    onPacket(p: Packet) {
      got.push(p);
      parser.stop();
    },
  };
  parser.push(streamBytes, handler);
  assert.deepEqual(got, [stream[0]]);
  parser.push(streamBytes, handler);
  parser.push(hex('00 00'), handler); // garbage is ignored too
  assert.deepEqual(got, [stream[0]]);
});

void test('parser: packets before a bad one are delivered, then it throws a CodecError and stays dead', () => {
  const parser = new Parser({ version: 4 });
  const got: Packet[] = [];
  const handler = { onPacket: (p: Packet) => { got.push(p); } };
  assert.throws(() => parser.push(Buffer.concat([hex('40 02 00 01'), hex('c0 00'), hex('36 00')]), handler), CodecError);
  assert.deepEqual(got, [{ type: 'puback', packetId: 1 }, { type: 'pingreq' }]);
  parser.push(hex('c0 00'), handler);
  assert.equal(got.length, 2);
});

void test('parser: an exception from the handler leaves the parser dead', () => {
  const parser = new Parser({ version: 4 });
  let calls = 0;
  const handler = {
    onPacket() {
      calls++;
      throw new Error('boom');
    },
  };
  assert.throws(() => parser.push(hex('c0 00 c0 00'), handler), /boom/);
  parser.push(hex('c0 00'), handler);
  assert.equal(calls, 1);
});

void test('parser: a fixed header announcing a too-large packet throws on the header bytes alone (0x95)', () => {
  const parser = new Parser({ version: 4, maxPacketSize: 1024 });
  const handler = { onPacket: () => assert.fail('no packet expected') };
  parser.push(hex('30'), handler);
  // remaining length 2000 = d0 0f; no body byte sent
  assert.throws(
    () => parser.push(hex('d0 0f'), handler),
    (err: unknown) => err instanceof CodecError && err.code === CodecErrorCode.PacketTooLarge && err.reasonCode === 0x95,
  );
});

void test('parser: maxPacketSize counts the whole packet, fixed header included', () => {
  const bytes = encode(publish('t', Buffer.alloc(200)), 4); // 1 + 2 + 203 bytes
  assert.deepEqual(parseChunks([bytes], 4, bytes.length), [publish('t', Buffer.alloc(200))]);
  assert.throws(() => parseChunks([bytes], 4, bytes.length - 1), (err: unknown) => err instanceof CodecError && err.reasonCode === 0x95);
});

void test('parser: without a version it learns it from CONNECT (5.0 properties after a 5.0 CONNECT)', () => {
  const parser = new Parser();
  assert.equal(parser.version, 4);
  const got: Packet[] = [];
  const handler = { onPacket: (p: Packet) => { got.push(p); } };
  const connect: Packet = { type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'a' };
  const pub = publish('t', 'x', { properties: { contentType: 'text' } });
  parser.push(Buffer.concat([encode(connect, 5), encode(pub, 5), encode({ type: 'auth', reasonCode: 0x18 }, 5)]), handler);
  assert.equal(parser.version, 5);
  assert.deepEqual(got, [connect, pub, { type: 'auth', reasonCode: 0x18 }]);
});

void test('parser: a 3.1 CONNECT switches the parser to version 3', () => {
  const parser = new Parser();
  const handler = { onPacket: () => undefined };
  parser.push(encode({ type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 0, clientId: 'a' }, 3), handler);
  assert.equal(parser.version, 3);
});

void test('parser: before CONNECT, 3.1.1 rules apply (AUTH is unknown)', () => {
  assert.throws(() => parseChunks([hex('f0 00')]), (err: unknown) => err instanceof CodecError && err.code === CodecErrorCode.UnknownPacketType);
});

void test('parser: an explicit version is not changed by a CONNECT', () => {
  const parser = new Parser({ version: 4 });
  parser.push(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'a' }, 5), { onPacket: () => undefined });
  assert.equal(parser.version, 4);
});

void test('publishPacketIdOffset locates the packet id for patching, in every version and size', () => {
  for (const version of [3, 4, 5] as const) {
    for (const size of [0, 100, 200, 20_000, 3_000_000]) {
      const p = publish('some/topic/ü', Buffer.alloc(size, 1), { qos: 1, packetId: 1, ...(version === 5 ? { properties: { contentType: 'c' } } : {}) });
      const bytes = encode(p, version);
      bytes.writeUInt16BE(0xbeef, publishPacketIdOffset(bytes));
      assert.deepEqual(decode(bytes, version), { ...p, packetId: 0xbeef });
    }
  }
});

void test('encode: AUTH before 5.0 is refused with a CodecError', () => {
  assert.throws(() => encode({ type: 'auth', reasonCode: 0 }, 4), CodecError);
});

void test('encode: a string over 65535 bytes is refused with a CodecError', () => {
  assert.throws(() => encode(publish('a'.repeat(65536), ''), 4), CodecError);
  assert.equal(encode(publish('a'.repeat(65535), ''), 4).length, 1 + 3 + 2 + 65535);
});

void test('decode: a buffer that is not exactly one packet is malformed', () => {
  assert.throws(() => decode(hex('c0 00 00'), 4), CodecError);
  assert.throws(() => decode(hex('c0'), 4), CodecError);
  assert.throws(() => decode(packet(0x30, str('t')).subarray(0, 3), 4), CodecError);
});

test('a large packet arriving in small chunks is kept as received slices and decoded whole', () => {
  const payload = Buffer.alloc(300_000, 7);
  const bytes = encode(publish('big/t', payload, { qos: 1, packetId: 9 }), 4);
  const parser = new Parser();
  const out: Packet[] = [];
  const heapBefore = process.memoryUsage().arrayBuffers;
  parser.push(bytes.subarray(0, 10), { onPacket: (p) => out.push(p) });
  // Only the bytes received are held, not the announced size.
  assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 200_000);
  for (let i = 10; i < bytes.length; i += 1000) parser.push(bytes.subarray(i, Math.min(i + 1000, bytes.length)), { onPacket: (p) => out.push(p) });
  assert.equal(out.length, 1);
  const got = out[0] as PublishPacket;
  assert.equal(got.topic, 'big/t');
  assert.equal(got.packetId, 9);
  assert.ok(got.payload.equals(payload));
});

test('pause() inside onPacket keeps the rest of the chunk; resume() decodes it in order, pausing again if asked', () => {
  const bytes = Buffer.concat([0, 1, 2, 3, 4].map((i) => encode(publish(`p/${i}`, `m${i}`), 4)));
  const parser = new Parser({ version: 4 });
  const seen: string[] = [];
  const handler = {
    onPacket(p: Packet): void {
      seen.push((p as PublishPacket).topic);
      if (seen.length === 2 || seen.length === 4) parser.pause();
    },
  };
  parser.push(bytes, handler);
  assert.deepEqual(seen, ['p/0', 'p/1']);
  assert.equal(parser.isPaused, true);
  parser.push(encode(publish('p/5', 'm5'), 4), handler); // arrives while paused: kept, in order
  assert.deepEqual(seen, ['p/0', 'p/1']);
  parser.resume(handler);
  assert.deepEqual(seen, ['p/0', 'p/1', 'p/2', 'p/3']);
  parser.resume(handler);
  assert.deepEqual(seen, ['p/0', 'p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
});
