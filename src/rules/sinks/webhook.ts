/**
 * The webhook sink: one HTTP request per output row (a batch is sent concurrently over undici's
 * keep-alive pool). 2xx is a success; any other 4xx is a failure for good (never counted as a
 * success); 408, 429, 5xx, a time-out or a connection error are retried.
 *
 *   sink NAME webhook URL [method=POST] [timeout=5000] [header.NAME=TEMPLATE ...]
 *   action NAME [BODY-TEMPLATE]        (default body: the output row as JSON)
 */
import type { Value } from '../ast.js';
import { RuleSyntaxError } from '../errors.js';
import { encodeJson } from '../json.js';
import { templateAt } from '../republish.js';
import type { ItemOutcome, SinkDriver, SinkItem } from '../sink.js';
import { render, type Template } from '../template.js';
import type { Word } from '../words.js';
import { httpClient, outcomeOf } from './http.js';
import type { SinkConfig, SinkType } from './types.js';

interface Prepared {
  body: Template | undefined;
}

const METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'];

function headers(config: SinkConfig): Array<[string, Template]> {
  const out: Array<[string, Template]> = [];
  for (const [key, word] of config.options) if (key.startsWith('header.')) out.push([key.slice('header.'.length), templateAt(word)]);
  return out;
}

function timeoutMs(config: SinkConfig): number {
  return Number(config.options.get('timeout')?.text ?? 5000);
}

function request(prepared: Prepared, output: Record<string, Value>, config: SinkConfig): { method: string; url: string; headers: Record<string, string>; body: string } {
  const hs: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, template] of headers(config)) hs[name.toLowerCase()] = render(template, output);
  const body = prepared.body === undefined ? encodeJson(output) : render(prepared.body, output);
  return { method: config.options.get('method')?.text ?? 'POST', url: config.url, headers: hs, body };
}

export const webhookType: SinkType<Prepared> = {
  options: ['method', 'timeout', 'header.'],
  check(config: SinkConfig, urlWord: Word) {
    if (!/^https?:\/\/[^/]/.test(config.url)) throw new RuleSyntaxError('a webhook URL starts with http:// or https://', urlWord.column);
    const method = config.options.get('method');
    if (method !== undefined && !METHODS.includes(method.text)) throw new RuleSyntaxError(`method is one of ${METHODS.join(', ')}`, method.column);
    const timeout = config.options.get('timeout');
    if (timeout !== undefined && !/^[1-9]\d{0,6}$/.test(timeout.text)) throw new RuleSyntaxError('timeout is in milliseconds (1 to 9999999)', timeout.column);
    headers(config);
  },
  prepare(template) {
    return { body: template === undefined ? undefined : templateAt(template) };
  },
  preview(prepared, output, config) {
    return request(prepared, output, config);
  },
  async open(config) {
    const http = await httpClient(timeoutMs(config));
    const one = async (item: SinkItem): Promise<ItemOutcome> => {
      const r = request(item.prepared as Prepared, item.output, config);
      try {
        return outcomeOf((await http.send(r.method, r.url, r.headers, r.method === 'GET' ? null : r.body)).status);
      } catch {
        return 'retry';
      }
    };
    const driver: SinkDriver = {
      write: (batch) => Promise.all(batch.map(one)),
      close: () => http.close(),
    };
    return driver;
  },
};
