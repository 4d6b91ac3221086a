/**
 * Channel: the protocol state machine of one network connection. It takes decoded packets
 * (`handle`) and transport events, and writes encoded packets to an Outbox; it never touches a
 * socket, so tests can drive it with plain calls. Each packet type has its handler in
 * ./handlers; this file holds the connection state they share and the ways a connection ends.
 *
 * States: 'new' (only CONNECT allowed [MQTT-3.1.0-1]) -> 'connected' -> 'closed'.
 * While an asynchronous hook (authentication, authorization) is pending, later packets wait in
 * `backlog` and are handled in order once it settles.
 */
import { CodecError, CodecErrorCode, encode } from '../protocol/index.js';
import type { Packet, ProtocolVersion, QoS, Will } from '../protocol/packets.js';
import { ConnectReturnCode, ReasonCode } from '../protocol/reason-codes.js';
import type { BrokerCore } from './core.js';
import { handleAck, handlePubrel } from './handlers/acks.js';
import { handleAuth, type AuthState } from './handlers/auth.js';
import { handleConnect } from './handlers/connect.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handlePublish } from './handlers/publish.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import { HIGH_WATER, LOW_WATER, type FlowPublisher, type FlowSubscriber } from './flow.js';
import { applyListenerRules, unmount } from './listener-rules.js';
import { logReceived, logSent, logSentPublish } from './packet-log.js';
import { copyWaitsForCommit, deliveryProperties, type Message } from './message.js';
import type { ClientInfo, ListenerRules } from './options.js';
import { reasonName } from './reasons.js';
import type { Session, SessionLink } from './session.js';

/** Where a channel's bytes go; implemented by each transport. */
export interface Outbox {
  /**
   * Queue bytes; the transport flushes them once per event-loop turn. `reportsState`: the bytes
   * tell the client of stored state (an acknowledgement, CONNACK, SUBACK, UNSUBACK, PUBREL, a QoS
   * 2 PUBLISH or a copy of a QoS 2 publication), so they and everything after them wait while
   * persistence has uncommitted writes.
   */
  write(bytes: Buffer, reportsState: boolean): void;
  /** Flush what is queued, then close the connection. */
  end(): void;
  /** Stop and resume reading from the connection (backpressure on the client). */
  pauseInput(): void;
  resumeInput(): void;
  /** Bytes written but not yet taken by the kernel. */
  readonly pendingBytes: number;
  /** Bytes that report state are queued: what is written now goes out after the next commit. */
  readonly waitsForCommit: boolean;
}

/** Most topics whose read authorization a connection keeps (then the cache starts again). */
const READ_CACHE_SIZE = 1024;

/** Most packets kept while an asynchronous hook is pending before input is paused. */
const BACKLOG_PAUSE = 256;

let connectionCounter = 0;

export class Channel implements SessionLink {
  state: 'new' | 'connected' | 'closed' = 'new';
  version: ProtocolVersion = 4;
  clientId = '';
  username: string | undefined;
  /** Keepalive in seconds; 0 disables the check [MQTT-3.1.2-23]. */
  keepalive = 0;
  lastReceived: number;
  readonly openedAt: number;
  session: Session | undefined;
  will: Will | undefined;
  receiveMaximum: number;
  /** QoS 2 PUBLISHes received on this connection and not yet completed: the client's used send quota. */
  inboundQos2 = 0;
  /** 5.0: largest packet the client accepts (Maximum Packet Size of its CONNECT). */
  clientMaximumPacketSize = 0;
  /** 5.0: inbound topic aliases (alias -> topic) and the maximum announced in CONNACK. */
  topicAliases: Map<number, string> | undefined;
  topicAliasMaximum = 0;
  /** 5.0: outbound topic aliases (topic -> alias), at most the client's Topic Alias Maximum. */
  outAliases: Map<string, number> | undefined;
  outAliasMaximum = 0;
  /** Flow control (flow.ts): the subscriber this publisher waits for, and publishers waiting for this one. */
  throttledBy: FlowSubscriber | undefined;
  throttleTimer: unknown;
  waiters: FlowPublisher[] | undefined;
  /** Made no progress during a whole flow-control pause: it pauses no publisher until it does. */
  flowStalled = false;
  /** Input paused because of a backlog behind an asynchronous hook. */
  private backlogPaused = false;
  /** 5.0: enhanced authentication method and exchange in progress. */
  auth: AuthState | undefined;
  /** 5.0: send reason strings and user properties on acknowledgements. */
  problemInformation = true;
  /** The listener the connection came through and its verified client certificate (set by the transport). */
  listener: string | undefined;
  /** The options of that listener (max_qos, max_topic_alias, mount_point, use_username_as_clientid). */
  listenerOptions: ListenerRules | undefined;
  /** mount_point of that listener, once connected (./listener-rules.ts). */
  mountPoint: string | undefined;
  certificate: { subject: string; commonName: string | undefined } | undefined;
  /** The listener takes the user name from the certificate (use_identity_as_username / use_subject_as_username). */
  identityFromCertificate = false;
  /** When the credentials expire (ms since the epoch, e.g. a JWT's exp); 0: never. */
  credentialsExpireAt = 0;
  /** Unique number of this connection, given to hooks in ConnectInfo and ClientInfo. */
  readonly connectionId = ++connectionCounter;
  /** Publish rate limit (limits.ts): start of the current one-second window, PUBLISH packets in it. */
  publishWindow = 0;
  publishCount = 0;
  private backlog: Packet[] | undefined;
  private cachedInfo: ClientInfo | undefined;
  /** Answers of `client.authorize` for deliveries by topic, valid while `readEpoch` is the core's. */
  private readCache: Map<string, boolean> | undefined;
  private readEpoch = 0;
  private lastReadTopic: string | undefined;
  private lastReadAllowed = false;

  constructor(
    readonly core: BrokerCore,
    readonly outbox: Outbox,
    readonly remoteAddress: string,
  ) {
    this.openedAt = this.lastReceived = core.now();
    this.receiveMaximum = core.options.maxInflightMessages;
  }

  /** Handle one decoded packet from the client. */
  handle(packet: Packet): void {
    if (this.state === 'closed') return;
    this.core.stats.packetsReceived++;
    if (this.core.logPackets) logReceived(this, packet);
    if (this.backlog !== undefined) {
      this.backlog.push(packet);
      if (this.backlog.length === BACKLOG_PAUSE && !this.backlogPaused) {
        this.backlogPaused = true;
        this.outbox.pauseInput();
      }
      return;
    }
    this.dispatch(packet);
  }

  private dispatch(packet: Packet): void {
    if (this.listenerOptions !== undefined && !applyListenerRules(this, this.listenerOptions, packet)) return;
    // Before CONNACK, only AUTH of an exchange in progress may follow CONNECT (5.0 section 4.12).
    if (this.state === 'new' && packet.type !== 'connect' && !(packet.type === 'auth' && this.auth !== undefined)) {
      this.fail(`first packet was ${packet.type.toUpperCase()}, not CONNECT`, ReasonCode.ProtocolError); // [MQTT-3.1.0-1]
      return;
    }
    switch (packet.type) {
      case 'connect':
        if (this.state !== 'new' || this.auth !== undefined) {
          this.fail('second CONNECT', ReasonCode.ProtocolError); // [MQTT-3.1.0-2]
          return;
        }
        handleConnect(this, packet);
        return;
      case 'publish':
        handlePublish(this, packet);
        return;
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
        handleAck(this, packet);
        return;
      case 'pubrel':
        handlePubrel(this, packet);
        return;
      case 'subscribe':
        handleSubscribe(this, packet);
        return;
      case 'unsubscribe':
        handleUnsubscribe(this, packet);
        return;
      case 'pingreq':
        this.send({ type: 'pingresp' }); // [MQTT-3.12.4-1]
        return;
      case 'disconnect':
        handleDisconnect(this, packet);
        return;
      case 'auth':
        handleAuth(this, packet);
        return;
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP are only sent by servers.
        this.fail(`${packet.type.toUpperCase()} is not a packet a client may send`, ReasonCode.ProtocolError);
    }
  }

  /**
   * Run handlers after an asynchronous step: packets arriving meanwhile wait in the backlog.
   * `then` runs when the promise settles, unless the channel closed in between.
   */
  defer<T>(promise: Promise<T>, then: (value: T) => void): void {
    this.backlog ??= [];
    promise.then(
      (value) => {
        if (this.state === 'closed') return;
        then(value);
        this.resume();
      },
      (error: unknown) => {
        this.core.log.error({ err: error, clientId: this.clientId }, 'hook failed');
        this.fail('a broker hook failed', ReasonCode.UnspecifiedError);
      },
    );
  }

  private resume(): void {
    const backlog = this.backlog;
    this.backlog = undefined;
    if (backlog === undefined) return;
    for (let i = 0; i < backlog.length; i++) {
      if (this.state === 'closed') return;
      const again = this.backlog as Packet[] | undefined;
      if (again !== undefined) {
        // A handler deferred again: keep the rest in order behind it.
        again.push(...backlog.slice(i));
        return;
      }
      this.dispatch(backlog[i] as Packet);
    }
    if (this.backlogPaused) {
      this.backlogPaused = false;
      this.outbox.resumeInput();
    }
  }

  /** Send a control packet. All but PINGRESP report state (see Outbox.write). */
  send(packet: Packet): void {
    this.core.stats.packetsSent++;
    if (this.core.logPackets) logSent(this, packet);
    let bytes = encode(packet, this.version);
    if (this.clientMaximumPacketSize > 0 && bytes.length > this.clientMaximumPacketSize) bytes = this.withinMaximum(packet, bytes);
    this.outbox.write(bytes, packet.type !== 'pingresp');
  }

  /**
   * A control packet larger than the client's Maximum Packet Size (5.0 [MQTT-3.1.2-24]): the optional
   * User Properties go first, then the Reason String, as the standard says of every packet that
   * carries them (CONNACK [MQTT-3.2.2-19] [MQTT-3.2.2-20], PUBACK [MQTT-3.4.2-2] [MQTT-3.4.2-3],
   * PUBREC [MQTT-3.5.2-2] [MQTT-3.5.2-3], PUBREL [MQTT-3.6.2-2] [MQTT-3.6.2-3], PUBCOMP
   * [MQTT-3.7.2-2] [MQTT-3.7.2-3], SUBACK [MQTT-3.9.2-1] [MQTT-3.9.2-2], UNSUBACK [MQTT-3.11.2-1]
   * [MQTT-3.11.2-2], DISCONNECT [MQTT-3.14.2-3] [MQTT-3.14.2-4], AUTH [MQTT-3.15.2-2]
   * [MQTT-3.15.2-3]).
   */
  private withinMaximum(packet: Packet, bytes: Buffer): Buffer {
    const properties = 'properties' in packet ? packet.properties : undefined;
    if (properties === undefined) return bytes;
    const { userProperties, reasonString, ...required } = properties;
    if (userProperties !== undefined && reasonString !== undefined) {
      const withReason = encode({ ...packet, properties: { ...required, reasonString } } as Packet, this.version);
      if (withReason.length <= this.clientMaximumPacketSize) return withReason;
    }
    return userProperties === undefined && reasonString === undefined ? bytes : encode({ ...packet, properties: required } as Packet, this.version);
  }

  // SessionLink: the session's deliveries leave through here.
  sendPublish(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    packetId: number,
    dup: boolean,
  ): boolean {
    const core = this.core;
    // Every delivery is checked against this connection's read rights, as Mosquitto does.
    if (core.hooks.checksDelivery && !this.mayRead(message, qos, retain)) return false;
    if (qos === 0 && this.outbox.pendingBytes > core.options.maxOutgoingBytes) {
      core.onSlowConsumer(this, message);
      return true;
    }
    let bytes: Buffer;
    if (this.mountPoint !== undefined || (this.version === 5 && (subscriptionIds !== undefined || message.expiresAt !== 0 || this.outAliasMaximum > 0))) {
      bytes = this.encodeDelivery(message, qos, retain, subscriptionIds, packetId, dup);
    } else {
      bytes = message.wireBytes(this.version, qos, retain, packetId);
      if (dup) bytes[0] = (bytes[0] as number) | 0x08; // qos > 0: our own copy [MQTT-3.3.1-1]
    }
    if (this.clientMaximumPacketSize > 0 && bytes.length > this.clientMaximumPacketSize) {
      // Too large for this client: not sent, and treated as delivered (5.0 [MQTT-3.1.2-24], [MQTT-3.1.2-25]).
      core.log.debug({ clientId: this.clientId, topic: message.topic, size: bytes.length }, 'message larger than the client accepts: not sent');
      if (this.session !== undefined) core.onDropped(this.session, message, 'too-large');
      return false;
    }
    const stats = core.stats;
    stats.messagesSent++;
    stats.packetsSent++;
    stats.publishBytesSent += message.payload.length;
    stats.bytesSent += bytes.length;
    const outbox = this.outbox;
    // A QoS 0/1 copy may leave before its delivery is committed: a crash then means a re-send by
    // the publisher, which never got its PUBACK, and QoS 1 is "at least once".
    outbox.write(bytes, copyWaitsForCommit(message, qos));
    if (core.logPackets) logSentPublish(this, message, qos, retain, packetId, dup);
    if (!dup && core.hooks.onDelivered) core.hooks.notify('message.delivered', this.info(), message);
    const pending = outbox.pendingBytes;
    if (pending > HIGH_WATER) core.flow.congested(this, pending > core.options.maxOutgoingBytes);
    return true;
  }

  /**
   * A PUBLISH encoded for this client alone: 5.0 properties that differ per delivery
   * (subscription ids, the remaining expiry interval, the outbound topic alias), or the topic
   * without the listener's mount point.
   */
  private encodeDelivery(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    packetId: number,
    dup: boolean,
  ): Buffer {
    const properties = this.version === 5 ? deliveryProperties(message, subscriptionIds, this.core.now()) : undefined;
    let topic = this.mountPoint === undefined ? message.topic : unmount(this.mountPoint, message.topic);
    if (properties !== undefined && this.outAliasMaximum > 0) {
      const aliases = (this.outAliases ??= new Map<string, number>());
      const alias = aliases.get(topic);
      if (alias !== undefined) {
        properties.topicAlias = alias;
        topic = '';
      } else if (aliases.size < this.outAliasMaximum && this.clientMaximumPacketSize === 0) {
        // First use: send the topic with a new alias; later messages send only the alias.
        // (Not when the client limits packet size: a dropped packet must not carry a new alias.)
        properties.topicAlias = aliases.size + 1;
        aliases.set(topic, aliases.size + 1);
      }
    }
    return encode(
      { type: 'publish', topic, payload: message.payload, qos, retain, dup, ...(qos > 0 ? { packetId } : {}), ...(properties !== undefined ? { properties } : {}) },
      this.version,
    );
  }

  /**
   * May this connection receive `message` (`client.authorize`, action deliver)? The answer is
   * cached per topic until the rights change (`BrokerCore.rightsChanged`, on reload); at most
   * READ_CACHE_SIZE topics. A copy refused is a dropped delivery (`delivery.dropped`).
   */
  private mayRead(message: Message, qos: QoS, retain: boolean): boolean {
    const allowed = this.readAllowed(message.topic, qos, retain);
    const hooks = this.core.hooks;
    if (!allowed && hooks.onDeliveryDropped) hooks.notify('delivery.dropped', this.clientId, message, 'not-authorized');
    return allowed;
  }

  private readAllowed(topic: string, qos: QoS, retain: boolean): boolean {
    const core = this.core;
    // The last answer first: a subscriber gets runs of one topic (fan-out), and comparing two
    // equal strings costs less than hashing into the map.
    if (topic === this.lastReadTopic && this.readEpoch === core.readEpoch) return this.lastReadAllowed;
    let cache = this.readCache;
    if (cache === undefined || this.readEpoch !== core.readEpoch) {
      cache = this.readCache = new Map();
      this.readEpoch = core.readEpoch;
    }
    let allowed = cache.get(topic);
    if (allowed === undefined) {
      allowed = core.hooks.authorize('deliver', this.info(), topic, qos, retain);
      if (cache.size >= READ_CACHE_SIZE) cache.clear();
      cache.set(topic, allowed);
      if (!allowed) core.log.debug({ clientId: this.clientId, topic }, 'not authorized to read: message not delivered');
    }
    this.lastReadTopic = topic;
    this.lastReadAllowed = allowed;
    return allowed;
  }

  get waitsForCommit(): boolean {
    return this.outbox.waitsForCommit;
  }

  sendPubrel(packetId: number): void {
    this.send({ type: 'pubrel', packetId, ...(this.version === 5 ? { reasonCode: 0 } : {}) });
  }

  /** Flow control: whether this client caught up enough to release the publishers it held back. */
  caughtUp(): boolean {
    const session = this.session;
    return this.outbox.pendingBytes < LOW_WATER && (session === undefined || session.queue.length * 4 < this.core.maxQueued);
  }

  info(): ClientInfo {
    return (this.cachedInfo ??= {
      clientId: this.clientId,
      username: this.username,
      remoteAddress: this.remoteAddress,
      listener: this.listener,
      connectionId: this.connectionId,
    });
  }

  /**
   * Keepalive (no packet within 1.5 times Keep Alive: 3.1.1 [MQTT-3.1.2-24], 5.0 [MQTT-3.1.2-22];
   * the same IDs name other rules in the other version) and CONNECT time-out checks, run by the
   * core's sweep.
   */
  checkTimeouts(now: number): void {
    if (this.state === 'new') {
      if (now - this.openedAt > this.core.options.connectTimeoutMs) {
        this.core.stats.connectTimeouts++;
        this.fail('no CONNECT in time', 0);
      }
    } else if (this.state === 'connected') {
      // Checked here rather than by a timer: an expiry may be years away (setTimeout's limit is 24.8 days).
      if (this.credentialsExpireAt !== 0 && now >= this.credentialsExpireAt) this.fail('credentials expired', ReasonCode.NotAuthorized);
      else if (this.keepalive > 0 && now - this.lastReceived > this.keepalive * 1500) this.fail('keepalive timeout', ReasonCode.KeepAliveTimeout);
    }
  }

  /** The codec rejected the client's bytes: close with the codec's reason. */
  codecError(error: CodecError): void {
    if (error.code === CodecErrorCode.PacketTooLarge) this.core.stats.packetsTooLarge++;
    else this.core.stats.protocolErrors++;
    if (this.state === 'new' && error.code === CodecErrorCode.UnsupportedProtocolVersion) {
      // Right protocol name, unknown level: CONNACK return code 1, then close [MQTT-3.1.2-2].
      this.version = 4;
      this.send({ type: 'connack', sessionPresent: false, reasonCode: ConnectReturnCode.UnacceptableProtocolVersion });
    }
    this.fail(`${error.code}: ${error.message}`, error.reasonCode);
  }

  /**
   * End the connection because of the client (protocol violation, time-out, hook failure): log
   * why, tell a 5.0 client with DISCONNECT when a reason is given, publish the will.
   */
  fail(why: string, reasonCode: number): void {
    if (this.state === 'closed') return;
    this.core.log.info(
      { clientId: this.clientId || undefined, remote: this.remoteAddress, reason: reasonName(reasonCode) },
      `closing connection: ${why}`,
    );
    if (this.state === 'connected' && this.version === 5 && reasonCode >= 0x80) {
      this.send({ type: 'disconnect', reasonCode });
    }
    this.terminate(why, true);
  }

  /** The server is shutting down: tell 5.0 clients (0x8B), publish wills as for any unclean close. */
  shutdown(): void {
    if (this.state === 'connected' && this.version === 5) {
      this.send({ type: 'disconnect', reasonCode: ReasonCode.ServerShuttingDown });
    }
    this.terminate('server shutting down', true);
  }

  /** Another connection took over this client id (3.1.1 [MQTT-3.1.4-2]; 5.0 [MQTT-3.1.4-3]: DISCONNECT 0x8E first). */
  takenOver(): void {
    if (this.version === 5) this.send({ type: 'disconnect', reasonCode: ReasonCode.SessionTakenOver });
    this.terminate('session taken over', true);
  }

  /** The transport reports the connection gone (peer closed, socket error). */
  transportClosed(error?: Error): void {
    if (this.state === 'closed') return;
    const why = error === undefined ? 'connection closed by client' : `socket error: ${error.message}`;
    this.terminate(why, true);
  }

  /**
   * The single place a connection ends. Synchronous, so a taking-over connection finds the
   * session already detached. The will is published unless a DISCONNECT discarded it
   * [MQTT-3.1.2-8], [MQTT-3.1.2-10].
   */
  terminate(why: string, publishWill: boolean): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.backlog = undefined;
    this.outbox.end();
    const core = this.core;
    core.closedChannel(this);
    core.flow.drained(this);
    core.flow.release(this);
    if (!wasConnected) return;
    core.stats.clientsConnected--;
    const will = this.will;
    this.will = undefined;
    core.registry.close(this, publishWill ? will : undefined);
    core.logConnection({ clientId: this.clientId, reason: why }, 'client disconnected');
    if (core.hooks.has('client.disconnected')) core.hooks.notify('client.disconnected', this.info(), why);
  }
}
