/**
 * Bounded JSON decoding for payload paths and json_decode: text longer than MAX_JSON_BYTES or
 * nested deeper than MAX_JSON_DEPTH is not decoded (the path is undefined), checked by one scan
 * before JSON.parse so a hostile payload costs O(length) and no stack.
 */
import type { Value } from './ast.js';

export const MAX_JSON_BYTES = 1024 * 1024;
export const MAX_JSON_DEPTH = 64;

/** The value of JSON text, or undefined when it is not JSON or exceeds the bounds. */
export function decodeJson(text: string): Value {
  if (text.length > MAX_JSON_BYTES || !withinDepth(text)) return undefined;
  try {
    return JSON.parse(text) as Value;
  } catch {
    return undefined;
  }
}

function withinDepth(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_JSON_DEPTH) return false;
    } else if (c === 125 || c === 93) depth--;
  }
  return true;
}

/** JSON text of a value (undefined and non-finite numbers become null, as JSON has neither). */
export function encodeJson(value: Value): string {
  return JSON.stringify(value === undefined ? null : value) ?? 'null';
}
