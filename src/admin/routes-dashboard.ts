/**
 * The dashboard's files: `/` is its page, `/dashboard/NAME` its scripts and styles, read once at
 * start from src/admin/dashboard (shipped in the package as they are: plain ES modules, no build
 * step, no CDN) and served from memory by exact name, so no request path ever reaches the file
 * system. `/dashboard/vendor/mqtt.min.js` is MQTT.js's browser build for the WebSocket client page.
 * Every answer carries a Content-Security-Policy that allows only our own scripts and styles (no
 * inline script, no eval): with data always rendered as text, an injected `<img onerror>` in a
 * topic or payload cannot run even if a rendering bug let it into the page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AdminContext } from './http.js';
import { ApiError } from './errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; worker-src blob:; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  type: string;
  body: Buffer;
}

/** The dashboard folder: next to this module (sources run directly) or in the package's src (compiled into dist). */
export function dashboardDirectory(): string {
  const candidates = [fileURLToPath(new URL('./dashboard/', import.meta.url)), fileURLToPath(new URL('../../../src/admin/dashboard/', import.meta.url))];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (found === undefined) throw new Error(`dashboard files not found (looked in ${candidates.join(', ')})`);
  return found;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) assets.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  return assets;
}

/** MQTT.js's browser build, when the mqtt package is installed. */
function loadMqttBrowserBuild(): Asset | undefined {
  try {
    const path = createRequire(import.meta.url).resolve('mqtt/dist/mqtt.min');
    return { type: TYPES['.js'] as string, body: readFileSync(path) };
  } catch {
    return undefined;
  }
}

function send(reply: FastifyReply, asset: Asset): FastifyReply {
  return reply
    .header('content-type', asset.type)
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .send(asset.body);
}

export function dashboardRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const assets = loadAssets(dashboardDirectory());
  const mqtt = loadMqttBrowserBuild();
  if (mqtt === undefined) ctx.log.warn('dashboard: the mqtt package is not installed, so the WebSocket client page cannot load MQTT.js');
  // Not part of the API: left out of /api-docs.
  const hidden = { hide: true, summary: 'dashboard file' };
  app.get('/', { config: { access: 'public' }, schema: { ...hidden, summary: 'The dashboard' } }, (_request, reply) => send(reply, assets.get('index.html') as Asset));
  app.get('/dashboard/vendor/mqtt.min.js', { config: { access: 'public' }, schema: hidden }, (_request, reply) => {
    if (mqtt === undefined) throw new ApiError('NOT_FOUND', 'the mqtt package (MQTT.js) is not installed');
    return send(reply, mqtt);
  });
  app.get<{ Params: { name: string } }>(
    '/dashboard/:name',
    { config: { access: 'public' }, schema: { ...hidden, params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } } } } },
    (request, reply) => {
      const asset = assets.get(request.params.name);
      if (asset === undefined) throw new ApiError('NOT_FOUND', 'no such dashboard file');
      return send(reply, asset);
    },
  );
}
