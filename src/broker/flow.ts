/**
 * Publisher throttling, so a flood is slowed to the pace of its subscribers instead of filling
 * the broker's memory and then being dropped.
 *
 * When routing a message leaves a subscriber with more than HIGH_WATER unsent bytes, the
 * publishing connection stops being read until that subscriber is back under LOW_WATER, or
 * MAX_PAUSE_MS at most. A subscriber that never reads cannot stall publishers: each pause is
 * bounded, and once the subscriber is past maxOutgoingBytes its QoS 0 messages are dropped
 * (or it is disconnected) instead of pausing anyone again.
 */
import type { Channel } from './channel.js';

export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
const MAX_PAUSE_MS = 50;

export class FlowControl {
  /** The channel whose PUBLISH is being routed, if any. */
  current: Channel | undefined;

  /** A delivery of the current message left `subscriber` with more than HIGH_WATER unsent. */
  congested(subscriber: Channel, maxOutgoingBytes: number): void {
    const publisher = this.current;
    if (publisher === undefined || publisher === subscriber || publisher.throttledBy !== undefined) return;
    if (subscriber.outbox.pendingBytes > maxOutgoingBytes) return; // hopeless: drop, do not stall
    publisher.throttledBy = subscriber;
    (subscriber.waiters ??= []).push(publisher);
    publisher.outbox.pauseInput();
    publisher.throttleTimer = setTimeout(() => this.release(publisher), MAX_PAUSE_MS);
  }

  /** `subscriber` is under LOW_WATER again (or gone): resume the publishers it held back. */
  drained(subscriber: Channel): void {
    const waiters = subscriber.waiters;
    if (waiters === undefined) return;
    subscriber.waiters = undefined;
    for (const publisher of waiters) if (publisher.throttledBy === subscriber) this.release(publisher);
  }

  /** Resume a throttled publisher. */
  release(publisher: Channel): void {
    if (publisher.throttledBy === undefined) return;
    clearTimeout(publisher.throttleTimer);
    publisher.throttledBy = undefined;
    publisher.throttleTimer = undefined;
    publisher.outbox.resumeInput();
  }
}
