/**
 * HTTP authentication and authorization hook, for users who keep their own user store: each
 * decision is a JSON POST to the configured URL, answered with `{"result": "allow" | "deny" |
 * "ignore"}` (EMQX's HTTP authentication convention). Requests are bounded by a time-out; a
 * time-out, a network error, a non-2xx status or an unreadable answer count as "ignore" (and
 * with nothing else to ask, ignore means no). Decisions are cached for a while, keyed by a hash
 * of the request (the password never stays in memory as a key).
 *
 * Bodies: `{"action": "connect", clientId, username, password, remoteAddress, listener,
 * certificateSubject}` and `{"action": "publish" | "subscribe", clientId, username, topic, qos,
 * retain, listener}`.
 */
import { createHash } from 'node:crypto';
import type { HttpAuthOptions } from '../broker/options.js';
import type { Logger } from '../broker/logger.js';

export type HookResult = 'allow' | 'deny' | 'ignore';

export class HttpAuthHook {
  private readonly cache = new Map<string, { result: HookResult; expires: number }>();
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly cacheSize: number;

  constructor(
    readonly options: HttpAuthOptions,
    private readonly log: Logger,
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.ttlMs = options.cacheTtlMs ?? 60_000;
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  /** Forget cached decisions (SIGHUP). */
  clear(): void {
    this.cache.clear();
  }

  async ask(body: Record<string, unknown>): Promise<HookResult> {
    const json = JSON.stringify(body);
    const key = createHash('sha256').update(json).digest('base64');
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.expires > now) return cached.result;
    const result = await this.post(json);
    if (this.ttlMs > 0 && result !== 'ignore') {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, { result, expires: now + this.ttlMs });
    }
    return result;
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
        this.log.warn({ url, status: response.status }, 'HTTP auth hook answered with an error status: ignored');
        return 'ignore';
      }
      const answer = (await response.json()) as { result?: unknown };
      if (answer.result === 'allow' || answer.result === 'deny' || answer.result === 'ignore') return answer.result;
      this.log.warn({ url }, 'HTTP auth hook answer has no result allow, deny or ignore: ignored');
      return 'ignore';
    } catch (error) {
      this.log.warn({ url, err: (error as Error).message }, 'HTTP auth hook failed or timed out: ignored');
      return 'ignore';
    }
  }
}
