/**
 * $SYS topics, named and formatted as Mosquitto 2.0 publishes them (its src/sys_tree.c; the list
 * is compared with a real Mosquitto in test/interop/sys-topics.test.ts), published retained
 * every `sys_interval` seconds, only the values that changed since the last round.
 *
 * Loads (`load/<what>/1min|5min|15min`) are Mosquitto's: the rate per minute over the last
 * interval, smoothed exponentially with a time constant of 1, 5 and 15 minutes, two decimals.
 */
import type { BrokerCore } from './core.js';
import { clearLongTimeout, setLongTimeout, type LongTimeout } from './long-timer.js';
import type { Message } from './message.js';

export const BROKER_VERSION = '0.1.0';

const LOADS = [
  ['messages/received', 'packetsReceived'],
  ['messages/sent', 'packetsSent'],
  ['publish/dropped', 'messagesDropped'],
  ['publish/received', 'messagesReceived'],
  ['publish/sent', 'messagesSent'],
  ['bytes/received', 'bytesReceived'],
  ['bytes/sent', 'bytesSent'],
  ['sockets', 'socketsOpened'],
  ['connections', 'clientsTotal'],
] as const;
const PERIODS = [
  ['1min', 60],
  ['5min', 300],
  ['15min', 900],
] as const;

export class SysPublisher {
  private timer: LongTimeout | undefined;
  private intervalMs = 0;
  private readonly last = new Map<string, string>();
  /** Smoothed loads by topic, and the counters and time of the previous round. */
  private readonly loads = new Map<string, number>();
  private previous: Record<string, number> = {};
  private previousAt = 0;
  private heapMaximum = 0;

  constructor(private readonly core: BrokerCore) {}

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    this.core.publishAsBroker('$SYS/broker/version', Buffer.from(`cicada version ${BROKER_VERSION}`), 0, true);
    this.previousAt = this.core.now();
    this.previous = { ...this.core.stats };
    this.publishChanged();
    // sys_interval goes up to 2^31 s: a long timer, re-armed each round (setInterval would spin).
    this.intervalMs = intervalSeconds * 1000;
    this.timer = setLongTimeout(this.tick, this.intervalMs, this.core.clock);
  }

  stop(): void {
    clearLongTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    this.publishChanged();
    this.timer = setLongTimeout(this.tick, this.intervalMs, this.core.clock);
  };

  /** The current value of every periodic $SYS topic. */
  values(): Array<[string, string]> {
    const core = this.core;
    const s = core.stats;
    const uptime = Math.floor((core.now() - core.startedAt) / 1000);
    const disconnected = Math.max(0, core.sessions.size - core.connected.size);
    const heap = process.memoryUsage().heapUsed;
    if (heap > this.heapMaximum) this.heapMaximum = heap;
    const store = this.store();
    return [
      ['$SYS/broker/uptime', `${uptime} seconds`],
      ['$SYS/broker/clients/total', String(core.sessions.size)],
      ['$SYS/broker/clients/inactive', String(disconnected)],
      ['$SYS/broker/clients/disconnected', String(disconnected)],
      ['$SYS/broker/clients/active', String(s.clientsConnected)],
      ['$SYS/broker/clients/connected', String(s.clientsConnected)],
      ['$SYS/broker/clients/expired', String(s.clientsExpired)],
      ['$SYS/broker/clients/maximum', String(s.clientsMaximum)],
      ...this.loadValues(),
      ['$SYS/broker/messages/stored', String(store.count)],
      ['$SYS/broker/messages/received', String(s.packetsReceived)],
      ['$SYS/broker/messages/sent', String(s.packetsSent)],
      ['$SYS/broker/store/messages/count', String(store.count)],
      ['$SYS/broker/store/messages/bytes', String(store.bytes)],
      ['$SYS/broker/subscriptions/count', String(core.router.subscriptionCount)],
      ['$SYS/broker/shared_subscriptions/count', String(core.router.sharedSubscriptionCount)],
      ['$SYS/broker/retained messages/count', String(core.retained.size)],
      ['$SYS/broker/heap/current', String(heap)],
      ['$SYS/broker/heap/maximum', String(this.heapMaximum)],
      ['$SYS/broker/publish/messages/dropped', String(s.messagesDropped)],
      ['$SYS/broker/publish/messages/received', String(s.messagesReceived)],
      ['$SYS/broker/publish/messages/sent', String(s.messagesSent)],
      ['$SYS/broker/publish/bytes/received', String(s.publishBytesReceived)],
      ['$SYS/broker/publish/bytes/sent', String(s.publishBytesSent)],
      ['$SYS/broker/bytes/received', String(s.bytesReceived)],
      ['$SYS/broker/bytes/sent', String(s.bytesSent)],
      ['$SYS/broker/retained messages/refused', String(s.retainedRefused)],
    ];
  }

  /** Each load: rate per minute since the previous round, smoothed over 1, 5 and 15 minutes. */
  private loadValues(): Array<[string, string]> {
    const now = this.core.now();
    const seconds = Math.max(0.001, (now - this.previousAt) / 1000);
    const stats = this.core.stats as unknown as Record<string, number>;
    const out: Array<[string, string]> = [];
    for (const [name, counter] of LOADS) {
      const perMinute = (((stats[counter] ?? 0) - (this.previous[counter] ?? 0)) / seconds) * 60;
      for (const [period, span] of PERIODS) {
        const topic = `$SYS/broker/load/${name}/${period}`;
        const old = this.loads.get(topic) ?? 0;
        const value = perMinute + Math.exp(-seconds / span) * (old - perMinute);
        this.loads.set(topic, value);
        out.push([topic, value.toFixed(2)]);
      }
    }
    this.previous = { ...stats };
    this.previousAt = now;
    return out;
  }

  /** Messages held by the broker (retained, queued, in flight), each counted once, and their payload bytes. */
  private store(): { count: number; bytes: number } {
    const core = this.core;
    const seen = new Set<Message>();
    for (const message of core.retained.match('#')) seen.add(message);
    for (const message of core.retained.match('$SYS/#')) seen.add(message);
    for (const session of core.sessions.values()) {
      for (const delivery of session.queue) seen.add(delivery.message);
      for (const delivery of session.inflight.values()) seen.add(delivery.message);
    }
    let bytes = 0;
    for (const message of seen) bytes += message.payload.length;
    return { count: seen.size, bytes };
  }

  private publishChanged(): void {
    for (const [topic, value] of this.values()) {
      if (this.last.get(topic) === value) continue;
      this.last.set(topic, value);
      this.core.publishAsBroker(topic, Buffer.from(value), 0, true);
    }
  }
}
