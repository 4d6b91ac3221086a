// Who may use the admin API: dashboard sessions (the admin password printed at first start,
// lock after five failures), API keys by role over HTTP Basic, fail-closed refusals with a stable
// JSON error, never a stack trace. Real HTTP against a real broker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { basic, call, login, startAdminBroker, type AdminBroker } from './helpers.js';

let b: AdminBroker;
before(async () => {
  b = await startAdminBroker();
});
after(async () => {
  await b.close();
});

void test('no credentials: 401 UNAUTHORIZED with a JSON body on every API route and on the dashboard users', async () => {
  for (const [method, path] of [['GET', '/api/v1/clients'], ['GET', '/api/v1/stats'], ['POST', '/api/v1/publish'], ['GET', '/api/v1/dashboard/users'], ['DELETE', '/api/v1/retained?prefix=a']]) {
    const reply = await call(b.http, method as string, path as string);
    assert.equal(reply.status, 401, `${method} ${path}`);
    assert.equal(reply.body.code, 'UNAUTHORIZED');
    assert.equal(reply.headers.get('www-authenticate'), null, 'no Basic challenge: a browser would pop up a dialog');
  }
});

void test('the admin password is stored hashed (mode 0600) and never in clear', () => {
  const file = join(b.dir, 'dashboard-users.json');
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(b.adminPassword));
  assert.match(text, /"hash": "\$7\$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

void test('log in with the printed password; the token works as Bearer; logout ends it', async () => {
  const auth = await login(b.http, 'admin', b.adminPassword);
  const who = await call(b.http, 'GET', '/api/v1/session', auth);
  assert.deepEqual(who.body, { kind: 'session', name: 'admin', role: 'administrator' });
  assert.equal((await call(b.http, 'POST', '/api/v1/logout', auth)).status, 204);
  const after = await call(b.http, 'GET', '/api/v1/session', auth);
  assert.equal(after.status, 401);
  assert.equal(after.body.code, 'BAD_CREDENTIALS');
});

void test('login: bad input is a 400 naming the field; a wrong password a 401 BAD_CREDENTIALS', async () => {
  const missing = await call(b.http, 'POST', '/api/v1/login', undefined, { username: 'admin' });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.field, 'body.password');
  const extra = await call(b.http, 'POST', '/api/v1/login', undefined, { username: 'admin', password: 'x', admin: true });
  assert.equal(extra.status, 400);
  assert.equal(extra.body.field, 'body.admin');
  const wrong = await call(b.http, 'POST', '/api/v1/login', undefined, { username: 'nobody', password: 'x' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.code, 'BAD_CREDENTIALS');
});

void test('five failed logins lock the user for ten minutes, even with the right password next', async () => {
  const set = await call(b.http, 'PUT', '/api/v1/dashboard/users/victim', basic('administrator'), { password: 'victim-password', role: 'viewer' });
  assert.equal(set.status, 204);
  for (let i = 0; i < 5; i++) assert.equal((await call(b.http, 'POST', '/api/v1/login', undefined, { username: 'victim', password: `guess-${i}` })).body.code, 'BAD_CREDENTIALS');
  const locked = await call(b.http, 'POST', '/api/v1/login', undefined, { username: 'victim', password: 'victim-password' });
  assert.equal(locked.status, 401);
  assert.equal(locked.body.code, 'USER_LOCKED');
  assert.match(locked.body.message, /10 minutes/);
});

void test('API keys by role: viewer reads only, publisher reads and publishes, administrator does everything', async () => {
  const viewer = basic('viewer');
  assert.equal((await call(b.http, 'GET', '/api/v1/clients', viewer)).status, 200);
  const refused = await call(b.http, 'POST', '/api/v1/publish', viewer, { topic: 'x', payload: 'y' });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'FORBIDDEN');
  assert.equal((await call(b.http, 'DELETE', '/api/v1/sessions/stale', viewer)).status, 403);
  const publisher = basic('publisher');
  assert.equal((await call(b.http, 'POST', '/api/v1/publish', publisher, { topic: 'x', payload: 'y' })).status, 200);
  assert.equal((await call(b.http, 'DELETE', '/api/v1/sessions/stale', publisher)).status, 403);
  assert.equal((await call(b.http, 'GET', '/api/v1/dashboard/users', publisher)).status, 403);
  const administrator = basic('administrator');
  assert.equal((await call(b.http, 'DELETE', '/api/v1/sessions/stale', administrator)).status, 200);
  assert.equal((await call(b.http, 'GET', '/api/v1/dashboard/users', administrator)).status, 200);
});

void test('a wrong API secret, an unknown key, or a dashboard password over Basic: 401 with a Basic challenge', async () => {
  for (const pair of ['ops:wrong-secret-0123456789', 'ghost:ops-secret-0123456789', `admin:${b.adminPassword}`, 'no-colon']) {
    const reply = await call(b.http, 'GET', '/api/v1/clients', `Basic ${Buffer.from(pair).toString('base64')}`);
    assert.equal(reply.status, 401, pair);
    assert.equal(reply.body.code, 'BAD_CREDENTIALS');
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Basic/);
  }
  assert.equal((await call(b.http, 'GET', '/api/v1/clients', 'Bearer forged-token')).status, 401);
  assert.equal((await call(b.http, 'GET', '/api/v1/clients', 'Digest x')).status, 401);
});

void test('a viewer dashboard user cannot manage users, and the last administrator cannot be removed', async () => {
  const admin = basic('administrator');
  await call(b.http, 'PUT', '/api/v1/dashboard/users/reader', admin, { password: 'reader-password', role: 'viewer' });
  const reader = await login(b.http, 'reader', 'reader-password');
  assert.equal((await call(b.http, 'GET', '/api/v1/stats', reader)).status, 200);
  assert.equal((await call(b.http, 'PUT', '/api/v1/dashboard/users/reader', reader, { password: 'reader-password', role: 'administrator' })).status, 403);
  const last = await call(b.http, 'DELETE', '/api/v1/dashboard/users/admin', admin);
  assert.equal(last.status, 409);
  assert.equal(last.body.code, 'CONFLICT');
  const short = await call(b.http, 'PUT', '/api/v1/dashboard/users/x', admin, { password: 'short' });
  assert.equal(short.status, 400);
  assert.equal(short.body.field, 'body.password');
  // Changing one's own password ends one's sessions.
  assert.equal((await call(b.http, 'POST', '/api/v1/dashboard/password', reader, { currentPassword: 'reader-password', newPassword: 'reader-password-2' })).status, 204);
  assert.equal((await call(b.http, 'GET', '/api/v1/stats', reader)).status, 401);
  await login(b.http, 'reader', 'reader-password-2');
});

void test('attacker input: bad JSON, a JSON bomb, a huge body, a wrong content type: 4xx JSON without a stack', async () => {
  const admin = basic('administrator');
  const nested = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  const replies = [
    await call(b.http, 'POST', '/api/v1/publish', admin, '{"topic":'),
    await call(b.http, 'POST', '/api/v1/publish', admin, nested),
    await call(b.http, 'POST', '/api/v1/publish', admin, { topic: 'big', payload: 'x'.repeat(2 * 1024 * 1024) }),
    await call(b.http, 'POST', '/api/v1/publish', admin, 'topic=x', { 'content-type': 'application/x-www-form-urlencoded' }),
    await call(b.http, 'POST', '/api/v1/publish', admin, '{"topic":"a","__proto__":{"admin":true}}'),
    await call(b.http, 'GET', '/api/v1/clients?limit=1000000000&page=-1', admin),
    await call(b.http, 'GET', '/api/v1/nothing-here', admin),
  ];
  assert.deepEqual(replies.map((r) => r.status), [400, 400, 413, 415, 400, 400, 404]);
  for (const reply of replies) {
    assert.equal(typeof reply.body.code, 'string', reply.text);
    assert.ok(!/\bat .*\.js:\d+/.test(reply.text) && !reply.text.includes('stack'), `no stack trace: ${reply.text}`);
  }
  assert.equal((await call(b.http, 'GET', '/api/v1/stats', admin)).status, 200, 'still serving');
});
