/**
 * The clock the protocol core reads and sleeps on, given to `BrokerCore` (default: the real one).
 * Every time the core reads (keepalive, CONNECT time-out, message and session expiry, will delay,
 * rate windows, $SYS) and every timer it sets goes through it, so a unit test can drive the core
 * with a fake clock and plain calls, without sleeping.
 *
 * Timers the core sets never keep the process alive (the real clock unrefs them).
 */
import type { TimerClock } from './long-timer.js';

export interface Clock extends TimerClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Call `callback` once after `ms` (at most 2^31-1: longer delays use ./long-timer.ts). */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Call `callback` every `ms`. */
  setInterval(callback: () => void, ms: number): unknown;
  /** Cancel a timer of either kind (undefined is ignored). */
  clearTimeout(handle: unknown): void;
}

function systemSetTimeout(callback: () => void, ms: number): unknown {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return timer;
}

function systemSetInterval(callback: () => void, ms: number): unknown {
  const timer = setInterval(callback, ms);
  timer.unref();
  return timer;
}

function systemClearTimeout(handle: unknown): void {
  clearTimeout(handle as NodeJS.Timeout | undefined);
}

/** Date.now and Node's timers, unref'd. */
export const systemClock: Clock = { now: Date.now, setTimeout: systemSetTimeout, setInterval: systemSetInterval, clearTimeout: systemClearTimeout };
