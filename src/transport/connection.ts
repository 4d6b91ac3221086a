/**
 * The glue between a byte stream (TCP, TLS or unix socket, or a WebSocket adapted to a stream)
 * and a Channel: bytes in go through the incremental parser into the channel; bytes out are the
 * core's `Outbound` (src/broker/outbound.ts), which queues them, holds what reports uncommitted
 * state until the commit and paces writes; a Connection is an Outbound whose writer (the
 * abstract Wire part) is its byte stream, so one object per connection does both.
 */
import { CodecError, Parser, type PacketHandler } from '../protocol/index.js';
import type { Packet } from '../protocol/packets.js';
import type { Channel } from '../broker/channel.js';
import type { BrokerCore } from '../broker/core.js';
import { Outbound } from '../broker/outbound.js';
import type { ByteStream, StreamOwner } from './byte-stream.js';

/** How long a closing connection may take to flush before it is destroyed, in ms. */
const END_GRACE_MS = 2000;

export class Connection extends Outbound implements PacketHandler, StreamOwner {
  readonly channel: Channel;
  private readonly parser: Parser;
  /** Reads paused by how many reasons (flow control, hook backlog). */
  private pauses = 0;

  constructor(
    private readonly socket: ByteStream,
    private readonly core: BrokerCore,
    remoteAddress: string,
  ) {
    super(core);
    this.parser = new Parser({ maxPacketSize: core.options.maxPacketSize });
    this.channel = core.openChannel(this, remoteAddress);
    this.subscriber = this.channel;
    socket.attach(this);
  }

  /** @internal (StreamOwner) */
  onData(chunk: Buffer): void {
    const channel = this.channel;
    this.core.stats.bytesReceived += chunk.length;
    channel.lastReceived = Date.now();
    try {
      this.parser.push(chunk, this);
    } catch (error) {
      this.decodeFailed(error);
    }
  }

  private decodeFailed(error: unknown): void {
    const channel = this.channel;
    if (error instanceof CodecError) channel.codecError(error);
    else {
      this.core.log.error({ err: error, clientId: channel.clientId }, 'internal error handling a packet');
      channel.fail('internal error', 0x83);
    }
  }

  /** The socket is gone. A bug below must not take the whole broker down: log it instead. */
  closed(error: Error | undefined): void {
    try {
      this.channel.transportClosed(error);
    } catch (bug) {
      this.core.log.error({ err: bug, clientId: this.channel.clientId }, 'internal error closing a connection');
    }
  }

  onPacket(packet: Packet): void {
    const channel = this.channel;
    channel.handle(packet);
    if (channel.state === 'closed') this.parser.stop();
  }

  // Wire (the writer's part of Outbound)
  protected get backlog(): number {
    return this.socket.writableLength;
  }

  protected get gone(): boolean {
    return this.socket.destroyed;
  }

  protected send(bytes: Buffer): void {
    // A closure per write rather than one kept per connection: it dies young, and an idle
    // connection holds none (~100 B less per idle client).
    this.socket.write(bytes, () => this.written());
  }

  protected finish(last: Buffer | undefined): void {
    const socket = this.socket;
    if (last !== undefined) socket.write(last);
    socket.end();
    setTimeout(() => socket.destroy(), END_GRACE_MS).unref();
  }

  /** Stop reading, also within the chunk being decoded (the parser keeps the rest). */
  pauseInput(): void {
    if (this.pauses++ > 0) return;
    this.socket.pause();
    this.parser.pause();
  }

  resumeInput(): void {
    if (this.pauses === 0) return;
    if (--this.pauses > 0) return;
    try {
      this.parser.resume(this);
    } catch (error) {
      this.decodeFailed(error);
      return;
    }
    if (this.pauses === 0 && this.channel.state !== 'closed') this.socket.resume();
  }
}
