/**
 * Primitive writers for the encoder: each writes at `off` into a buffer already sized by the
 * matching size function and returns the offset after what it wrote. The encoder computes the
 * whole packet's length first, allocates once, then writes (no concat, no intermediate arrays).
 */
import { malformed } from './errors.js';

export const MAX_VARINT = 268435455;

/** Bytes of a Variable Byte Integer [MQTT-1.5.5]. */
export function varintSize(n: number): number {
  if (n < 128) return 1;
  if (n < 16384) return 2;
  if (n < 2097152) return 3;
  if (n <= MAX_VARINT) return 4;
  throw malformed(`variable byte integer ${n} out of range`);
}

export function writeVarint(buf: Buffer, off: number, n: number): number {
  do {
    let digit = n % 128;
    n = (n - digit) / 128;
    if (n > 0) digit |= 0x80;
    buf[off++] = digit;
  } while (n > 0);
  return off;
}

/** Bytes of a UTF-8 Encoded String with its two-byte length. */
export function stringSize(s: string): number {
  const n = Buffer.byteLength(s);
  if (n > 65535) throw malformed('string longer than 65535 bytes');
  return 2 + n;
}

/** Bytes of Binary Data with its two-byte length. */
export function binarySize(b: Buffer): number {
  if (b.length > 65535) throw malformed('binary data longer than 65535 bytes');
  return 2 + b.length;
}

export function writeString(buf: Buffer, off: number, s: string): number {
  const n = buf.write(s, off + 2, 'utf8');
  buf[off] = n >> 8;
  buf[off + 1] = n & 0xff;
  return off + 2 + n;
}

export function writeBinary(buf: Buffer, off: number, b: Buffer): number {
  buf[off] = b.length >> 8;
  buf[off + 1] = b.length & 0xff;
  b.copy(buf, off + 2);
  return off + 2 + b.length;
}

export function writeU16(buf: Buffer, off: number, n: number): number {
  buf[off] = (n >> 8) & 0xff;
  buf[off + 1] = n & 0xff;
  return off + 2;
}

export function writeU32(buf: Buffer, off: number, n: number): number {
  buf.writeUInt32BE(n >>> 0, off);
  return off + 4;
}

/** Allocates the whole packet and writes the fixed header; returns the buffer. The body starts
 * at `buf.length - remainingLength`. */
export function allocPacket(firstByte: number, remainingLength: number): Buffer {
  const buf = Buffer.allocUnsafe(1 + varintSize(remainingLength) + remainingLength);
  buf[0] = firstByte;
  writeVarint(buf, 1, remainingLength);
  return buf;
}
