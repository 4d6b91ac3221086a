/**
 * HTTP authentication and authorization hook, for users who keep their own user store: each
 * decision is a JSON POST to the configured URL, answered with `{"result": "allow" | "deny" |
 * "ignore"}` (EMQX's HTTP authentication convention). A time-out, a network error, a non-2xx
 * status or an unreadable answer count as "ignore" (and with nothing else to ask, ignore means no).
 *
 * Under load (one SUBSCRIBE of thousands of filters, a reconnecting fleet):
 * - at most `poolSize` requests are in flight (EMQX's pool_size); the others wait, in order, in a
 *   queue of at most `queueSize` (so a question waits at most queueSize / poolSize time-outs
 *   before its request goes). A question that finds the queue full is answered "deny" at once
 *   (fail closed, not cached) and logged. `timeoutMs` bounds each request from when it is sent.
 * - the same question asked again while the first is pending shares its request;
 * - decisions (allow, deny) are cached for `cacheTtlMs`, keyed by a hash of the request (the
 *   password never stays in memory as a key) without the client's port, which no answer depends
 *   on, so a client reconnecting from a new port hits the cache;
 * - each kind of failure is logged at most once a second, with the count since the last line.
 *
 * Bodies: `{"action": "connect", clientId, username, password, remoteAddress, listener,
 * certificateSubject}` and `{"action": "publish" | "subscribe", clientId, username, topic, qos,
 * retain, listener}`.
 */
import { createHash } from 'node:crypto';
import type { HttpAuthOptions } from './options.js';
import type { Logger } from '../broker/logger.js';

export type HookResult = 'allow' | 'deny' | 'ignore';

/** A question waiting for a free request slot. */
interface Waiting {
  readonly json: string;
  readonly resolve: (result: HookResult | Promise<HookResult>) => void;
}

/** 'overloaded': the queue was full; answered 'deny', never cached. */
type Outcome = HookResult | 'overloaded';

type Failure = 'status' | 'answer' | 'failed' | 'queue-full';

/** Defaults of the pool (EMQX's HTTP authenticator uses a pool of 8). */
const HTTP_AUTH_DEFAULTS = { timeoutMs: 2000, cacheTtlMs: 60_000, cacheSize: 10_000, poolSize: 8, queueSize: 10_000 };

export class HttpAuthHook {
  private readonly cache = new Map<string, { result: HookResult; expires: number }>();
  private readonly pending = new Map<string, Promise<HookResult>>();
  private readonly queue: Waiting[] = [];
  private queueHead = 0;
  private inFlight = 0;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly cacheSize: number;
  private readonly poolSize: number;
  private readonly queueSize: number;
  private readonly throttle = new Map<Failure, { last: number; since: number }>();

  constructor(
    readonly options: HttpAuthOptions,
    private readonly log: Logger,
  ) {
    this.timeoutMs = options.timeoutMs ?? HTTP_AUTH_DEFAULTS.timeoutMs;
    this.ttlMs = options.cacheTtlMs ?? HTTP_AUTH_DEFAULTS.cacheTtlMs;
    this.cacheSize = options.cacheSize ?? HTTP_AUTH_DEFAULTS.cacheSize;
    this.poolSize = options.poolSize ?? HTTP_AUTH_DEFAULTS.poolSize;
    this.queueSize = options.queueSize ?? HTTP_AUTH_DEFAULTS.queueSize;
  }

  /** Forget cached decisions (SIGHUP). */
  clear(): void {
    this.cache.clear();
  }

  ask(body: Record<string, unknown>): Promise<HookResult> {
    const json = JSON.stringify(body);
    const key = cacheKey(body);
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.expires > now) return Promise.resolve(cached.result);
    const pending = this.pending.get(key);
    if (pending !== undefined) return pending;
    const asked = this.request(json).then((outcome): HookResult => {
      this.pending.delete(key);
      if (outcome === 'overloaded') return 'deny';
      this.remember(key, outcome);
      return outcome;
    });
    this.pending.set(key, asked);
    return asked;
  }

  private remember(key: string, result: HookResult): void {
    if (this.ttlMs <= 0 || result === 'ignore') return;
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { result, expires: Date.now() + this.ttlMs });
  }

  /** Send now if the pool has room, else wait in the queue; deny when the queue is full. */
  private request(json: string): Promise<Outcome> {
    if (this.inFlight < this.poolSize) return this.send(json);
    if (this.queue.length - this.queueHead >= this.queueSize) {
      this.warn('queue-full', { poolSize: this.poolSize, queueSize: this.queueSize }, 'HTTP auth hook queue full: denied without asking');
      return Promise.resolve('overloaded');
    }
    return new Promise((resolve) => this.queue.push({ json, resolve }));
  }

  private send(json: string): Promise<HookResult> {
    this.inFlight++;
    return this.post(json).finally(() => {
      this.inFlight--;
      this.next();
    });
  }

  /** A slot is free: the oldest waiting question goes. */
  private next(): void {
    while (this.queueHead < this.queue.length && this.inFlight < this.poolSize) {
      const waiting = this.queue[this.queueHead++] as Waiting;
      waiting.resolve(this.send(waiting.json));
    }
    if (this.queueHead === this.queue.length || this.queueHead > 1024) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private async post(json: string): Promise<HookResult> {
    const url = this.options.url;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: json,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) {
        this.warn('status', { url, status: response.status }, 'HTTP auth hook answered with an error status: ignored');
        return 'ignore';
      }
      const answer = (await response.json()) as { result?: unknown };
      if (answer.result === 'allow' || answer.result === 'deny' || answer.result === 'ignore') return answer.result;
      this.warn('answer', { url }, 'HTTP auth hook answer has no result allow, deny or ignore: ignored');
      return 'ignore';
    } catch (error) {
      this.warn('failed', { url, err: (error as Error).message }, 'HTTP auth hook failed or timed out: ignored');
      return 'ignore';
    }
  }

  /** One warning per kind per second at most, with how many happened since the last one. */
  private warn(kind: Failure, fields: object, message: string): void {
    let throttle = this.throttle.get(kind);
    if (throttle === undefined) this.throttle.set(kind, (throttle = { last: 0, since: 0 }));
    throttle.since++;
    const now = Date.now();
    if (now - throttle.last < 1000) return;
    this.log.warn({ ...fields, sinceLastLog: throttle.since }, message);
    throttle.last = now;
    throttle.since = 0;
  }
}

/** What an answer may depend on: the body without the client's port (`ip:port` -> `ip`). */
function cacheKey(body: Record<string, unknown>): string {
  const remote = body.remoteAddress;
  const keyed = typeof remote === 'string' ? { ...body, remoteAddress: remote.replace(/:\d+$/, '') } : body;
  return createHash('sha256').update(JSON.stringify(keyed)).digest('base64');
}
