/**
 * The contract every sink shares (webhook, PostgreSQL, InfluxDB, Redis, Kafka), so buffering,
 * retries, batching and status are written and tested once:
 *
 * - `push` never blocks and never throws: an item goes into a bounded buffer (`buffer_size`);
 *   when the buffer is full the item is dropped, counted on its action (`dropped`) and on the
 *   sink, and logged at most once per interval. So a slow or dead sink never slows MQTT.
 * - One writer loop takes up to `batch_size` items at a time and hands them to the driver, which
 *   answers per item: `ok` (counted `success`), `failed` (refused for good, e.g. a webhook 4xx:
 *   counted `failed`), or `retry` (a transient error: the item goes back to the head of the
 *   buffer, counted `retried`, and the loop waits with exponential back-off, 100 ms doubling to
 *   `max_backoff`). A driver that throws means every item of the batch is retried.
 * - Status: `connecting` until the first write, `connected` only while writes succeed,
 *   `disconnected` from the first transient failure until a write succeeds again.
 * Invariant (checked by the tests): every item pushed ends in exactly one of success, failed,
 * dropped, or is still `queued`.
 */
import type { Logger } from '../broker/logger.js';
import type { Value } from './ast.js';
import type { ActionCounters } from './counters.js';
import { LOG_INTERVAL_MS } from './republish.js';

export type SinkStatus = 'connecting' | 'connected' | 'disconnected';
export type ItemOutcome = 'ok' | 'failed' | 'retry';

export interface SinkItem<P = unknown> {
  /** What the action's template compiled to for this sink type. */
  prepared: P;
  output: Record<string, Value>;
  counters: ActionCounters;
}

/** The part of a sink specific to its type. */
export interface SinkDriver {
  /** Write a batch; one outcome per item, in order. Throwing retries them all. */
  write(batch: SinkItem[]): Promise<ItemOutcome[]>;
  close(): Promise<void>;
}

export interface SinkSettings {
  bufferSize: number;
  batchSize: number;
  maxBackoffMs: number;
}

export const DEFAULT_SINK_SETTINGS: SinkSettings = { bufferSize: 100_000, batchSize: 100, maxBackoffMs: 5_000 };
const FIRST_BACKOFF_MS = 100;
/** How long close() waits for a write in flight, then for the driver to close. */
const CLOSE_GRACE_MS = 1000;

export interface SinkCounters {
  /** Items written. */
  success: number;
  failed: number;
  retried: number;
  dropped: number;
}

export class BufferedSink {
  status: SinkStatus = 'connecting';
  readonly counters: SinkCounters = { success: 0, failed: 0, retried: 0, dropped: 0 };
  /** Items waiting, from `head` on (a queue without shift()). */
  private items: SinkItem[] = [];
  private head = 0;
  private driver: SinkDriver | undefined;
  private running = false;
  private closed = false;
  private backoffMs = 0;
  private wake: (() => void) | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private loggedDropAt = -Infinity;
  private droppedSinceLog = 0;
  lastError: string | undefined;

  constructor(
    readonly name: string,
    readonly type: string,
    private readonly open: () => Promise<SinkDriver>,
    readonly settings: SinkSettings,
    private readonly log: Logger,
  ) {}

  /** Items waiting in the buffer (not yet written). */
  get queued(): number {
    return this.items.length - this.head;
  }

  push(item: SinkItem): void {
    if (this.closed || this.queued >= this.settings.bufferSize) {
      item.counters.dropped++;
      this.counters.dropped++;
      this.logDrop();
      return;
    }
    this.items.push(item);
    if (!this.running) this.start();
  }

  private start(): void {
    this.running = true;
    this.loop = this.run().finally(() => {
      this.running = false;
      if (this.queued > 0 && !this.closed) this.start();
    });
  }

  private async run(): Promise<void> {
    // Let the current turn's items gather into one batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queued > 0 && !this.closed) {
      if (this.backoffMs > 0) await this.pause(this.backoffMs);
      if (this.closed) return;
      // The batch stays in the buffer (and counts against its bound) until it is settled.
      const batch = this.items.slice(this.head, this.head + this.settings.batchSize);
      const outcomes = await this.attempt(batch);
      this.head += batch.length;
      this.settle(batch, outcomes);
      this.compact();
    }
  }

  private async attempt(batch: SinkItem[]): Promise<ItemOutcome[]> {
    try {
      this.driver ??= await this.open();
      const outcomes = await this.driver.write(batch);
      if (outcomes.length !== batch.length) throw new Error(`driver answered ${outcomes.length} outcomes for ${batch.length} items`);
      return outcomes;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      return batch.map(() => 'retry');
    }
  }

  private settle(batch: SinkItem[], outcomes: ItemOutcome[]): void {
    const retry: SinkItem[] = [];
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome === 'ok') {
        item.counters.success++;
        this.counters.success++;
      } else if (outcome === 'failed') {
        item.counters.failed++;
        this.counters.failed++;
      } else {
        item.counters.retried++;
        this.counters.retried++;
        retry.push(item);
      }
    });
    if (retry.length === 0) {
      this.backoffMs = 0;
      this.setStatus('connected');
      return;
    }
    // Back to the head of the buffer, in their order.
    this.items.splice(this.head, 0, ...retry);
    this.backoffMs = this.backoffMs === 0 ? FIRST_BACKOFF_MS : Math.min(this.settings.maxBackoffMs, this.backoffMs * 2);
    this.setStatus('disconnected');
  }

  private setStatus(status: SinkStatus): void {
    if (this.status === status) return;
    this.status = status;
    const details = { sink: this.name, type: this.type, queued: this.queued, ...(this.lastError !== undefined && status !== 'connected' ? { error: this.lastError } : {}) };
    if (status === 'connected') this.log.info(details, 'sink connected');
    else this.log.warn(details, 'sink write failed: buffering and retrying');
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.backoffTimer = setTimeout(resolve, ms);
    });
  }

  private logDrop(): void {
    this.droppedSinceLog++;
    const now = Date.now();
    if (now - this.loggedDropAt < LOG_INTERVAL_MS) return;
    this.log.warn({ sink: this.name, dropped: this.droppedSinceLog, droppedTotal: this.counters.dropped, bufferSize: this.settings.bufferSize }, 'sink buffer full: messages dropped');
    this.loggedDropAt = now;
    this.droppedSinceLog = 0;
  }

  /**
   * Stop writing (what is still buffered stays counted as queued) and close the driver. A write
   * in flight gets CLOSE_GRACE_MS to finish; a server that does not answer never holds up the
   * broker's shutdown.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.backoffTimer);
    this.wake?.();
    const grace = (): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([this.loop, grace()]);
    const driver = this.driver;
    this.driver = undefined;
    if (driver !== undefined) await Promise.race([driver.close().catch(() => undefined), grace()]);
  }
}
