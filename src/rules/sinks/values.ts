/** Shared helpers of the sink types: a rendered value as a database parameter, error kinds. */
import type { Value } from '../ast.js';
import { encodeJson } from '../json.js';

/** A value as a query parameter: scalars as they are, missing as NULL, objects and arrays as JSON text. */
export function parameter(value: Value): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object') return encodeJson(value);
  return value;
}

/** Network errors that mean "the server is not there (now)": retried. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return true; // no code: a time-out, a closed client, ...
  return /^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|57P|08|53)/.test(code);
}
