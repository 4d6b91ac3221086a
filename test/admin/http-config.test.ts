// The admin HTTP server's directives: http_listener PORT [ADDRESS] | none (a section for the
// listener TLS directives), http_api_key_file, http_metrics_auth; settings that cannot take
// effect are errors naming file:line; HTTPS with certfile/keyfile; createBroker and a
// configuration file without http_listener serve no HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { parseConfig } from '../../src/config/config-file.js';
import { createBroker } from '../../src/index.js';
import { silentLogger } from '../../src/broker/logger.js';
import { makePki, tempDir } from '../security/support.js';

void test('http_listener PORT [ADDRESS] and none; loopback by default', () => {
  assert.deepEqual(parseConfig('http_listener 18090\n', '/x/c.conf').http, { port: 18090, host: '127.0.0.1' });
  assert.deepEqual(parseConfig('http_listener 8080 0.0.0.0\n', '/x/c.conf').http, { port: 8080, host: '0.0.0.0' });
  assert.equal(parseConfig('http_listener none\n', '/x/c.conf').http, false);
  assert.equal(parseConfig('listener 1883\nallow_anonymous true\n', '/x/c.conf').http, undefined, 'a file without http_listener: no HTTP');
});

void test('http_listener: a listener setting in its section, a second http_listener, or API settings without it are errors at file:line', () => {
  assert.throws(() => parseConfig('http_listener 8080\nprotocol websockets\n', '/x/c.conf'), /^ConfigError: \/x\/c\.conf:1: http_listener: only TLS directives .* \(protocol\)/);
  assert.throws(() => parseConfig('http_listener 8080\nhttp_listener 8081\n', '/x/c.conf'), /\/x\/c\.conf:2: http_listener: may appear only once/);
  assert.throws(() => parseConfig('http_listener 70000\n', '/x/c.conf'), /\/x\/c\.conf:1: http_listener/);
  assert.throws(() => parseConfig('http_metrics_auth true\n', '/x/c.conf'), /\/x\/c\.conf:1: http_metrics_auth: has no effect without http_listener PORT/);
  assert.throws(() => parseConfig('http_listener none\nhttp_metrics_auth true\n', '/x/c.conf'), /c\.conf:2: http_metrics_auth: has no effect/);
  assert.throws(() => parseConfig('http_listener 8080\ncertfile /nonexistent.pem\n', '/x/c.conf'), /c\.conf:2: certfile/);
});

void test('TLS directives after http_listener apply to it, and a later listener line starts the MQTT section', (t) => {
  const dir = tempDir(t, 'cicada-http-');
  const pki = makePki(dir, []);
  const options = parseConfig(`http_listener 8443\ncertfile ${pki.serverCert}\nkeyfile ${pki.serverKey}\nlistener 1883\nallow_anonymous true\n`, join(dir, 'c.conf'));
  assert.ok(options.http !== false && options.http?.tls !== undefined, 'HTTP has TLS');
  assert.equal(options.listeners?.[0]?.tls, undefined, 'the MQTT listener has none');
  assert.throws(() => parseConfig(`http_listener 8443\ncertfile ${pki.serverCert}\n`, join(dir, 'c.conf')), /TLS settings need both certfile and keyfile/);
});

void test('HTTPS: the admin server answers over TLS with the configured certificate', async (t) => {
  const dir = tempDir(t, 'cicada-http-');
  const pki = makePki(dir, []);
  const options = parseConfig(`http_listener 0\ncertfile ${pki.serverCert}\nkeyfile ${pki.serverKey}\nlistener 0 127.0.0.1\nallow_anonymous true\npersistence_location ${dir}\nsys_interval 0\n`, join(dir, 'c.conf'));
  const broker = createBroker(options, silentLogger);
  await broker.listen();
  t.after(() => broker.close());
  assert.match(broker.httpUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${broker.httpUrl}/api/v1/stats`, { ca: readFileSync(pki.ca) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 401, 'TLS verified against the CA, then the guard');
  assert.equal(JSON.parse(body).code, 'UNAUTHORIZED');
});

void test('createBroker without http serves no HTTP; http_api_key_file with a bad line stops listen() naming file:line', async (t) => {
  const dir = tempDir(t, 'cicada-http-');
  const plain = createBroker({ port: 0, sysInterval: 0, persistenceLocation: dir }, silentLogger);
  await plain.listen();
  assert.equal(plain.httpUrl, undefined);
  await plain.close();
  for (const [content, message] of [
    ['ops:short:administrator\n', /keys:1: the secret of ops is shorter than 16 characters/],
    ['ops:0123456789abcdef0123:root\n', /keys:1: role must be one of viewer, publisher, administrator \(not root\)/],
    ['# comment\nops\n', /keys:2: expected key:secret:role/],
    ['a:0123456789abcdef0123:viewer\na:0123456789abcdef0124:viewer\n', /keys:2: key a is defined twice/],
  ] as const) {
    writeFileSync(join(dir, 'keys'), content);
    const broker = createBroker({ port: 0, sysInterval: 0, persistenceLocation: dir, http: { port: 0 }, httpApiKeyFile: join(dir, 'keys') }, silentLogger);
    await assert.rejects(broker.listen(), message);
  }
});

void test('an explicit http_listener whose port is taken stops the broker; the default of cicada broker only warns', async (t) => {
  const dir = tempDir(t, 'cicada-http-');
  const first = createBroker({ port: 0, sysInterval: 0, persistenceLocation: dir, http: { port: 0 } }, silentLogger);
  await first.listen();
  t.after(() => first.close());
  const port = Number(new URL(first.httpUrl as string).port);
  const explicit = createBroker({ port: 0, sysInterval: 0, persistenceLocation: dir, http: { port } }, silentLogger);
  await assert.rejects(explicit.listen(), new RegExp(`http_listener: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
  const warnings: string[] = [];
  const optional = createBroker({ port: 0, sysInterval: 0, persistenceLocation: dir, http: { port, optional: true } }, { ...silentLogger, warn: (_o: unknown, m?: string) => void warnings.push(m ?? '') });
  await optional.listen();
  t.after(() => optional.close());
  assert.equal(optional.httpUrl, undefined);
  assert.ok(warnings.some((w) => w.includes('running without the admin HTTP server')), warnings.join('\n'));
});
