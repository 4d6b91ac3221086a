/**
 * History of the broker's load for the dashboard's overview charts: connections and message and
 * byte rates, kept in memory from 1 hour to 7 days.
 *
 * A sample every `intervalMs` (5 s) reads the broker's counters; a point holds the connections
 * and the rates per second since the previous sample. Points go to three rings, each coarser one
 * averaging the finer samples over its step (downsampling by time-weighted mean):
 *   5 s for 1 h (720 points), 1 min for 24 h (1,440), 10 min for 7 days (1,008).
 * Memory is fixed: 3,168 points at most, whatever the load. A query takes the finest ring that
 * covers the range asked for.
 */

/** The counters a sample reads (a subset of the broker's stats). */
export interface LoadCounters {
  clientsConnected: number;
  messagesReceived: number;
  messagesSent: number;
  messagesDropped: number;
  bytesReceived: number;
  bytesSent: number;
}

export interface StatsPoint {
  /** Start of the point's interval (ms since the epoch). */
  at: number;
  connections: number;
  /** Per second over the interval. */
  received: number;
  sent: number;
  dropped: number;
  bytesIn: number;
  bytesOut: number;
}

const RATE_FIELDS = ['received', 'sent', 'dropped', 'bytesIn', 'bytesOut'] as const;
const VALUE_FIELDS = ['connections', ...RATE_FIELDS] as const;

/** The ranges a query may ask for, in ms. */
export const HISTORY_RANGES: Record<string, number> = { '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 604_800_000 };

interface Tier {
  stepMs: number;
  spanMs: number;
  points: StatsPoint[];
  next: number;
  /** The point being averaged (coarse tiers): time-weighted sums and their total weight. */
  bucket: StatsPoint | undefined;
  weight: number;
}

function tier(stepMs: number, spanMs: number): Tier {
  return { stepMs, spanMs, points: [], next: 0, bucket: undefined, weight: 0 };
}

export class StatsHistory {
  private readonly tiers: Tier[];
  private previous: { at: number; counters: LoadCounters } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => LoadCounters,
    readonly intervalMs = 5000,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 60_000) throw new RangeError(`stats history: intervalMs must be 1..60000, got ${intervalMs}`);
    this.tiers = [tier(intervalMs, 3_600_000), tier(Math.max(60_000, intervalMs), 86_400_000), tier(600_000, 604_800_000)];
  }

  /** Sample every intervalMs (an unref'd timer: it keeps no process alive). */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Read the counters now; the first call only sets the baseline. */
  sample(): void {
    const at = this.now();
    const counters = { ...this.read() };
    const previous = this.previous;
    this.previous = { at, counters };
    if (previous === undefined || at <= previous.at) return;
    const seconds = (at - previous.at) / 1000;
    const rate = (now: number, before: number): number => Math.max(0, now - before) / seconds;
    const point: StatsPoint = {
      at: previous.at,
      connections: counters.clientsConnected,
      received: rate(counters.messagesReceived, previous.counters.messagesReceived),
      sent: rate(counters.messagesSent, previous.counters.messagesSent),
      dropped: rate(counters.messagesDropped, previous.counters.messagesDropped),
      bytesIn: rate(counters.bytesReceived, previous.counters.bytesReceived),
      bytesOut: rate(counters.bytesSent, previous.counters.bytesSent),
    };
    const [fine, ...coarse] = this.tiers as [Tier, ...Tier[]];
    push(fine, point);
    for (const t of coarse) accumulate(t, point, at - previous.at);
  }

  /** Points of the last `rangeMs` (oldest first) from the finest ring that covers it. */
  query(rangeMs: number): { stepMs: number; points: StatsPoint[] } {
    const chosen = this.tiers.find((t) => t.spanMs >= rangeMs) ?? this.tiers[this.tiers.length - 1]!;
    const since = this.now() - rangeMs;
    const ring = chosen.points;
    const ordered = ring.length < capacity(chosen) ? [...ring] : [...ring.slice(chosen.next), ...ring.slice(0, chosen.next)];
    // The bucket still being averaged shows as it stands, so a fresh broker has points at once.
    if (chosen.bucket !== undefined) ordered.push(average(chosen.bucket, chosen.weight));
    return { stepMs: chosen.stepMs, points: ordered.filter((p) => p.at >= since) };
  }
}

function capacity(t: Tier): number {
  return Math.ceil(t.spanMs / t.stepMs);
}

function push(t: Tier, point: StatsPoint): void {
  if (t.points.length < capacity(t)) {
    t.points.push(point);
    return;
  }
  t.points[t.next] = point;
  t.next = (t.next + 1) % t.points.length;
}

/** Add a fine point, weighted by its duration, to a coarse tier's bucket; close buckets whose step passed. */
function accumulate(t: Tier, point: StatsPoint, durationMs: number): void {
  const start = Math.floor(point.at / t.stepMs) * t.stepMs;
  if (t.bucket !== undefined && t.bucket.at !== start) close(t);
  const bucket = (t.bucket ??= { at: start, connections: 0, received: 0, sent: 0, dropped: 0, bytesIn: 0, bytesOut: 0 });
  for (const field of VALUE_FIELDS) bucket[field] += point[field] * durationMs;
  t.weight += durationMs;
}

function average(bucket: StatsPoint, weight: number): StatsPoint {
  const point = { ...bucket };
  for (const field of VALUE_FIELDS) point[field] /= weight;
  return point;
}

function close(t: Tier): void {
  push(t, average(t.bucket as StatsPoint, t.weight));
  t.bucket = undefined;
  t.weight = 0;
}
