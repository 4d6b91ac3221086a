/** HTTP for the sinks that speak it (webhook, InfluxDB): undici, loaded lazily. */
import type { ItemOutcome } from '../sink.js';

export interface HttpResult {
  status: number;
  body: string;
}

export interface HttpClient {
  send(method: string, url: string, headers: Record<string, string>, body: string | null): Promise<HttpResult>;
  close(): Promise<void>;
}

export async function httpClient(timeoutMs: number): Promise<HttpClient> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections: 64, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return {
    async send(method, url, headers, body) {
      const response = await request(url, { method: method as 'POST', headers, body, dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.statusCode, body: (await response.body.text()).slice(0, 500) };
    },
    // destroy, not close: a request to a server that never answers must not hold up shutdown.
    close: () => agent.destroy(),
  };
}

/** 2xx: written. 408 (time-out) and 429 (too many requests), 5xx: try again. Other codes: refused. */
export function outcomeOf(status: number): ItemOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}
