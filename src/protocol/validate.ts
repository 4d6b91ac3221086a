/**
 * Validation of MQTT strings, topic names and topic filters.
 *
 * UTF-8 [MQTT-1.5.4-1], [MQTT-1.5.4-2]: a UTF-8 Encoded String must be well-formed UTF-8 (no
 * encoded surrogates U+D800..U+DFFF, no overlongs) and must not contain U+0000. Scanning works on
 * the raw bytes: every byte of a multi-byte UTF-8 sequence is >= 0x80, so a byte < 0x80 is always
 * the ASCII character it looks like. Pure-ASCII strings (the common case for topics) are checked
 * by one byte loop; anything else also goes through Node's `isUtf8`, which rejects surrogates.
 *
 * Topic names [MQTT-4.7.3-1] are non-empty, contain no wildcard [MQTT-3.3.2-2] and are at most
 * 65535 bytes. Topic filters [MQTT-4.7.1-2], [MQTT-4.7.1-3]: `#` only as the whole last level,
 * `+` only as a whole level. `$share/{group}/{filter}` is a shared subscription [MQTT-4.8.2-1],
 * [MQTT-4.8.2-2]: a non-empty group without `/`, `+`, `#`, then a valid non-empty filter.
 */
import { isUtf8 } from 'node:buffer';

const HASH = 0x23; // '#'
const PLUS = 0x2b; // '+'
const SLASH = 0x2f; // '/'
const MAX_STRING_BYTES = 65535;

/** True when buf[start, end) is valid MQTT UTF-8: well-formed, no surrogates, no U+0000. */
export function isValidUtf8String(buf: Buffer, start: number, end: number): boolean {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === 0) return false;
    if (b >= 0x80) ascii = false;
  }
  return ascii || isUtf8(buf.subarray(start, end));
}

/** Result of scanning the bytes of a topic name. */
export const TopicScan = { Ok: 0, BadUtf8: 1, Wildcard: 2 } as const;

/** One pass over the bytes of a PUBLISH topic name: UTF-8 rules and no wildcards. */
export function scanTopicName(buf: Buffer, start: number, end: number): number {
  let ascii = true;
  let wildcard = false;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === 0) return TopicScan.BadUtf8;
    if (b >= 0x80) ascii = false;
    else if (b === HASH || b === PLUS) wildcard = true;
  }
  if (!ascii && !isUtf8(buf.subarray(start, end))) return TopicScan.BadUtf8;
  return wildcard ? TopicScan.Wildcard : TopicScan.Ok;
}

/** A topic name a client may publish to [MQTT-4.7.3-1], [MQTT-3.3.2-2]. */
export function isValidTopicName(topic: string): boolean {
  if (topic.length === 0) return false;
  if (topic.indexOf('+') !== -1 || topic.indexOf('#') !== -1 || topic.indexOf('\u0000') !== -1) return false;
  return Buffer.byteLength(topic) <= MAX_STRING_BYTES;
}

/** Wildcard placement in a plain (non-shared) filter [MQTT-4.7.1-2], [MQTT-4.7.1-3]. */
function isValidPlainFilter(filter: string, from: number): boolean {
  const len = filter.length;
  if (from >= len) return false;
  for (let i = from; i < len; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH) {
      // Alone in the last level.
      if (i !== len - 1 || (i > from && filter.charCodeAt(i - 1) !== SLASH)) return false;
    } else if (c === PLUS) {
      if (i > from && filter.charCodeAt(i - 1) !== SLASH) return false;
      if (i < len - 1 && filter.charCodeAt(i + 1) !== SLASH) return false;
    } else if (c === 0) {
      return false;
    }
  }
  return true;
}

const SHARE_PREFIX = '$share/';

/** Index of the '/' ending the share name, or -1 when the share name is invalid. */
function shareGroupEnd(filter: string): number {
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash <= SHARE_PREFIX.length) return -1; // no '/' after the group, or empty group
  for (let i = SHARE_PREFIX.length; i < slash; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH || c === PLUS) return -1;
  }
  return slash;
}

/** A topic filter a client may subscribe to, including the `$share/group/filter` shape. */
export function isValidTopicFilter(filter: string): boolean {
  if (Buffer.byteLength(filter) > MAX_STRING_BYTES) return false;
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = shareGroupEnd(filter);
    return slash !== -1 && isValidPlainFilter(filter, slash + 1);
  }
  return isValidPlainFilter(filter, 0);
}

/** Splits a valid shared subscription filter; undefined when `filter` is not one. */
export function parseSharedFilter(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = shareGroupEnd(filter);
  if (slash === -1 || !isValidPlainFilter(filter, slash + 1)) return undefined;
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}
