/**
 * MqttClient: the session side of the client. It owns what survives a reconnect (subscriptions,
 * unacknowledged QoS 1/2 publishes, the offline queue; inbound QoS 2 ids in inbound.ts) and drives
 * one Connection at a time.
 *
 * States: connecting (first attempt) -> connected <-> reconnecting -> closed. The first attempt
 * failing rejects connect(); once connected, a lost connection schedules reconnects with
 * back-off (reconnect.ts, backoff.ts) until end() is called.
 *
 * On every new connection:
 * 1. When the server has no session for us (Session Present 0) every subscription is sent again.
 * 2. Unacknowledged publishes are sent again in their original order, with DUP set when the
 *    session was resumed [MQTT-4.4.0-1]; a QoS 2 flow past PUBREC re-sends PUBREL (or, when the
 *    session is gone, is complete: the server already had the message).
 * 3. SUBSCRIBE/UNSUBSCRIBE still unanswered are sent again; the offline queue is drained, within
 *    the server's Receive Maximum [MQTT-4.9.0-2].
 */
import { EventEmitter } from 'node:events';
import { isValidTopicFilter, isValidTopicName, ReasonCode } from '../protocol/index.js';
import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  PublishPacket,
  QoS,
  SubackPacket,
  Subscription,
  UnsubackPacket,
} from '../protocol/index.js';
import { Inbound, type Message } from './inbound.js';
import { Reconnector } from './reconnect.js';
import { Connection } from './connection.js';
import { openTransport } from './transport.js';
import {
  ConnectionClosedError,
  InvalidArgumentError,
  MqttClientError,
  NotConnectedError,
  ProtocolViolationError,
  PublishError,
  ServerDisconnectError,
} from './errors.js';
import { PacketIds, TopicAliases, type OutgoingFlow, type PublishOptions, type PublishResult } from './flows.js';
import { MessageQueue } from './message-queue.js';
import { parseBrokerUrl, resolveOptions, toProperties, type ClientProperties, type ConnectOptions, type Endpoint, type ResolvedOptions } from './options.js';
import { buildConnect } from './connect-packet.js';

export interface SubscribeOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
  /** SUBSCRIBE properties (5.0): subscriptionIdentifier, userProperties. */
  properties?: ClientProperties;
}

/** One entry per filter: reasonCode < 0x80 is the granted QoS, >= 0x80 a refusal. */
export interface Granted {
  topicFilter: string;
  reasonCode: number;
}

export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ClientEvents {
  connect: [connack: ConnackPacket];
  message: [message: Message];
  /** A connection was lost; `error` says why. */
  offline: [error: Error | undefined];
  /** A reconnect attempt starts (attempt counts from 1). */
  reconnect: [attempt: number];
  /** Errors that reject no promise (reconnect failures, server DISCONNECT). */
  error: [error: Error];
  end: [];
}

interface PendingRequest {
  packet: Packet & { type: 'subscribe' | 'unsubscribe' };
  resolve: (packet: SubackPacket | UnsubackPacket) => void;
  reject: (error: Error) => void;
}

interface QueuedPublish {
  packet: PublishPacket;
  resolve: (result: PublishResult) => void;
  reject: (error: MqttClientError) => void;
}

const OK: PublishResult = { reasonCode: 0 };

export class MqttClient extends EventEmitter<ClientEvents> {
  state: ClientState = 'connecting';
  /** The server's CONNACK on the current (or last) connection. */
  connack: ConnackPacket | undefined;
  readonly options: ResolvedOptions;

  private readonly endpoint: Endpoint;
  private connection: Connection | undefined;
  private readonly ids = new PacketIds();
  private readonly inflight = new Map<number, OutgoingFlow>();
  private readonly requests = new Map<number, PendingRequest>();
  private readonly queued: QueuedPublish[] = [];
  private readonly subscriptions = new Map<string, Subscription & { properties?: Properties }>();
  private readonly inbound: Inbound;
  private readonly reconnector: Reconnector | undefined;
  private readonly queues = new Set<MessageQueue<Message>>();
  private aliases = new TopicAliases(0);
  private receiveMaximum = 65535;
  private readonly connectedWaiters = new Set<{ resolve(): void; reject(error: Error): void }>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    url: string,
    private readonly connectOptions: ConnectOptions = {},
  ) {
    super();
    this.options = resolveOptions(connectOptions);
    this.endpoint = parseBrokerUrl(url, connectOptions.wsPath);
    this.inbound = new Inbound(this.options.protocolVersion);
    this.reconnector = this.options.reconnect === false ? undefined : new Reconnector(this.options.reconnect);
  }

  get version(): number {
    return this.options.protocolVersion;
  }

  /** First connection; rejects (and closes the client) if it fails. */
  async start(): Promise<ConnackPacket> {
    try {
      const connack = await this.open();
      return connack;
    } catch (error) {
      this.close(error instanceof MqttClientError ? error : new ConnectionClosedError(String(error)));
      throw error;
    }
  }

  /** Publishes; resolves when the QoS flow completes (QoS 0: when handed to the socket). */
  publish(topic: string, payload: string | Buffer | Uint8Array, options: PublishOptions = {}): Promise<PublishResult> {
    const qos = options.qos ?? 0;
    if (!isValidTopicName(topic)) return Promise.reject(new InvalidArgumentError(`invalid topic name: ${JSON.stringify(topic)}`));
    if (qos !== 0 && qos !== 1 && qos !== 2) return Promise.reject(new InvalidArgumentError(`invalid QoS: ${String(qos)}`));
    const packet: PublishPacket = {
      type: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
      qos,
      retain: options.retain ?? false,
      dup: false,
    };
    if (options.properties !== undefined && this.options.protocolVersion === 5) {
      let given;
      try {
        given = toProperties(options.properties)!;
      } catch (error) {
        return Promise.reject(error instanceof InvalidArgumentError ? error : new InvalidArgumentError(String(error)));
      }
      const { topicAlias: _ignored, ...properties } = given;
      if (Object.keys(properties).length > 0) packet.properties = properties;
    }
    if (this.state === 'closed') return Promise.reject(new NotConnectedError('client is closed'));
    return new Promise((resolve, reject) => {
      const item: QueuedPublish = { packet, resolve, reject };
      if (this.canSend(qos)) {
        this.sendPublish(item);
        return;
      }
      // The bound is for publishes made while disconnected; while connected the queue only holds
      // what waits for the server's Receive Maximum and drains as acknowledgements arrive.
      if (this.state !== 'connected' && this.queued.length >= this.options.offlineQueueLimit) {
        reject(new NotConnectedError(`offline queue full (${this.options.offlineQueueLimit} publishes)`));
        return;
      }
      this.queued.push(item);
    });
  }

  /** Subscribes to one or more filters; resolves with the SUBACK code of each. */
  async subscribe(filters: string | string[] | Record<string, SubscribeOptions>, options: SubscribeOptions = {}): Promise<Granted[]> {
    const entries: Array<[string, SubscribeOptions]> =
      typeof filters === 'string' ? [[filters, options]] : Array.isArray(filters) ? filters.map((f) => [f, options]) : Object.entries(filters);
    if (entries.length === 0) throw new InvalidArgumentError('subscribe needs at least one topic filter');
    const subscriptions: Subscription[] = entries.map(([topicFilter, o]) => {
      if (!isValidTopicFilter(topicFilter)) throw new InvalidArgumentError(`invalid topic filter: ${JSON.stringify(topicFilter)}`);
      const s: Subscription = { topicFilter, qos: o.qos ?? 0 };
      if (this.options.protocolVersion === 5) {
        s.noLocal = o.noLocal ?? false;
        s.retainAsPublished = o.retainAsPublished ?? false;
        s.retainHandling = o.retainHandling ?? 0;
      }
      return s;
    });
    const properties = this.options.protocolVersion === 5 ? toProperties(options.properties) : undefined;
    const suback = (await this.request({ type: 'subscribe', packetId: 0, subscriptions, ...(properties ? { properties } : {}) })) as SubackPacket;
    return subscriptions.map((s, i) => {
      const reasonCode = suback.reasonCodes[i] ?? ReasonCode.UnspecifiedError;
      if (reasonCode < 0x80) this.subscriptions.set(s.topicFilter, { ...s, ...(properties ? { properties } : {}) });
      return { topicFilter: s.topicFilter, reasonCode };
    });
  }

  /** Unsubscribes; resolves with the UNSUBACK reason codes (5.0) or 0 for each (3.1.1). */
  async unsubscribe(filters: string | string[]): Promise<number[]> {
    const topicFilters = typeof filters === 'string' ? [filters] : filters;
    for (const f of topicFilters) this.subscriptions.delete(f);
    const unsuback = (await this.request({ type: 'unsubscribe', packetId: 0, topicFilters })) as UnsubackPacket;
    return topicFilters.map((_f, i) => unsuback.reasonCodes?.[i] ?? 0);
  }

  /** Incoming messages as an async iterator; ends when the client ends. */
  messages(options: { limit?: number } = {}): AsyncIterableIterator<Message> {
    const queue: MessageQueue<Message> = new MessageQueue(options.limit ?? 10_000, () => this.queues.delete(queue));
    if (this.state === 'closed') queue.close();
    else this.queues.add(queue);
    return queue;
  }

  /**
   * Ends the client: waits (at most `timeout` ms, default 10 s) for unacknowledged publishes
   * while connected (unless `force`), sends DISCONNECT, closes, and rejects whatever is still
   * pending. No reconnect after this.
   */
  async end(options: { force?: boolean; timeout?: number; reasonCode?: number; properties?: ClientProperties } = {}): Promise<void> {
    if (this.state === 'closed') return;
    if (options.force !== true && this.state === 'connected' && (this.inflight.size > 0 || this.queued.length > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.timeout ?? 10_000);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const connection = this.connection;
    if (connection?.isOpen === true && this.state === 'connected') {
      const disconnect: DisconnectPacket = { type: 'disconnect' };
      if (this.options.protocolVersion === 5) {
        disconnect.reasonCode = options.reasonCode ?? 0;
        if (options.properties !== undefined) disconnect.properties = toProperties(options.properties)!;
      }
      connection.send(disconnect);
      // Let the DISCONNECT drain: the connection ends itself (close() would destroy it).
      this.connection = undefined;
      connection.end();
    }
    this.close(new NotConnectedError('client ended'));
  }

  // --- connection lifecycle -------------------------------------------------------------------

  private async open(): Promise<ConnackPacket> {
    const stream = await openTransport(this.endpoint, this.connectOptions);
    const connect: ConnectPacket = buildConnect(this.options, this.connectOptions, this.endpoint);
    const { connection, connack } = await Connection.handshake(
      stream,
      connect,
      this.options.connectTimeout,
      this.connectOptions.maxPacketSize,
      this.connectOptions.trace,
      this.connectOptions.authenticate,
    );
    if (this.state === 'closed') {
      connection.destroy(undefined);
      throw new NotConnectedError('client ended');
    }
    this.connection = connection;
    this.connack = connack;
    this.reconnector?.succeeded();
    this.state = 'connected';
    this.receiveMaximum = connack.properties?.receiveMaximum ?? 65535;
    const aliasMaximum = this.options.topicAliases ? (connack.properties?.topicAliasMaximum ?? 0) : 0;
    this.aliases = new TopicAliases(aliasMaximum);
    this.inbound.reset(connack.sessionPresent);
    const keepalive = connack.properties?.serverKeepAlive ?? this.options.keepalive;
    connection.start({ onPacket: (p) => this.onPacket(p), onClose: (e) => this.onClose(connection, e) }, keepalive, this.options.pingTimeout);
    if (connection.isOpen) this.resume(connack.sessionPresent);
    this.emit('connect', connack);
    for (const waiter of this.connectedWaiters) waiter.resolve();
    this.connectedWaiters.clear();
    return connack;
  }

  private resume(sessionPresent: boolean): void {
    const connection = this.connection!;
    const unanswered = [...this.requests.values()];
    if (!sessionPresent) {
      for (const subscription of this.subscriptions.values()) {
        const { properties, ...s } = subscription;
        this.request({ type: 'subscribe', packetId: 0, subscriptions: [s], ...(properties ? { properties } : {}) }).catch((error: Error) => this.report(error));
      }
    }
    for (const [id, flow] of this.inflight) {
      if (flow.stage === 'pubcomp') {
        if (sessionPresent) connection.send(this.pubrel(id));
        else this.finishFlow(id, flow, OK);
      } else {
        flow.stage = flow.packet.qos === 1 ? 'puback' : 'pubrec';
        connection.send({ ...flow.packet, dup: sessionPresent });
      }
    }
    for (const request of unanswered) connection.send(request.packet);
    this.drainQueue();
  }

  private onClose(connection: Connection, error: Error | undefined): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    if (this.state !== 'connected') return;
    this.emit('offline', error);
    if (this.reconnector === undefined) {
      this.close(error instanceof MqttClientError ? error : new ConnectionClosedError('connection lost', { cause: error }));
      return;
    }
    this.state = 'reconnecting';
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.state !== 'reconnecting') return;
    this.reconnector?.schedule((attempt) => {
      this.emit('reconnect', attempt);
      this.open().catch((error: Error) => {
        if (this.state === 'closed') return;
        this.report(error);
        this.scheduleReconnect();
      });
    });
  }

  private close(error: MqttClientError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.reconnector?.cancel();
    this.connection?.destroy(undefined);
    this.connection = undefined;
    for (const flow of this.inflight.values()) flow.reject(error);
    this.inflight.clear();
    for (const request of this.requests.values()) request.reject(error);
    this.requests.clear();
    for (const item of this.queued.splice(0)) item.reject(error);
    for (const waiter of this.connectedWaiters) waiter.reject(error);
    this.connectedWaiters.clear();
    for (const queue of this.queues) queue.close();
    this.ids.clear();
    this.settleIdle();
    this.emit('end');
  }

  private report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  // --- sending --------------------------------------------------------------------------------

  private canSend(qos: QoS): boolean {
    if (this.state !== 'connected' || this.connection === undefined) return false;
    return qos === 0 || (this.queued.length === 0 && this.inflight.size < this.receiveMaximum);
  }

  private sendPublish(item: QueuedPublish): void {
    const connection = this.connection!;
    const { packet } = item;
    if (packet.qos === 0) {
      connection.send(this.aliases.apply(packet));
      item.resolve(OK);
      return;
    }
    const packetId = this.ids.allocate();
    const sent: PublishPacket = { ...packet, packetId };
    this.inflight.set(packetId, { packet: sent, stage: packet.qos === 1 ? 'puback' : 'pubrec', resolve: item.resolve, reject: item.reject });
    connection.send(this.aliases.apply(sent));
  }

  private drainQueue(): void {
    while (this.queued.length > 0 && this.state === 'connected' && this.connection !== undefined) {
      const next = this.queued[0]!;
      if (next.packet.qos > 0 && this.inflight.size >= this.receiveMaximum) break;
      this.queued.shift();
      this.sendPublish(next);
    }
    this.settleIdle();
  }

  private async request(packet: PendingRequest['packet']): Promise<SubackPacket | UnsubackPacket> {
    if (this.state === 'closed') throw new NotConnectedError('client is closed');
    if (this.state !== 'connected') {
      await new Promise<void>((resolve, reject) => this.connectedWaiters.add({ resolve, reject }));
    }
    return new Promise((resolve, reject) => {
      const packetId = this.ids.allocate();
      const withId = { ...packet, packetId };
      this.requests.set(packetId, { packet: withId, resolve, reject });
      this.connection?.send(withId);
    });
  }

  private pubrel(packetId: number): AckPacket {
    return this.inbound.ack('pubrel', packetId);
  }

  private finishFlow(id: number, flow: OutgoingFlow, result: PublishResult | MqttClientError): void {
    this.inflight.delete(id);
    this.ids.release(id);
    if (result instanceof MqttClientError) flow.reject(result);
    else flow.resolve(result);
  }

  private settleIdle(): void {
    if (this.idleWaiters.length === 0) return;
    if (this.state === 'connected' && (this.inflight.size > 0 || this.queued.length > 0)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // --- receiving ------------------------------------------------------------------------------

  private onPacket(packet: Packet): void {
    switch (packet.type) {
      case 'publish':
        return this.onPublish(packet);
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
        return this.onAck(packet);
      case 'pubrel':
        this.connection?.send(this.inbound.release(packet.packetId));
        return;
      case 'suback':
      case 'unsuback':
        return this.onRequestAck(packet);
      case 'disconnect': {
        const error = new ServerDisconnectError(packet.reasonCode ?? 0, packet.properties?.reasonString);
        this.report(error);
        this.connection?.destroy(error);
        return;
      }
      default:
        return; // PINGRESP (liveness is handled by the connection), AUTH (not supported).
    }
  }

  private onPublish(packet: PublishPacket): void {
    const result = this.inbound.publish(packet);
    if (result.kind === 'unknown-alias') {
      this.connection?.send({ type: 'disconnect', reasonCode: ReasonCode.TopicAliasInvalid });
      this.connection?.end(new ProtocolViolationError('server used an unknown topic alias', ReasonCode.TopicAliasInvalid));
      return;
    }
    if (result.message !== undefined) this.deliver(result.message);
    if (result.reply !== undefined) this.connection?.send(result.reply);
  }

  private deliver(message: Message): void {
    for (const queue of this.queues) queue.push(message);
    this.emit('message', message);
  }

  private onAck(packet: AckPacket): void {
    const flow = this.inflight.get(packet.packetId);
    if (flow === undefined || flow.stage !== packet.type) return;
    const code = packet.reasonCode ?? 0;
    const result: PublishResult = { reasonCode: code, ...(packet.properties ? { properties: packet.properties } : {}) };
    if (code >= 0x80) this.finishFlow(packet.packetId, flow, new PublishError(code, packet.properties?.reasonString));
    else if (packet.type === 'pubrec') {
      flow.stage = 'pubcomp';
      this.connection?.send(this.pubrel(packet.packetId));
      return;
    } else this.finishFlow(packet.packetId, flow, result);
    this.drainQueue();
  }

  private onRequestAck(packet: SubackPacket | UnsubackPacket): void {
    const request = this.requests.get(packet.packetId);
    if (request === undefined || (packet.type === 'suback') !== (request.packet.type === 'subscribe')) return;
    this.requests.delete(packet.packetId);
    this.ids.release(packet.packetId);
    request.resolve(packet);
  }
}
