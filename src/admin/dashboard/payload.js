// Payload views: the bytes of a base64 payload as text, a JSON tree, hex or base64, and the
// numeric fields of a JSON value (for charts). Everything is rendered as text nodes.
import { h } from './dom.js';

export function bytesOf(base64) {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export function textOf(base64) {
  return new TextDecoder().decode(bytesOf(base64));
}

/** The JSON value of a payload, or undefined when it is not JSON. */
export function jsonOf(base64) {
  try {
    return JSON.parse(textOf(base64));
  } catch {
    return undefined;
  }
}

export function hexOf(base64) {
  const bytes = [...bytesOf(base64)].map((b) => b.toString(16).padStart(2, '0'));
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) lines.push(`${i.toString(16).padStart(6, '0')}  ${bytes.slice(i, i + 16).join(' ')}`);
  return lines.join('\n');
}

/** A view of the payload in one of the formats: 'text', 'json', 'hex', 'base64'. */
export function payloadView(base64, format) {
  if (format === 'hex') return h('pre', { class: 'payload hex' }, hexOf(base64));
  if (format === 'base64') return h('pre', { class: 'payload b64' }, base64);
  if (format === 'json') {
    const value = jsonOf(base64);
    return value === undefined ? h('p', { class: 'error' }, 'Not JSON.') : h('div', { class: 'payload json' }, jsonTree(value));
  }
  return h('pre', { class: 'payload text' }, textOf(base64));
}

/** Nested lists for objects and arrays; leaves typed (number, string, ...). */
export function jsonTree(value, key) {
  const label = key === undefined ? [] : [h('span', { class: 'json-key' }, key), ': '];
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const open = Array.isArray(value) ? '[' : '{';
    const close = Array.isArray(value) ? ']' : '}';
    return h('div', { class: 'json-node' }, label, open, h('ul', {}, entries.map(([k, v]) => h('li', {}, jsonTree(v, k)))), close);
  }
  return h('span', { class: 'json-leaf' }, label, h('span', { class: `json-${value === null ? 'null' : typeof value}` }, JSON.stringify(value)));
}

/** Paths of the numeric fields of a JSON value: 'temp', 'a.b', 'list.0'; '' for a plain number. */
export function numericFields(value, prefix = '', out = []) {
  if (typeof value === 'number') out.push(prefix);
  else if (value !== null && typeof value === 'object' && out.length < 200) {
    for (const [k, v] of Object.entries(value)) numericFields(v, prefix === '' ? k : `${prefix}.${k}`, out);
  }
  return out;
}

export function fieldValue(value, path) {
  if (path === '') return typeof value === 'number' ? value : undefined;
  let v = value;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
    v = v[part];
  }
  return typeof v === 'number' ? v : undefined;
}
