// JWT authentication with tokens signed in the test (jose): HS256 with a secret, RS256 with a PEM
// public key, ES256 with a JWKS file; exp and nbf; EMQX-style ACL claims. The HTTP auth hook
// against a local HTTP server: decisions, the time-out, the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { pubackCode, refusedCode, startCicada, tempDir } from './support.js';

type Key = Parameters<SignJWT['sign']>[0];

function sign(claims: JWTPayload, alg: string, key: Key, kid?: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, ...(kid !== undefined ? { kid } : {}) }).sign(key);
}

const now = (): number => Math.floor(Date.now() / 1000);

test('JWT HS256 with a secret: the token is the password; exp, nbf, signature and user name are checked', async (t) => {
  const secret = new TextEncoder().encode('a-long-shared-secret-for-hs256-tokens');
  const { url, logs } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], security: { jwt: { secret: 'a-long-shared-secret-for-hs256-tokens' } } });
  const good = await sign({ sub: 'dev1', exp: now() + 60 }, 'HS256', secret);
  await endMqtt(await connectMqtt(url(), { username: 'dev1', password: good }));
  await endMqtt(await connectMqtt(url(), { username: 'dev1', password: good, protocolVersion: 5 }));
  const expired = await sign({ sub: 'dev1', exp: now() - 60 }, 'HS256', secret);
  assert.equal(await refusedCode(url(), { username: 'dev1', password: expired }), 4);
  const early = await sign({ sub: 'dev1', nbf: now() + 600 }, 'HS256', secret);
  assert.equal(await refusedCode(url(), { username: 'dev1', password: early, protocolVersion: 5 }), 0x86);
  const forged = await sign({ sub: 'dev1' }, 'HS256', new TextEncoder().encode('another-secret-of-enough-length-here'));
  assert.equal(await refusedCode(url(), { username: 'dev1', password: forged }), 4);
  assert.equal(await refusedCode(url(), { username: 'dev2', password: good }), 4, 'a token for dev1 does not let dev2 in');
  assert.equal(await refusedCode(url(), { username: 'dev1', password: 'not-a-token' }), 4);
  assert.ok(logs.some((l) => l.includes('JWT refused') && l.includes('ERR_JWT_EXPIRED')));
});

test('JWT RS256 with a PEM public key and ES256 with a JWKS file; ACL claims limit publish and subscribe', async (t) => {
  const dir = tempDir(t);
  const rsa = await generateKeyPair('RS256');
  const ec = await generateKeyPair('ES256');
  writeFileSync(join(dir, 'rsa.pem'), await exportSPKI(rsa.publicKey));
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  const { url } = await startCicada(t, {
    perListenerSettings: true,
    listeners: [
      { port: 0, host: '127.0.0.1', security: { jwt: { publicKeyFile: join(dir, 'rsa.pem'), algorithms: ['RS256'] } } },
      { port: 0, host: '127.0.0.1', security: { jwt: { jwksFile: join(dir, 'jwks.json') } } },
    ],
  });
  const rsToken = await sign({ sub: 'svc', exp: now() + 60 }, 'RS256', rsa.privateKey);
  await endMqtt(await connectMqtt(url(0), { username: 'svc', password: rsToken }));
  assert.equal(await refusedCode(url(1), { username: 'svc', password: rsToken }), 4, 'the JWKS listener does not know the RSA key');
  const esToken = await sign({ sub: 'dev', exp: now() + 60, acl: { pub: ['dev/+/out'], sub: ['dev/in/#'] } }, 'ES256', ec.privateKey, 'k1');
  assert.equal(await refusedCode(url(0), { username: 'dev', password: esToken }), 4, 'ES256 is not among the RSA listener algorithms');
  const dev = await connectMqtt(url(1), { username: 'dev', password: esToken, protocolVersion: 5 });
  t.after(() => endMqtt(dev));
  await dev.subscribeAsync('dev/in/#', { qos: 1 });
  const codes: number[] = [];
  dev.on('packetreceive', (packet) => {
    if (packet.cmd === 'suback') codes.push(...(packet.granted as number[]));
  });
  dev.subscribe('dev/#', () => undefined);
  await waitFor(() => codes.length > 0, 3000, 'the SUBACK for dev/#');
  assert.deepEqual(codes, [0x87], 'dev/# is wider than the sub claim');
  const denied = await pubackCode(dev, 'other/x', 'no');
  assert.equal(denied, 0x87);
  assert.equal(await pubackCode(dev, 'dev/a/out', 'ok'), 0);
});

/** A local user store answering the broker's JSON POSTs. */
async function authServer(t: { after(fn: () => Promise<void>): void }, answer: (body: Record<string, unknown>) => { status?: number; result?: string; delayMs?: number }) {
  const requests: Array<Record<string, unknown>> = [];
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      requests.push(body);
      const { status = 200, result, delayMs = 0 } = answer(body);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ result }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mqtt/auth`, requests };
}

test('HTTP auth hook: allow / deny / ignore, publish and subscribe decisions, a bounded time-out, a result cache', async (t) => {
  const hook = await authServer(t, (body) => {
    if (body.action === 'connect') {
      if (body.username === 'slow') return { result: 'allow', delayMs: 2000 };
      if (body.username === 'broken') return { status: 500 };
      return { result: body.username === 'ann' && body.password === 'pw' ? 'allow' : 'deny' };
    }
    return { result: String(body.topic).startsWith(`${String(body.username)}/`) ? 'allow' : 'deny' };
  });
  const { url, logs } = await startCicada(t, {
    listeners: [{ port: 0, host: '127.0.0.1' }],
    security: { httpAuth: { url: hook.url, timeoutMs: 300, cacheTtlMs: 60_000, authorize: true } },
  });
  const ann = await connectMqtt(url(), { username: 'ann', password: 'pw', protocolVersion: 5 });
  t.after(() => endMqtt(ann));
  assert.equal(await refusedCode(url(), { username: 'ann', password: 'nope' }), 4);
  const started = Date.now();
  assert.equal(await refusedCode(url(), { username: 'slow', password: 'x' }), 4, 'a time-out means no');
  assert.ok(Date.now() - started < 1500, 'the time-out bounds the wait');
  assert.equal(await refusedCode(url(), { username: 'broken', password: 'x' }), 4, 'an error status means no');
  assert.ok(logs.some((l) => l.includes('HTTP auth hook failed or timed out')));
  await ann.subscribeAsync('ann/#', { qos: 1 });
  await ann.publishAsync('ann/x', 'mine', { qos: 1 });
  assert.equal((await ann.inbox.next(1))[0]?.payload, 'mine');
  const denied = await pubackCode(ann, 'bob/x', 'no');
  assert.equal(denied, 0x87);
  // The cache: the same decision again does not reach the server; a new question does.
  const before = hook.requests.length;
  await ann.publishAsync('ann/x', 'again', { qos: 1 });
  assert.equal(hook.requests.length, before, 'a cached decision is not asked again');
  await ann.publishAsync('ann/y', 'new', { qos: 1 });
  assert.equal(hook.requests.length, before + 1);
  assert.deepEqual(hook.requests.at(-1), { action: 'publish', clientId: ann.options.clientId, username: 'ann', topic: 'ann/y', qos: 1, retain: false, listener: 'mqtt:0' });
});
