/**
 * The node, its counters and listeners, and the API's own description:
 * - GET /api/v1/nodes : this node (name, version, uptime, memory); the cluster's nodes later
 * - GET /api/v1/stats : the broker's counters
 * - GET /api/v1/listeners : each listener's state, connections and TLS
 * - GET /api-docs : OpenAPI 3 document made from the routes' JSON schemas (public)
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { BROKER_VERSION } from '../broker/sys.js';
import type { AdminContext } from './http.js';

export function nodeRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const admin = ctx.admin;
  app.get('/api/v1/nodes', { schema: { tags: ['node'], summary: 'The nodes (this one until the cluster issue lands)' } }, () => [admin.node()]);
  app.get('/api/v1/stats', { schema: { tags: ['node'], summary: "The broker's counters" } }, () => admin.stats());
  app.get('/api/v1/listeners', { schema: { tags: ['node'], summary: 'Listeners: state, connections, TLS' } }, () => admin.listeners());
}

/** Collects every route registered after it (register it first) and serves them as OpenAPI. */
export function docsRoutes(app: FastifyInstance): void {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide !== true && route.method !== 'HEAD') routes.push(route);
  });
  let document: unknown;
  app.get('/api-docs', { config: { access: 'public' }, schema: { hide: true } }, () => (document ??= openApi(routes)));
}

function openApi(routes: RouteOptions[]): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const access = route.config?.access ?? (methods.includes('GET') ? 'viewer' : 'administrator');
    for (const method of methods) {
      const schema = route.schema ?? {};
      const parameters = [...parametersOf(schema.params, 'path'), ...parametersOf(schema.querystring, 'query')];
      (paths[path] ??= {})[method.toLowerCase()] = {
        ...(schema.tags !== undefined ? { tags: schema.tags } : {}),
        summary: schema.summary ?? '',
        description: `Access: ${access}.`,
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(schema.body !== undefined ? { requestBody: { required: true, content: { 'application/json': { schema: schema.body } } } } : {}),
        responses: {
          200: { description: 'OK', ...(responseSchema(schema.response) !== undefined ? { content: { 'application/json': { schema: responseSchema(schema.response) } } } : {}) },
          400: { description: 'Bad input: { code: BAD_REQUEST, message, field }' },
          401: { description: 'No or bad credentials: { code, message }' },
          403: { description: 'Role too small: { code: FORBIDDEN, message }' },
        },
        ...(access === 'public' ? {} : { security: [{ bearer: [] }, { apiKey: [] }] }),
      };
    }
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Cicada admin API', version: BROKER_VERSION },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'token from POST /api/v1/login' },
        apiKey: { type: 'http', scheme: 'basic', description: 'key:secret from http_api_key_file' },
      },
    },
    paths,
  };
}

function parametersOf(schema: unknown, where: 'path' | 'query'): unknown[] {
  const s = schema as { properties?: Record<string, { description?: string }>; required?: string[] } | undefined;
  if (s?.properties === undefined) return [];
  return Object.entries(s.properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: property,
    ...(property.description !== undefined ? { description: property.description } : {}),
  }));
}

function responseSchema(response: unknown): unknown {
  return (response as Record<string, unknown> | undefined)?.['200'];
}
