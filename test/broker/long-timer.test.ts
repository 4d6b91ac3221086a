/**
 * The long timer (src/broker/long-timer.ts) on a fake clock: delays past Node's 2^31-1 ms limit
 * fire when due, never before, never twice, never after cancel, and the real setTimeout is never
 * asked for more than it can hold.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clearLongTimeout, MAX_TIMER_MS, setLongTimeout, setLongTimeoutAt } from '../../src/broker/long-timer.js';
import { FakeClock } from '../helpers/fake-clock.js';

const DAY_MS = 86_400_000;

describe('long timer', () => {
  for (const [name, ms] of [
    ['30 days (2,592,000 s)', 30 * DAY_MS],
    ['999,999,999 s', 999_999_999_000],
    ['2^32-1 s, the largest interval MQTT allows', 0xffffffff * 1000],
  ] as const) {
    test(`${name}: not fired before the delay, fired once when it passes`, () => {
      const clock = new FakeClock();
      let fired = 0;
      setLongTimeout(() => fired++, ms, clock);
      clock.advance(1);
      assert.equal(fired, 0, 'fired after 1 ms (Node turns delays over 2^31-1 ms into 1 ms)');
      clock.advance(MAX_TIMER_MS);
      assert.equal(fired, 0, 'fired after 24.8 days');
      clock.advance(ms - MAX_TIMER_MS - 2);
      assert.equal(fired, 0, 'fired 1 ms early');
      clock.advance(1);
      assert.equal(fired, 1);
      clock.advance(10 * MAX_TIMER_MS);
      assert.equal(fired, 1, 'fired twice');
      assert.equal(clock.timers, 0, 'a timer left behind');
      assert.ok(
        clock.delays.every((d) => d >= 0 && d <= MAX_TIMER_MS),
        `setTimeout asked for ${Math.max(...clock.delays)} ms`,
      );
    });
  }

  test('cancelled in the middle of a long wait: never fires, no timer left', () => {
    const clock = new FakeClock();
    let fired = 0;
    const timer = setLongTimeout(() => fired++, 60 * DAY_MS, clock);
    clock.advance(40 * DAY_MS);
    clearLongTimeout(timer);
    clock.advance(40 * DAY_MS);
    assert.equal(fired, 0);
    assert.equal(clock.timers, 0);
    clearLongTimeout(undefined); // harmless
  });

  test('short delays behave as setTimeout; a deadline in the past fires on the next wake-up', () => {
    const clock = new FakeClock();
    const order: string[] = [];
    setLongTimeout(() => order.push('50 ms'), 50, clock);
    setLongTimeoutAt(() => order.push('past'), clock.now() - 5000, clock);
    assert.deepEqual(order, [], 'ran synchronously');
    clock.advance(0);
    assert.deepEqual(order, ['past']);
    clock.advance(49);
    assert.deepEqual(order, ['past']);
    clock.advance(1);
    assert.deepEqual(order, ['past', '50 ms']);
  });

  test('an absolute deadline restored from the store (years ahead) is kept across wake-ups', () => {
    const clock = new FakeClock();
    const deadline = clock.now() + 3 * 365 * DAY_MS;
    let firedAt = 0;
    setLongTimeoutAt(() => (firedAt = clock.now()), deadline, clock);
    clock.advance(3 * 365 * DAY_MS + DAY_MS);
    assert.equal(firedAt, deadline);
  });

  test('the wall clock set back while waiting: the timer wakes, finds it early and sleeps on to its deadline', () => {
    const clock = new FakeClock();
    let firedAt = 0;
    const deadline = clock.now() + 10_000;
    setLongTimeout(() => (firedAt = clock.now()), 10_000, clock);
    clock.skew = -5000;
    clock.advance(10_000);
    assert.equal(firedAt, 0, 'fired before the deadline by the clock');
    clock.advance(5000);
    assert.equal(firedAt, deadline);
  });
});
