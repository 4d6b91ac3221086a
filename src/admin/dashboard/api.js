// The admin API from the browser: a bearer token (POST /api/v1/login) kept in sessionStorage,
// sent on every request. A 401 sends the user back to the login form.

const KEY = 'cicada.token';
let onUnauthorized = () => {};

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  if (value === undefined) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, value);
}

export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** An error of the API: its HTTP status, code and message. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.field = body?.field;
  }
}

/** Call the API: api('GET', '/api/v1/clients', { query: {...} }) or with { body }. */
export async function api(method, path, { query, body } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const headers = {};
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return undefined;
  const data = await response.json().catch(() => undefined);
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/v1/login') {
      setToken(undefined);
      onUnauthorized();
    }
    throw new ApiError(response.status, data);
  }
  return data;
}
