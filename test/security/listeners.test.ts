// Several listeners at once: TCP, TLS, WebSocket and secure WebSocket (MQTT.js), a unix socket
// (mosquitto_pub --unix), with max_connections and the per-IP connection rate limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { runProcess } from '../helpers/processes.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makePki, read, startCicada, tempDir } from './support.js';

test('TCP, TLS, ws:// and wss:// listeners at once: MQTT.js on each reaches subscribers on the others', async (t) => {
  const dir = tempDir(t);
  const pki = makePki(dir, []);
  const tls = { cert: read(pki.serverCert), key: read(pki.serverKey) };
  const { url } = await startCicada(t, {
    listeners: [
      { port: 0, host: '127.0.0.1' },
      { port: 0, host: '127.0.0.1', tls },
      { port: 0, host: '127.0.0.1', protocol: 'websockets' },
      { port: 0, host: '127.0.0.1', protocol: 'websockets', tls },
    ],
  });
  assert.match(url(2), /^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
  assert.match(url(3), /^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
  const secure = { ca: read(pki.ca), servername: 'localhost' };
  const clients = [
    await connectMqtt(url(0), { clientId: 'tcp' }),
    await connectMqtt(url(1), { clientId: 'tls', ...secure }),
    await connectMqtt(url(2), { clientId: 'ws' }),
    await connectMqtt(url(3), { clientId: 'wss', protocolVersion: 5, ...secure }),
  ];
  t.after(() => Promise.all(clients.map((c) => endMqtt(c))));
  for (const client of clients) await client.subscribeAsync('all/+', { qos: 1 });
  for (const client of clients) await client.publishAsync(`all/${client.options.clientId}`, 'hi', { qos: 1 });
  for (const client of clients) {
    const got = await client.inbox.next(4);
    assert.deepEqual(got.map((m) => m.topic).sort(), ['all/tcp', 'all/tls', 'all/ws', 'all/wss']);
  }
});

function attemptUpgrade(url: string, protocol: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocol);
    ws.once('open', () => {
      resolve(`open:${ws.protocol}`);
      ws.close();
    });
    ws.once('error', (error) => resolve(`error:${error.message}`));
  });
}

test('WebSocket listener: any path is upgraded (as Mosquitto), only subprotocol mqtt; a malformed upgrade is logged', async (t) => {
  const { url, logs } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1', protocol: 'websockets' }] });
  const base = url(0).replace('/mqtt', '');
  assert.equal(await attemptUpgrade(`${base}/mqtt`, 'mqtt'), 'open:mqtt');
  assert.equal(await attemptUpgrade(`${base}/`, 'mqtt'), 'open:mqtt');
  assert.equal(await attemptUpgrade(`${base}/ws/anything?x=1`, 'mqtt'), 'open:mqtt');
  assert.match(await attemptUpgrade(`${base}/mqtt`, 'chat'), /^error:/);
  // MQTT.js on a path that is not /mqtt.
  const client = await connectMqtt(`${base}/broker`, { clientId: 'any-path' });
  await endMqtt(client);
  // A malformed upgrade (bad Sec-WebSocket-Key) is answered 400 and logged too.
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1', () => {
      socket.write('GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: bad\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 400/);
  await waitFor(() => logs.join('\n').includes('Missing or invalid Sec-WebSocket-Key header'), 5000, 'malformed upgrade logged');
});

test('WebSocket listener: websockets_path restricts the path and a refused upgrade is logged', async (t) => {
  const { url, broker, logs } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1', protocol: 'websockets', websocketsPath: '/mqtt' }] });
  const base = url(0).replace('/mqtt', '');
  assert.equal(await attemptUpgrade(`${base}/mqtt`, 'mqtt'), 'open:mqtt');
  assert.match(await attemptUpgrade(`${base}/other`, 'mqtt'), /^error:/);
  await waitFor(() => logs.join('\n').includes('WebSocket upgrade refused: path /other is not /mqtt (websockets_path)'), 5000, 'refusal logged');
  assert.equal(broker.stats.connectionsRefused, 1);
});

test('WebSocket listener: websockets_headers_size bounds the HTTP request header (431 beyond it)', async (t) => {
  const { url } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1', protocol: 'websockets', httpHeadersSize: 1024 }] });
  const base = url(0).replace('ws://', 'http://');
  assert.equal((await fetch(base, { headers: { cookie: 'x'.repeat(500) } })).status, 426, 'within the bound: the usual answer');
  assert.equal((await fetch(base, { headers: { cookie: 'x'.repeat(2000) } })).status, 431);
});

test('WebSocket listener: http_dir serves its files to plain HTTP, nothing outside it', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www', 'index.html'), '<h1>cicada</h1>');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  const { url } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1', protocol: 'websockets', httpDir: join(dir, 'www') }] });
  const base = url(0).replace('ws://', 'http://').replace('/mqtt', '');
  const index = await fetch(`${base}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(await index.text(), '<h1>cicada</h1>');
  assert.equal((await fetch(`${base}/index.html`)).status, 200);
  assert.equal((await fetch(`${base}/%2e%2e/secret.txt`)).status, 404);
  assert.equal((await fetch(`${base}/missing.js`)).status, 404);
  // The same port still upgrades MQTT over WebSocket.
  assert.equal(await attemptUpgrade(url(0), 'mqtt'), 'open:mqtt');
});

test('unix socket listener: mosquitto_pub --unix and a TCP subscriber', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cicada.sock');
  const { url } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }, { port: 0, path }] });
  assert.equal(url(1), `unix:${path}`);
  const sub = await connectMqtt(url(0));
  t.after(() => endMqtt(sub));
  await sub.subscribeAsync('unix/t');
  const pub = await runProcess('mosquitto_pub', ['--unix', path, '-t', 'unix/t', '-m', 'via-unix'], 5000);
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal((await sub.inbox.next(1))[0]?.payload, 'via-unix');
});

function openSockets(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
}

async function closedByServer(socket: net.Socket, ms: number): Promise<boolean> {
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
  return Promise.race([closed, sleep(ms).then(() => false)]);
}

test('connection floods: max_connections per listener, connection_rate_limit per IP; counted and logged', async (t) => {
  const { broker, url, logs } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1', maxConnections: 3 }] });
  const port = Number(new URL(url(0)).port);
  const sockets = await openSockets(port, 5);
  t.after(() => sockets.forEach((s) => s.destroy()));
  const closed = await Promise.all(sockets.map((s) => closedByServer(s, 300)));
  assert.equal(closed.filter(Boolean).length, 2, 'the 4th and 5th connections are closed at once');
  assert.equal(broker.stats.connectionsRefused, 2);
  assert.ok(logs.some((l) => l.includes('connection refused') && l.includes('max_connections 3')));
  // A well-behaved client gets in once others leave.
  sockets.forEach((s) => s.destroy());
  await waitFor(async () => {
    try {
      await endMqtt(await connectMqtt(url(0)));
      return true;
    } catch {
      return false;
    }
  }, 3000, 'a connection after the flood');

  const limited = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], connectionRateLimit: 5 });
  const burst = await openSockets(Number(new URL(limited.url(0)).port), 12);
  t.after(() => burst.forEach((s) => s.destroy()));
  const cut = await Promise.all(burst.map((s) => closedByServer(s, 300)));
  assert.ok(cut.filter(Boolean).length >= 6, `at least 7 of 12 refused in one second (${cut.filter(Boolean).length})`);
  assert.ok(limited.broker.stats.connectionsRefused >= 6);
  assert.ok(limited.logs.some((l) => l.includes('connections per second from 127.0.0.1')));
});
