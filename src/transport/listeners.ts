/**
 * Every kind of listener: MQTT over TCP, TLS (with optional mutual TLS), WebSocket and secure
 * WebSocket (any path as in Mosquitto, or only `websockets_path`; subprotocol mqtt, via `ws`;
 * plain HTTP requests get files of `http_dir`), and unix sockets. Each accepted stream
 * becomes a Connection (./connection.ts); a WebSocket is adapted to a byte stream with
 * `createWebSocketStream`, so the channel never knows the difference.
 *
 * Connection floods are refused here, before any byte is parsed: the listener's
 * max_connections and the broker-wide per-IP connection rate (connectionRateLimit per second).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions as NodeTlsOptions } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { BrokerCore } from '../broker/core.js';
import { hasListenerRules } from '../broker/listener-rules.js';
import { refused } from '../broker/limits.js';
import type { TlsOptions } from '../auth/options.js';
import type { ListenerOptions } from '../config/schema.js';
import { DuplexStream } from './byte-stream.js';
import { serveHttpDir } from './http-dir.js';
import { Connection } from './connection.js';
import { rawTcpAvailable, RawSocket, RawTcpServer } from './raw-tcp.js';

/** After close(), sockets still open after this long are destroyed (a channel's own grace is 2 s). */
const CLOSE_GRACE_MS = 2500;

export interface RunningListener {
  readonly name: string;
  /** Where clients connect, e.g. mqtts://0.0.0.0:8883 or unix:/run/cicada.sock. */
  readonly url: string;
  /** Bound port (0 for unix sockets). */
  readonly port: number;
  /** What carries the bytes: libuv's TCP handle directly (./raw-tcp.ts) or a Node stream. */
  readonly transport: 'raw-tcp' | 'stream';
  close(): Promise<void>;
}

/** The name hooks and logs use for a listener. */
export function listenerName(options: ListenerOptions): string {
  if (options.name !== undefined) return options.name;
  if (options.path !== undefined) return `unix:${options.path}`;
  return `${options.protocol ?? 'mqtt'}:${options.port}`;
}

/** Per-IP connection rate: connections accepted in the current one-second window. */
export class ConnectionRate {
  private windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly perSecond: number) {}

  allow(ip: string, now: number): boolean {
    if (this.perSecond <= 0) return true;
    let window = this.windows.get(ip);
    if (window === undefined || now - window.start >= 1000) {
      if (this.windows.size >= 10_000) this.prune(now);
      window = { start: now, count: 0 };
      this.windows.set(ip, window);
    }
    return ++window.count <= this.perSecond;
  }

  private prune(now: number): void {
    for (const [ip, window] of this.windows) if (now - window.start >= 1000) this.windows.delete(ip);
  }
}

/** Subject in RFC 2253 order (as Mosquitto's use_subject_as_username), and the CN. */
export function certificateIdentity(socket: TLSSocket): { subject: string; commonName: string | undefined } | undefined {
  const peer = socket.getPeerCertificate();
  if (peer === null || typeof peer !== 'object' || peer.raw === undefined || !socket.authorized) return undefined;
  // Node gives no subject (undefined) for a certificate with an empty one.
  const subject = (new X509Certificate(peer.raw).subject ?? '').split('\n').reverse().join(',');
  const cn = peer.subject?.CN;
  return { subject, commonName: Array.isArray(cn) ? cn[0] : cn };
}

function nodeTlsOptions(tls: TlsOptions, handshakeTimeout: number): NodeTlsOptions {
  const require = tls.requireCertificate === true;
  return {
    // A client that never finishes the handshake is closed like one that never sends CONNECT.
    handshakeTimeout,
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    requestCert: require,
    rejectUnauthorized: require,
    minVersion: tls.minVersion ?? 'TLSv1.2',
    ...(tls.ciphers !== undefined ? { ciphers: tls.ciphers } : {}),
    ...(tls.crl !== undefined ? { crl: tls.crl } : {}),
    ...(tls.dhparam !== undefined ? { dhparam: tls.dhparam } : {}),
  };
}

// Shared socket listeners (no closures per connection: measured ~250 B per idle client for a
// `once('close', ...)` wrapper and an arrow function); the listener is found through a symbol.
// The Listener is a property of its server (Node sets `socket.server` on accepted sockets).
const LISTENER = Symbol('cicada.listener');
type Admitted = Socket & { server: { [LISTENER]: Listener } };
function onAdmittedClose(this: Admitted): void {
  this.server[LISTENER].socketClosed(this);
}
/** Errors are reported by the connection, or not worth a crash. */
function ignoreError(): void {}

class Listener implements RunningListener {
  readonly name: string;
  private open = 0;
  /** Every accepted socket, so that close() can end those that never became a connection. */
  private readonly sockets = new Set<Socket | RawSocket>();
  private server: NetServer | HttpServer | RawTcpServer | undefined;
  private wss: WebSocketServer | undefined;

  constructor(
    private readonly core: BrokerCore,
    private readonly options: ListenerOptions,
    name: string,
    private readonly rate: ConnectionRate,
    private readonly admitsAnonymous: boolean,
    private readonly peers: PeerFilter | undefined,
  ) {
    this.name = name;
  }

  get port(): number {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  get transport(): 'raw-tcp' | 'stream' {
    return this.server instanceof RawTcpServer ? 'raw-tcp' : 'stream';
  }

  get url(): string {
    const o = this.options;
    if (o.path !== undefined) return `unix:${o.path}`;
    const scheme = o.protocol === 'websockets' ? (o.tls ? 'wss' : 'ws') : o.tls ? 'mqtts' : 'mqtt';
    const host = o.host ?? '127.0.0.1';
    return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${this.port}${o.protocol === 'websockets' ? (o.websocketsPath ?? '/mqtt') : ''}`;
  }

  /** First look at a new TCP connection: refuse floods before any TLS or HTTP work. */
  private admit(socket: Socket | RawSocket): boolean {
    const max = this.options.maxConnections ?? -1;
    const ip = socket.remoteAddress ?? 'unix';
    let why: string | undefined;
    if (this.peers !== undefined && !this.peers(socket.remoteAddress, socket.remotePort)) why = `peer ${ip}:${socket.remotePort ?? 0} is not admitted on ${this.name}`;
    else if (max > 0 && this.open >= max) why = `listener ${this.name} has max_connections ${max} open`;
    else if (this.options.path === undefined && !this.rate.allow(ip, Date.now())) why = `more than ${this.core.options.connectionRateLimit} connections per second from ${ip}`;
    if (why !== undefined) {
      refused(this.core.stats, this.core.log, 'connectionsRefused', { listener: this.name, remote: ip }, `connection refused: ${why}`);
      socket.destroy();
      return false;
    }
    this.open++;
    this.sockets.add(socket);
    if (socket instanceof RawSocket) socket.onclose = this.rawClosed;
    else socket.on('close', onAdmittedClose);
    return true;
  }

  /** One function for all of this listener's raw sockets. */
  private readonly rawClosed = (socket: RawSocket): void => this.socketClosed(socket);

  socketClosed(socket: Socket | RawSocket): void {
    this.open--;
    this.sockets.delete(socket);
  }

  /** A byte stream is ready (after the TLS handshake or the WebSocket upgrade). */
  private attach(stream: Socket | ReturnType<typeof createWebSocketStream> | RawSocket, remote: string, tlsSocket: TLSSocket | undefined): void {
    const connection = new Connection(stream instanceof RawSocket ? stream : new DuplexStream(stream), this.core, remote);
    const channel = connection.channel;
    channel.listener = this.name;
    if (hasListenerRules(this.options)) channel.listenerOptions = this.options;
    if (tlsSocket === undefined) return;
    const identity = certificateIdentity(tlsSocket);
    channel.certificate = identity;
    const tls = this.options.tls;
    // use_identity_as_username / use_subject_as_username: the certificate names the user (or no one).
    channel.identityFromCertificate = tls?.useSubjectAsUsername === true || tls?.useIdentityAsUsername === true;
    if (identity === undefined || tls === undefined) return;
    if (tls.useSubjectAsUsername === true) channel.username = identity.subject === '' ? undefined : identity.subject;
    else if (tls.useIdentityAsUsername === true) channel.username = identity.commonName === '' ? undefined : identity.commonName;
  }

  async start(): Promise<void> {
    const o = this.options;
    const host = o.host ?? '127.0.0.1';
    const family = isIP(host);
    if (o.protocol !== 'websockets' && o.tls === undefined && o.path === undefined && family !== 0 && rawTcpAvailable()) {
      await this.startRaw(host, family as 4 | 6);
      return;
    }
    if (o.protocol === 'websockets') this.server = this.webSocketServer();
    else if (o.tls !== undefined) {
      const server = createTlsServer(nodeTlsOptions(o.tls, this.core.options.connectTimeoutMs), (socket) => this.attach(socket, remoteOf(socket), socket));
      server.on('tlsClientError', (error, socket) => {
        // Counted with the refused connections; logged at most once a second (a flood of bad handshakes is no log flood).
        refused(this.core.stats, this.core.log, 'connectionsRefused', { listener: this.name, remote: socket.remoteAddress, err: error.message }, 'TLS handshake failed');
        socket.destroy(); // with a listener for this event, Node leaves closing the socket to us
      });
      this.server = server;
    } else this.server = createNetServer({ noDelay: this.core.options.tcpNoDelay }, (socket) => this.attach(socket, remoteOf(socket), undefined));
    const server = this.server;
    (server as unknown as Admitted['server'])[LISTENER] = this;
    // 'connection' fires for the raw socket before TLS or HTTP: floods are refused there.
    server.on('connection', (socket: Socket) => {
      socket.setNoDelay(this.core.options.tcpNoDelay);
      if (!this.admit(socket)) return;
      // A plain TCP socket already has its connection's error listener; a raw socket under TLS
      // or WebSocket has none until the handshake is over.
      if (socket.listenerCount('error') === 0) socket.on('error', ignoreError);
    });
    if (o.path !== undefined) removeStaleSocket(o.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const ready = (): void => {
        server.off('error', reject);
        server.on('error', (error) => this.core.log.error({ err: error, listener: this.name }, 'listener error'));
        resolve();
      };
      if (o.path !== undefined) server.listen(o.path, ready);
      else server.listen(o.port, o.host ?? '127.0.0.1', ready);
    });
  }

  /** Plain TCP on the raw handle (./raw-tcp.ts): the same admission, no net.Socket. */
  private async startRaw(host: string, family: 4 | 6): Promise<void> {
    const server = new RawTcpServer((socket) => {
      if (this.core.options.tcpNoDelay) socket.setNoDelay();
      if (!this.admit(socket)) return;
      this.attach(socket, remoteOf(socket), undefined);
      socket.start();
    });
    server.onerror = (error): void => this.core.log.error({ err: error, listener: this.name }, 'listener error');
    await server.listen(this.options.port, host, family);
    this.server = server;
  }

  private webSocketServer(): HttpServer {
    const o = this.options;
    const httpDir = o.httpDir;
    const reply = (req: IncomingMessage, res: ServerResponse): void => {
      if (httpDir !== undefined) return serveHttpDir(httpDir, req, res);
      res.writeHead(426);
      res.end('MQTT over WebSocket: connect with subprotocol mqtt\n');
    };
    // Before the upgrade there is no channel: the HTTP time-outs bound a client that never gets there.
    const limit = this.core.options.connectTimeoutMs;
    const timeouts = {
      headersTimeout: limit,
      requestTimeout: limit,
      connectionsCheckingInterval: Math.min(1000, limit),
      ...(o.httpHeadersSize !== undefined ? { maxHeaderSize: o.httpHeadersSize } : {}),
    };
    const http =
      o.tls !== undefined
        ? createHttpsServer({ ...nodeTlsOptions(o.tls, this.core.options.connectTimeoutMs), ...timeouts }, reply)
        : createHttpServer(timeouts, reply);
    // Any path is upgraded, as in Mosquitto, unless websockets_path names one.
    const path = o.websocketsPath;
    const wss = new WebSocketServer({
      server: http,
      ...(path !== undefined ? { path } : {}),
      maxPayload: Math.min(this.core.options.maxPacketSize, 256 * 1024 * 1024),
      // MQTT.js and browsers offer `mqtt` (MQTT 3.1 clients `mqttv3.1`); anything else is refused.
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
      verifyClient: (info: { origin: string | undefined; req: IncomingMessage }, answer: (ok: boolean, code?: number) => void) => {
        if (this.originAllowed(info.origin, info.req)) answer(true);
        else answer(false, 403);
      },
    });
    if (path !== undefined) {
      http.on('upgrade', (req: IncomingMessage) => {
        const asked = (req.url ?? '/').split('?')[0];
        if (asked !== path) this.upgradeRefused(req, `path ${asked} is not ${path} (websockets_path)`);
      });
    }
    // A malformed upgrade request: logged, answered 400 and closed (ws leaves that to us when we listen).
    wss.on('wsClientError', (error, socket, req) => {
      this.upgradeRefused(req, error.message);
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
    wss.on('connection', (ws, request) => {
      const socket = request.socket;
      const stream = createWebSocketStream(ws);
      this.attach(stream, remoteOf(socket), o.tls !== undefined ? (socket as TLSSocket) : undefined);
    });
    wss.on('error', (error) => this.core.log.error({ err: error, listener: this.name }, 'WebSocket listener error'));
    this.wss = wss;
    return http;
  }

  /** A browser page may connect only from an allowed origin (see ListenerOptions.allowedOrigins); else HTTP 403. */
  private originAllowed(origin: string | undefined, req: IncomingMessage): boolean {
    if (origin === undefined || originPermitted(origin, this.options.allowedOrigins, this.admitsAnonymous)) return true;
    const fields = { listener: this.name, remote: req.socket.remoteAddress, origin };
    refused(this.core.stats, this.core.log, 'connectionsRefused', fields, 'WebSocket handshake refused: origin not allowed');
    return false;
  }

  /** A WebSocket upgrade this listener refused: one line (at most one per second). */
  private upgradeRefused(req: IncomingMessage, why: string): void {
    refused(this.core.stats, this.core.log, 'connectionsRefused', { listener: this.name, remote: req.socket.remoteAddress, path: req.url }, `WebSocket upgrade refused: ${why}`);
  }

  close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return Promise.resolve();
    this.server = undefined;
    this.wss?.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    // Connections end through their channels (flushed, then destroyed after a grace period);
    // sockets still in a TLS handshake or before the WebSocket upgrade have none: end them too.
    setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, CLOSE_GRACE_MS).unref();
    return closed;
  }
}

/** An Origin header value in the form of URL.origin ('null' for opaque origins). */
export function normalOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return 'null';
  }
}

function isLocalOrigin(origin: string): boolean {
  if (origin === 'null') return false;
  const host = new URL(origin).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Listed origins only when a list is given; else any, or only localhost pages when anonymous clients get in. */
function originPermitted(origin: string, allowed: readonly string[] | undefined, admitsAnonymous: boolean): boolean {
  const normal = normalOrigin(origin);
  if (allowed !== undefined) return allowed.includes(normal);
  return !admitsAnonymous || isLocalOrigin(normal);
}

function remoteOf(socket: Socket | RawSocket): string {
  return socket.remoteAddress === undefined ? 'unix' : `${socket.remoteAddress}:${socket.remotePort ?? 0}`;
}

/** A socket file left by a previous run would make listen fail with EADDRINUSE (Mosquitto removes it too). */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}

/** Which peers (address and port) a listener admits; refused before any byte is read (the warm-up's). */
export type PeerFilter = (address: string | undefined, port: number | undefined) => boolean;

/** Start one listener; resolves once it accepts connections. */
export async function startListener(core: BrokerCore, options: ListenerOptions, name: string, rate: ConnectionRate, admitsAnonymous = true, peers?: PeerFilter): Promise<RunningListener> {
  const listener = new Listener(core, options, name, rate, admitsAnonymous, peers);
  await listener.start();
  return listener;
}
