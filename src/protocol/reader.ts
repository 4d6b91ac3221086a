/**
 * A bounds-checked cursor over one packet's bytes, reused for every packet a parser decodes (one
 * object, no closures). Every read checks against `end`, so a declared length that overruns the
 * remaining length (or a property block) is a Malformed Packet, never a read past the packet.
 * Binary reads return subarray views of the underlying buffer (no copy).
 */
import { CodecErrorCode, malformed } from './errors.js';
import { isValidUtf8String } from './validate.js';

const EMPTY = Buffer.alloc(0);

export class Reader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;

  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Drops the reference to the last packet's bytes. */
  release(): void {
    this.buf = EMPTY;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw malformed('packet too short');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) throw malformed('packet too short');
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw malformed('packet too short');
    this.pos = p + 4;
    return this.buf[p]! * 0x1000000 + ((this.buf[p + 1]! << 16) | (this.buf[p + 2]! << 8) | this.buf[p + 3]!);
  }

  /** Variable Byte Integer [MQTT-1.5.5]: at most 4 bytes. */
  varint(): number {
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mult;
      if (b < 0x80) return value;
      mult *= 128;
    }
    throw malformed('variable byte integer longer than 4 bytes', CodecErrorCode.MalformedRemainingLength);
  }

  /** Two-byte length, then that many bytes: the [start, end) range of the data. */
  private lengthPrefixed(): number {
    const len = this.u16();
    const start = this.pos;
    if (start + len > this.end) throw malformed('length overruns the packet');
    this.pos = start + len;
    return start;
  }

  /** UTF-8 Encoded String [MQTT-1.5.4-1], [MQTT-1.5.4-2]. */
  utf8(): string {
    const start = this.lengthPrefixed();
    const end = this.pos;
    if (!isValidUtf8String(this.buf, start, end)) throw malformed('invalid UTF-8 string', CodecErrorCode.InvalidUtf8);
    return this.buf.toString('utf8', start, end);
  }

  /** Binary Data: a view of the bytes, not a copy. */
  binary(): Buffer {
    const start = this.lengthPrefixed();
    return this.buf.subarray(start, this.pos);
  }

  /** All bytes up to the end: a view. */
  rest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return this.buf.subarray(start, this.end);
  }
}
