/** JSON schema pieces shared by the admin API's routes. */
import { AdminError } from '../broker/admin.js';
import { ApiError } from './errors.js';

/** A topic is at most 65,535 bytes of UTF-8, so at most that many characters. */
export const TOPIC = { type: 'string', minLength: 1, maxLength: 65535 } as const;
export const CLIENT_ID = { type: 'string', minLength: 1, maxLength: 65535 } as const;
export const PAGE = { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 } as const;
export const LIMIT = { type: 'integer', minimum: 1, maximum: 1000, default: 100 } as const;
export const QOS = { type: 'integer', enum: [0, 1, 2] } as const;
export const PAGED = {
  type: 'object',
  properties: {
    data: { type: 'array' },
    meta: { type: 'object', properties: { page: { type: 'integer' }, limit: { type: 'integer' }, count: { type: 'integer' }, hasnext: { type: 'boolean' } } },
  },
} as const;

/** Run a facade call; its AdminError becomes the API's 400 naming `field` (the request's name for it) or 404. */
export function facade<T>(call: () => T, field?: string): T {
  try {
    return call();
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    if (error.kind === 'not-found') throw new ApiError('NOT_FOUND', error.message);
    const named = field ?? error.field ?? 'body';
    throw new ApiError('BAD_REQUEST', `${named}: ${error.message}`, named);
  }
}
