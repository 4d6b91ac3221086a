/**
 * `http_dir`: a WebSocket listener also serves the files of a directory to plain HTTP GET and
 * HEAD requests, as Mosquitto does (e.g. a browser MQTT client next to the broker). Only files
 * inside the directory are served: a path that resolves outside it, or any error, is a 404.
 */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** The file a request path names inside `root`, or undefined (outside, absent, not a file). */
function fileFor(root: string, url: string): { path: string; size: number } | undefined {
  let path: string;
  try {
    path = resolve(join(root, decodeURIComponent((url.split('?')[0] ?? '/'))));
  } catch {
    return undefined; // malformed %-escape
  }
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  try {
    let stat = statSync(path);
    if (stat.isDirectory()) {
      path = join(path, 'index.html');
      stat = statSync(path);
    }
    return stat.isFile() ? { path, size: stat.size } : undefined;
  } catch {
    return undefined;
  }
}

export function serveHttpDir(root: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' });
    res.end();
    return;
  }
  const file = fileFor(resolve(root), req.url ?? '/');
  if (file === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Not found\n');
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream', 'content-length': file.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file.path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
