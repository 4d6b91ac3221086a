/**
 * A clock whose time moves only when a test says so (`advance`), for unit tests of the core
 * (src/broker/clock.ts) and of the long timer: timers fire in order of their due time, each at
 * its own time, synchronously inside `advance`. No sleeping, no real timers.
 */
import type { Clock } from '../../src/broker/clock.js';

interface Timer {
  at: number;
  /** 0 for a one-shot timer, else the interval's period. */
  every: number;
  callback: () => void;
}

/** Most timer callbacks one `advance` runs (a 250 ms interval over 30 days would be 10 million). */
const MAX_FIRED = 100_000;

export class FakeClock implements Clock {
  /** The time timers run on, in ms. */
  time = 1_700_000_000_000;
  /** What now() adds to `time` (a wall clock set back or forward). */
  skew = 0;
  /** Every delay setTimeout was asked for. */
  readonly delays: number[] = [];
  private readonly pending = new Map<number, Timer>();
  private nextId = 1;

  now(): number {
    return this.time + this.skew;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    this.delays.push(ms);
    return this.add({ at: this.time + ms, every: 0, callback });
  }

  setInterval(callback: () => void, ms: number): unknown {
    if (ms <= 0) throw new Error('FakeClock.setInterval: the period must be positive');
    return this.add({ at: this.time + ms, every: ms, callback });
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers pending. */
  get timers(): number {
    return this.pending.size;
  }

  /**
   * Move time forward by `ms`, running every timer that falls due, earliest first (in the order
   * they were set when due together). Throws past MAX_FIRED callbacks: stop the core's intervals
   * (or do not start it) before jumping days ahead.
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (let fired = 0; ; fired++) {
      const next = this.nextDue(end);
      if (next === undefined) break;
      if (fired === MAX_FIRED) throw new Error(`FakeClock.advance(${ms}): more than ${MAX_FIRED} timer callbacks`);
      const [id, timer] = next;
      this.time = timer.at;
      if (timer.every > 0) timer.at += timer.every;
      else this.pending.delete(id);
      timer.callback();
    }
    this.time = end;
  }

  private add(timer: Timer): number {
    const id = this.nextId++;
    this.pending.set(id, timer);
    return id;
  }

  private nextDue(end: number): [number, Timer] | undefined {
    let next: [number, Timer] | undefined;
    for (const entry of this.pending) if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
    return next;
  }
}
