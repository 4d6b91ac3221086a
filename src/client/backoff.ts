/**
 * Reconnect delays: exponential back-off with jitter.
 *
 * attempt n (0-based) waits base = min(maxDelay, initialDelay * factor^n), then a random part of
 * it is taken off: delay = base * (1 - jitter * random), so delay is in [base * (1 - jitter), base].
 * The attempt counter resets once a connection succeeds (CONNACK accepted).
 */
import type { ReconnectOptions } from './options.js';

export function backoffDelay(attempt: number, options: Required<ReconnectOptions>, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelay, options.initialDelay * Math.pow(options.factor, attempt));
  return Math.round(base * (1 - options.jitter * random()));
}
