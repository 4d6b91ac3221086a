// A broker core's persistent state written through RedisStorage survives a crash of Redis: the
// core (plain calls, no sockets of its own) stores sessions, subscriptions, queued QoS 1/2
// deliveries, a retained message and an unreleased incoming QoS 2 id; as soon as the commit has
// resolved, redis-server (appendonly yes, appendfsync always) is killed with SIGKILL and started
// again on its data, and load() gives back every committed row; a new core restores from it and
// delivers the queue. An idle store reconnects by itself after such a restart. Starts a real
// redis-server, so `npm run test:unit` skips it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStorage } from '../../src/storage/redis.js';
import { connectedChannel, unitCore } from '../helpers/channel.js';
import { loadAll } from './load-all.js';
import { RedisServer } from './redis-server.js';

const skip = process.env.CICADA_TEST_UNIT === '1' ? 'unit tests start no redis-server' : false;
let server: RedisServer;
before(async () => {
  if (skip === false) server = await RedisServer.start(['--appendfsync', 'always']);
});
after(async () => server?.close());

test('redis: every row a commit resolved survives SIGKILL of redis-server, a new core restores the sessions from it, and new message ids continue after the restored ones', { skip }, async () => {
  const options = { persistence: true, persistenceCommitIntervalMs: 1 };
  const storage = await RedisStorage.open({ url: server.url, prefix: 'restart:' });
  assert.equal(storage.durable, true);
  const core = unitCore(options, storage);
  await core.restore();
  const sub = connectedChannel(core, 'sub', 5, false, 3600).channel;
  sub.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't/#', qos: 1 }, { topicFilter: 'q2', qos: 2 }] });
  sub.handle({ type: 'disconnect', reasonCode: 0 });
  const pub = connectedChannel(core, 'pub', 5, false, 3600).channel;
  for (let i = 0; i < 3; i++) pub.handle({ type: 'publish', topic: 't/a', payload: Buffer.from(`m${i}`), qos: 1, retain: false, dup: false, packetId: i + 1 });
  pub.handle({ type: 'publish', topic: 't/r', payload: Buffer.from('kept'), qos: 1, retain: true, dup: false, packetId: 4 });
  pub.handle({ type: 'publish', topic: 'q2', payload: Buffer.from('q'), qos: 2, retain: false, dup: false, packetId: 10 }); // no PUBREL: its id stays stored
  assert.equal(await core.persistence?.commitIfDirty(), true, 'the commit resolved');
  await server.kill('SIGKILL');
  core.stop();
  await storage.close().catch(() => {}); // its Redis is gone: nothing is left to commit

  await server.start();
  const reopened = await RedisStorage.open({ url: server.url, prefix: 'restart:' });
  const state = await loadAll(reopened);
  await reopened.close();
  assert.deepEqual(state.sessions.map((s) => s.clientId), ['pub', 'sub']);
  assert.deepEqual(state.subscriptions.map((s) => `${s.clientId} ${s.rawFilter} ${s.qos}`), ['sub q2 2', 'sub t/# 1']);
  const payloadOf = new Map(state.messages.map((m) => [m.id, m.payload.toString()]));
  assert.deepEqual(state.deliveries.map((d) => `${d.clientId} ${payloadOf.get(d.messageId)} ${d.qos}`), ['sub m0 1', 'sub m1 1', 'sub m2 1', 'sub kept 1', 'sub q 2']);
  assert.deepEqual(state.retained.map((r) => `${r.topic} ${payloadOf.get(r.messageId)}`), ['t/r kept']);
  assert.deepEqual(state.incoming, [{ clientId: 'pub', packetId: 10 }]);
  assert.deepEqual(state.messages.map((m) => m.id), [...payloadOf.keys()].sort((a, b) => a - b), 'messages in ascending id');

  const restarted = unitCore(options, await RedisStorage.open({ url: server.url, prefix: 'restart:' }));
  await restarted.restore();
  const { channel, outbox } = connectedChannel(restarted, 'sub', 5, false, 3600);
  assert.deepEqual(outbox.of('publish').map((p) => p.payload.toString()), ['m0', 'm1', 'm2', 'kept', 'q'], 'the queue is delivered after the restart, in order');
  // A message stored after the restart takes an id no restored message has.
  channel.handle({ type: 'disconnect', reasonCode: 0 });
  restarted.publishAsBroker('t/new', Buffer.from('new'), 1, false);
  assert.equal(await restarted.persistence?.commitIfDirty(), true);
  const reader = await RedisStorage.open({ url: server.url, prefix: 'restart:' });
  const ids = (await loadAll(reader)).messages.map((m) => m.id);
  await reader.close();
  assert.equal(ids.length, new Set(ids).size, `no two stored messages share an id (${ids.join(',')})`);
  assert.ok(Math.max(...ids) > Math.max(...payloadOf.keys()), 'the new message continues after the restored ids');
  restarted.stop();
  await restarted.persistence?.close();
});

test('redis: an idle store reconnects after redis-server was killed and started again, and its next commit is durable', { skip }, async () => {
  const storage = await RedisStorage.open({ url: server.url, prefix: 'idle:' });
  storage.putSession({ clientId: 'before', expiryInterval: 60, disconnectedAt: 0 });
  await storage.commit();
  await server.kill('SIGKILL');
  await server.start();
  storage.putSession({ clientId: 'after', expiryInterval: 60, disconnectedAt: 0 });
  await storage.commit(); // waits (offline queue) for the reconnection, then commits
  await storage.close();
  const reopened = await RedisStorage.open({ url: server.url, prefix: 'idle:' });
  assert.deepEqual((await loadAll(reopened)).sessions.map((s) => s.clientId), ['after', 'before']);
  await reopened.close();
});
