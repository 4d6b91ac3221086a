// The overview charts' history (src/admin/stats-history.ts) with a fake clock: rates between
// samples, the three rings (5 s for 1 h, 1 min for 24 h, 10 min for 7 d), downsampling by
// time-weighted mean and the fixed bound on points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTORY_RANGES, StatsHistory, type LoadCounters } from '../../src/admin/stats-history.js';

function setup(): { history: StatsHistory; counters: LoadCounters; step: (ms: number, received: number, connections?: number) => void; now: () => number } {
  let t = 0;
  const counters: LoadCounters = { clientsConnected: 0, messagesReceived: 0, messagesSent: 0, messagesDropped: 0, bytesReceived: 0, bytesSent: 0 };
  const history = new StatsHistory(() => counters, 5000, () => t);
  history.sample(); // baseline at t = 0
  const step = (ms: number, received: number, connections?: number): void => {
    t += ms;
    counters.messagesReceived += received;
    counters.messagesSent += received * 2;
    counters.bytesReceived += received * 100;
    if (connections !== undefined) counters.clientsConnected = connections;
    history.sample();
  };
  return { history, counters, step, now: () => t };
}

void test('stats history: a point per sample with the rates per second since the previous one', () => {
  const { history, step } = setup();
  step(5000, 500, 3);
  step(5000, 1000, 4);
  const { stepMs, points } = history.query(HISTORY_RANGES['1h']!);
  assert.equal(stepMs, 5000);
  assert.deepEqual(
    points.map((p) => [p.at, p.connections, p.received, p.sent, p.bytesIn]),
    [
      [0, 3, 100, 200, 10_000],
      [5000, 4, 200, 400, 20_000],
    ],
  );
});

void test('stats history: the 1 h ring keeps 720 points; older ones leave it but stay averaged in the coarser rings', () => {
  const { history, step } = setup();
  for (let i = 0; i < 2 * 720; i++) step(5000, i < 720 ? 50 : 100, 1); // 2 h: 10 msg/s, then 20 msg/s
  const hour = history.query(HISTORY_RANGES['1h']!);
  assert.equal(hour.points.length, 720, 'bounded to one hour of 5 s points');
  assert.ok(hour.points.every((p) => p.received === 20), 'only the last hour');
  assert.equal(hour.points[0]!.at, 3_600_000, 'oldest first');
  const day = history.query(HISTORY_RANGES['24h']!);
  assert.equal(day.stepMs, 60_000);
  assert.equal(day.points.length, 120, 'two hours of 1-minute points');
  assert.ok(day.points.slice(0, 60).every((p) => p.received === 10));
  assert.ok(day.points.slice(60).every((p) => p.received === 20));
  const week = history.query(HISTORY_RANGES['7d']!);
  assert.equal(week.stepMs, 600_000);
  assert.deepEqual(
    week.points.map((p) => p.received),
    [10, 10, 10, 10, 10, 10, 20, 20, 20, 20, 20, 20],
  );
});

void test('stats history: downsampling weights each sample by its duration (a late sample counts for its whole gap)', () => {
  const { history, step } = setup();
  step(50_000, 5000); // 100 msg/s for 50 s
  step(10_000, 0); // 0 msg/s for 10 s: the minute's mean is 100 * 50/60
  step(5000, 0); // into the next minute: closes the first
  const first = history.query(HISTORY_RANGES['24h']!).points[0]!;
  assert.equal(first.at, 0);
  assert.ok(Math.abs(first.received - (100 * 50) / 60) < 1e-9, `time-weighted mean, got ${first.received}`);
});

void test('stats history: seven days at most, whatever the run time (fixed memory)', () => {
  const { history, step } = setup();
  for (let i = 0; i < 8 * 24 * 6; i++) step(600_000, 60); // 8 days in 10-minute samples
  const week = history.query(HISTORY_RANGES['7d']!).points;
  assert.ok(week.length <= 1009, `at most 1,008 closed points and the open one, got ${week.length}`);
  assert.ok(week.length >= 1007);
  assert.equal(history.query(HISTORY_RANGES['1h']!).points.length, 6, '1 h of 10-minute samples in the fine ring');
});

void test('stats history: counters that go backwards give a rate of 0, not a negative one; a clock that does not advance adds no point', () => {
  const { history, counters, step } = setup();
  step(5000, 100);
  counters.messagesReceived = 0;
  step(5000, 0);
  step(0, 50);
  const points = history.query(HISTORY_RANGES['1h']!).points;
  assert.deepEqual(points.map((p) => p.received), [20, 0]);
});

void test('stats history: an interval outside 1..60000 ms is refused', () => {
  assert.throws(() => new StatsHistory(() => ({}) as LoadCounters, 0), /intervalMs must be 1..60000/);
});
