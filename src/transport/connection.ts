/**
 * The glue between a Node stream socket and a Channel: bytes in go through the incremental
 * parser into the channel; bytes out are queued per connection and flushed once per event-loop
 * turn (all connections written during one turn are flushed together in one setImmediate), with
 * cork/uncork so several packets leave in one writev.
 */
import type { Socket } from 'node:net';
import { CodecError, Parser, type PacketHandler } from '../protocol/index.js';
import type { Packet } from '../protocol/packets.js';
import type { Channel, Outbox } from '../broker/channel.js';
import type { BrokerCore } from '../broker/core.js';

/** Connections with queued bytes, flushed together at the end of the event-loop turn. */
let dirty: Connection[] = [];
let flushScheduled = false;

function flushDirty(): void {
  const list = dirty;
  dirty = [];
  flushScheduled = false;
  for (let i = 0; i < list.length; i++) (list[i] as Connection).flush();
}

/** How long a closing connection may take to flush before it is destroyed, in ms. */
const END_GRACE_MS = 2000;

export class Connection implements Outbox, PacketHandler {
  readonly channel: Channel;
  private readonly parser: Parser;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private isDirty = false;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly core: BrokerCore,
  ) {
    this.parser = new Parser({ maxPacketSize: core.options.maxPacketSize });
    this.channel = core.openChannel(this, `${socket.remoteAddress ?? 'unix'}:${socket.remotePort ?? 0}`);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.channel.transportClosed(error));
    socket.on('close', () => this.channel.transportClosed());
  }

  private onData(chunk: Buffer): void {
    const channel = this.channel;
    this.core.stats.bytesReceived += chunk.length;
    channel.lastReceived = Date.now();
    try {
      this.parser.push(chunk, this);
    } catch (error) {
      if (error instanceof CodecError) channel.codecError(error);
      else {
        this.core.log.error({ err: error, clientId: channel.clientId }, 'internal error handling a packet');
        channel.fail('internal error', 0x83);
      }
    }
  }

  onPacket(packet: Packet): void {
    const channel = this.channel;
    channel.handle(packet);
    if (channel.state === 'closed') this.parser.stop();
  }

  // Outbox
  get pendingBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  write(bytes: Buffer): void {
    if (this.ended) return;
    this.queued.push(bytes);
    this.queuedBytes += bytes.length;
    if (!this.isDirty) {
      this.isDirty = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushDirty);
      }
    }
  }

  flush(): void {
    this.isDirty = false;
    const queued = this.queued;
    if (queued.length === 0) return;
    this.queued = [];
    this.queuedBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (queued.length === 1) {
      socket.write(queued[0] as Buffer);
      return;
    }
    socket.cork();
    for (let i = 0; i < queued.length; i++) socket.write(queued[i] as Buffer);
    socket.uncork();
  }

  end(): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    const socket = this.socket;
    socket.end();
    setTimeout(() => socket.destroy(), END_GRACE_MS).unref();
  }

  pauseInput(): void {
    this.socket.pause();
  }

  resumeInput(): void {
    this.socket.resume();
  }
}
