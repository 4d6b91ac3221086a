/**
 * The admin facade: everything the admin HTTP API (and later $SYS) may see or do in the core,
 * with plain calls and plain objects. It reads sessions and connections only through
 * `core.sessions`, `core.connected` and `core.channels`, so a change in how sessions are kept
 * touches this file alone.
 *
 * Lists are filtered, sorted and cut into pages here; a page is at most MAX_LIMIT items, and a
 * listing walks the sessions once (no copies of the store).
 */
import { hostname } from 'node:os';
import type { Properties, ProtocolVersion, QoS } from '../protocol/packets.js';
import { isValidTopicFilter, isValidTopicName } from '../protocol/index.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { topicMatches } from '../topics/index.js';
import type { Channel } from './channel.js';
import type { BrokerCore } from './core.js';
import { HookPriority } from './hooks.js';
import { brokerOwnedTopic } from './limits.js';
import { Message } from './message.js';
import type { Session, SubscriptionEntry } from './session.js';
import { BROKER_VERSION } from './sys.js';

/** Largest page. */
export const MAX_LIMIT = 1000;

export interface Page<T> {
  data: T[];
  meta: { page: number; limit: number; count: number; hasnext: boolean };
}

export interface Paging {
  /** 1-based. */
  page?: number;
  limit?: number;
}

export interface ClientQuery extends Paging {
  /** Client ids starting with this. */
  clientId?: string;
  username?: string;
  /** Remote address, exactly. */
  ip?: string;
  /** 3 (3.1), 4 (3.1.1) or 5. */
  protocol?: ProtocolVersion;
  connected?: boolean;
  /** Only clients with queued messages. */
  queued?: boolean;
  /** Only clients that had messages dropped. */
  dropped?: boolean;
  sort?: ClientSortField;
  order?: 'asc' | 'desc';
}

export const CLIENT_SORT_FIELDS = ['clientId', 'username', 'ip', 'connectedAt', 'queueLength', 'inflight', 'dropped', 'subscriptions'] as const;
export type ClientSortField = (typeof CLIENT_SORT_FIELDS)[number];

export interface ClientSummary {
  clientId: string;
  username: string | null;
  ip: string | null;
  listener: string | null;
  protocol: ProtocolVersion | null;
  connected: boolean;
  /** ms since the epoch, when connected. */
  connectedAt: number | null;
  keepalive: number | null;
  queueLength: number;
  inflight: number;
  dropped: number;
  subscriptions: number;
  /** Session Expiry Interval, s. */
  expiryInterval: number;
}

export interface SubscriptionView {
  clientId: string;
  /** As the client sent it ($share/... included). */
  filter: string;
  /** Without the $share prefix. */
  topic: string;
  qos: QoS;
  shareGroup: string | null;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number | null;
}

export interface ClientDetail extends ClientSummary {
  queuedBytes: number;
  inflightBytes: number;
  awaitingRelease: number;
  /** ms since the epoch when a disconnected session ends; null: never, or connected. */
  expiresAt: number | null;
  will: { topic: string; qos: QoS; retain: boolean; payloadBytes: number; delayInterval: number; pending: boolean } | null;
  tls: { enabled: boolean; certificateSubject: string | null; certificateCommonName: string | null };
  subscriptionList: SubscriptionView[];
}

export interface SubscriptionQuery extends Paging {
  clientId?: string;
  /** The filter exactly as subscribed (without $share/group/). */
  topic?: string;
  /** Subscriptions whose filter matches this topic name. */
  matching?: string;
  qos?: QoS;
  shareGroup?: string;
}

export interface RetainedView {
  topic: string;
  qos: QoS;
  payloadBytes: number;
  /** ms since the epoch, or null. */
  expiresAt: number | null;
}

export interface AdminPublish {
  topic: string;
  payload: Buffer;
  qos?: QoS;
  retain?: boolean;
  /** 5.0 properties (message expiry, content type, response topic, correlation data, user properties, payload format). */
  properties?: Properties;
}

export interface ListenerState {
  name: string;
  url: string;
  port: number;
  protocol: 'mqtt' | 'websockets';
  tls: boolean;
  running: boolean;
  connections: number;
}

/** A failed admin action: `kind` says which HTTP answer fits (400 bad input, 404 not found). */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly kind: 'invalid' | 'not-found',
    message: string,
    /** The input that was wrong. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export class AdminFacade {
  /** The listeners' state, from the composition root (the core knows no sockets). */
  listenerStates: () => ListenerState[] = () => [];

  constructor(readonly core: BrokerCore) {}

  // ---- clients -----------------------------------------------------------------------------

  /** Clients (sessions, connected or not, and connected clients), filtered, sorted, one page. */
  clients(query: ClientQuery = {}): Page<ClientSummary> {
    const rows: ClientSummary[] = [];
    for (const id of this.clientIds()) {
      const row = this.summary(id);
      if (row !== undefined && clientMatches(row, query)) rows.push(row);
    }
    const field = query.sort ?? 'clientId';
    const sign = query.order === 'desc' ? -1 : 1;
    rows.sort((a, b) => sign * compare(a[field], b[field]) || compare(a.clientId, b.clientId));
    return paginate(rows, query);
  }

  /** One client's session in detail; undefined when there is none. */
  client(clientId: string): ClientDetail | undefined {
    const summary = this.summary(clientId);
    if (summary === undefined) return undefined;
    const channel = this.core.connected.get(clientId);
    const session = this.core.sessions.get(clientId) ?? channel?.session;
    const will = channel?.will;
    const pending = session?.pendingWill;
    return {
      ...summary,
      queuedBytes: session?.queuedBytes ?? 0,
      inflightBytes: session?.inflightBytes ?? 0,
      awaitingRelease: session?.awaitingRelease.size ?? 0,
      expiresAt: channel === undefined ? (session?.expiryTimer?.deadline ?? null) : null,
      will:
        will !== undefined
          ? { topic: will.topic, qos: will.qos, retain: will.retain, payloadBytes: will.payload.length, delayInterval: will.properties?.willDelayInterval ?? 0, pending: false }
          : pending !== undefined
            ? { topic: '', qos: 0, retain: false, payloadBytes: 0, delayInterval: 0, pending: true }
            : null,
      tls: {
        // The transport's listener options carry its TLS settings (the core's view, ListenerRules, does not).
        enabled: (channel?.listenerOptions as { tls?: unknown } | undefined)?.tls !== undefined,
        certificateSubject: channel?.certificate?.subject ?? null,
        certificateCommonName: channel?.certificate?.commonName ?? null,
      },
      subscriptionList: session === undefined ? [] : [...session.subscriptions.values()].map((entry) => subscriptionView(clientId, entry)),
    };
  }

  /**
   * Disconnect a client (5.0: DISCONNECT 0x98 Administrative action); its session stays as its
   * expiry says. False when it is not connected.
   */
  kick(clientId: string): boolean {
    const channel = this.core.connected.get(clientId);
    if (channel === undefined) return false;
    channel.fail('kicked by an administrator', ReasonCode.AdministrativeAction);
    return true;
  }

  /** Kick several; the ids that were connected. */
  kickMany(clientIds: readonly string[]): string[] {
    return clientIds.filter((id) => this.kick(id));
  }

  /** End a client's session (kicking it first; its will goes as on any unclean close); false when it had none. */
  deleteSession(clientId: string): boolean {
    const session = this.core.sessions.get(clientId);
    if (session !== undefined) session.endReason = 'deleted'; // a session that ends with the kick ends as deleted too
    const kicked = this.kick(clientId);
    if (session === undefined) return kicked;
    if (this.core.sessions.get(clientId) === session) this.core.registry.discard(session, 'deleted');
    return true;
  }

  /** End every disconnected session (stale ones); how many. */
  deleteDisconnectedSessions(): number {
    const stale = [...this.core.sessions.values()].filter((s) => !this.core.connected.has(s.clientId));
    for (const session of stale) this.core.registry.discard(session, 'deleted');
    return stale.length;
  }

  // ---- subscriptions -----------------------------------------------------------------------

  subscriptions(query: SubscriptionQuery = {}): Page<SubscriptionView> {
    if (query.matching !== undefined && !isValidTopicName(query.matching)) throw new AdminError('invalid', 'not a valid topic name', 'matching');
    const rows: SubscriptionView[] = [];
    const sessions = query.clientId !== undefined ? [this.core.sessions.get(query.clientId) ?? this.core.connected.get(query.clientId)?.session] : this.core.sessions.values();
    for (const session of sessions) {
      if (session === undefined) continue;
      for (const entry of session.subscriptions.values()) {
        const view = subscriptionView(session.clientId, entry);
        if (subscriptionMatches(view, query)) rows.push(view);
      }
    }
    rows.sort((a, b) => compare(a.clientId, b.clientId) || compare(a.filter, b.filter));
    return paginate(rows, query);
  }

  // ---- retained messages -------------------------------------------------------------------

  /** Retained messages under a topic prefix (whole levels: `a/b` lists `a/b` and `a/b/...`); '' lists all but `$` topics. */
  retainedMessages(prefix: string, paging: Paging = {}): Page<RetainedView> {
    const filter = retainedFilter(prefix);
    const rows = this.core.retained.match(filter).map(retainedView);
    rows.sort((a, b) => compare(a.topic, b.topic));
    return paginate(rows, paging);
  }

  retainedMessage(topic: string): Message | undefined {
    if (!isValidTopicName(topic)) throw new AdminError('invalid', 'not a valid topic name', 'topic');
    return this.core.retained.get(topic);
  }

  deleteRetained(topic: string): boolean {
    if (!isValidTopicName(topic)) throw new AdminError('invalid', 'not a valid topic name', 'topic');
    return this.core.deleteRetained(topic);
  }

  /** Delete the retained messages of a topic and everything below it; how many. */
  deleteRetainedTree(prefix: string): number {
    if (prefix === '') throw new AdminError('invalid', 'give a topic prefix (deleting every retained message at once is not offered)', 'topic');
    const topics = this.core.retained.match(retainedFilter(prefix)).map((m) => m.topic);
    let deleted = 0;
    for (const topic of topics) if (this.core.deleteRetained(topic)) deleted++;
    return deleted;
  }

  // ---- publish -----------------------------------------------------------------------------

  /** Throws the AdminError publish would throw. */
  checkPublish(request: AdminPublish): void {
    const { topic } = request;
    if (!isValidTopicName(topic)) throw new AdminError('invalid', 'not a valid topic name (no +, #, empty or NUL)', 'topic');
    if (brokerOwnedTopic(topic)) throw new AdminError('invalid', 'topics under $SYS and $share belong to the broker', 'topic');
    const response = request.properties?.responseTopic;
    if (response !== undefined && !isValidTopicName(response)) throw new AdminError('invalid', 'the response topic is not a valid topic name', 'properties.responseTopic');
  }

  /** Publish as the broker (to every matching subscription, as a client's PUBLISH). */
  publish(request: AdminPublish): void {
    this.checkPublish(request);
    const { topic } = request;
    const expiry = request.properties?.messageExpiryInterval;
    const message = new Message(topic, request.payload, request.qos ?? 0, request.retain ?? false, request.properties, undefined, expiry === undefined ? 0 : this.core.now() + expiry * 1000);
    this.core.publish(message, undefined);
  }

  // ---- node, stats, listeners -----------------------------------------------------------------

  node(): { name: string; version: string; uptimeSeconds: number; startedAt: number; pid: number; memory: NodeJS.MemoryUsage; nodeVersion: string } {
    const core = this.core;
    return {
      name: hostname(),
      version: BROKER_VERSION,
      uptimeSeconds: Math.floor((core.now() - core.startedAt) / 1000),
      startedAt: core.startedAt,
      pid: process.pid,
      memory: process.memoryUsage(),
      nodeVersion: process.version,
    };
  }

  stats(): Record<string, number> {
    const core = this.core;
    const dropped = Object.fromEntries(Object.entries(core.droppedByReason).map(([why, n]) => [`messagesDropped.${why}`, n]));
    return { ...core.stats, sessions: core.sessions.size, connections: core.channels.size, ...dropped };
  }

  /** Messages queued for, and in flight to, all sessions. */
  queueTotals(): { queued: number; inflight: number } {
    let queued = 0;
    let inflight = 0;
    for (const session of this.core.sessions.values()) {
      queued += session.queue.length;
      inflight += session.inflight.size;
    }
    return { queued, inflight };
  }

  /** Messages dropped, by reason. */
  droppedByReason(): Readonly<Record<string, number>> {
    return this.core.droppedByReason;
  }

  /** Every message accepted for routing (the dashboard's topic tree); returns the function that stops it. */
  watchMessages(listener: (topic: string, payload: Buffer, qos: QoS, retain: boolean) => void): () => void {
    // An observer: after every callback that may change or stop a message.
    return this.core.hooks.add('message.routed', (message) => void listener(message.topic, message.payload, message.qos, message.retain), HookPriority.listeners);
  }

  listeners(): ListenerState[] {
    const counts = new Map<string, number>();
    for (const channel of this.core.channels) {
      const name = channel.listener ?? '';
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return this.listenerStates().map((l) => ({ ...l, connections: counts.get(l.name) ?? 0 }));
  }

  // ---- helpers -----------------------------------------------------------------------------

  private *clientIds(): Iterable<string> {
    yield* this.core.sessions.keys();
    for (const id of this.core.connected.keys()) if (!this.core.sessions.has(id)) yield id;
  }

  private summary(clientId: string): ClientSummary | undefined {
    const channel: Channel | undefined = this.core.connected.get(clientId);
    const session: Session | undefined = this.core.sessions.get(clientId) ?? channel?.session;
    if (channel === undefined && session === undefined) return undefined;
    return {
      clientId,
      username: channel?.username ?? session?.owner ?? null,
      ip: channel === undefined ? null : addressOnly(channel.remoteAddress),
      listener: channel?.listener ?? session?.listener ?? null,
      protocol: channel?.version ?? null,
      connected: channel !== undefined,
      connectedAt: channel?.openedAt ?? null,
      keepalive: channel?.keepalive ?? null,
      queueLength: session?.queue.length ?? 0,
      inflight: session?.inflight.size ?? 0,
      dropped: session?.dropped ?? 0,
      subscriptions: session?.subscriptions.size ?? 0,
      expiryInterval: session?.expiryInterval ?? 0,
    };
  }
}

/** The IP of a remote address, which the transport gives as `ip:port` (IPv6 too: `::1:5000`), or `unix`. */
function addressOnly(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(remote.slice(colon + 1)) ? remote.slice(0, colon) : remote;
}

function clientMatches(row: ClientSummary, q: ClientQuery): boolean {
  return (
    (q.clientId === undefined || row.clientId.startsWith(q.clientId)) &&
    (q.username === undefined || row.username === q.username) &&
    (q.ip === undefined || row.ip === q.ip) &&
    (q.protocol === undefined || row.protocol === q.protocol) &&
    (q.connected === undefined || row.connected === q.connected) &&
    (q.queued === undefined || row.queueLength > 0 === q.queued) &&
    (q.dropped === undefined || row.dropped > 0 === q.dropped)
  );
}

function subscriptionMatches(view: SubscriptionView, q: SubscriptionQuery): boolean {
  return (
    (q.topic === undefined || view.topic === q.topic) &&
    (q.qos === undefined || view.qos === q.qos) &&
    (q.shareGroup === undefined || view.shareGroup === q.shareGroup) &&
    (q.matching === undefined || topicMatches(view.topic, q.matching))
  );
}

function subscriptionView(clientId: string, entry: SubscriptionEntry): SubscriptionView {
  return {
    clientId,
    filter: entry.rawFilter,
    topic: entry.filter,
    qos: entry.qos,
    shareGroup: entry.shareName ?? null,
    noLocal: entry.noLocal,
    retainAsPublished: entry.retainAsPublished,
    retainHandling: entry.retainHandling,
    subscriptionId: entry.subscriptionId === 0 ? null : entry.subscriptionId,
  };
}

function retainedView(message: Message): RetainedView {
  return { topic: message.topic, qos: message.qos, payloadBytes: message.payload.length, expiresAt: message.expiresAt === 0 ? null : message.expiresAt };
}

/** The filter of a retained prefix: whole topic levels, no wildcards of the caller's. */
function retainedFilter(prefix: string): string {
  if (prefix === '') return '#';
  if (!isValidTopicName(prefix)) throw new AdminError('invalid', 'not a valid topic prefix (no +, #, empty or NUL)', 'topic');
  const filter = `${prefix}/#`;
  if (!isValidTopicFilter(filter)) throw new AdminError('invalid', 'not a valid topic prefix', 'topic');
  return filter;
}

function compare(a: string | number | boolean | null, b: string | number | boolean | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function paginate<T>(rows: T[], paging: Paging): Page<T> {
  const limit = Math.min(Math.max(1, Math.floor(paging.limit ?? 100)), MAX_LIMIT);
  const page = Math.max(1, Math.floor(paging.page ?? 1));
  const start = (page - 1) * limit;
  return { data: rows.slice(start, start + limit), meta: { page, limit, count: rows.length, hasnext: start + limit < rows.length } };
}
