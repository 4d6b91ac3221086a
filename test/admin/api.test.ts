// The admin API's endpoints through real HTTP against a real broker, with MQTT.js clients: good
// and bad input for each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectMqtt, endMqtt, type TestClient } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { basic, call, startAdminBroker, type AdminBroker } from './helpers.js';

let b: AdminBroker;
const clients: TestClient[] = [];
const admin = basic('administrator');
const viewer = basic('viewer');

async function client(clientId: string, options: Parameters<typeof connectMqtt>[1] = {}): Promise<TestClient> {
  const c = await connectMqtt(b.mqtt, { clientId, ...options });
  clients.push(c);
  return c;
}

before(async () => {
  b = await startAdminBroker();
});
after(async () => {
  await Promise.all(clients.map((c) => endMqtt(c, true)));
  await b.close();
});

void test('GET /api/v1/clients lists MQTT.js clients; filters by id prefix, protocol, connected; pages with meta.hasnext', async () => {
  await client('api-list-1', { protocolVersion: 4 });
  await client('api-list-2', { protocolVersion: 5 });
  const all = await call(b.http, 'GET', '/api/v1/clients?clientid=api-list-', viewer);
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.data.map((c: { clientId: string }) => c.clientId), ['api-list-1', 'api-list-2']);
  assert.equal(all.body.data[0].ip, '127.0.0.1');
  assert.equal(all.body.data[0].connected, true);
  const v5 = await call(b.http, 'GET', '/api/v1/clients?clientid=api-list-&protocol=5', viewer);
  assert.deepEqual(v5.body.data.map((c: { clientId: string }) => c.clientId), ['api-list-2']);
  const paged = await call(b.http, 'GET', '/api/v1/clients?clientid=api-list-&limit=1&sort=clientId&order=desc', viewer);
  assert.deepEqual(paged.body.data.map((c: { clientId: string }) => c.clientId), ['api-list-2']);
  assert.deepEqual(paged.body.meta, { page: 1, limit: 1, count: 2, hasnext: true });
  const offline = await call(b.http, 'GET', '/api/v1/clients?clientid=api-list-&connected=false', viewer);
  assert.deepEqual(offline.body.data, []);
});

void test('GET /api/v1/clients: bad query values are 400 naming the field', async () => {
  for (const [query, field] of [
    ['protocol=9', 'querystring.protocol'],
    ['limit=0', 'querystring.limit'],
    ['limit=5000', 'querystring.limit'],
    ['sort=password', 'querystring.sort'],
    ['connected=maybe', 'querystring.connected'],
    ['bogus=1', 'querystring.bogus'],
  ]) {
    const reply = await call(b.http, 'GET', `/api/v1/clients?${query}`, viewer);
    assert.equal(reply.status, 400, query);
    assert.equal(reply.body.code, 'BAD_REQUEST');
    assert.equal(reply.body.field, field, query);
  }
});

void test('GET /api/v1/clients/:clientid: session detail with subscriptions, keepalive, will; 404 for an unknown id', async () => {
  const c = await client('api-detail', { protocolVersion: 5, keepalive: 30, will: { topic: 'wills/api-detail', payload: Buffer.from('gone'), qos: 1, retain: false } });
  await c.subscribeAsync('detail/+/x', { qos: 1 });
  const reply = await call(b.http, 'GET', '/api/v1/clients/api-detail', viewer);
  assert.equal(reply.status, 200);
  assert.equal(reply.body.keepalive, 30);
  assert.equal(reply.body.protocol, 5);
  assert.equal(reply.body.will.topic, 'wills/api-detail');
  assert.deepEqual(reply.body.subscriptionList.map((s: { filter: string; qos: number }) => [s.filter, s.qos]), [['detail/+/x', 1]]);
  assert.equal(reply.body.tls.enabled, false);
  const missing = await call(b.http, 'GET', `/api/v1/clients/${encodeURIComponent('no/such client')}`, viewer);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'NOT_FOUND');
});

void test('POST /api/v1/clients/:clientid/kick disconnects the MQTT.js client (5.0: reason 0x98); kick many; 404 when not connected', async () => {
  const c = await client('api-kick', { protocolVersion: 5 });
  let reason: number | undefined;
  c.on('disconnect', (packet) => (reason = packet.reasonCode));
  assert.equal((await call(b.http, 'POST', '/api/v1/clients/api-kick/kick', admin)).status, 204);
  await waitFor(() => !c.connected && reason !== undefined, 5000, 'the kicked client is disconnected');
  assert.equal(reason, 0x98);
  assert.equal((await call(b.http, 'POST', '/api/v1/clients/api-kick/kick', admin)).status, 404);
  const d = await client('api-kick-2');
  const many = await call(b.http, 'POST', '/api/v1/clients/kick', admin, { clientIds: ['api-kick-2', 'ghost'] });
  assert.deepEqual(many.body, { kicked: ['api-kick-2'] });
  await waitFor(() => !d.connected, 5000, 'api-kick-2 disconnected');
  const bad = await call(b.http, 'POST', '/api/v1/clients/kick', admin, { clientIds: 'api-kick-2' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'body.clientIds');
});

void test('DELETE /api/v1/clients/:clientid ends a persistent session; DELETE /api/v1/sessions/stale ends the disconnected ones', async () => {
  const c = await client('api-session', { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
  await c.subscribeAsync('stale/#', { qos: 1 });
  await endMqtt(c);
  await waitFor(async () => (await call(b.http, 'GET', '/api/v1/clients/api-session', viewer)).body?.connected === false, 5000, 'session kept, disconnected');
  const listed = await call(b.http, 'GET', '/api/v1/clients?connected=false&clientid=api-session', viewer);
  assert.equal(listed.body.meta.count, 1);
  assert.equal((await call(b.http, 'DELETE', '/api/v1/clients/api-session', admin)).status, 204);
  assert.equal((await call(b.http, 'GET', '/api/v1/clients/api-session', viewer)).status, 404);
  const e = await client('api-stale', { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
  await endMqtt(e);
  await waitFor(async () => (await call(b.http, 'GET', '/api/v1/clients/api-stale', viewer)).body?.connected === false, 5000, 'api-stale disconnected');
  const stale = await call(b.http, 'DELETE', '/api/v1/sessions/stale', admin);
  assert.ok(stale.body.deleted >= 1);
  assert.equal((await call(b.http, 'GET', '/api/v1/clients/api-stale', viewer)).status, 404);
});

void test('GET /api/v1/subscriptions filters by client, topic, matching topic, QoS and share group', async () => {
  const c = await client('api-subs', { protocolVersion: 5 });
  await c.subscribeAsync({ 'subs/+/temp': { qos: 1 }, '$share/workers/jobs': { qos: 2 } });
  const mine = await call(b.http, 'GET', '/api/v1/subscriptions?clientid=api-subs', viewer);
  assert.deepEqual(mine.body.data.map((s: { filter: string }) => s.filter).sort(), ['$share/workers/jobs', 'subs/+/temp']);
  const shared = await call(b.http, 'GET', '/api/v1/subscriptions?share_group=workers', viewer);
  assert.deepEqual(shared.body.data.map((s: { topic: string; qos: number }) => [s.topic, s.qos]), [['jobs', 2]]);
  const matching = await call(b.http, 'GET', `/api/v1/subscriptions?match=${encodeURIComponent('subs/kitchen/temp')}`, viewer);
  assert.deepEqual(matching.body.data.map((s: { clientId: string }) => s.clientId), ['api-subs']);
  const byQos = await call(b.http, 'GET', '/api/v1/subscriptions?clientid=api-subs&qos=1', viewer);
  assert.deepEqual(byQos.body.data.map((s: { filter: string }) => s.filter), ['subs/+/temp']);
  const bad = await call(b.http, 'GET', `/api/v1/subscriptions?match=${encodeURIComponent('subs/#')}`, viewer);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'querystring.match');
  assert.equal((await call(b.http, 'GET', '/api/v1/subscriptions?qos=3', viewer)).body.field, 'querystring.qos');
});

void test('POST /api/v1/publish reaches an MQTT.js 5.0 subscriber with QoS, retain and 5.0 properties', async () => {
  const sub = await client('api-pub-sub', { protocolVersion: 5 });
  await sub.subscribeAsync('pub/#', { qos: 1 });
  const got = new Promise<{ topic: string; payload: Buffer; packet: { qos: number; properties?: Record<string, unknown> } }>((resolve) =>
    sub.once('message', (topic, payload, packet) => resolve({ topic, payload, packet: packet })),
  );
  const reply = await call(b.http, 'POST', '/api/v1/publish', basic('publisher'), {
    topic: 'pub/one',
    payload: Buffer.from('{"t":21.5}').toString('base64'),
    encoding: 'base64',
    qos: 1,
    retain: true,
    properties: { contentType: 'application/json', userProperties: { source: 'api' }, messageExpiryInterval: 600, correlationData: Buffer.from('c1').toString('base64'), responseTopic: 'pub/reply' },
  });
  assert.equal(reply.status, 200, reply.text);
  const message = await got;
  assert.equal(message.topic, 'pub/one');
  assert.equal(message.payload.toString(), '{"t":21.5}');
  assert.equal(message.packet.qos, 1);
  assert.equal(message.packet.properties?.contentType, 'application/json');
  assert.deepEqual({ ...(message.packet.properties?.userProperties as object) }, { source: 'api' });
  assert.equal((message.packet.properties?.correlationData as Buffer).toString(), 'c1');
  assert.equal(message.packet.properties?.responseTopic, 'pub/reply');
});

void test('POST /api/v1/publish: bad topic, $SYS, bad encoding, bad QoS are 400 naming the field; bulk is all or none', async () => {
  const pub = basic('publisher');
  const cases: Array<[unknown, string]> = [
    [{ topic: 'a/+' }, 'body.topic'],
    [{ topic: '$SYS/broker/uptime', payload: 'x' }, 'body.topic'],
    [{ topic: 'a', payload: 'zz', encoding: 'hex' }, 'body.payload'],
    [{ topic: 'a', payload: 'x', qos: 3 }, 'body.qos'],
    [{ topic: 'a', properties: { responseTopic: 'r/#' } }, 'body.topic'],
    [{ payload: 'x' }, 'body.topic'],
    [{ topic: '' }, 'body.topic'],
  ];
  for (const [body, field] of cases) {
    const reply = await call(b.http, 'POST', '/api/v1/publish', pub, body);
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.equal(reply.body.field, field, JSON.stringify(body));
  }
  const sub = await client('api-bulk-sub');
  await sub.subscribeAsync('bulk/#', { qos: 1 });
  const refused = await call(b.http, 'POST', '/api/v1/publish/bulk', pub, [{ topic: 'bulk/1', payload: 'a' }, { topic: 'bulk/#', payload: 'b' }]);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.field, 'body.1.topic');
  const ok = await call(b.http, 'POST', '/api/v1/publish/bulk', pub, [{ topic: 'bulk/1', payload: 'a', qos: 1 }, { topic: 'bulk/2', payload: 'b', qos: 1 }]);
  assert.deepEqual(ok.body, { published: 2 });
  const received = await sub.inbox.next(2);
  assert.deepEqual(received.map((m) => [m.topic, m.payload]), [['bulk/1', 'a'], ['bulk/2', 'b']], 'bulk/1 of the refused batch was never sent');
});

void test('retained messages: list by prefix, view as text, JSON, hex, base64, delete one and a subtree', async () => {
  const pub = await client('api-retain-pub');
  await pub.publishAsync('ret/a', '{"v":1}', { qos: 1, retain: true });
  await pub.publishAsync('ret/a/b', 'plain', { qos: 1, retain: true });
  await pub.publishAsync('ret/c', Buffer.from([0xff, 0x00]), { qos: 1, retain: true });
  const list = await call(b.http, 'GET', '/api/v1/retained?prefix=ret', viewer);
  assert.deepEqual(list.body.data.map((r: { topic: string }) => r.topic), ['ret/a', 'ret/a/b', 'ret/c']);
  const view = (topic: string, encoding: string): Promise<Awaited<ReturnType<typeof call>>> => call(b.http, 'GET', `/api/v1/retained/message?topic=${encodeURIComponent(topic)}&encoding=${encoding}`, viewer);
  assert.deepEqual((await view('ret/a', 'json')).body.payload, { v: 1 });
  assert.equal((await view('ret/a/b', 'text')).body.payload, 'plain');
  assert.equal((await view('ret/c', 'hex')).body.payload, 'ff00');
  assert.equal((await view('ret/c', 'base64')).body.payload, '/wA=');
  const notJson = await view('ret/a/b', 'json');
  assert.equal(notJson.status, 400);
  assert.equal(notJson.body.field, 'encoding');
  assert.equal((await view('ret/c', 'text')).status, 400, 'not UTF-8');
  assert.equal((await view('../../etc/passwd', 'text')).status, 404, 'a topic is a topic, never a path');
  assert.equal((await view('ret/+', 'text')).body.field, 'querystring.topic');
  assert.equal((await call(b.http, 'DELETE', '/api/v1/retained/message?topic=ret/c', viewer)).status, 403);
  assert.equal((await call(b.http, 'DELETE', '/api/v1/retained/message?topic=ret/c', admin)).status, 204);
  assert.equal((await call(b.http, 'DELETE', '/api/v1/retained/message?topic=ret/c', admin)).status, 404);
  const tree = await call(b.http, 'DELETE', '/api/v1/retained?prefix=ret/a', admin);
  assert.deepEqual(tree.body, { deleted: 2 });
  assert.equal((await call(b.http, 'GET', '/api/v1/retained?prefix=ret', viewer)).body.meta.count, 0);
  // A new subscriber gets nothing retained any more.
  const late = await client('api-retain-late');
  await late.subscribeAsync('ret/#');
  await late.inbox.expectNoMore();
});

void test('GET /api/v1/nodes, /stats and /listeners describe this broker', async () => {
  const nodes = await call(b.http, 'GET', '/api/v1/nodes', viewer);
  assert.equal(nodes.body[0].pid, process.pid);
  const stats = await call(b.http, 'GET', '/api/v1/stats', viewer);
  assert.ok(stats.body.clientsConnected >= 1);
  assert.equal(typeof stats.body['messagesDropped.queue-full'], 'number');
  const listeners = await call(b.http, 'GET', '/api/v1/listeners', viewer);
  assert.equal(listeners.body.length, 1);
  assert.equal(listeners.body[0].running, true);
  assert.equal(listeners.body[0].port, b.broker.port);
  assert.equal(listeners.body[0].tls, false);
  assert.ok(listeners.body[0].connections >= 1);
});

void test('password_file users: added, then an MQTT.js client logs in with it; removed, the client is disconnected (as SIGHUP)', async () => {
  assert.deepEqual((await call(b.http, 'GET', '/api/v1/mqtt/users', admin)).body.data, [{ username: 'alice' }]);
  assert.equal((await call(b.http, 'GET', '/api/v1/mqtt/users', viewer)).status, 403);
  assert.equal((await call(b.http, 'PUT', '/api/v1/mqtt/users/bob', admin, { password: 'bob-pw' })).status, 204);
  assert.match(readFileSync(join(b.dir, 'passwd'), 'utf8'), /^bob:\$7\$/m);
  const bob = await client('api-bob', { username: 'bob', password: 'bob-pw' });
  assert.equal((await call(b.http, 'DELETE', '/api/v1/mqtt/users/bob', admin)).status, 204);
  await waitFor(() => !bob.connected, 5000, "bob's client is disconnected once bob is removed");
  await assert.rejects(connectMqtt(b.mqtt, { clientId: 'api-bob-2', username: 'bob', password: 'bob-pw' }));
  assert.equal((await call(b.http, 'DELETE', '/api/v1/mqtt/users/bob', admin)).status, 404);
  assert.equal((await call(b.http, 'PUT', `/api/v1/mqtt/users/${encodeURIComponent('x:y')}`, admin, { password: 'p' })).body.field, 'params.username');
  assert.equal((await call(b.http, 'PUT', `/api/v1/mqtt/users/${encodeURIComponent(' bob')}`, admin, { password: 'p' })).body.field, 'params.username', 'the file would trim it');
});

void test('acl_file: a bad rule is a 400 naming its line and changes nothing; a good one takes effect at once', async () => {
  const before = readFileSync(join(b.dir, 'acl'), 'utf8');
  const bad = await call(b.http, 'PUT', '/api/v1/mqtt/acl', admin, { text: 'topic readwrite #\nfrobnicate x\n' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'body.text');
  assert.match(bad.body.message, /line:2/);
  assert.equal(readFileSync(join(b.dir, 'acl'), 'utf8'), before);
  assert.equal((await call(b.http, 'GET', '/api/v1/mqtt/acl', admin)).body.text, before);
  const sub = await client('api-acl-sub');
  await sub.subscribeAsync('acl/#');
  // Anonymous clients may now read only acl/open.
  assert.equal((await call(b.http, 'PUT', '/api/v1/mqtt/acl', admin, { text: 'topic readwrite acl/open\ntopic write acl/#\nuser alice\ntopic readwrite #' })).status, 204);
  const pub = await client('api-acl-pub');
  await pub.publishAsync('acl/closed', 'no', { qos: 1 });
  await pub.publishAsync('acl/open', 'yes', { qos: 1 });
  const [first] = await sub.inbox.next(1);
  assert.equal(first?.topic, 'acl/open', 'acl/closed was not delivered under the new rules');
  assert.equal((await call(b.http, 'PUT', '/api/v1/mqtt/acl', admin, { text: before })).status, 204);
});

void test('/api-docs is an OpenAPI 3 document listing the API with its parameters', async () => {
  const reply = await call(b.http, 'GET', '/api-docs');
  assert.equal(reply.status, 200);
  assert.equal(reply.body.openapi, '3.0.3');
  const paths = reply.body.paths;
  for (const path of ['/api/v1/clients', '/api/v1/clients/{clientid}', '/api/v1/publish', '/api/v1/retained/message', '/api/v1/subscriptions', '/metrics']) assert.ok(paths[path], path);
  const names = paths['/api/v1/clients'].get.parameters.map((p: { name: string }) => p.name);
  assert.ok(names.includes('clientid') && names.includes('limit'));
  assert.ok(paths['/api/v1/publish'].post.requestBody.content['application/json'].schema.properties.topic);
});
