/**
 * The session registry (EMQX's connection manager, emqx_cm): who owns each client id, and the
 * life of a session around its connections. Opening a session claims the client id, takes over
 * the connection that held it (3.1.1 [MQTT-3.1.4-2], 5.0 [MQTT-3.1.4-3]), discards the old
 * session on Clean Session / Clean Start 1 (3.1.1 [MQTT-3.1.2-6], 5.0 [MQTT-3.1.2-4]) or
 * resumes it, or creates one; closing detaches it, starts its expiry and its will delay; expiry
 * and discard end it. The handlers and the channel call only this.
 *
 * Operations may be asynchronous: `open` returns a promise when the claim is not local (a
 * cluster's registry claims the id in a shared store, with an epoch that fences the previous
 * owner's late writes), and `Channel.defer` keeps the client's later packets behind it. The local
 * registry answers synchronously, so a CONNECT costs no extra event-loop turn. When the channel
 * closed before an asynchronous `open` settled, the CONNECT handler calls `release`.
 *
 * Invariants: `connected` holds at most one channel per client id, and a channel leaves it only
 * when it ends (`close`, or `release` before its CONNACK); `sessions` holds every session, connected or not, and a session leaves
 * it only through `discard`; each claim has an epoch greater than every earlier one.
 */
import { randomBytes } from 'node:crypto';
import type { Will } from '../protocol/packets.js';
import type { Channel } from './channel.js';
import type { BrokerCore } from './core.js';
import type { SessionEndReason } from './hooks.js';
import { clearLongTimeout, setLongTimeout, setLongTimeoutAt } from './long-timer.js';
import type { ClientInfo } from './options.js';
import { deliverShared } from './router.js';
import { Session } from './session.js';

/** What opening a session gives the connection. */
export interface OpenedSession {
  readonly session: Session;
  /** A session was resumed (CONNACK Session Present) [MQTT-3.2.2-1], [MQTT-3.2.2-2], [MQTT-3.2.2-3]. */
  readonly present: boolean;
  /** The epoch of the claim: greater than that of every earlier claim. */
  readonly epoch: number;
}

export class SessionRegistry {
  /** Every session by client id, connected or not. */
  readonly sessions = new Map<string, Session>();
  /** The connected channel of each client id. */
  readonly connected = new Map<string, Channel>();
  private epoch = 0;

  constructor(private readonly core: BrokerCore) {}

  /**
   * A client id for a client that sent an empty one [MQTT-3.1.3-6]: 128 random bits (like
   * Mosquitto's `auto-<UUID>`), so no client can guess the next one and plant a session under it,
   * and never the id of a session the server holds [MQTT-3.2.2-16] (a repeat is astronomically
   * unlikely; the loop makes it impossible).
   */
  assignClientId(): string {
    for (;;) {
      const id = `${this.core.options.autoIdPrefix}${randomBytes(16).toString('hex')}`;
      if (!this.sessions.has(id) && !this.connected.has(id)) return id;
    }
  }

  /**
   * Claim `channel.clientId` for `channel` and give it a session: the previous connection of the
   * id is closed, a session is resumed (unless `clean`, or it was made by another user) or created,
   * its expiry timer and delayed will are cancelled, and it is stored if it outlives `channel`.
   * `expiryInterval` is the session's new Session Expiry Interval in seconds.
   */
  open(channel: Channel, clean: boolean, expiryInterval: number): OpenedSession | Promise<OpenedSession> {
    return this.attach(channel, clean, expiryInterval, ++this.epoch);
  }

  /** The local part of `open`, once the claim of `epoch` is held. */
  protected attach(channel: Channel, clean: boolean, expiryInterval: number, epoch: number): OpenedSession {
    const core = this.core;
    const clientId = channel.clientId;
    // Session takeover: the existing connection of this client id is closed (3.1.1
    // [MQTT-3.1.4-2]; 5.0 [MQTT-3.1.4-3]: after DISCONNECT 0x8E, see Channel.takenOver).
    const previous = this.connected.get(clientId);
    if (previous !== undefined) {
      core.log.info({ clientId, remote: channel.remoteAddress }, 'client id in use: taking over the session');
      previous.takenOver();
    }
    let session = this.sessions.get(clientId);
    if (session !== undefined && clean) {
      // Clean Session / Clean Start discards any existing session (3.1.1 [MQTT-3.1.2-6], 5.0 [MQTT-3.1.2-4]).
      this.discard(session, 'clean-start');
      session = undefined;
    }
    if (session !== undefined && session.owner !== channel.username) {
      // A persistent session is resumed only by the user who made it: another user gets a fresh one.
      core.log.warn({ clientId, username: channel.username, owner: session.owner }, 'client id of a session made by another user: starting a fresh session');
      this.discard(session, 'other-user');
      session = undefined;
    }
    const present = session !== undefined; // [MQTT-3.2.2-1], [MQTT-3.2.2-2], [MQTT-3.2.2-3]
    if (session === undefined) {
      session = new Session(clientId, core);
      session.owner = channel.username;
      this.sessions.set(clientId, session);
    }
    session.listener = channel.listener;
    clearLongTimeout(session.expiryTimer);
    this.cancelWill(session);
    session.expiryInterval = expiryInterval;
    channel.session = session;
    // A session that outlives its connection is stored (the persistence issue's contract).
    if (session.expiryInterval > 0) core.persistence?.saveSession(session, 0);
    // A resumed session that now ends with its connection (5.0 Session Expiry 0) must not come back
    // after a crash: its stored state goes before the CONNACK (which waits for that commit).
    else core.persistence?.dropSession(session);
    this.connected.set(clientId, channel);
    return { session, present, epoch };
  }

  /**
   * A connected channel ended (from `Channel.terminate`, synchronously, so a taking-over
   * connection finds the session detached): `will` (undefined when a DISCONNECT discarded it, or
   * there was none) is published or delayed, and the session is detached and kept for its expiry
   * interval, or ended.
   */
  close(channel: Channel, will: Will | undefined): void {
    if (this.connected.get(channel.clientId) === channel) this.connected.delete(channel.clientId);
    const session = channel.session;
    if (will !== undefined) this.willDue(channel, will, session);
    if (session !== undefined && session.link === channel) {
      session.detach();
      this.expireLater(session);
    }
  }

  /**
   * `channel` closed before the asynchronous `open` that gave it `session` settled (no CONNACK
   * went out): the claim is given back and the session kept for its expiry interval, or ended.
   */
  release(channel: Channel, session: Session): void {
    if (this.connected.get(channel.clientId) === channel) this.connected.delete(channel.clientId);
    if (session.link === undefined && this.sessions.get(session.clientId) === session) this.expireLater(session);
  }

  /**
   * A connection ended without DISCONNECT: its will is due. 5.0 Will Delay Interval: publish
   * when the delay passes or the session ends, whichever is first; a reconnection to the
   * session before then cancels it [MQTT-3.1.3-9].
   */
  private willDue(channel: Channel, will: Will, session: Session | undefined): void {
    const delay = channel.version === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
    if (delay === 0 || session === undefined || session.expiryInterval === 0) {
      this.core.publishWill(channel, will);
      return;
    }
    const seconds = Math.min(delay, session.expiryInterval);
    this.delayWill(session, will, this.core.now() + seconds * 1000);
  }

  /** Keep a will until `publishAt` (or until its session ends or reconnects). */
  delayWill(session: Session, will: Will, publishAt: number): void {
    const core = this.core;
    const client: ClientInfo = { clientId: session.clientId, username: session.owner, remoteAddress: '', listener: session.listener };
    const publish = (): void => {
      core.persistence?.dropWill(session);
      core.publishWillOf(client, will);
    };
    // Up to 2^32-1 s, from the client or the store: a long timer [MQTT-3.1.3-9].
    const timer = setLongTimeoutAt(
      () => {
        session.pendingWill = undefined;
        publish();
      },
      publishAt,
      core.clock,
    );
    session.pendingWill = { timer, publish };
    core.persistence?.saveWill(session, will, publishAt);
  }

  /** A client reconnected to its session: a delayed will is not sent [MQTT-3.1.3-9]. */
  private cancelWill(session: Session): void {
    if (session.pendingWill === undefined) return;
    clearLongTimeout(session.pendingWill.timer);
    session.pendingWill = undefined;
    this.core.persistence?.dropWill(session);
  }

  /** End a session: its subscriptions go, its queued messages are freed, a delayed will goes now. */
  discard(session: Session, reason: SessionEndReason): void {
    const core = this.core;
    clearLongTimeout(session.expiryTimer);
    const will = session.pendingWill;
    if (will !== undefined) {
      // The session ends before the will delay passed: the will goes now.
      clearLongTimeout(will.timer);
      session.pendingWill = undefined;
      will.publish();
    }
    for (const entry of session.subscriptions.values()) core.router.unsubscribe(session, entry);
    const moved = session.takeShared();
    core.persistence?.dropSession(session);
    for (const delivery of moved) {
      const group = delivery.group;
      if (group !== undefined && group.members.length > 0) deliverShared(group, delivery.message, undefined, core.router.upgradeQos);
    }
    session.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    core.stats.subscriptions = core.router.subscriptionCount;
    if (core.hooks.has('session.terminated')) core.hooks.notify('session.terminated', session.clientId, reason);
  }

  /** Keep a disconnected session for its expiry interval, then end it. */
  private expireLater(session: Session): void {
    if (session.expiryInterval === 0) {
      this.discard(session, session.endReason ?? 'closed');
      return;
    }
    this.core.persistence?.saveSession(session, this.core.now());
    this.armExpiry(session, session.expiryInterval * 1000);
  }

  /** End the (disconnected) session after `ms`, unless it never expires. */
  armExpiry(session: Session, ms: number): void {
    if (session.expiryInterval >= 0xffffffff) return; // never expires
    clearLongTimeout(session.expiryTimer);
    // Up to 2^32-2 s (months, years): Node's setTimeout alone would fire at once past 24.8 days.
    session.expiryTimer = setLongTimeout(() => this.expire(session), ms, this.core.clock);
  }

  private expire(session: Session): void {
    if (session.link !== undefined) return;
    this.core.stats.clientsExpired++;
    this.discard(session, 'expired');
  }

  /** The broker stops: no session expires and no will is published by a timer any more. */
  stop(): void {
    for (const session of this.sessions.values()) {
      clearLongTimeout(session.expiryTimer);
      clearLongTimeout(session.pendingWill?.timer);
    }
  }
}
