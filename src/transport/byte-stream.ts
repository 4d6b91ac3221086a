/**
 * What a Connection needs of a transport: bytes in (to its owner), bytes out with a completion
 * callback, flow control and closing. Two kinds implement it: a Node stream (TLS, WebSocket,
 * unix socket, or plain TCP where the raw handle is unavailable) through `DuplexStream`, and
 * plain TCP on libuv's handle directly (./raw-tcp.ts).
 */
import type { Duplex } from 'node:stream';

/** Who receives a stream's bytes and its end (the Connection). */
export interface StreamOwner {
  onData(chunk: Buffer): void;
  /** Called once when the stream is gone, with the error that ended it if any. */
  closed(error: Error | undefined): void;
}

export interface ByteStream {
  /** No more bytes can be written (destroyed, or closed by the peer and torn down). */
  readonly destroyed: boolean;
  /** Bytes given to write() and not yet taken by the kernel. */
  readonly writableLength: number;
  attach(owner: StreamOwner): void;
  /** `done` runs once the bytes are with the kernel (possibly before write returns). */
  write(bytes: Buffer, done?: () => void): void;
  /** Send what is queued, then close the writing side; the stream closes once the peer is done. */
  end(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
}

// One set of listeners for all streams, finding their owner through a symbol property, instead
// of three closures (and their context) per connection: ~200 B less per idle client.
const OWNER = Symbol('cicada.owner');
type Owned = Duplex & { [OWNER]: StreamOwner };
function onData(this: Owned, chunk: Buffer): void {
  this[OWNER].onData(chunk);
}
function onError(this: Owned, error: Error): void {
  this[OWNER].closed(error);
}
function onClose(this: Owned): void {
  this[OWNER].closed(undefined);
}

/** A Node Duplex (net.Socket, TLSSocket, WebSocket stream) as a ByteStream. */
export class DuplexStream implements ByteStream {
  constructor(private readonly duplex: Duplex) {}

  get destroyed(): boolean {
    return this.duplex.destroyed;
  }

  get writableLength(): number {
    return this.duplex.writableLength;
  }

  attach(owner: StreamOwner): void {
    const duplex = this.duplex as Owned;
    duplex[OWNER] = owner;
    duplex.on('data', onData);
    duplex.on('error', onError);
    duplex.on('close', onClose);
  }

  write(bytes: Buffer, done?: () => void): void {
    this.duplex.write(bytes, done);
  }

  end(): void {
    this.duplex.end();
  }

  destroy(): void {
    this.duplex.destroy();
  }

  pause(): void {
    this.duplex.pause();
  }

  resume(): void {
    this.duplex.resume();
  }
}
