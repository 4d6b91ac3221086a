/**
 * When to try again: one timer at a time, delays from backoff.ts; the attempt counter goes back
 * to zero when a connection succeeds.
 */
import { backoffDelay } from './backoff.js';
import type { ReconnectOptions } from './options.js';

export class Reconnector {
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: Required<ReconnectOptions>) {}

  /** Calls `attempt(n)` (n counts from 1) after the next back-off delay. */
  schedule(attempt: (n: number) => void): void {
    this.cancel();
    const delay = backoffDelay(this.attempt, this.options);
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      attempt(this.attempt);
    }, delay);
  }

  succeeded(): void {
    this.attempt = 0;
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
