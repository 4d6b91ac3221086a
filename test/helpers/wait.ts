/**
 * Timing helpers shared by every black-box test: every wait in the suite goes through one of
 * these, so every wait has a timeout and a message that says what was awaited. A test waits for
 * the condition it needs (waitFor, withTimeout, a round trip on a connection: RawClient.
 * expectNothingPending, Inbox.expectNoMore), never for a time that stands for "it has happened";
 * `elapse` is for the tests where time passing is the behaviour (keepalive, expiry, delays).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Let `ms` pass because the behaviour under test depends on time passing; `why` says what. */
export async function elapse(ms: number, why: string): Promise<void> {
  if (why === '') throw new Error('elapse: say which time-dependent behaviour the wait is for');
  await sleep(ms);
}

/** Resolve with `promise`, or reject with `what timed out after N ms` once `ms` have passed. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `condition` every `intervalMs` until it holds; throw after `ms`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, ms: number, what: string, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: condition not met within ${ms} ms`);
    await sleep(intervalMs);
  }
}
