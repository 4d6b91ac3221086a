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

/** A byte part for `packet`: hex text, or bytes. */
export type Part = string | Buffer;

/** A UTF-8 string (or raw bytes) with its two-byte length prefix. */
export function str(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

/** A Variable Byte Integer. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    out.push(d);
  } while (n > 0);
  return Buffer.from(out);
}

function bytesOf(parts: Part[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? hex(p) : p)));
}

/** A whole packet: first byte, computed remaining length, then the parts. */
export function packet(first: number, ...parts: Part[]): Buffer {
  const body = bytesOf(parts);
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}

/** A 5.0 property block: computed length, then the parts. */
export function props(...parts: Part[]): Buffer {
  const body = bytesOf(parts);
  return Buffer.concat([varint(body.length), body]);
}
