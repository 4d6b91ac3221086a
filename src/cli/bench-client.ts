/**
 * One raw MQTT connection of `cicada bench`: a socket, the shared codec's Parser and encoder,
 * no client library (no promise or closure per message).
 *
 * Publishing encodes a PUBLISH once (`template`) and, per message, copies it into a batch buffer
 * patching the packet id and the timestamp at the start of the payload (float64, ms): one
 * socket.write per batch. QoS 1/2 publishing keeps at most `inflight` unacknowledged messages.
 * Receiving acknowledges QoS 1/2 (PUBACK, PUBREC/PUBCOMP) with one corked write per chunk.
 * Over TCP, TLS (--cafile/--cert/--key/--insecure) or WebSocket (--ws; `ws` and node:tls are
 * loaded only when asked for). A 5.0 acknowledgement with a reason code >= 0x80 (0x87 not
 * authorized) is a refusal, not an acknowledgement; so is a refused SUBACK.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { encode, encodePublish, Parser, publishPacketIdOffset } from '../protocol/index.js';
import type { ConnectPacket, Packet, ProtocolVersion, QoS } from '../protocol/index.js';
import { nowMs } from './bench-stats.js';

export interface BenchConnectOptions {
  host: string;
  port: number;
  version: ProtocolVersion;
  clientId: string;
  keepalive: number;
  clean: boolean;
  username?: string;
  password?: string;
  /** TLS (mqtts / wss) with these CA, certificate and key; rejectUnauthorized false with --insecure. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  /** MQTT over WebSocket at this path (e.g. /mqtt). */
  wsPath?: string;
}

export interface BenchHandlers {
  /** A PUBLISH arrived; `sentAt` is the payload's timestamp (NaN when the payload is too short). */
  onMessage?: (sentAt: number) => void;
  /** A QoS 1/2 publish of ours completed. */
  onAcked?: () => void;
  /** A QoS 1/2 publish of ours was refused (5.0 reason code >= 0x80). */
  onRefused?: (reasonCode: number) => void;
  /** The SUBACK's reason codes. */
  onSubscribed?: (reasonCodes: number[]) => void;
  onClose?: (error: Error | undefined) => void;
}

export class BenchConnection {
  inflight = 0;
  closed = false;
  private readonly parser: Parser;
  private nextId = 1;
  private template: Buffer | undefined;
  private idOffset = 0;
  private payloadOffset = 0;
  private pendingAcks: Buffer[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly socket: Duplex,
    readonly version: ProtocolVersion,
    private readonly handlers: BenchHandlers,
  ) {
    this.parser = new Parser({ version });
  }

  /** Connects and waits for CONNACK; rejects on refusal or socket error. */
  static async open(options: BenchConnectOptions, handlers: BenchHandlers): Promise<BenchConnection> {
    const socket = await openStream(options);
    const conn = new BenchConnection(socket, options.version, handlers);
    return new Promise((resolve, reject) => {
      let connected = false;
      socket.on('data', (chunk: Buffer) => {
        try {
          socket.cork();
          conn.parser.push(chunk, {
            onPacket: (p) => {
              if (!connected && p.type === 'connack') {
                connected = true;
                if (p.reasonCode !== 0) {
                  reject(new Error(`connection refused (CONNACK ${p.reasonCode})`));
                  socket.destroy();
                } else resolve(conn);
                return;
              }
              conn.onPacket(p);
            },
          });
          conn.flushAcks();
          socket.uncork();
        } catch (error) {
          socket.destroy(error as Error);
        }
      });
      socket.on('error', (error) => {
        if (!connected) reject(error);
      });
      socket.on('close', () => {
        conn.closed = true;
        if (!connected) reject(new Error('connection closed before CONNACK'));
        conn.handlers.onClose?.(undefined);
        for (const w of conn.waiters.splice(0)) w();
      });
      socket.on('drain', () => {
        for (const w of conn.waiters.splice(0)) w();
      });
      const connect: ConnectPacket = {
        type: 'connect',
        protocolName: options.version === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: options.version,
        clean: options.clean,
        keepalive: options.keepalive,
        clientId: options.clientId,
      };
      if (options.username !== undefined) connect.username = options.username;
      if (options.password !== undefined) connect.password = Buffer.from(options.password);
      socket.write(encode(connect, options.version));
    });
  }

  send(packet: Packet): void {
    if (!this.closed) this.socket.write(encode(packet, this.version));
  }

  /** Sets up the PUBLISH that publishBatch sends (payload of `size` bytes, >= 8 carries a timestamp). */
  prepare(topic: string, size: number, qos: QoS, retain: boolean): void {
    const payload = Buffer.alloc(size, 0x61);
    const t = encodePublish({ type: 'publish', topic, payload, qos, retain, dup: false, ...(qos > 0 ? { packetId: 1 } : {}) }, this.version);
    this.template = t;
    this.idOffset = qos > 0 ? publishPacketIdOffset(t) : -1;
    this.payloadOffset = t.length - size;
  }

  /** Room for this many more QoS 1/2 messages in the window (Infinity for QoS 0). */
  room(window: number): number {
    return this.idOffset < 0 ? Infinity : Math.max(0, window - this.inflight);
  }

  /** Writes `n` publishes in one buffer; returns false when the socket wants a drain first. */
  publishBatch(n: number): boolean {
    const t = this.template!;
    const batch = Buffer.allocUnsafe(t.length * n);
    const stamp = t.length - this.payloadOffset >= 8;
    for (let i = 0; i < n; i++) {
      const base = i * t.length;
      t.copy(batch, base);
      if (this.idOffset >= 0) {
        batch.writeUInt16BE(this.nextId, base + this.idOffset);
        this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
        this.inflight++;
      }
      if (stamp) batch.writeDoubleBE(nowMs(), base + this.payloadOffset);
    }
    return this.socket.write(batch);
  }

  /** Resolves on the next drain, acknowledgement or close. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  end(): void {
    if (this.closed) return;
    this.send({ type: 'disconnect' });
    this.socket.end();
  }

  private onPacket(p: Packet): void {
    const v5 = this.version === 5;
    switch (p.type) {
      case 'publish': {
        const payload = p.payload;
        this.handlers.onMessage?.(payload.length >= 8 ? payload.readDoubleBE(0) : Number.NaN);
        if (p.qos === 1) this.pendingAcks.push(encode({ type: 'puback', packetId: p.packetId!, ...(v5 ? { reasonCode: 0 } : {}) }, this.version));
        else if (p.qos === 2) this.pendingAcks.push(encode({ type: 'pubrec', packetId: p.packetId!, ...(v5 ? { reasonCode: 0 } : {}) }, this.version));
        return;
      }
      case 'pubrel':
        this.pendingAcks.push(encode({ type: 'pubcomp', packetId: p.packetId, ...(v5 ? { reasonCode: 0 } : {}) }, this.version));
        return;
      case 'pubrec':
        // A refused PUBREC ends the flow: no PUBREL follows [MQTT-4.3.3].
        if ((p.reasonCode ?? 0) >= 0x80) return this.completed(p.reasonCode ?? 0);
        this.pendingAcks.push(encode({ type: 'pubrel', packetId: p.packetId, ...(v5 ? { reasonCode: 0 } : {}) }, this.version));
        return;
      case 'puback':
      case 'pubcomp':
        this.completed(p.reasonCode ?? 0);
        return;
      case 'suback':
        this.handlers.onSubscribed?.(p.reasonCodes);
        return;
      default:
        return;
    }
  }

  /** A QoS 1/2 flow of ours ended: acknowledged, or refused with a reason code >= 0x80. */
  private completed(reasonCode: number): void {
    this.inflight--;
    if (reasonCode >= 0x80) this.handlers.onRefused?.(reasonCode);
    else this.handlers.onAcked?.();
    for (const w of this.waiters.splice(0)) w();
  }

  private flushAcks(): void {
    if (this.pendingAcks.length === 0) return;
    const acks = this.pendingAcks.length === 1 ? this.pendingAcks[0]! : Buffer.concat(this.pendingAcks);
    this.pendingAcks = [];
    if (!this.closed) this.socket.write(acks);
  }
}

/** The connected byte stream: TCP, TLS, or a WebSocket (subprotocol mqtt) over either. */
async function openStream(options: BenchConnectOptions): Promise<Duplex> {
  const { host, port, tls: secure } = options;
  if (options.wsPath !== undefined) {
    const { WebSocket, createWebSocketStream } = await import('ws');
    const url = `${secure !== undefined ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}${options.wsPath}`;
    const ws = new WebSocket(url, 'mqtt', { ...(secure ?? {}), ...(secure !== undefined && net.isIP(host) === 0 ? { servername: host } : {}), perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(createWebSocketStream(ws));
      });
    });
  }
  const socket = secure !== undefined
    ? (await import('node:tls')).connect({ host, port, ...secure, ...(net.isIP(host) === 0 ? { servername: host } : {}) })
    : net.connect({ host, port, noDelay: true });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once(secure !== undefined ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      if (secure !== undefined) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
