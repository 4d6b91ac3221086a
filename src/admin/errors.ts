/**
 * The admin API's error catalog: every refusal is a JSON body `{ code, message }` with a stable
 * code, and never a stack trace. Route code throws `ApiError`; http.ts turns it (and Fastify's own
 * validation and parsing errors) into the reply.
 */
export const API_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  BAD_CREDENTIALS: 401,
  SESSION_EXPIRED: 401,
  USER_LOCKED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_ERROR: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** For 400: the field of the request that was wrong. */
    readonly field?: string,
  ) {
    super(message);
    this.status = API_ERRORS[code];
  }

  body(): { code: ApiErrorCode; message: string; field?: string } {
    return { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) };
  }
}

export function badRequest(field: string, message: string): ApiError {
  return new ApiError('BAD_REQUEST', `${field}: ${message}`, field);
}

export function notFound(what: string): ApiError {
  return new ApiError('NOT_FOUND', `${what} not found`);
}
