/**
 * Property tests: random valid packets of every type and version survive encode -> parse in any
 * chunking, alone or many in one stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '../../src/protocol/encode.js';
import { decode } from '../../src/protocol/decode.js';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import { chunking, packetOf } from './arbitraries.js';
import { parseChunks, splitAt } from './helpers.js';

for (const version of [3, 4, 5] as const satisfies ProtocolVersion[]) {
  void test(`round trip ${version}: decode(encode(p)) deep-equals p for every packet type`, () => {
    fc.assert(
      fc.property(packetOf(version), (p) => {
        const bytes = encode(p, version);
        assert.deepEqual(decode(bytes, version), p);
      }),
      { numRuns: 1500 },
    );
  });

  void test(`round trip ${version}: a stream of packets parses back in any chunking`, () => {
    const streams = fc
      .array(packetOf(version), { minLength: 1, maxLength: 8 })
      .chain((packets) => {
        const bytes = Buffer.concat(packets.map((p) => encode(p, version)));
        return fc.tuple(fc.constant(packets), fc.constant(bytes), chunking(bytes.length));
      });
    fc.assert(
      fc.property(streams, ([packets, bytes, cuts]) => {
        assert.deepEqual(parseChunks(splitAt(bytes, cuts), version), packets);
      }),
      { numRuns: 400 },
    );
  });
}
