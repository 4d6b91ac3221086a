/**
 * $SYS topics, named as Mosquitto 2 names them, published retained every `sys_interval` seconds
 * (only the values that changed since the last round, as Mosquitto does).
 */
import type { BrokerCore } from './core.js';

export const BROKER_VERSION = '0.1.0';

export class SysPublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly last = new Map<string, string>();

  constructor(private readonly core: BrokerCore) {}

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    this.core.publishAsBroker('$SYS/broker/version', Buffer.from(`cicada version ${BROKER_VERSION}`), 0, true);
    this.publishChanged();
    this.timer = setInterval(() => this.publishChanged(), intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The current value of every periodic $SYS topic. */
  values(): Array<[string, string]> {
    const core = this.core;
    const s = core.stats;
    const uptime = Math.floor((Date.now() - core.startedAt) / 1000);
    const disconnected = core.sessions.size - core.connected.size;
    return [
      ['$SYS/broker/uptime', `${uptime} seconds`],
      ['$SYS/broker/clients/connected', String(s.clientsConnected)],
      ['$SYS/broker/clients/active', String(s.clientsConnected)],
      ['$SYS/broker/clients/disconnected', String(Math.max(0, disconnected))],
      ['$SYS/broker/clients/inactive', String(Math.max(0, disconnected))],
      ['$SYS/broker/clients/total', String(core.sessions.size)],
      ['$SYS/broker/messages/received', String(s.messagesReceived)],
      ['$SYS/broker/messages/sent', String(s.messagesSent)],
      ['$SYS/broker/publish/messages/received', String(s.messagesReceived)],
      ['$SYS/broker/publish/messages/sent', String(s.messagesSent)],
      ['$SYS/broker/publish/messages/dropped', String(s.messagesDropped)],
      ['$SYS/broker/bytes/received', String(s.bytesReceived)],
      ['$SYS/broker/bytes/sent', String(s.bytesSent)],
      ['$SYS/broker/subscriptions/count', String(core.router.subscriptionCount)],
      ['$SYS/broker/retained messages/count', String(core.retained.size)],
      ['$SYS/broker/retained messages/refused', String(s.retainedRefused)],
      ['$SYS/broker/heap/current', String(process.memoryUsage().heapUsed)],
    ];
  }

  private publishChanged(): void {
    for (const [topic, value] of this.values()) {
      if (this.last.get(topic) === value) continue;
      this.last.set(topic, value);
      this.core.publishAsBroker(topic, Buffer.from(value), 0, true);
    }
  }
}
