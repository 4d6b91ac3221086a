/**
 * Plain TCP on libuv's TCP handle (Node's `tcp_wrap` binding), without net.Socket.
 *
 * Why: a net.Socket is a full Duplex stream (stream states, event emitter, buffering) that
 * Cicada does not use: it reads chunks and writes one buffer per turn. Measured on this machine
 * with the C load generator at 10,000 clients, the whole broker (ARCHITECTURE.md): connects/s
 * 14k -> 22k, memory per idle connection 3.8 -> 2.3 KiB. (A bare accept-and-CONNACK probe
 * without the broker, README Performance: 1.2 against 3.6 KiB, 23k against 20k connects/s.)
 * The handle API is what net.Socket itself is built on; it is reached through `process.binding`,
 * whose shape and semantics are Node internals. So `rawTcpAvailable()` checks its shape, and the
 * warm-up (warm-up.ts, run by a standalone broker before it listens) checks its semantics: when
 * traffic through a raw listener fails or arrives short there, `disableRawTcp` sends plain TCP
 * to net.Server for the rest of the run, and the log says why.
 *
 * Semantics follow net.Socket with allowHalfOpen false: the peer's FIN ends our side after the
 * queued writes; end() shuts down after the queued writes (libuv's shutdown waits for them) and
 * the handle closes when the peer's FIN arrives (reading until then, so that unread bytes do
 * not turn our close into a reset that could discard what we sent last).
 */
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import type { ByteStream, StreamOwner } from './byte-stream.js';

interface Request {
  handle: TcpHandle;
  oncomplete: (this: Request, status: number) => void;
  callback?: (() => void) | undefined;
  buffer?: Buffer;
  async?: boolean;
}
interface TcpHandle {
  onread: (this: TcpHandle, buffer: ArrayBuffer | undefined) => void;
  onconnection: (this: TcpHandle, status: number, client: TcpHandle | undefined) => void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: Request, bytes: Buffer): number;
  shutdown(req: Request): number;
  close(done?: () => void): void;
  setNoDelay(on: boolean): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  getsockname(out: Record<string, unknown>): number;
  getpeername(out: Record<string, unknown>): number;
  [SOCKET]?: RawSocket;
  [SERVER]?: RawTcpServer;
}
interface Binding {
  TCP: new (kind: number) => TcpHandle;
  SERVER: number;
  WriteWrap: new () => Request;
  ShutdownWrap: new () => Request;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  eof: number;
}

const SOCKET = Symbol('cicada.raw-socket');
const SERVER = Symbol('cicada.raw-server');

function loadBinding(): Binding | undefined {
  try {
    const node = process as unknown as { binding(name: string): Record<string, unknown> };
    const get = (name: string): Record<string, unknown> => node.binding(name);
    const tcp = get('tcp_wrap') as { TCP?: Binding['TCP']; constants?: { SERVER?: number } };
    const stream = get('stream_wrap');
    const uv = get('uv') as { UV_EOF?: number };
    const state = stream.streamBaseState;
    if (typeof tcp.TCP !== 'function' || typeof tcp.constants?.SERVER !== 'number' || !(state instanceof Int32Array)) return undefined;
    if (typeof stream.WriteWrap !== 'function' || typeof stream.ShutdownWrap !== 'function') return undefined;
    const proto = tcp.TCP.prototype as Record<string, unknown>;
    for (const method of ['readStart', 'readStop', 'writeBuffer', 'shutdown', 'close', 'bind', 'bind6', 'listen', 'getpeername', 'getsockname', 'setNoDelay']) {
      if (typeof proto[method] !== 'function') return undefined;
    }
    return {
      TCP: tcp.TCP,
      SERVER: tcp.constants.SERVER,
      WriteWrap: stream.WriteWrap as Binding['WriteWrap'],
      ShutdownWrap: stream.ShutdownWrap as Binding['ShutdownWrap'],
      state,
      kReadBytesOrError: stream.kReadBytesOrError as number,
      kArrayBufferOffset: stream.kArrayBufferOffset as number,
      kLastWriteWasAsync: stream.kLastWriteWasAsync as number,
      eof: uv.UV_EOF ?? -4095,
    };
  } catch {
    return undefined;
  }
}

// Loaded on the first plain TCP listener only (process.binding is deprecated, DEP0111: with
// --pending-deprecation it warns, which a broker without such a listener should not).
let binding: Binding | undefined;
let probed = false;
/** Why the raw handle is not used any more in this process (set by `disableRawTcp`). */
let disabled: string | undefined;
/**
 * Fault injection for tests of the semantic check: `CICADA_RAW_TCP_FAULT=drop-reads` makes raw
 * sockets discard what they read, as a binding whose read semantics changed would.
 */
let dropReads = false;

/** Whether plain TCP listeners can use the raw handle (else they use net.Server). */
export function rawTcpAvailable(): boolean {
  if (!probed) {
    probed = true;
    binding = process.env.CICADA_NET_SOCKETS === '1' ? undefined : loadBinding();
    dropReads = process.env.CICADA_RAW_TCP_FAULT === 'drop-reads';
  }
  return binding !== undefined && disabled === undefined;
}

/**
 * Traffic through the raw handle failed its check (`why`): listeners started from now on use
 * net.Server. Sockets already open on the handle keep it until they close.
 */
export function disableRawTcp(why: string): void {
  disabled = why;
}

function systemError(status: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  error.code = code;
  error.errno = status;
  error.syscall = syscall;
  return error;
}

// Shared callbacks (one set for all sockets, found through the handle): no closures per connection.
function onRead(this: TcpHandle, buffer: ArrayBuffer | undefined): void {
  const socket = this[SOCKET];
  if (socket === undefined) return;
  const b = binding as Binding;
  const nread = b.state[b.kReadBytesOrError] as number;
  if (nread > 0) {
    if (buffer !== undefined && !dropReads) socket.received(Buffer.from(buffer, b.state[b.kArrayBufferOffset] as number, nread));
    return;
  }
  if (nread === 0) return;
  if (nread === b.eof) socket.peerEnded();
  else socket.destroy(systemError(nread, 'read'));
}

/**
 * Bytes a paused socket goes on reading before it stops reading from the kernel (net.Socket's
 * default highWaterMark): so that a reset still closes a paused connection at once.
 */
const PAUSED_READ_LIMIT = 16 * 1024;

function onWriteComplete(this: Request, status: number): void {
  const socket = this.handle[SOCKET];
  if (socket === undefined) return;
  socket.writableLength -= (this.buffer as Buffer).length;
  if (status < 0) {
    socket.destroy(systemError(status, 'write'));
    return;
  }
  this.callback?.();
}

/** As net.Socket: a failed shutdown (ENOTCONN after a reset) is not an error of its own. */
function onShutdown(this: Request): void {
  this.handle[SOCKET]?.writeEnded();
}

function onHandleClosed(this: TcpHandle): void {
  const socket = this[SOCKET];
  if (socket === undefined) return;
  this[SOCKET] = undefined;
  socket.handleClosed();
}

export class RawSocket implements ByteStream {
  destroyed = false;
  writableLength = 0;
  /** @internal */
  owner: StreamOwner | undefined;
  /** The listener's hook, told once when the socket is closed. */
  onclose: ((socket: RawSocket) => void) | undefined;
  private ending = false;
  /** Our FIN is out (the shutdown completed). */
  private writeDone = false;
  private readEnded = false;
  private paused = false;
  /** Reading from the kernel (libuv refuses a second readStart). */
  private reading = false;
  /** What arrived while paused, handed over on resume(); the peer's FIN after it, if it came. */
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  private heldEnd = false;
  private error: Error | undefined;

  constructor(
    private readonly handle: TcpHandle,
    private readonly server: RawTcpServer,
    /** The peer's address and port, as net.Socket's remoteAddress and remotePort (undefined if gone). */
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined,
  ) {
    handle[SOCKET] = this;
    handle.onread = onRead;
  }

  setNoDelay(): void {
    this.handle.setNoDelay(true);
  }

  attach(owner: StreamOwner): void {
    this.owner = owner;
  }

  /** Start reading (the listener calls it once the socket is admitted). */
  start(): void {
    this.reading = true;
    const status = this.handle.readStart();
    if (status < 0) this.destroy(systemError(status, 'read'));
  }

  write(bytes: Buffer, done?: () => void): void {
    if (this.destroyed || this.ending) return;
    const b = binding as Binding;
    const req = new b.WriteWrap();
    req.handle = this.handle;
    req.oncomplete = onWriteComplete;
    req.buffer = bytes; // keeps the bytes alive until the kernel has them
    const status = this.handle.writeBuffer(req, bytes);
    if (status < 0) {
      this.destroy(systemError(status, 'write'));
      return;
    }
    if (b.state[b.kLastWriteWasAsync] === 0) {
      done?.();
      return;
    }
    this.writableLength += bytes.length;
    req.callback = done;
  }

  end(): void {
    if (this.destroyed || this.ending) return;
    this.ending = true;
    const req = new (binding as Binding).ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = onShutdown;
    const status = this.handle.shutdown(req);
    if (status < 0) this.destroy(systemError(status, 'shutdown'));
  }

  /** @internal Our FIN is out: close once the peer's has come. */
  writeEnded(): void {
    this.writeDone = true;
    if (this.readEnded) this.destroy();
  }

  /** @internal Bytes from the kernel: to the owner, or held while paused. */
  received(chunk: Buffer): void {
    if (!this.paused) {
      this.owner?.onData(chunk);
      return;
    }
    (this.held ??= []).push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= PAUSED_READ_LIMIT && this.reading) {
      this.reading = false;
      this.handle.readStop();
    }
  }

  /** @internal The peer sent FIN: end our side too (after what is queued), as net with allowHalfOpen false. */
  peerEnded(): void {
    if (this.paused) {
      this.heldEnd = true; // after the held bytes, on resume()
      return;
    }
    this.readEnded = true;
    if (!this.ending) this.end();
    else if (this.writeDone) this.destroy();
  }

  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.error = error;
    this.handle.readStop();
    this.handle.close(onHandleClosed);
  }

  /** @internal */
  handleClosed(): void {
    this.server.socketClosed();
    this.onclose?.(this);
    const owner = this.owner;
    this.owner = undefined;
    owner?.closed(this.error);
  }

  /** Hold incoming bytes (reading on up to PAUSED_READ_LIMIT, so that errors still show). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    // The owner may pause again while taking them: keep the rest.
    while (held !== undefined && held.length > 0 && !this.paused && !this.destroyed) {
      const chunk = held.shift() as Buffer;
      this.heldBytes -= chunk.length;
      this.owner?.onData(chunk);
    }
    if (this.paused || this.destroyed) return;
    this.held = undefined;
    if (this.heldEnd) {
      this.heldEnd = false;
      this.peerEnded();
    } else if (!this.readEnded && !this.reading) this.start();
  }
}

function onConnection(this: TcpHandle, status: number, client: TcpHandle | undefined): void {
  const server = this[SERVER];
  if (server === undefined) return;
  if (status < 0 || client === undefined) {
    server.onerror(systemError(status, 'accept'));
    return;
  }
  server.accepted(client);
}

/** A listening TCP handle: the subset of net.Server the listener uses. */
export class RawTcpServer {
  private handle: TcpHandle | undefined;
  private connections = 0;
  private closeDone: (() => void) | undefined;
  private bound: { address: string; family: string; port: number } | undefined;
  onerror: (error: Error) => void = () => {};

  constructor(private readonly onSocket: (socket: RawSocket) => void) {}

  /** Bind and listen on an IP address (v4 or v6); rejects with EADDRINUSE etc. like net. */
  listen(port: number, host: string, family: 4 | 6, backlog = 511): Promise<void> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      // As net (the binding would silently take the port modulo 2^16).
      const error: NodeJS.ErrnoException = new RangeError(`options.port should be >= 0 and < 65536. Received ${String(port)}.`);
      error.code = 'ERR_SOCKET_BAD_PORT';
      return Promise.reject(error);
    }
    const b = binding as Binding;
    const handle = new b.TCP(b.SERVER);
    let status = family === 6 ? handle.bind6(host, port, 0) : handle.bind(host, port);
    if (status === 0) status = handle.listen(backlog);
    if (status < 0) {
      handle.close();
      const error = systemError(status, 'listen');
      // As net: "listen EADDRINUSE: address already in use 127.0.0.1:1883".
      error.message = `listen ${error.code as string}: ${getSystemErrorMap().get(status)?.[1] ?? 'failed'} ${host}:${port}`;
      return Promise.reject(error);
    }
    const out: Record<string, unknown> = {};
    handle.getsockname(out);
    this.bound = { address: String(out.address), family: String(out.family), port: Number(out.port) };
    handle[SERVER] = this;
    handle.onconnection = onConnection;
    this.handle = handle;
    return Promise.resolve();
  }

  address(): { address: string; family: string; port: number } | null {
    return this.bound ?? null;
  }

  /** @internal */
  accepted(client: TcpHandle): void {
    const out: Record<string, unknown> = {};
    client.getpeername(out);
    this.connections++;
    const address = typeof out.address === 'string' ? out.address : undefined;
    this.onSocket(new RawSocket(client, this, address, typeof out.port === 'number' ? out.port : undefined));
  }

  /** @internal */
  socketClosed(): void {
    this.connections--;
    if (this.connections === 0 && this.handle === undefined) this.finishClose();
  }

  /** Stop accepting; `done` runs once every accepted socket has closed too (as net.Server). */
  close(done?: () => void): void {
    const handle = this.handle;
    if (handle === undefined) return;
    this.handle = undefined;
    this.closeDone = done;
    handle.close(() => {
      if (this.connections === 0) this.finishClose();
    });
  }

  private finishClose(): void {
    const done = this.closeDone;
    this.closeDone = undefined;
    done?.();
  }
}
