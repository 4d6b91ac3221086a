/**
 * Output of `cicada sub`: the default lines (payload, or `topic payload` with -v; -v prints an
 * empty payload as `(null)`, as mosquitto_sub) and -F format strings as mosquitto_sub reads them:
 *   %t topic   %p payload   %x / %X payload in hex   %q QoS   %r retain flag   %l payload length
 *   %m message id (0: not known to the client)   %I ISO-8601 local time   %U Unix time.nanoseconds
 *   %j JSON object (tst, topic, qos, retain, payloadlen, payload; properties for 5.0)
 *   %J the same with a payload that is itself JSON inserted as JSON
 *   MQTT 5 properties: %A topic alias   %C content type   %D correlation data
 *   %E message expiry interval   %F payload format indicator   %P user properties (k:v k:v)
 *   %R response topic   %S subscription identifier   %%
 *   Between % and the letter: `-` (align left), `0` (pad with zeros), a width, `.precision`.
 *   @X: the strftime field X of the time (@Y @m @d @H @M @S ..., @N nanoseconds, @@).
 *   \n \t \r \v \a \e \0 \\ escapes. As with mosquitto_sub, a newline follows unless -N.
 * validateFormat refuses what mosquitto_sub refuses, with its words (`Invalid format specifier 'Z'.`).
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

const FIELDS = new Set('%ACDEFIjJlmPpqRrStUxX');
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', '0': '\0', r: '\r', e: '\x1b', a: '\x07', v: '\v' };

/** Why mosquitto_sub would refuse this -F format, or undefined when it is valid. */
export function validateFormat(format: string): string | undefined {
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c === '%') {
      const spec = parseSpec(format, i + 1);
      if (spec.end >= format.length) return 'Incomplete format specifier.';
      if (!FIELDS.has(format[spec.end]!)) return `Invalid format specifier '${format[spec.end]}'.`;
      i = spec.end;
    } else if (c === '@') {
      if (i === format.length - 1) return 'Incomplete format specifier.';
      i++;
    } else if (c === '\\') {
      if (i === format.length - 1) return 'Incomplete escape specifier.';
      if (ESCAPES[format[i + 1]!] === undefined) return `Invalid escape specifier '${format[i + 1]}'.`;
      i++;
    }
  }
  return undefined;
}

export function formatMessage(message: Message, options: FormatOptions): string {
  const eol = options.noNewline ? '' : '\n';
  if (options.format === undefined) {
    const payload = message.payload.toString();
    if (!options.verbose) return message.payload.length === 0 ? '' : `${payload}${eol}`;
    if (message.payload.length === 0) return options.noNewline ? '' : `${message.topic} (null)\n`;
    return `${message.topic} ${payload}${eol}`;
  }
  const now = (options.now ?? (() => new Date()))();
  return expand(options.format, message, now, options.pretty) + eol;
}

/** `%-08.3`: alignment, padding, width and precision, and where the field letter is. */
interface Spec {
  left: boolean;
  pad: string;
  width: number;
  precision: number;
  end: number;
}

function parseSpec(format: string, start: number): Spec {
  const spec: Spec = { left: false, pad: ' ', width: 0, precision: -1, end: start };
  let i = start;
  if (format[i] === '-') {
    spec.left = true;
    i++;
  }
  if (format[i] === '0') {
    spec.pad = '0';
    i++;
  }
  for (; i < format.length - 1 && isDigit(format[i]!); i++) spec.width = spec.width * 10 + Number(format[i]);
  if (format[i] === '.' && i < format.length - 1) {
    spec.precision = 0;
    for (i++; i < format.length - 1 && isDigit(format[i]!); i++) spec.precision = spec.precision * 10 + Number(format[i]);
  }
  spec.end = i;
  return spec;
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';

function expand(format: string, m: Message, now: Date, pretty: boolean): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    const next = format[i + 1];
    if (c === '%' && next !== undefined) {
      const spec = parseSpec(format, i + 1);
      i = spec.end;
      if (i < format.length) out += field(format[i]!, spec, m, now, pretty);
    } else if (c === '@' && next !== undefined) {
      i++;
      out += next === '@' ? '@' : next === 'N' ? pad(now.getMilliseconds() * 1_000_000, 9) : strftime(next, now);
    } else if (c === '\\' && next !== undefined) {
      i++;
      out += ESCAPES[next] ?? '';
    } else {
      out += c;
    }
  }
  return out;
}

function field(code: string, s: Spec, m: Message, now: Date, pretty: boolean): string {
  const p = m.properties ?? {};
  switch (code) {
    case 't': return str(m.topic, s);
    case 'p': return payload(m.payload, 0, s);
    case 'x': return payload(m.payload, 1, s);
    case 'X': return payload(m.payload, 2, s);
    case 'q': return String(m.qos);
    case 'r': return m.retain ? '1' : '0';
    case 'l': return int(m.payload.length, s);
    case 'm': return int(0, s);
    case 'I': return str(isoTime(now), s);
    case 'U': return `${Math.floor(now.getTime() / 1000)}.${pad(now.getMilliseconds() * 1_000_000, 9)}`;
    case 'j': return json(m, now, false, pretty);
    case 'J': return json(m, now, true, pretty);
    case 'A': return optionalInt(p.topicAlias, s);
    case 'E': return optionalInt(p.messageExpiryInterval, s);
    case 'F': return optionalInt(p.payloadFormatIndicator, s);
    case 'S': return optionalInt(p.subscriptionIdentifiers?.[0], s);
    case 'C': return p.contentType !== undefined ? str(p.contentType, s) : ' '.repeat(s.width);
    case 'R': return p.responseTopic !== undefined ? str(p.responseTopic, s) : '';
    case 'D': return p.correlationData !== undefined ? Buffer.from(p.correlationData).toString() : '';
    case 'P': return (p.userProperties ?? []).map(([k, v]) => `${k}:${v}`).join(' ');
    case '%': return '%';
    default: return '';
  }
}

/** printf's %d, %-*d and %0*d. */
function int(value: number, s: Spec): string {
  const text = String(value);
  if (s.width === 0) return text;
  if (s.left) return text.padEnd(s.width);
  return s.pad === '0' ? (value < 0 ? `-${String(-value).padStart(s.width - 1, '0')}` : text.padStart(s.width, '0')) : text.padStart(s.width);
}

/** A property that may be absent: blank of the field's width (the pad character), as mosquitto_sub. */
function optionalInt(value: number | undefined, s: Spec): string {
  return value !== undefined ? int(value, s) : s.pad.repeat(s.width);
}

/** printf's %*.*s. */
function str(value: string, s: Spec): string {
  const text = s.precision >= 0 ? value.slice(0, s.precision) : value;
  return s.left ? text.padEnd(s.width) : text.padStart(s.width);
}

/** mosquitto_sub's write_payload: a width truncates as well as pads; hex counts two digits a byte. */
function payload(bytes: Buffer, hex: 0 | 1 | 2, s: Spec): string {
  let length = bytes.length;
  let padding = s.width - length;
  if (s.width > 0) {
    if (length > s.width) length = s.width;
    if (hex > 0) {
      length = Math.floor(length / 2);
      padding = s.width - length * 2;
    } else {
      padding = s.width - length;
    }
  }
  const shown = bytes.subarray(0, length);
  const text = hex === 0 ? shown.toString() : hex === 1 ? shown.toString('hex') : shown.toString('hex').toUpperCase();
  const fill = padding > 0 ? padding : 0;
  return s.left ? text + ' '.repeat(fill) : s.pad.repeat(fill) + text;
}

const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** One strftime conversion in the C locale (local time). */
export function strftime(code: string, d: Date): string {
  const h12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
  const start = new Date(d.getFullYear(), 0, 1);
  const dayOfYear = Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - start.getTime()) / 86_400_000) + 1;
  const f = (codes: string): string => [...codes].map((c) => (c === ' ' || c === ':' || c === '-' || c === '/' ? c : strftime(c, d))).join('');
  switch (code) {
    case 'a': return DAYS[d.getDay()]!.slice(0, 3);
    case 'A': return DAYS[d.getDay()]!;
    case 'b': case 'h': return MONTHS[d.getMonth()]!.slice(0, 3);
    case 'B': return MONTHS[d.getMonth()]!;
    case 'c': return f('a b e H:M:S Y');
    case 'C': return pad(Math.floor(d.getFullYear() / 100));
    case 'd': return pad(d.getDate());
    case 'D': case 'x': return f('m/d/y');
    case 'e': return String(d.getDate()).padStart(2);
    case 'F': return f('Y-m-d');
    case 'H': return pad(d.getHours());
    case 'I': return pad(h12);
    case 'j': return pad(dayOfYear, 3);
    case 'k': return String(d.getHours()).padStart(2);
    case 'l': return String(h12).padStart(2);
    case 'm': return pad(d.getMonth() + 1);
    case 'M': return pad(d.getMinutes());
    case 'n': return '\n';
    case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
    case 'P': return d.getHours() < 12 ? 'am' : 'pm';
    case 'r': return `${f('I:M:S')} ${strftime('p', d)}`;
    case 'R': return f('H:M');
    case 's': return String(Math.floor(d.getTime() / 1000));
    case 'S': return pad(d.getSeconds());
    case 't': return '\t';
    case 'T': case 'X': return f('H:M:S');
    case 'u': return String(d.getDay() === 0 ? 7 : d.getDay());
    case 'w': return String(d.getDay());
    case 'y': return pad(d.getFullYear() % 100);
    case 'Y': return String(d.getFullYear());
    case 'z': return zone(d);
    case 'Z': return zoneName(d);
    case '%': return '%';
    default: return `%${code}`;
  }
}

function zoneName(d: Date): string {
  return new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
}

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
