// The dashboard's own endpoints through real HTTP against a real broker fed by MQTT.js clients:
// the topic tree (/api/v1/topic-tree, /value, /search), the overview history
// (/api/v1/stats/history) and the dashboard's files; good and bad input, each role.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMqtt, endMqtt, type TestClient } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { basic, call, startAdminBroker, type AdminBroker } from './helpers.js';
import { DASHBOARD_CSP } from '../../src/admin/routes-dashboard.js';

let b: AdminBroker;
let publisher: TestClient;
const viewer = basic('viewer');

before(async () => {
  b = await startAdminBroker();
  publisher = await connectMqtt(b.mqtt, { clientId: 'tree-feeder' });
  await publisher.publishAsync('farm/barn/temp', '{"c":12.5}', { qos: 1 });
  await publisher.publishAsync('farm/barn/temp', '{"c":13}', { qos: 1, retain: true });
  await publisher.publishAsync('farm/field', Buffer.from([0xde, 0xad]), { qos: 0 });
  await publisher.publishAsync('/leading', 'x', { qos: 1 });
});
after(async () => {
  await endMqtt(publisher, true);
  await b.close();
});

void test('GET /api/v1/topic-tree: the levels of what MQTT.js clients published, with topic counts; a level by path', async () => {
  await waitFor(async () => (await call(b.http, 'GET', '/api/v1/topic-tree?path=farm', viewer)).body?.meta?.count === 2, 5000, 'farm has two children');
  const root = await call(b.http, 'GET', '/api/v1/topic-tree', viewer);
  assert.equal(root.status, 200);
  const farm = root.body.data.find((c: { name: string }) => c.name === 'farm');
  assert.deepEqual([farm.topic, farm.topics, farm.hasValue], ['farm', 2, false]);
  assert.ok(root.body.data.some((c: { name: string; topics: number }) => c.name === '' && c.topics === 1), "the empty first level of '/leading'");
  assert.equal(root.body.tree.maxTopics, 5000);
  const level = await call(b.http, 'GET', '/api/v1/topic-tree?path=farm&limit=1&page=2', viewer);
  assert.deepEqual(level.body.data.map((c: { topic: string }) => c.topic), ['farm/field']);
  assert.deepEqual(level.body.meta, { page: 2, limit: 1, count: 2, hasnext: false });
  const empty = await call(b.http, 'GET', '/api/v1/topic-tree?path=', viewer);
  assert.deepEqual(empty.body.data.map((c: { topic: string }) => c.topic), ['/leading']);
});

void test('GET /api/v1/topic-tree/value: last value (base64), count, QoS, retain and the JSON history', async () => {
  const reply = await call(b.http, 'GET', `/api/v1/topic-tree/value?topic=${encodeURIComponent('farm/barn/temp')}`, viewer);
  assert.equal(reply.status, 200);
  assert.equal(Buffer.from(reply.body.payload, 'base64').toString(), '{"c":13}');
  assert.deepEqual([reply.body.count, reply.body.qos, reply.body.retain, reply.body.size, reply.body.truncated], [2, 1, true, 8, false]);
  assert.ok(reply.body.history.length >= 1);
  const binary = await call(b.http, 'GET', '/api/v1/topic-tree/value?topic=farm/field', viewer);
  assert.equal(binary.body.payload, Buffer.from([0xde, 0xad]).toString('base64'));
  assert.deepEqual(binary.body.history, [], 'binary payloads are not kept for charts');
});

void test('GET /api/v1/topic-tree/search finds topics by a part of their name, case-insensitive', async () => {
  const reply = await call(b.http, 'GET', '/api/v1/topic-tree/search?q=BARN', viewer);
  assert.deepEqual(reply.body.data, ['farm/barn/temp']);
});

void test('topic tree endpoints: bad or hostile input is a 400 naming the field or a 404, never a file or a stack', async () => {
  for (const [path, status, field] of [
    ['/api/v1/topic-tree?limit=0', 400, 'querystring.limit'],
    ['/api/v1/topic-tree?limit=100000', 400, 'querystring.limit'],
    ['/api/v1/topic-tree?page=0', 400, 'querystring.page'],
    ['/api/v1/topic-tree?bogus=1', 400, 'querystring.bogus'],
    ['/api/v1/topic-tree/value', 400, 'querystring.topic'],
    ['/api/v1/topic-tree/search?q=', 400, 'querystring.q'],
  ] as const) {
    const reply = await call(b.http, 'GET', path, viewer);
    assert.equal(reply.status, status, path.slice(0, 60));
    assert.equal(reply.body.field, field, path.slice(0, 60));
  }
  for (const path of ['/api/v1/topic-tree?path=..%2F..%2Fetc', '/api/v1/topic-tree?path=nope', '/api/v1/topic-tree/value?topic=..%2Fpackage.json', '/api/v1/topic-tree/value?topic=farm']) {
    const reply = await call(b.http, 'GET', path, viewer);
    assert.equal(reply.status, 404, path);
    assert.equal(reply.body.code, 'NOT_FOUND');
    assert.doesNotMatch(reply.text, /at .*\.js:\d+/, 'no stack trace');
  }
});

void test('GET /api/v1/stats/history: ranges 1h, 6h, 24h, 7d with their step; another range is a 400', async () => {
  for (const [range, step] of [['1h', 5000], ['6h', 60_000], ['24h', 60_000], ['7d', 600_000]] as const) {
    const reply = await call(b.http, 'GET', `/api/v1/stats/history?range=${range}`, viewer);
    assert.equal(reply.status, 200, range);
    assert.equal(reply.body.stepMs, step, range);
    assert.ok(Array.isArray(reply.body.points));
  }
  assert.equal((await call(b.http, 'GET', '/api/v1/stats/history', viewer)).body.range, '1h', 'default');
  const bad = await call(b.http, 'GET', '/api/v1/stats/history?range=1y', viewer);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'querystring.range');
});

void test('topic tree and history: every role reads them; no credentials is 401, wrong ones 401', async () => {
  for (const role of ['viewer', 'publisher', 'administrator'] as const) {
    assert.equal((await call(b.http, 'GET', '/api/v1/topic-tree', basic(role))).status, 200, role);
    assert.equal((await call(b.http, 'GET', '/api/v1/stats/history', basic(role))).status, 200, role);
  }
  for (const path of ['/api/v1/topic-tree', '/api/v1/topic-tree/value?topic=farm/field', '/api/v1/topic-tree/search?q=a', '/api/v1/stats/history']) {
    const none = await call(b.http, 'GET', path);
    assert.equal(none.status, 401, path);
    assert.equal(none.body.code, 'UNAUTHORIZED');
    const wrong = await call(b.http, 'GET', path, `Basic ${Buffer.from('watch:nope').toString('base64')}`);
    assert.equal(wrong.status, 401, path);
  }
});

void test('dashboard files: / and its modules with the CSP, MQTT.js browser build; unknown or traversing names 404', async () => {
  const page = await call(b.http, 'GET', '/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(page.headers.get('content-security-policy'), DASHBOARD_CSP);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const app = await call(b.http, 'GET', '/dashboard/app.js');
  assert.match(app.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(app.text, /import \* as topics from '\.\/page-topics\.js'/);
  const mqtt = await call(b.http, 'GET', '/dashboard/vendor/mqtt.min.js');
  assert.equal(mqtt.status, 200);
  assert.ok(mqtt.text.length > 100_000, 'the browser build of MQTT.js');
  for (const path of ['/dashboard/nope.js', '/dashboard/..%2F..%2Fpackage.json', '/dashboard/%2e%2e%2fhttp.ts', '/dashboard/../../package.json', '/dashboard/vendor/other.js']) {
    const reply = await call(b.http, 'GET', path);
    // 404, or 401 where the URL left the dashboard's routes (unknown routes need credentials first).
    assert.ok(reply.status === 404 || reply.status === 401, `${path}: ${reply.status}`);
    assert.doesNotMatch(reply.text, /"name": "cicada"/, path);
  }
});
