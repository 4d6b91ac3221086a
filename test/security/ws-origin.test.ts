// WebSocket Origin checks: any web page a user opens could otherwise connect to a broker on
// localhost or the LAN. websockets_origins lists the origins allowed (HTTP 403 for others); a
// listener that admits anonymous clients takes only localhost pages unless told otherwise.
// Clients that send no Origin (not browsers) are not concerned. Mosquitto has no such directive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { parseConfig } from '../../src/config/config-file.js';
import { cicadaOnly } from '../helpers/broker.js';
import { runProcess } from '../helpers/processes.js';
import { configOutcome, startCicada, tempDir } from './support.js';

const options = cicadaOnly('Mosquitto has no Origin allow-list (and its WebSocket listener does not start here)');

/** The outcome of a WebSocket handshake to `url` with this Origin: 'open' or the HTTP status. */
function handshake(url: string, origin: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'mqtt', origin === undefined ? {} : { origin });
    ws.once('open', () => {
      resolve('open');
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(String(res.statusCode));
      ws.terminate();
    });
    ws.once('error', (error) => resolve(`error:${error.message}`));
  });
}

test('WebSocket listener admitting anonymous clients: localhost pages and non-browsers only; other origins get HTTP 403, counted and logged', options, async (t) => {
  const { url, broker, logs } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1', protocol: 'websockets' }] });
  assert.equal(await handshake(url(), undefined), 'open', 'no Origin: not a browser');
  assert.equal(await handshake(url(), 'http://localhost:8080'), 'open');
  assert.equal(await handshake(url(), 'http://127.0.0.1:3000'), 'open');
  assert.equal(await handshake(url(), 'http://[::1]'), 'open');
  assert.equal(await handshake(url(), 'https://evil.example'), '403');
  assert.equal(await handshake(url(), 'http://localhost.evil.example'), '403');
  assert.equal(await handshake(url(), 'null'), '403', 'a sandboxed page or a file');
  assert.equal(broker.stats.connectionsRefused, 3);
  assert.ok(logs.some((l) => l.includes('origin not allowed') && l.includes('https://evil.example')));
});

test('websockets_origins: only the listed origins (localhost included only when listed); a listener requiring authentication takes any origin by default', options, async (t) => {
  const dir = tempDir(t);
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  await runProcess('mosquitto_passwd', ['-b', passwd, 'bob', 'pw'], 10_000);
  const { url } = await startCicada(t, {
    listeners: [
      { port: 0, host: '127.0.0.1', protocol: 'websockets', allowedOrigins: ['https://app.example.com'] },
      { port: 0, host: '127.0.0.1', protocol: 'websockets', security: { passwordFile: passwd } },
    ],
    perListenerSettings: true,
  });
  assert.equal(await handshake(url(0), 'https://app.example.com'), 'open');
  assert.equal(await handshake(url(0), 'https://APP.example.com:443'), 'open', 'compared as origins');
  assert.equal(await handshake(url(0), 'http://localhost:8080'), '403');
  assert.equal(await handshake(url(0), 'https://app.example.com.evil.example'), '403');
  assert.equal(await handshake(url(0), undefined), 'open');
  assert.equal(await handshake(url(1), 'https://evil.example'), 'open', 'credentials are asked in CONNECT');
});

test('websockets_origins in the configuration file: origins per listener, checked; only on a WebSocket listener', options, () => {
  const text = 'listener 9001\nprotocol websockets\nwebsockets_origins https://app.example.com, http://localhost:8080\nallow_anonymous true\n';
  assert.deepEqual(parseConfig(text, '/etc/cicada/w.conf').listeners?.[0]?.allowedOrigins, ['https://app.example.com', 'http://localhost:8080']);
  const error = (conf: string): string => configOutcome(conf, '/etc/cicada/w.conf');
  assert.match(error('listener 9001\nprotocol websockets\nwebsockets_origins app.example.com\n'), /^\/etc\/cicada\/w\.conf:3: websockets_origins: expects origins/);
  assert.match(error('listener 9001\nprotocol websockets\nwebsockets_origins https://a.example/path\n'), /w\.conf:3: websockets_origins: /);
  assert.match(error('listener 1883\nwebsockets_origins https://app.example.com\n'), /w\.conf:1: listener 1883: websockets_origins needs protocol websockets/);
});
