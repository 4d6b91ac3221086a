/**
 * Measurements of `cicada bench`: counters with per-second rates, and latency samples with
 * percentiles. Latencies are kept as samples in a Float64Array of bounded size; past the bound,
 * reservoir sampling keeps a uniform sample (so p50/p99 stay unbiased; max is tracked exactly).
 */

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class LatencySamples {
  count = 0;
  max = 0;
  private samples: Float64Array;
  private size = 0;

  constructor(private readonly capacity = 1_000_000) {
    this.samples = new Float64Array(Math.min(capacity, 4096));
  }

  add(ms: number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    if (this.size < this.capacity) {
      if (this.size === this.samples.length) {
        const bigger = new Float64Array(Math.min(this.capacity, this.samples.length * 2));
        bigger.set(this.samples);
        this.samples = bigger;
      }
      this.samples[this.size++] = ms;
      return;
    }
    const slot = Math.floor(Math.random() * this.count);
    if (slot < this.capacity) this.samples[slot] = ms;
  }

  /** Percentiles (0..100) of the samples, in ms; NaN when there are none. */
  percentiles(ps: number[]): number[] {
    if (this.size === 0) return ps.map(() => Number.NaN);
    const sorted = this.samples.slice(0, this.size).sort();
    return ps.map((p) => sorted[Math.min(this.size - 1, Math.max(0, Math.ceil((p / 100) * this.size) - 1))]!);
  }
}

/** A counter that also reports how much it grew since the last look. */
export class Counter {
  total = 0;
  private seen = 0;

  add(n = 1): void {
    this.total += n;
  }

  /** Growth since the previous call. */
  delta(): number {
    const d = this.total - this.seen;
    this.seen = this.total;
    return d;
  }
}

export function fmtMs(ms: number): string {
  return Number.isNaN(ms) ? '-' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}
