/** Shared helpers for the codec tests. */
import { Parser } from '../../src/protocol/parser.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';

/** Bytes from a spaced hex string, e.g. hex('30 02 00 00'). */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Pushes each chunk into a fresh parser and returns every packet delivered. */
export function parseChunks(chunks: Buffer[], version?: ProtocolVersion, maxPacketSize?: number): Packet[] {
  const parser = new Parser({ ...(version !== undefined ? { version } : {}), ...(maxPacketSize !== undefined ? { maxPacketSize } : {}) });
  const out: Packet[] = [];
  const handler = { onPacket: (p: Packet) => { out.push(p); } };
  for (const chunk of chunks) parser.push(chunk, handler);
  return out;
}

/** Parses one complete buffer and returns the packets. */
export function parseAll(buf: Buffer, version?: ProtocolVersion): Packet[] {
  return parseChunks([buf], version);
}

/** Splits a buffer at the given cut points (sorted, deduplicated). */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.min(Math.max(c, 0), buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}
