/**
 * Publisher throttling, so a flood is slowed to the pace of its subscribers instead of filling
 * the broker's memory and then being dropped.
 *
 * When routing a message leaves a subscriber with more than HIGH_WATER unsent bytes, or with its
 * QoS 1/2 queue half full, the publishing connection stops being read until that subscriber is
 * back under LOW_WATER and a quarter of its queue, or MAX_PAUSE_MS at most. A subscriber that never reads cannot stall publishers: each pause is
 * bounded; a subscriber that made no progress during a whole pause is marked `flowStalled` and
 * pauses nobody again until it shows progress (a write completes, an acknowledgement arrives);
 * and once it is past maxOutgoingBytes its QoS 0 messages are dropped (or it is disconnected).
 *
 * Subscribers and publishers are seen through two small interfaces, so the same rules hold for
 * a socket's channel and for a remote target (./remote.ts: a cluster link, a bridge, a rule sink).
 */
import type { Clock } from './clock.js';

export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
const MAX_PAUSE_MS = 50;

/** A receiver that can fall behind: a connected channel, a remote target. */
export interface FlowSubscriber {
  /** Publishers it holds back. */
  waiters: FlowPublisher[] | undefined;
  /** Made no progress during a whole pause: it pauses no publisher until it does. */
  flowStalled: boolean;
  /** Whether it caught up enough to release the publishers it held back. */
  caughtUp(): boolean;
}

/** Whatever a paused publisher stops reading. */
export interface InputControl {
  pauseInput(): void;
  resumeInput(): void;
}

/** A source of messages that can be paused: a connected channel (its socket stops being read). */
export interface FlowPublisher {
  /** The subscriber this publisher waits for. */
  throttledBy: FlowSubscriber | undefined;
  throttleTimer: unknown;
  readonly outbox: InputControl;
}

export class FlowControl {
  /** The publisher whose message is being routed, if any. */
  current: FlowPublisher | undefined;

  constructor(private readonly clock: Clock) {}

  /**
   * A delivery of the current message left `subscriber` behind: more than HIGH_WATER unsent
   * bytes, or a queue half full. `hopeless` when it is past its bounds already (its messages are
   * dropped; pausing publishers would only stall them).
   */
  congested(subscriber: FlowSubscriber, hopeless: boolean): void {
    const publisher = this.current;
    if (publisher === undefined || (publisher as unknown) === subscriber || publisher.throttledBy !== undefined || hopeless) return;
    if (subscriber.flowStalled) return;
    publisher.throttledBy = subscriber;
    (subscriber.waiters ??= []).push(publisher);
    publisher.outbox.pauseInput();
    publisher.throttleTimer = this.clock.setTimeout(() => {
      subscriber.flowStalled = true; // no progress in a whole pause: stop waiting for it
      this.release(publisher);
    }, MAX_PAUSE_MS);
  }

  /** `subscriber` made progress (took bytes, acknowledged): release its publishers if it caught up. */
  progress(subscriber: FlowSubscriber): void {
    subscriber.flowStalled = false;
    if (subscriber.waiters !== undefined && subscriber.caughtUp()) this.drained(subscriber);
  }

  /** `subscriber` is under LOW_WATER again (or gone): resume the publishers it held back. */
  drained(subscriber: FlowSubscriber): void {
    const waiters = subscriber.waiters;
    if (waiters === undefined) return;
    subscriber.waiters = undefined;
    for (const publisher of waiters) if (publisher.throttledBy === subscriber) this.release(publisher);
  }

  /** Resume a throttled publisher. */
  release(publisher: FlowPublisher): void {
    if (publisher.throttledBy === undefined) return;
    this.clock.clearTimeout(publisher.throttleTimer);
    publisher.throttledBy = undefined;
    publisher.throttleTimer = undefined;
    publisher.outbox.resumeInput();
  }
}
