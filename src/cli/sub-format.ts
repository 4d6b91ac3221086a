/**
 * Output of `cicada sub`: the default lines (payload, or `topic payload` with -v) and -F format
 * strings as mosquitto_sub reads them:
 *   %t topic   %p payload   %q QoS   %r retain flag (0/1)   %l payload length   %m packet id
 *   %I ISO-8601 time   %U Unix time with fractions   %x payload in hex   %%
 *   %j JSON object (tst, topic, qos, retain, payloadlen, payload; properties for 5.0)
 *   %J the same with a payload that is itself JSON inserted as JSON
 *   \n \t \\ \0 escapes. As with mosquitto_sub, a newline follows unless -N.
 */
import type { Message } from '../client/index.js';
import type { Properties } from '../protocol/index.js';

export interface FormatOptions {
  verbose: boolean;
  noNewline: boolean;
  format: string | undefined;
  pretty: boolean;
  now?: () => Date;
}

export function formatMessage(message: Message, options: FormatOptions): string {
  const eol = options.noNewline ? '' : '\n';
  if (options.format === undefined) {
    const payload = message.payload.toString();
    return `${options.verbose ? `${message.topic} ${payload}` : payload}${eol}`;
  }
  const now = (options.now ?? (() => new Date()))();
  return expand(options.format, message, now, options.pretty) + eol;
}

function expand(format: string, m: Message, now: Date, pretty: boolean): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    const next = format[i + 1];
    if (c === '%' && next !== undefined) {
      i++;
      out += field(next, m, now, pretty);
    } else if (c === '\\' && next !== undefined) {
      i++;
      out += ESCAPES[next] ?? `\\${next}`;
    } else {
      out += c;
    }
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', '0': '\0', r: '\r', e: '\x1b', a: '\x07' };

function field(code: string, m: Message, now: Date, pretty: boolean): string {
  switch (code) {
    case 't': return m.topic;
    case 'p': return m.payload.toString();
    case 'q': return String(m.qos);
    case 'r': return m.retain ? '1' : '0';
    case 'l': return String(m.payload.length);
    case 'm': return '0';
    case 'x': return m.payload.toString('hex');
    case 'I': return isoTime(now);
    case 'U': return (now.getTime() / 1000).toFixed(9);
    case 'j': return json(m, now, false, pretty);
    case 'J': return json(m, now, true, pretty);
    case '%': return '%';
    default: return `%${code}`;
  }
}

const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');

function localDateTime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function zone(d: Date): string {
  const offset = -d.getTimezoneOffset();
  return `${offset >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
}

/** Local time as 2026-11-25T19:50:00+0000, as mosquitto_sub's %I. */
function isoTime(d: Date): string {
  return `${localDateTime(d)}${zone(d)}`;
}

/** mosquitto_sub's JSON "tst": 2026-11-25T20:15:17.948000Z+0000 (local time, microseconds). */
function jsonTime(d: Date): string {
  return `${localDateTime(d)}.${pad(d.getMilliseconds() * 1000, 6)}Z${zone(d)}`;
}

function json(m: Message, now: Date, parsePayload: boolean, pretty: boolean): string {
  const text = m.payload.toString();
  let payload: unknown = text;
  if (parsePayload) {
    try {
      payload = JSON.parse(text) as unknown;
    } catch {
      payload = text;
    }
  }
  const obj: Record<string, unknown> = {
    tst: jsonTime(now),
    topic: m.topic,
    qos: m.qos,
    retain: m.retain ? 1 : 0,
    payloadlen: m.payload.length,
  };
  if (m.properties !== undefined) obj.properties = jsonProperties(m.properties);
  obj.payload = payload;
  return JSON.stringify(obj, undefined, pretty ? 2 : undefined);
}

function jsonProperties(p: Properties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(p)) {
    if (key === 'userProperties') out['user-properties'] = Object.fromEntries(v as Array<[string, string]>);
    else out[key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = Buffer.isBuffer(v) ? v.toString() : v;
  }
  return out;
}
