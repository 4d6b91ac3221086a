/**
 * The InfluxDB sink: line protocol over HTTP, in batches (one POST of many lines). The URL says
 * which API: `/write?db=...` (1.x) or `/api/v2/write?org=...&bucket=...` (2.x, with
 * `token=...`, sent as `Authorization: Token ...`). The action's template is one line of line
 * protocol; a value in double quotes (a string field) is escaped for a string field, any other
 * value for a tag or field (`,`, `=`, space); newlines never reach the line.
 * 204/2xx: written; a 400 (a bad line) is retried line by line so only the bad lines fail
 * (InfluxDB overwrites an identical point, so resending the good ones is harmless); 5xx,
 * time-out, connection errors: retried; other 4xx: failed.
 *
 *   sink NAME influxdb http://127.0.0.1:8086/write?db=telemetry&precision=ms [token=T] [timeout=5000]
 *   action NAME "temp,device=${clientid} value=${temp} ${timestamp}"
 */
import type { Expr, Value } from '../ast.js';
import { RuleSyntaxError } from '../errors.js';
import { evaluate, Row } from '../evaluate.js';
import { toText } from '../functions.js';
import { templateAt } from '../republish.js';
import type { ItemOutcome, SinkDriver, SinkItem } from '../sink.js';
import { httpClient, outcomeOf, type HttpClient } from './http.js';
import type { SinkConfig, SinkType } from './types.js';

/** Template parts; a placeholder knows whether it sits inside a double-quoted string field. */
type Part = string | { expr: Expr; quoted: boolean };

function escape(value: Value, quoted: boolean): string {
  const text = toText(value).replace(/[\r\n]+/g, ' ');
  return quoted ? text.replace(/[\\"]/g, '\\$&') : text.replace(/[\\, =]/g, '\\$&');
}

function line(parts: Part[], output: Record<string, Value>): string {
  const row = new Row(output, undefined);
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : escape(evaluate(part.expr, row), part.quoted);
  return out;
}

function headers(config: SinkConfig): Record<string, string> {
  const token = config.options.get('token');
  return { 'content-type': 'text/plain; charset=utf-8', ...(token !== undefined ? { authorization: `Token ${token.text}` } : {}) };
}

class InfluxDriver implements SinkDriver {
  constructor(
    private readonly http: HttpClient,
    private readonly config: SinkConfig,
  ) {}

  async write(batch: SinkItem[]): Promise<ItemOutcome[]> {
    const lines = batch.map((item) => line(item.prepared as Part[], item.output));
    const outcome = await this.post(lines.join('\n'));
    if (outcome !== 'failed' || batch.length === 1) return batch.map(() => outcome);
    // A refused batch: line by line, so only the bad lines fail.
    const outcomes: ItemOutcome[] = [];
    for (const text of lines) outcomes.push(await this.post(text));
    return outcomes;
  }

  private async post(body: string): Promise<ItemOutcome> {
    const result = await this.http.send('POST', this.config.url, headers(this.config), body);
    return outcomeOf(result.status);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

export const influxdbType: SinkType<Part[]> = {
  options: ['token', 'timeout'],
  check(config, urlWord) {
    const url = URL.canParse(config.url) ? new URL(config.url) : undefined;
    if (url === undefined || !/^https?:$/.test(url.protocol)) throw new RuleSyntaxError('an influxdb URL is http(s)://host:port/write?db=... or .../api/v2/write?org=...&bucket=...', urlWord.column);
    if (url.pathname.endsWith('/api/v2/write')) {
      if (!url.searchParams.has('bucket') || !url.searchParams.has('org')) throw new RuleSyntaxError('the 2.x API needs org= and bucket= in the URL', urlWord.column);
    } else if (url.pathname.endsWith('/write')) {
      if (!url.searchParams.has('db')) throw new RuleSyntaxError('the 1.x API needs db= in the URL', urlWord.column);
    } else throw new RuleSyntaxError('the URL path is /write (1.x) or /api/v2/write (2.x)', urlWord.column);
    const timeout = config.options.get('timeout');
    if (timeout !== undefined && !/^[1-9]\d{0,6}$/.test(timeout.text)) throw new RuleSyntaxError('timeout is in milliseconds (1 to 9999999)', timeout.column);
  },
  prepare(template) {
    if (template === undefined) throw new RuleSyntaxError('an influxdb action needs a line-protocol template, e.g. "temp,device=${clientid} value=${temp}"', 1);
    const compiled = templateAt(template);
    let quotes = 0;
    return compiled.parts.map((part): Part => {
      if (typeof part === 'string') {
        quotes += (part.replace(/\\./g, '').match(/"/g) ?? []).length;
        return part;
      }
      return { expr: part, quoted: quotes % 2 === 1 };
    });
  },
  preview(prepared, output) {
    return line(prepared, output);
  },
  async open(config) {
    return new InfluxDriver(await httpClient(Number(config.options.get('timeout')?.text ?? 5000)), config);
  },
};
