/**
 * The admin HTTP server (Fastify): the dashboard at `/`, the API under `/api/v1`, its OpenAPI
 * document at `/api-docs`, Prometheus metrics at `/metrics`.
 *
 * Route modules (routes.ts lists them) get the Fastify app and an AdminContext; each route says
 * who may call it with `config: { access }`: 'public', or the least role ('viewer', 'publisher',
 * 'administrator'). Without it, GET and HEAD need 'viewer' and everything else 'administrator'.
 * The guard (an onRequest hook) reads `Authorization: Bearer <session token>` (dashboard users,
 * POST /api/v1/login) or `Authorization: Basic key:secret` (API keys) and fails closed: no
 * credentials, 401; too small a role, 403. Every error is JSON `{ code, message[, field] }`
 * (errors.ts), never a stack trace.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, type FastifyHttpsOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Server as HttpsServer, ServerOptions as SecureServerOptions } from 'node:https';
import type { BrokerCore } from '../broker/core.js';
import type { AdminFacade } from '../broker/admin.js';
import type { Logger } from '../broker/logger.js';
import type { BrokerOptions, HttpListenerOptions } from '../config/schema.js';
import { roleAllows, type ApiKeys, type DashboardUsers, type Principal, type Role } from './auth.js';
import { ApiError, API_ERRORS, type ApiErrorCode } from './errors.js';
import { routeModules } from './routes.js';

export type Access = 'public' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (see http.ts); default viewer for GET/HEAD, administrator otherwise. */
    access?: Access;
  }
  interface FastifySchema {
    /** For /api-docs (OpenAPI). */
    tags?: string[];
    summary?: string;
    description?: string;
    /** Left out of /api-docs (e.g. the dashboard's static files). */
    hide?: boolean;
  }
  interface FastifyRequest {
    /** The caller, set by the guard (undefined on public routes called without credentials). */
    principal?: Principal;
  }
}

/** What route modules get besides the app. */
export interface AdminContext {
  core: BrokerCore;
  admin: AdminFacade;
  log: Logger;
  users: DashboardUsers;
  keys: ApiKeys;
  options: BrokerOptions;
  /** Re-read the password and ACL files, as SIGHUP (server.ts reload). */
  reload(): void;
}

export type AdminRouteModule = (app: FastifyInstance, ctx: AdminContext) => void;

export interface AdminHttp {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** Largest request body: 1 MiB (publish payloads included). */
const BODY_LIMIT = 1024 * 1024;

/** Build the app with every route module (not listening: `app.inject` works for tests). */
export async function buildAdminApp(ctx: AdminContext, tls?: HttpListenerOptions['tls']): Promise<FastifyInstance> {
  const app = (tls === undefined ? Fastify(appOptions()) : Fastify<HttpsServer>({ ...(appOptions() as FastifyHttpsOptions<HttpsServer>), https: httpsOptions(tls) })) as unknown as FastifyInstance;
  app.addHook('onRequest', (request, reply, done) => {
    try {
      guard(ctx, request, reply);
      done();
    } catch (error) {
      done(error as FastifyError);
    }
  });
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(ctx.log, error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
  for (const register of routeModules) register(app, ctx);
  await app.ready();
  return app;
}

function appOptions(): FastifyServerOptions {
  return {
    logger: false,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 1024 },
    // Unknown fields are refused (400), not dropped in silence; a scalar is never made an array.
    ajv: { customOptions: { removeAdditional: false, allErrors: false, coerceTypes: true } },
    return503OnClosing: true,
  };
}

function httpsOptions(tls: NonNullable<HttpListenerOptions['tls']>): SecureServerOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.minVersion !== undefined ? { minVersion: tls.minVersion } : {}),
    ...(tls.ciphers !== undefined ? { ciphers: tls.ciphers } : {}),
    ...(tls.dhparam !== undefined ? { dhparam: tls.dhparam } : {}),
  };
}

/** Listen on `listen` (port 0: a free one) with an app of buildAdminApp, and log where; the app is closed if it cannot. */
export async function listenAdminApp(app: FastifyInstance, ctx: AdminContext, listen: HttpListenerOptions): Promise<AdminHttp> {
  const host = listen.host ?? '127.0.0.1';
  try {
    await app.listen({ port: listen.port, host });
  } catch (error) {
    await app.close();
    const e = error as NodeJS.ErrnoException;
    throw new Error(`http_listener: cannot listen on ${host}:${listen.port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`, { cause: error });
  }
  const port = (app.server.address() as AddressInfo).port;
  const scheme = listen.tls === undefined ? 'http' : 'https';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  ctx.log.info({ type: 'notice', url }, `admin HTTP (dashboard, /api/v1, /metrics) listening on ${url}`);
  return { url, port, app, close: () => app.close() };
}

/** The route's access rule (see the file comment). */
function accessOf(request: FastifyRequest): Access {
  const declared = request.routeOptions.config.access;
  if (declared !== undefined) return declared;
  return request.method === 'GET' || request.method === 'HEAD' ? 'viewer' : 'administrator';
}

function guard(ctx: AdminContext, request: FastifyRequest, reply: FastifyReply): void {
  const access = accessOf(request);
  const header = request.headers.authorization;
  const principal = header === undefined ? undefined : authenticate(ctx, header);
  if (principal !== undefined) request.principal = principal;
  if (access === 'public') return;
  if (principal === undefined) {
    if (header?.startsWith('Basic ') === true) void reply.header('www-authenticate', 'Basic realm="cicada", charset="UTF-8"');
    throw new ApiError(header === undefined ? 'UNAUTHORIZED' : 'BAD_CREDENTIALS', header === undefined ? 'credentials required: Authorization Bearer (POST /api/v1/login) or Basic (API key)' : 'invalid or expired credentials');
  }
  if (!roleAllows(principal.role, access)) throw new ApiError('FORBIDDEN', `role ${principal.role} may not do this (needs ${access})`);
}

function authenticate(ctx: AdminContext, header: string): Principal | undefined {
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return ctx.users.session(value);
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return ctx.keys.verify(decoded.slice(0, colon), decoded.slice(colon + 1));
}

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

function sendError(log: Logger, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ApiError) {
    void reply.code(error.status).send(error.body());
    return;
  }
  if (error.validation !== undefined) {
    const first = error.validation[0];
    const params = first?.params as { missingProperty?: string; additionalProperty?: string } | undefined;
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const field = [error.validationContext, path || params?.missingProperty || params?.additionalProperty].filter((p) => p !== undefined && p !== '').join('.');
    const what = params?.additionalProperty !== undefined ? 'unknown field' : (first?.message ?? 'invalid');
    const api = new ApiError('BAD_REQUEST', `${field}: ${what}`, field);
    void reply.code(400).send(api.body());
    return;
  }
  const code = FASTIFY_CODES[error.code];
  if (code !== undefined) {
    void reply.code(API_ERRORS[code]).send({ code, message: error.message });
    return;
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's parsing errors (bad JSON, empty body): their message, no stack.
    void reply.code(status).send({ code: status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: error.message, field: 'body' });
    return;
  }
  log.error({ err: error, url: request.url, method: request.method }, 'admin HTTP: internal error');
  void reply.code(500).send({ code: 'INTERNAL_ERROR', message: 'internal error (logged)' });
}
