/**
 * One MQTT connection of the client: a byte stream, the shared codec's Parser, the CONNECT /
 * CONNACK handshake and keepalive. It knows nothing of sessions or reconnecting (client.ts).
 *
 * - Writes made in one event-loop turn are corked and flushed together on the next tick.
 * - Keepalive [MQTT-3.1.2-23]: when nothing was sent for about `keepalive` seconds a PINGREQ
 *   goes out; if no packet at all arrives within `pingTimeout` after it, the connection is
 *   destroyed with a TimeoutError (the owner then reconnects).
 * - The connection closes exactly once; `onClose` gets the error that ended it, if any.
 */
import type { Duplex } from 'node:stream';
import { CodecError, Parser, encode } from '../protocol/index.js';
import type { ConnackPacket, ConnectPacket, Packet, Properties, ProtocolVersion } from '../protocol/index.js';
import { ConnectionClosedError, ConnectionRefusedError, ProtocolViolationError, TimeoutError } from './errors.js';

export type Trace = (direction: 'send' | 'receive', packet: Packet) => void;

/** Answers one AUTH challenge of an enhanced authentication (5.0 section 4.12): the next data. */
export type AuthResponder = (challenge: { data: Buffer | undefined; properties: Properties | undefined }) => Buffer | Promise<Buffer>;

export interface ConnectionOwner {
  onPacket(packet: Packet): void;
  onClose(error: Error | undefined): void;
}

const PINGREQ: Packet = { type: 'pingreq' };

export class Connection {
  private readonly parser: Parser;
  private owner: ConnectionOwner | undefined;
  private closed = false;
  private corked = false;
  private lastSent = Date.now();
  private pingSentAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended: Error | undefined;
  private backlog: Packet[] = [];

  private constructor(
    private readonly stream: Duplex,
    readonly version: ProtocolVersion,
    maxPacketSize: number | undefined,
    private readonly trace: Trace | undefined,
  ) {
    this.parser = new Parser({ version, ...(maxPacketSize !== undefined ? { maxPacketSize } : {}) });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (error: Error) => this.destroy(new ConnectionClosedError(`connection error: ${error.message}`, { cause: error })));
    stream.on('close', () => this.destroy(this.ended ?? new ConnectionClosedError('connection closed by the server')));
    stream.on('end', () => stream.end());
  }

  /**
   * Sends CONNECT on an open stream and waits for CONNACK. Resolves with the connection and the
   * CONNACK when accepted; rejects with ConnectionRefusedError (and closes) when refused.
   */
  static handshake(
    stream: Duplex,
    connect: ConnectPacket,
    timeoutMs: number,
    maxPacketSize?: number,
    trace?: Trace,
    onAuth?: AuthResponder,
  ): Promise<{ connection: Connection; connack: ConnackPacket }> {
    const connection = new Connection(stream, connect.protocolVersion, maxPacketSize, trace);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => connection.destroy(new TimeoutError('CONNACK')), timeoutMs);
      connection.owner = {
        onPacket(packet) {
          if (packet.type === 'auth' && packet.reasonCode === 0x18 && onAuth !== undefined) {
            // Enhanced authentication: answer the challenge with the same method [MQTT-4.12.0-5].
            const method = connect.properties?.authenticationMethod;
            Promise.resolve(onAuth({ data: packet.properties?.authenticationData, properties: packet.properties })).then(
              (data) => connection.send({ type: 'auth', reasonCode: 0x18, properties: { ...(method !== undefined ? { authenticationMethod: method } : {}), authenticationData: data } }),
              (error: Error) => connection.destroy(error),
            );
            return;
          }
          clearTimeout(timer);
          if (packet.type !== 'connack') {
            connection.destroy(new ProtocolViolationError(`expected CONNACK, got ${packet.type.toUpperCase()}`));
            return;
          }
          if (packet.reasonCode !== 0) {
            const error = new ConnectionRefusedError(packet.reasonCode, connect.protocolVersion, packet.properties?.reasonString);
            connection.owner = undefined;
            connection.destroy(error);
            reject(error);
            return;
          }
          // Packets right behind CONNACK (a resumed session's queue) wait for start().
          connection.owner = { onPacket: (p) => connection.backlog.push(p), onClose: () => undefined };
          resolve({ connection, connack: packet });
        },
        onClose(error) {
          clearTimeout(timer);
          reject(error ?? new ConnectionClosedError('connection closed before CONNACK'));
        },
      };
      connection.send(connect);
    });
  }

  /** Hands the accepted connection to its owner (next macrotask) and starts keepalive (seconds, 0 = off). */
  start(owner: ConnectionOwner, keepalive: number, pingTimeoutMs: number): void {
    if (keepalive > 0) this.startKeepalive(keepalive * 1000, pingTimeoutMs);
    // Packets are handed over one macrotask later, so that code running right after
    // `await connect()` (attaching 'message' listeners) sees a resumed session's messages.
    // Until then packets keep going to the backlog, so their order is kept.
    setImmediate(() => {
      const closed = this.closed;
      if (!closed) this.owner = owner;
      for (const packet of this.backlog.splice(0)) owner.onPacket(packet);
      if (closed) owner.onClose(this.ended);
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(packet: Packet): void {
    this.trace?.('send', packet);
    this.write(encode(packet, this.version));
  }

  /** Writes already-encoded bytes. */
  write(bytes: Buffer): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    this.stream.write(bytes);
    this.lastSent = Date.now();
  }

  /**
   * Ends the stream after what was written (DISCONNECT is the caller's job); reads stop. The
   * owner's onClose gets `error` once the stream has closed.
   */
  end(error?: Error): void {
    if (this.closed) return;
    this.ended = error;
    this.stopTimer();
    this.parser.stop();
    this.stream.end();
    // A peer that never closes its side must not keep us waiting.
    setTimeout(() => this.destroy(error), 1000).unref();
  }

  /** Closes at once; the owner's onClose gets `error`. */
  destroy(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = error;
    this.stopTimer();
    this.parser.stop();
    this.stream.destroy();
    const owner = this.owner;
    this.owner = undefined;
    owner?.onClose(error);
  }

  private onData(chunk: Buffer): void {
    this.pingSentAt = 0;
    try {
      this.parser.push(chunk, { onPacket: (packet) => this.receive(packet) });
    } catch (error) {
      if (error instanceof CodecError) {
        this.destroy(new ProtocolViolationError(`bad packet from server: ${error.message}`, error.reasonCode, { cause: error }));
      } else {
        this.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private receive(packet: Packet): void {
    this.trace?.('receive', packet);
    this.owner?.onPacket(packet);
  }

  private startKeepalive(keepaliveMs: number, pingTimeoutMs: number): void {
    const tick = Math.max(50, Math.min(1000, keepaliveMs / 4, pingTimeoutMs / 4));
    this.timer = setInterval(() => {
      const now = Date.now();
      if (this.pingSentAt !== 0) {
        if (now - this.pingSentAt >= pingTimeoutMs) this.destroy(new TimeoutError('PINGRESP'));
        return;
      }
      if (now - this.lastSent >= keepaliveMs - tick) {
        this.send(PINGREQ);
        this.pingSentAt = now;
      }
    }, tick);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
