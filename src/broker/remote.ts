/**
 * A remote target: a route target (./route-target.ts) that is not a local session but a peer
 * taking message copies (another node of a cluster, a bridge, a rule sink). The peer implements
 * `RemotePeer`; the core wraps it in a `RemoteTarget`, added to the router with
 * `Router.addRemote`, which gives it the guarantees a socket has:
 *
 * - Commit gate: a copy that would report uncommitted state (a QoS 2 copy, or a copy of a QoS 2
 *   publication, while persistence has uncommitted writes; see `copyWaitsForCommit`) is held
 *   until the commit, and every copy after it waits behind it, so the peer sees them in order.
 * - Back-pressure: what it holds and what the peer reports pending (`pendingBytes`) count as the
 *   unsent bytes of a socket do: past HIGH_WATER the publisher is paused (./flow.ts) until the
 *   peer reports progress and is under LOW_WATER; past `maxOutgoingBytes` its QoS 0 copies are
 *   dropped and counted, as a slow socket's are.
 */
import type { QoS } from '../protocol/packets.js';
import type { BrokerStats } from './api.js';
import { HIGH_WATER, LOW_WATER, type FlowControl, type FlowPublisher, type FlowSubscriber } from './flow.js';
import { copyWaitsForCommit, type Message } from './message.js';
import type { CommitWaiter, Persistence } from './persistence.js';
import { Readiness, type RouteTarget } from './route-target.js';

/** What a remote peer implements. */
export interface RemotePeer {
  /** Take one copy of a message. */
  take(message: Message, qos: QoS, retain: boolean, subscriptionIds: readonly number[] | undefined): void;
  /** Bytes taken and not yet passed on (0 for a peer that passes everything on at once). */
  readonly pendingBytes: number;
}

/** What a remote target needs of the broker (BrokerCore has it all). */
export interface RemoteHost {
  readonly flow: FlowControl;
  readonly persistence: Persistence | undefined;
  readonly stats: BrokerStats;
  readonly options: { readonly maxOutgoingBytes: number };
}

/** A copy held back until the commit. */
interface HeldCopy {
  readonly message: Message;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  /** The persistence batch open when it was held: it goes once that batch is committed. */
  readonly batch: number;
}

export class RemoteTarget implements RouteTarget, FlowSubscriber, CommitWaiter {
  routeEpoch = 0;
  routeQos: QoS = 0;
  routeRetain = false;
  routeSubIds: number[] | undefined;
  waiters: FlowPublisher[] | undefined;
  flowStalled = false;
  /** QoS 0 copies dropped because the peer was past maxOutgoingBytes. */
  dropped = 0;
  private held: HeldCopy[] | undefined;
  private heldBytes = 0;
  private awaitingCommit = false;
  private closed = false;

  /** `name` is what the route's No Local compares with (remote routes never set No Local). */
  constructor(
    private readonly host: RemoteHost,
    readonly clientId: string,
    readonly peer: RemotePeer,
  ) {}

  /** Bytes held here for the commit plus those the peer has not passed on. */
  get pendingBytes(): number {
    return this.heldBytes + this.peer.pendingBytes;
  }

  deliver(message: Message, qos: QoS, retain: boolean, subscriptionIds: readonly number[] | undefined): void {
    if (this.closed) return;
    const host = this.host;
    const pending = this.pendingBytes;
    if (qos === 0 && pending > host.options.maxOutgoingBytes) {
      this.dropped++;
      host.stats.messagesDropped++;
      return;
    }
    if (this.held !== undefined || (copyWaitsForCommit(message, qos) && host.persistence?.uncommitted === true)) {
      this.hold({ message, qos, retain, subscriptionIds, batch: host.persistence?.openBatch ?? 0 });
    } else this.peer.take(message, qos, retain, subscriptionIds);
    const after = this.pendingBytes;
    if (after > HIGH_WATER) host.flow.congested(this, after > host.options.maxOutgoingBytes);
  }

  private hold(copy: HeldCopy): void {
    (this.held ??= []).push(copy);
    this.heldBytes += copy.message.payload.length;
    this.awaitCommit(copy.batch);
  }

  private awaitCommit(batch: number): void {
    if (this.awaitingCommit) return;
    this.awaitingCommit = true;
    (this.host.persistence as Persistence).waitForCommit(this, batch);
  }

  /**
   * A batch was committed: the held copies whose batch is durable go, in order; a copy of a later
   * batch (held while a commit was in flight) and those behind it wait for that batch's commit.
   */
  committed(): void {
    this.awaitingCommit = false;
    const held = this.held;
    if (held === undefined || this.closed) return;
    const persistence = this.host.persistence as Persistence;
    let sent = 0;
    // The peer may close the target while taking a copy: what is left is dropped with it.
    while (!this.closed && sent < held.length && persistence.isCommitted((held[sent] as HeldCopy).batch)) {
      const copy = held[sent] as HeldCopy;
      this.heldBytes -= copy.message.payload.length;
      this.peer.take(copy.message, copy.qos, copy.retain, copy.subscriptionIds);
      sent++;
    }
    if (this.closed) return;
    if (sent === held.length) {
      this.held = undefined;
      this.heldBytes = 0;
      return;
    }
    this.held = held.slice(sent);
    this.awaitCommit((this.held[0] as HeldCopy).batch);
  }

  /** The peer passed copies on (sent, acknowledged): publishers it held back may go on. */
  progress(): void {
    this.host.flow.progress(this);
  }

  caughtUp(): boolean {
    return this.pendingBytes < LOW_WATER;
  }

  /** Share groups prefer members that are not behind. */
  readiness(): Readiness {
    if (this.closed) return Readiness.Offline;
    return this.held === undefined && this.peer.pendingBytes <= HIGH_WATER ? Readiness.Ready : Readiness.Busy;
  }

  /** The peer is gone: copies held are dropped, publishers it held back go on. */
  close(): void {
    this.closed = true;
    this.held = undefined;
    this.heldBytes = 0;
    this.host.flow.drained(this);
  }
}
