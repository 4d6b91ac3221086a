/**
 * The columns a rule sees, named as EMQX names them: for a message (`FROM "t/#"`) and for each
 * event source (`FROM "$events/client_connected"`). The broker adapter (attach.ts) fills these
 * from whatever the broker reports.
 */
import type { Value } from './ast.js';
import type { RuleEvent } from './ast.js';

/** A message as the engine receives it. */
export interface RuleMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  clientid?: string | undefined;
  username?: string | undefined;
  peerhost?: string | undefined;
  /** 5.0 user properties of the PUBLISH. */
  userProperties?: Array<[string, string]> | undefined;
  /** When the broker accepted it, ms since the epoch. */
  timestamp: number;
}

/** The columns of a message; `payload` is added lazily by the row. */
export function messageColumns(m: RuleMessage): Record<string, Value> {
  return {
    event: 'message.publish',
    topic: m.topic,
    qos: m.qos,
    retain: m.retain,
    flags: { retain: m.retain },
    clientid: m.clientid ?? null,
    username: m.username ?? null,
    peerhost: m.peerhost ?? null,
    pub_props: { 'User-Property': Object.fromEntries(m.userProperties ?? []) },
    timestamp: m.timestamp,
    publish_received_at: m.timestamp,
  };
}

/** EMQX's dotted event names, as the `event` column reports them. */
export const EVENT_NAMES: Record<RuleEvent, string> = {
  client_connected: 'client.connected',
  client_disconnected: 'client.disconnected',
  client_connack: 'client.connack',
  client_check_authz_complete: 'client.check_authz_complete',
  session_subscribed: 'session.subscribed',
  session_unsubscribed: 'session.unsubscribed',
  message_delivered: 'message.delivered',
  message_acked: 'message.acked',
  message_dropped: 'message.dropped',
  delivery_dropped: 'delivery.dropped',
};

/** The columns of an event: its name, its time, and what the adapter reported. */
export function eventColumns(event: RuleEvent, data: Record<string, Value>, timestamp: number): Record<string, Value> {
  return { ...data, event: EVENT_NAMES[event], timestamp };
}
