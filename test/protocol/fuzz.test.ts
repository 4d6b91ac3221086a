/**
 * Robustness: whatever bytes arrive, in whatever chunking, the parser either delivers packets or
 * throws a CodecError, never anything else (no RangeError, TypeError, ...), and never hangs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '../../src/protocol/encode.js';
import { CodecError } from '../../src/protocol/errors.js';
import { Parser } from '../../src/protocol/parser.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { chunking, packetOf } from './arbitraries.js';
import { splitAt } from './helpers.js';

const versionOrNone = fc.constantFrom<ProtocolVersion | undefined>(undefined, 3, 4, 5);

/** Feeds the chunks; returns the error thrown, if any, after checking it is a CodecError. */
function feed(chunks: Buffer[], version: ProtocolVersion | undefined): void {
  // A size limit keeps random remaining lengths from allocating hundreds of MB.
  const parser = new Parser({ ...(version !== undefined ? { version } : {}), maxPacketSize: 1 << 16 });
  const handler = { onPacket: (_p: Packet) => undefined };
  try {
    for (const chunk of chunks) parser.push(chunk, handler);
  } catch (err) {
    assert.ok(err instanceof CodecError, `threw ${String(err)}`);
    assert.ok(err.reasonCode >= 0x80, `reason code ${err.reasonCode}`);
  }
}

void test('fuzz: random bytes never throw anything but CodecError', () => {
  const input = fc
    .uint8Array({ maxLength: 300 })
    .chain((a) => fc.tuple(fc.constant(Buffer.from(a)), chunking(a.length), versionOrNone));
  fc.assert(fc.property(input, ([bytes, cuts, version]) => feed(splitAt(bytes, cuts), version)), { numRuns: 2000 });
});

void test('fuzz: random bytes after a valid header prefix never throw anything but CodecError', () => {
  // Start from a plausible first byte and a small remaining length so the body decoders run.
  const input = fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 120 }), versionOrNone)
    .map(([first, body, version]) => [Buffer.concat([Buffer.from([first, body.length]), body]), version] as const);
  fc.assert(fc.property(input, ([bytes, version]) => feed([bytes], version)), { numRuns: 5000 });
});

void test('fuzz: mutated valid packets never throw anything but CodecError', () => {
  const mutation = fc.record({
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
    kind: fc.constantFrom('set', 'xor-bit', 'delete', 'insert', 'truncate'),
  });
  const input = fc.constantFrom<ProtocolVersion>(3, 4, 5).chain((version) =>
    fc.tuple(fc.constant(version), fc.array(packetOf(version), { minLength: 1, maxLength: 3 }), fc.array(mutation, { minLength: 1, maxLength: 4 })),
  );
  fc.assert(
    fc.property(input, ([version, packets, mutations]) => {
      let bytes = [...Buffer.concat(packets.map((p) => encode(p, version)))];
      for (const m of mutations) {
        const i = m.at % (bytes.length + 1);
        if (m.kind === 'set' && i < bytes.length) bytes[i] = m.value;
        else if (m.kind === 'xor-bit' && i < bytes.length) bytes[i] = bytes[i]! ^ (1 << (m.value & 7));
        else if (m.kind === 'delete') bytes.splice(i, 1);
        else if (m.kind === 'insert') bytes.splice(i, 0, m.value);
        else if (m.kind === 'truncate') bytes = bytes.slice(0, i);
      }
      feed([Buffer.from(bytes)], version);
      feed([Buffer.from(bytes)], undefined);
    }),
    { numRuns: 2000 },
  );
});
