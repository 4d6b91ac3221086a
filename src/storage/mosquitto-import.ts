/**
 * Migration from Mosquitto: a parsed mosquitto.db (mosquitto-db.ts) written into a Cicada store
 * as the records the broker restores at start (src/broker/restore.ts).
 *
 * - Retained messages (RETAIN chunks) become retained entries; their message keeps its topic,
 *   payload, QoS, 5.0 properties and expiry.
 * - Persistent sessions (CLIENT chunks with a Session Expiry Interval above 0; 3.1.1 clean-session-0
 *   clients have 0xFFFFFFFF) keep their expiry: a session counting down when Mosquitto stopped
 *   counts on from when its client disconnected. Sessions already expired are left out.
 * - Their subscriptions (SUB chunks: QoS, No Local, Retain As Published, subscription identifier).
 * - Their outgoing QoS 1/2 messages (CLIENT_MSG, direction out), in Mosquitto's order: queued ones
 *   stay queued; those in flight keep their packet id and are sent again with DUP on reconnection;
 *   a QoS 2 message whose PUBREL was sent waits for PUBCOMP.
 * - Not imported, and counted in `skipped`: expired messages, QoS 0 messages queued for offline
 *   clients, and incoming QoS 2 messages that their publisher had not released yet (Mosquitto
 *   delivers those at PUBREL; Cicada delivers at PUBLISH, so it cannot take them over, and the
 *   publisher's PUBREL is answered "packet identifier not found"). Shared subscriptions, wills and
 *   bridge state are not in Mosquitto 2.0's file.
 */
import { readFileSync } from 'node:fs';
import type { QoS } from '../protocol/packets.js';
import { forwardedProperties } from '../broker/message.js';
import type { Rows, Storage, StoredDelivery, StoredMessage } from '../broker/storage.js';
import { MosquittoDbError, MsgState, parseMosquittoDb, type MosquittoClientMessage, type MosquittoDb, type MosquittoMessage } from './mosquitto-db.js';

export interface ImportCounts {
  retained: number;
  sessions: number;
  subscriptions: number;
  /** Queued and in-flight QoS 1/2 messages of the sessions. */
  messages: number;
  /** Records left out (expired, QoS 0 queued, unreleased incoming QoS 2, no session). */
  skipped: number;
}

const NEVER = 0xffffffff;

/** One line for logs and the CLI: what was imported. */
export function describeImport(file: string, counts: ImportCounts): string {
  const skipped = counts.skipped > 0 ? ` (${counts.skipped} expired or not importable records left out)` : '';
  return `imported Mosquitto persistence file ${file}: ${counts.retained} retained messages, ${counts.sessions} sessions, ${counts.subscriptions} subscriptions, ${counts.messages} queued messages${skipped}`;
}

/** Read and parse a mosquitto.db; any failure is a MosquittoDbError naming the file (one line). */
export function readMosquittoDb(file: string): MosquittoDb {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new MosquittoDbError(`cannot read Mosquitto persistence file ${file} (${e.code ?? e.message})`, { cause: error });
  }
  try {
    return parseMosquittoDb(bytes);
  } catch (error) {
    if (!(error instanceof MosquittoDbError)) throw error;
    throw new MosquittoDbError(`cannot import Mosquitto persistence file ${file}: ${error.message}`, { cause: error });
  }
}

/** Whether a store holds nothing yet (no session, retained message or will): safe to import into. */
export async function storeIsEmpty(storage: Storage): Promise<boolean> {
  const state = storage.load();
  // In load()'s declared order (a backend may stream the fields one after the other).
  return (await isEmpty(state.messages)) && (await isEmpty(state.retained)) && (await isEmpty(state.sessions)) && (await isEmpty(state.wills));
}

async function isEmpty(rows: Rows<unknown>): Promise<boolean> {
  for await (const chunk of rows) if (chunk.length > 0) return false;
  return true;
}

/** Write `db` into an empty `storage` (buffered: the caller commits). `now`: ms since the epoch. */
export function importMosquittoDb(db: MosquittoDb, storage: Storage, now = Date.now()): ImportCounts {
  const counts: ImportCounts = { retained: 0, sessions: 0, subscriptions: 0, messages: 0, skipped: 0 };
  const nowSeconds = Math.floor(now / 1000);
  const live = (m: MosquittoMessage | undefined): m is MosquittoMessage => m !== undefined && (m.expiryTime === 0 || m.expiryTime > nowSeconds);
  const stored = new Map<string, number>(); // Mosquitto store id -> Cicada message id
  const messageId = (m: MosquittoMessage): number => {
    let id = stored.get(m.storeId);
    if (id === undefined) {
      id = stored.size + 1;
      stored.set(m.storeId, id);
      storage.putMessage(toStoredMessage(id, m));
    }
    return id;
  };

  const retainedTopics = new Set<string>();
  for (const storeId of db.retained) {
    const message = db.messages.get(storeId);
    if (!live(message) || retainedTopics.has(message.topic)) {
      counts.skipped++;
      continue;
    }
    retainedTopics.add(message.topic);
    storage.putRetained(message.topic, messageId(message));
    counts.retained++;
  }

  const sessions = new Set<string>();
  for (const client of db.clients) {
    const expired = client.sessionExpiryTime !== 0 && client.sessionExpiryTime <= nowSeconds;
    if (client.sessionExpiryInterval === 0 || expired || sessions.has(client.clientId)) {
      counts.skipped++;
      continue;
    }
    sessions.add(client.clientId);
    const counting = client.sessionExpiryTime !== 0 && client.sessionExpiryInterval !== NEVER;
    storage.putSession({
      clientId: client.clientId,
      expiryInterval: client.sessionExpiryInterval,
      // 0: expiry counts from the broker's start (restore.ts), as for a client connected at a stop.
      disconnectedAt: counting ? Math.max(0, client.sessionExpiryTime - client.sessionExpiryInterval) * 1000 : 0,
    });
    counts.sessions++;
  }

  for (const sub of db.subscriptions) {
    if (!sessions.has(sub.clientId)) {
      counts.skipped++;
      continue;
    }
    storage.putSubscription({
      clientId: sub.clientId,
      rawFilter: sub.topicFilter,
      qos: sub.qos,
      noLocal: (sub.options & 0x04) !== 0,
      retainAsPublished: (sub.options & 0x08) !== 0,
      retainHandling: ((sub.options >> 4) & 0x03) as 0 | 1 | 2,
      subscriptionId: sub.identifier,
    });
    counts.subscriptions++;
  }

  const seqs = new Map<string, number>();
  for (const cm of db.clientMessages) {
    const message = db.messages.get(cm.storeId);
    const delivery = sessions.has(cm.clientId) && live(message) ? toDelivery(cm) : undefined;
    if (delivery === undefined || message === undefined) {
      counts.skipped++;
      continue;
    }
    const seq = (seqs.get(cm.clientId) ?? 0) + 1;
    seqs.set(cm.clientId, seq);
    storage.putDelivery({ ...delivery, clientId: cm.clientId, seq, messageId: messageId(message) }, true);
    counts.messages++;
  }
  return counts;
}

function toStoredMessage(id: number, m: MosquittoMessage): StoredMessage {
  return {
    id,
    topic: m.topic,
    payload: Buffer.from(m.payload), // a copy: the file's buffer is not kept
    qos: m.qos,
    retain: m.retain,
    properties: m.properties === undefined ? undefined : forwardedProperties(m.properties),
    origin: m.sourceId === '' ? undefined : m.sourceId,
    expiresAt: m.expiryTime * 1000,
  };
}

/** An outgoing QoS 1/2 message of a session as a delivery, or undefined when it is not one. */
function toDelivery(cm: MosquittoClientMessage): Omit<StoredDelivery, 'clientId' | 'seq' | 'messageId'> | undefined {
  if (cm.direction !== 1 || cm.qos === 0) return undefined;
  const base = { qos: cm.qos as QoS, retain: cm.retain, subscriptionIds: cm.subscriptionIdentifier > 0 ? [cm.subscriptionIdentifier] : undefined };
  switch (cm.state) {
    case MsgState.queued:
    case MsgState.publishQos1:
    case MsgState.publishQos2:
      return { ...base, packetId: 0, state: 0 }; // not sent yet
    case MsgState.waitForPuback:
    case MsgState.waitForPubrec:
      return cm.mid === 0 ? undefined : { ...base, packetId: cm.mid, state: 0 };
    case MsgState.resendPubrel:
    case MsgState.waitForPubcomp:
      return cm.mid === 0 || cm.qos !== 2 ? undefined : { ...base, packetId: cm.mid, state: 1 };
    default:
      return undefined;
  }
}
