/**
 * Incremental MQTT parser: bytes in any chunking -> packets, in order.
 *
 * State machine over three stages, kept in fields (no closures, no per-packet allocation beyond
 * the packet object):
 *   Header: the first byte; its type and flags are checked at once (decode.ts checkFixedHeader).
 *   Length: the Remaining Length, a Variable Byte Integer of at most 4 bytes [MQTT-1.5.5]. Once
 *           known, the whole packet size is checked against maxPacketSize (0x95) before any
 *           body byte is buffered.
 *   Body:   when the whole body is inside the current chunk, it is decoded in place, so binary
 *           fields are views of the chunk (zero copy). Otherwise a body of up to 64 KiB is
 *           gathered into one buffer of exactly the remaining length; a larger one is kept as
 *           the list of received slices and joined once complete, so memory follows the bytes
 *           that actually arrived (a 5-byte header announcing 256 MB allocates nothing).
 *
 * Invariants:
 * - Packets are delivered in stream order; a packet is delivered only when complete.
 * - After a CodecError (or an exception from the handler) the parser is dead: later pushes are
 *   ignored. Packets before the bad one were already delivered.
 * - After stop() (typically called inside onPacket), push returns once the current packet's
 *   handler returns and every later byte is ignored.
 * - After pause() (inside onPacket), push returns once the current packet's handler returns and
 *   keeps the rest of the chunk (a view, no copy); resume() decodes it, and data pushed while
 *   paused is appended to it. This lets a broker stop reading a flooding client mid-chunk.
 * - Without an explicit version (server side) packets are decoded with 3.1.1 rules until the
 *   first CONNECT, whose protocol level then becomes `version`.
 */
import type { Packet, ProtocolVersion } from './packets.js';
import { checkFixedHeader, decodeBody } from './decode.js';
import { CodecError, CodecErrorCode, malformed } from './errors.js';
import { Reader } from './reader.js';

export interface PacketHandler {
  onPacket(packet: Packet): void;
}

export interface ParserOptions {
  /** Protocol version; when absent it is learned from the first CONNECT (3.1.1 rules before). */
  version?: ProtocolVersion;
  /** Largest accepted packet in bytes, fixed header included (default: no limit). */
  maxPacketSize?: number;
}

const enum Stage {
  Header,
  Length,
  Body,
}

const EMPTY = Buffer.alloc(0);
/**
 * One Reader for every parser: a packet is decoded synchronously and the reader released before
 * the handler runs, so no two decodes overlap (saves an object per connection).
 */
const reader = new Reader();
/** Bodies up to this size are gathered into a buffer allocated up front. */
const EAGER_BODY = 64 * 1024;

export class Parser {
  /** Protocol version used to decode; learned from CONNECT when not given. */
  version: ProtocolVersion;
  /** Largest accepted packet in bytes, fixed header included. May be changed between pushes. */
  maxPacketSize: number;

  private learnVersion: boolean;
  private stage = Stage.Header;
  private first = 0;
  private remaining = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private body: Buffer = EMPTY;
  /** Received slices of a large body (when `body` is not allocated up front). */
  private parts: Buffer[] | undefined;
  private filled = 0;
  private halted = false;
  private busy = false;
  private paused = false;
  /** Bytes not decoded because of pause(). */
  private leftover: Buffer | undefined;

  constructor(options: ParserOptions = {}) {
    this.version = options.version ?? 4;
    this.learnVersion = options.version === undefined;
    this.maxPacketSize = options.maxPacketSize ?? Number.MAX_SAFE_INTEGER;
  }

  /** Ignore all further input; push returns after the packet being delivered. */
  stop(): void {
    this.halted = true;
  }

  /** Stop decoding after the packet being delivered; keep the rest until resume(). */
  pause(): void {
    this.paused = true;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Decode what pause() kept back (which may pause again). */
  resume(handler: PacketHandler): void {
    if (!this.paused) return;
    this.paused = false;
    const leftover = this.leftover;
    this.leftover = undefined;
    if (leftover !== undefined) this.push(leftover, handler);
  }

  /** Decodes every complete packet in `chunk`, keeping a partial one for the next push. */
  push(chunk: Buffer, handler: PacketHandler): void {
    if (this.halted) return;
    if (this.paused) {
      this.leftover = this.leftover === undefined ? chunk : Buffer.concat([this.leftover, chunk]);
      return;
    }
    if (this.busy) {
      // The previous push threw (CodecError or handler): the stream is out of step.
      this.halted = true;
      return;
    }
    this.busy = true;
    const end = chunk.length;
    let pos = 0;
    if (this.stage === Stage.Body) {
      const rl = this.remaining;
      const n = Math.min(rl - this.filled, end);
      const parts = this.parts;
      if (parts === undefined) chunk.copy(this.body, this.filled, 0, n);
      else parts.push(Buffer.from(chunk.subarray(0, n)));
      this.filled += n;
      pos = n;
      if (this.filled < rl) {
        this.busy = false;
        return;
      }
      const body = parts === undefined ? this.body : Buffer.concat(parts, rl);
      this.body = EMPTY;
      this.parts = undefined;
      this.stage = Stage.Header;
      this.deliver(body, 0, rl, handler);
    }
    while (pos < end && !this.halted && !this.paused) {
      if (this.stage === Stage.Header) {
        const first = chunk[pos++]!;
        checkFixedHeader(first, this.version);
        this.first = first;
        this.remaining = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        this.stage = Stage.Length;
      }
      // Stage.Length: one byte at a time, resumable.
      let known = false;
      while (pos < end) {
        const b = chunk[pos++]!;
        this.lengthBytes++;
        this.remaining += (b & 0x7f) * this.multiplier;
        if (b < 0x80) {
          known = true;
          break;
        }
        if (this.lengthBytes === 4) {
          throw malformed('remaining length longer than 4 bytes [MQTT-1.5.5]', CodecErrorCode.MalformedRemainingLength);
        }
        this.multiplier *= 128;
      }
      if (!known) break;
      const rl = this.remaining;
      if (1 + this.lengthBytes + rl > this.maxPacketSize) {
        throw new CodecError(CodecErrorCode.PacketTooLarge, 0x95, `packet of ${1 + this.lengthBytes + rl} bytes exceeds the maximum`);
      }
      if (end - pos >= rl) {
        this.stage = Stage.Header;
        const start = pos;
        pos += rl;
        this.deliver(chunk, start, pos, handler);
      } else {
        // Spans chunks: gather once into an exactly-sized buffer, or keep slices of a large one.
        if (rl <= EAGER_BODY) {
          const body = Buffer.allocUnsafe(rl);
          chunk.copy(body, 0, pos, end);
          this.body = body;
        } else {
          this.parts = [Buffer.from(chunk.subarray(pos, end))];
        }
        this.filled = end - pos;
        this.stage = Stage.Body;
        pos = end;
      }
    }
    if (this.paused && pos < end && !this.halted) this.leftover = chunk.subarray(pos);
    this.busy = false;
  }

  private deliver(buf: Buffer, start: number, end: number, handler: PacketHandler): void {
    reader.reset(buf, start, end);
    let packet: Packet;
    try {
      packet = decodeBody(reader, this.first, this.version);
    } finally {
      reader.release();
    }
    if (this.learnVersion && packet.type === 'connect') {
      this.version = packet.protocolVersion;
      this.learnVersion = false;
    }
    handler.onPacket(packet);
  }
}
