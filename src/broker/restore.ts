/**
 * Rebuilding the broker's state from the persistence store at start: messages (shared by
 * reference), retained messages, sessions with their expiry, subscriptions, queued and in-flight
 * deliveries (re-sent with DUP when their client reconnects [MQTT-4.4.0-1]), incoming QoS 2
 * packet ids, and wills waiting on a delay.
 */
import { parseSharedFilter } from '../protocol/validate.js';
import { topicMatches } from '../topics/index.js';
import type { BrokerCore } from './core.js';
import { Message } from './message.js';
import type { Persistence } from './persistence.js';
import type { ShareGroup } from './share-group.js';
import { Session, type Delivery, type SubscriptionEntry } from './session.js';
import type { RestoredState, Storage, StoredDelivery } from './storage.js';

export interface RestoreCounts {
  sessions: number;
  subscriptions: number;
  deliveries: number;
  retained: number;
  wills: number;
}

/**
 * Consume the store's streams in their declared order, building broker objects chunk by chunk
 * (the rows are never all held at once; one await per chunk, not per row). Expired retained
 * messages are dropped from the store here [MQTT-3.3.2-5]; sessions that never expire get
 * persistent_client_expiration, counted from when their client disconnected. Resolves once what
 * the restore deleted is committed.
 */
export async function restoreState(core: BrokerCore, persistence: Persistence, state: RestoredState): Promise<RestoreCounts> {
  const now = core.now();
  const messages = new MessagesById();
  for await (const chunk of state.messages) {
    for (const m of chunk) {
      const message = new Message(m.topic, m.payload, m.qos, m.retain, m.properties, m.origin, m.expiresAt);
      message.storedId = m.id;
      messages.set(m.id, message);
      persistence.restoredMessageId(m.id);
    }
  }
  let deleted = await restoreRetained(core, persistence.storage, messages, state.retained, now); // rows deleted here, committed at the end
  const sessions = await restoreSessions(core, state.sessions, now);
  const subscriptions = await restoreSubscriptions(core, state.subscriptions);
  const deliveries = await restoreAllDeliveries(core, messages, state.deliveries);
  for await (const chunk of state.incoming) for (const { clientId, packetId } of chunk) core.sessions.get(clientId)?.awaitRelease(packetId);
  const wills = await restoreWills(core, state.wills);
  // Messages no record refers to any more (a crash between writes) are garbage.
  for (const message of messages.all()) {
    if (message.storedRefs > 0) continue;
    persistence.storage.deleteMessage(message.storedId);
    deleted++;
  }
  if (deleted > 0) await persistence.restored();
  return { sessions, subscriptions, deliveries, retained: core.retained.size, wills };
}

/** Retained entries whose message is live; returns how many entries it deleted from the store. */
async function restoreRetained(core: BrokerCore, storage: Storage, messages: MessagesById, retained: RestoredState['retained'], now: number): Promise<number> {
  let deleted = 0;
  for await (const chunk of retained) {
    for (const { topic, messageId } of chunk) {
      const message = messages.get(messageId);
      if (message === undefined || message.isExpired(now)) {
        storage.deleteRetained(topic); // its message, now unreferenced, goes with the garbage
        deleted++;
        continue;
      }
      message.storedRefs++;
      core.retained.set(topic, message);
    }
  }
  return deleted;
}

async function restoreSessions(core: BrokerCore, stored: RestoredState['sessions'], now: number): Promise<number> {
  let sessions = 0;
  for await (const chunk of stored) {
    for (const s of chunk) {
      const session = new Session(s.clientId, core);
      session.stored = true;
      session.expiryInterval = restoredExpiry(s.expiryInterval, core.options.persistentClientExpiration);
      session.owner = s.username;
      session.listener = s.listener;
      core.registry.sessions.set(s.clientId, session);
      // Every restored session is disconnected: its expiry runs from when it disconnected, or from
      // now for a session whose client was connected when the broker stopped.
      const since = s.disconnectedAt === 0 ? now : s.disconnectedAt;
      core.registry.armExpiry(session, since + session.expiryInterval * 1000 - now);
      sessions++;
    }
  }
  return sessions;
}

async function restoreSubscriptions(core: BrokerCore, stored: RestoredState['subscriptions']): Promise<number> {
  let subscriptions = 0;
  for await (const chunk of stored) {
    for (const sub of chunk) {
      const session = core.sessions.get(sub.clientId);
      if (session === undefined) continue;
      const shared = parseSharedFilter(sub.rawFilter);
      const entry: SubscriptionEntry = {
        session,
        filter: shared?.filter ?? sub.rawFilter,
        rawFilter: sub.rawFilter,
        shareName: shared?.group,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        subscriptionId: sub.subscriptionId,
      };
      core.router.subscribe(entry);
      session.addSubscription(entry);
      subscriptions++;
    }
  }
  return subscriptions;
}

/**
 * Deliveries come as a stream ordered by session (one pass, never held whole): each session's
 * run is restored at once, since telling a share group's copies apart needs all of its copies.
 */
async function restoreAllDeliveries(core: BrokerCore, messages: MessagesById, stored: RestoredState['deliveries']): Promise<number> {
  let deliveries = 0;
  let run: StoredDelivery[] = [];
  for await (const chunk of stored) {
    for (const d of chunk) {
      if (run.length > 0 && run[0]?.clientId !== d.clientId) {
        deliveries += restoreDeliveries(core, messages, run);
        run = [];
      }
      run.push(d);
    }
  }
  return deliveries + restoreDeliveries(core, messages, run);
}

async function restoreWills(core: BrokerCore, stored: RestoredState['wills']): Promise<number> {
  let wills = 0;
  for await (const chunk of stored) {
    for (const w of chunk) {
      const session = core.sessions.get(w.clientId);
      if (session === undefined) continue;
      core.registry.delayWill(session, { topic: w.topic, payload: w.payload, qos: w.qos, retain: w.retain, ...(w.properties === undefined ? {} : { properties: w.properties }) }, w.publishAt);
      wills++;
    }
  }
  return wills;
}

/**
 * A restored session's expiry: persistent_client_expiration (as Mosquitto 2.0.15+) bounds the
 * sessions that would otherwise never expire, also those stored by a run without it.
 */
function restoredExpiry(stored: number, persistentClientExpiration: number | undefined): number {
  if (persistentClientExpiration === undefined || stored < 0xffffffff) return stored;
  return persistentClientExpiration;
}

/**
 * Restored messages by stored id, for the retained entries and deliveries that refer to them.
 * The ids come in ascending order and are mostly dense, so an array indexed by id - first id is
 * a fraction of a Map's memory and time at a million messages (V8 turns a very sparse array into
 * a dictionary by itself, no worse than a Map).
 */
class MessagesById {
  private readonly slots: Array<Message | undefined> = [];
  private first = -1;

  set(id: number, message: Message): void {
    if (this.first < 0) this.first = id;
    const index = id - this.first;
    if (index < 0) throw new Error(`stored message ids out of order (${id} after ${this.first})`);
    this.slots[index] = message;
  }

  get(id: number): Message | undefined {
    const index = id - this.first;
    return this.first < 0 || index < 0 ? undefined : this.slots[index];
  }

  *all(): Generator<Message> {
    for (const message of this.slots) if (message !== undefined) yield message;
  }
}

/** One session's stored deliveries (in order), back into its session; returns how many. */
function restoreDeliveries(core: BrokerCore, messages: MessagesById, run: readonly StoredDelivery[]): number {
  let restored = 0;
  const copies = copiesPerSession(run);
  const seen = new Map<string, number>();
  for (const d of run) {
    const session = core.sessions.get(d.clientId);
    const message = messages.get(d.messageId);
    if (session === undefined || message === undefined) continue;
    message.storedRefs++;
    const key = copyKey(d.clientId, d.messageId);
    const index = seen.get(key) ?? 0;
    seen.set(key, index + 1);
    const delivery: Delivery = {
      seq: d.seq,
      stored: true,
      ackBatch: 0,
      message,
      qos: d.qos,
      retain: d.retain,
      subscriptionIds: d.subscriptionIds,
      group: restoredGroup(core, session, message, index, copies.get(key) ?? 1),
      state: d.state === 1 ? 'pubrel' : 'publish',
    };
    session.restoreDelivery(delivery, d.packetId);
    restored++;
  }
  return restored;
}

const copyKey = (clientId: string, messageId: number): string => `${clientId}\u0000${messageId}`;

/** How many deliveries of each message each session holds. */
function copiesPerSession(deliveries: readonly StoredDelivery[]): Map<string, number> {
  const copies = new Map<string, number>();
  for (const d of deliveries) {
    const key = copyKey(d.clientId, d.messageId);
    copies.set(key, (copies.get(key) ?? 0) + 1);
  }
  return copies;
}

/**
 * The share group a restored delivery came through, so that it can still move to another member
 * when its session ends. The store keeps no group per delivery, so it is inferred from the
 * session's subscriptions: Router.route hands a message to each matching group before it makes
 * the one delivery for the session's plain subscriptions, so of the `copies` deliveries of one
 * message in a session (in order), the last is the plain one when a plain subscription matches,
 * and the others came through the matching groups, in order.
 */
function restoredGroup(core: BrokerCore, session: Session, message: Message, index: number, copies: number): ShareGroup | undefined {
  const groups: ShareGroup[] = [];
  let plain = false;
  for (const entry of session.subscriptions.values()) {
    if (!topicMatches(entry.filter, message.topic)) continue;
    if (entry.shareName === undefined) plain ||= !(entry.noLocal && message.origin === session.clientId);
    else {
      const group = core.router.group(entry.shareName, entry.filter);
      if (group !== undefined) groups.push(group);
    }
  }
  if (plain && index === copies - 1) return undefined;
  return groups[Math.min(index, groups.length - 1)];
}
