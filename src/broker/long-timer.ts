/**
 * Timers for delays longer than Node's timers can hold. Node's setTimeout keeps at most
 * 2^31-1 ms (24.8 days) and turns any longer delay into 1 ms; MQTT lets a client ask for up to
 * 2^32-1 s (136 years) of Session Expiry, Will Delay or Message Expiry. A `LongTimeout` keeps an
 * absolute deadline and sleeps in steps of at most `MAX_TIMER_MS`, checking the clock at each
 * wake-up, so any delay (and any deadline restored from the store) fires when it is due.
 *
 * Invariants: the callback runs at most once, never before `deadline` by the clock, and never
 * after `clearLongTimeout`; no delay passed to the clock's setTimeout exceeds `MAX_TIMER_MS`.
 * Every timer is unref'd: a pending expiry never keeps the process alive.
 */

/** The longest delay Node's setTimeout honours (2^31-1 ms). */
export const MAX_TIMER_MS = 0x7fffffff;

/** The clock a long timer reads and sleeps on (the core's ./clock.ts: the real one, or a test's). */
export interface TimerClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export class LongTimeout {
  private handle: unknown;
  private done = false;

  constructor(
    private readonly callback: () => void,
    /** When the callback is due, in the clock's ms. */
    readonly deadline: number,
    private readonly clock: TimerClock,
  ) {
    this.arm();
  }

  /** Sleep toward the deadline, at most MAX_TIMER_MS at a time. */
  private arm(): void {
    const remaining = Math.max(0, this.deadline - this.clock.now());
    this.handle = this.clock.setTimeout(this.wake, Math.min(remaining, MAX_TIMER_MS));
  }

  private readonly wake = (): void => {
    this.handle = undefined;
    if (this.done) return;
    if (this.clock.now() < this.deadline) {
      this.arm();
      return;
    }
    this.done = true;
    this.callback();
  };

  cancel(): void {
    this.done = true;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}

/** Call `callback` after `ms` (any non-negative number, however large). */
export function setLongTimeout(callback: () => void, ms: number, clock: TimerClock): LongTimeout {
  return new LongTimeout(callback, clock.now() + Math.max(0, ms), clock);
}

/** Call `callback` at the absolute time `deadline` (ms since the epoch for the system clock). */
export function setLongTimeoutAt(callback: () => void, deadline: number, clock: TimerClock): LongTimeout {
  return new LongTimeout(callback, deadline, clock);
}

export function clearLongTimeout(timer: LongTimeout | undefined): void {
  timer?.cancel();
}
