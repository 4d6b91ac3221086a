// The admin facade (src/broker/admin.ts) driven with plain calls on a BrokerCore: channels whose
// Outbox records what the broker writes, no sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdminError, AdminFacade, MAX_LIMIT } from '../../src/broker/admin.js';
import { connectedChannel, unitCore } from '../helpers/channel.js';

function setup(): { core: ReturnType<typeof unitCore>; admin: AdminFacade } {
  const core = unitCore({ maxQueuedMessages: 2 });
  return { core, admin: new AdminFacade(core) };
}

void test('clients: listed connected and disconnected, filtered by id prefix, protocol, connected, queued and dropped', () => {
  const { core, admin } = setup();
  connectedChannel(core, 'sensor-1', 4);
  connectedChannel(core, 'sensor-2', 5);
  const { channel: persistent } = connectedChannel(core, 'app-1', 5, false, 3600);
  persistent.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q/#', qos: 1 }] });
  persistent.handle({ type: 'disconnect', reasonCode: 0 });
  // Three QoS 1 messages for the disconnected session, whose queue holds two: one dropped.
  for (let i = 0; i < 3; i++) core.publishAsBroker('q/x', Buffer.from(String(i)), 1, false);

  assert.deepEqual(admin.clients().data.map((c) => c.clientId), ['app-1', 'sensor-1', 'sensor-2']);
  assert.deepEqual(admin.clients({ clientId: 'sensor' }).data.map((c) => c.clientId), ['sensor-1', 'sensor-2']);
  assert.deepEqual(admin.clients({ protocol: 4 }).data.map((c) => c.clientId), ['sensor-1']);
  assert.deepEqual(admin.clients({ connected: false }).data.map((c) => c.clientId), ['app-1']);
  const [app] = admin.clients({ queued: true }).data;
  assert.equal(app?.clientId, 'app-1');
  assert.equal(app.queueLength, 2);
  assert.equal(app.dropped, 1);
  assert.deepEqual(admin.clients({ dropped: true }).data.map((c) => c.clientId), ['app-1']);
  assert.deepEqual(admin.clients({ dropped: false }).data.map((c) => c.clientId), ['sensor-1', 'sensor-2']);
  assert.equal(core.droppedByReason['queue-full'], 1);
  core.stop();
});

void test('clients: sorted either way and cut into pages with meta.hasnext; limit capped at MAX_LIMIT', () => {
  const { core, admin } = setup();
  for (let i = 0; i < 5; i++) connectedChannel(core, `c${i}`);
  const first = admin.clients({ sort: 'clientId', order: 'desc', limit: 2 });
  assert.deepEqual(first.data.map((c) => c.clientId), ['c4', 'c3']);
  assert.deepEqual(first.meta, { page: 1, limit: 2, count: 5, hasnext: true });
  const last = admin.clients({ sort: 'clientId', order: 'desc', limit: 2, page: 3 });
  assert.deepEqual(last.data.map((c) => c.clientId), ['c0']);
  assert.equal(last.meta.hasnext, false);
  assert.equal(admin.clients({ limit: 10 ** 9 }).meta.limit, MAX_LIMIT);
  core.stop();
});

void test('client detail: subscriptions, queue, in-flight, keepalive, will, expiry; unknown client undefined', () => {
  const { core, admin } = setup();
  const { channel } = connectedChannel(core, 'd1', 5, false, 60);
  channel.will = { topic: 'will/d1', payload: Buffer.from('bye'), qos: 1, retain: true };
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/+', qos: 1 }, { topicFilter: '$share/g/b', qos: 0 }] });
  const detail = admin.client('d1');
  assert.ok(detail);
  assert.equal(detail.connected, true);
  assert.equal(detail.protocol, 5);
  assert.equal(detail.expiryInterval, 60);
  assert.deepEqual(detail.will, { topic: 'will/d1', qos: 1, retain: true, payloadBytes: 3, delayInterval: 0, pending: false });
  assert.deepEqual(detail.subscriptionList.map((s) => [s.filter, s.topic, s.qos, s.shareGroup]), [['a/+', 'a/+', 1, null], ['$share/g/b', 'b', 0, 'g']]);
  assert.equal(detail.tls.enabled, false);
  channel.will = undefined;
  channel.handle({ type: 'disconnect', reasonCode: 0 });
  const offline = admin.client('d1');
  assert.equal(offline?.connected, false);
  assert.ok(offline.expiresAt !== null && offline.expiresAt > Date.now() + 50_000, 'a disconnected session says when it ends');
  assert.equal(admin.client('nobody'), undefined);
  core.stop();
});

void test('kick: 5.0 client gets DISCONNECT 0x98 Administrative action; kickMany returns the connected ids', () => {
  const { core, admin } = setup();
  const a = connectedChannel(core, 'a', 5);
  const b = connectedChannel(core, 'b', 4);
  assert.deepEqual(admin.kickMany(['a', 'b', 'ghost']), ['a', 'b']);
  assert.equal(a.outbox.of('disconnect')[0]?.reasonCode, 0x98);
  assert.equal(a.channel.state, 'closed');
  assert.equal(b.channel.state, 'closed');
  assert.equal(admin.kick('a'), false, 'no longer connected');
  core.stop();
});

void test('delete session: connected or not, subscriptions gone; stale sessions removed in bulk', () => {
  const { core, admin } = setup();
  const { channel } = connectedChannel(core, 's1', 5, false, 3600);
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x', qos: 1 }] });
  const { channel: other } = connectedChannel(core, 's2', 5, false, 3600);
  other.handle({ type: 'disconnect', reasonCode: 0 });
  connectedChannel(core, 's3', 5, false, 3600);
  assert.equal(admin.deleteSession('s1'), true);
  assert.equal(core.sessions.has('s1'), false);
  assert.equal(core.router.subscriptionCount, 0);
  assert.equal(admin.deleteSession('s1'), false);
  assert.equal(admin.deleteDisconnectedSessions(), 1, 's2 only: s3 is connected');
  assert.deepEqual([...core.sessions.keys()], ['s3']);
  core.stop();
});

void test('subscriptions: filtered by client, topic, QoS, share group and by a matching topic name', () => {
  const { core, admin } = setup();
  connectedChannel(core, 'a').channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'home/+/temp', qos: 1 }, { topicFilter: '$share/g1/jobs', qos: 2 }] });
  connectedChannel(core, 'b').channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'home/#', qos: 0 }] });
  assert.equal(admin.subscriptions().meta.count, 3);
  assert.deepEqual(admin.subscriptions({ clientId: 'b' }).data.map((s) => s.filter), ['home/#']);
  assert.deepEqual(admin.subscriptions({ qos: 2 }).data.map((s) => s.filter), ['$share/g1/jobs']);
  assert.deepEqual(admin.subscriptions({ shareGroup: 'g1' }).data.map((s) => s.topic), ['jobs']);
  assert.deepEqual(admin.subscriptions({ topic: 'home/#' }).data.map((s) => s.clientId), ['b']);
  assert.deepEqual(admin.subscriptions({ matching: 'home/kitchen/temp' }).data.map((s) => s.filter), ['home/+/temp', 'home/#']);
  assert.throws(() => admin.subscriptions({ matching: 'home/#' }), (e: unknown) => e instanceof AdminError && e.field === 'matching');
  core.stop();
});

void test('retained: listed by whole-level prefix, one read, one deleted, a subtree deleted; wildcards refused', () => {
  const { core, admin } = setup();
  for (const topic of ['a', 'a/b', 'a/b/c', 'ab', 'z']) core.publishAsBroker(topic, Buffer.from(topic), 1, true);
  assert.deepEqual(admin.retainedMessages('a').data.map((r) => r.topic), ['a', 'a/b', 'a/b/c']);
  assert.equal(admin.retainedMessages('').meta.count, 5);
  assert.equal(admin.retainedMessage('a/b')?.payload.toString(), 'a/b');
  assert.equal(admin.deleteRetained('z'), true);
  assert.equal(admin.deleteRetained('z'), false);
  assert.equal(admin.deleteRetainedTree('a/b'), 2);
  assert.deepEqual(admin.retainedMessages('').data.map((r) => r.topic), ['a', 'ab']);
  assert.equal(core.stats.retainedMessages, 2);
  assert.throws(() => admin.retainedMessages('a/+'), AdminError);
  assert.throws(() => admin.deleteRetainedTree(''), AdminError, 'deleting everything needs a prefix');
  core.stop();
});

void test('deleting a retained message publishes nothing to subscribers', () => {
  const { core, admin } = setup();
  core.publishAsBroker('r/1', Buffer.from('v'), 0, true);
  const { channel, outbox } = connectedChannel(core, 'watcher');
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r/#', qos: 0 }] });
  assert.equal(outbox.of('publish').length, 1, 'the retained message on subscribe');
  admin.deleteRetained('r/1');
  assert.equal(outbox.of('publish').length, 1);
  core.stop();
});

void test('publish as the broker: QoS, retain, 5.0 properties reach subscribers; bad and $SYS topics refused', () => {
  const { core, admin } = setup();
  const { channel, outbox } = connectedChannel(core, 'listener', 5);
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'cmd/#', qos: 1 }] });
  admin.publish({ topic: 'cmd/go', payload: Buffer.from('{"n":1}'), qos: 1, retain: true, properties: { contentType: 'application/json', userProperties: [['k', 'v']] } });
  const [publish] = outbox.of('publish');
  assert.equal(publish?.topic, 'cmd/go');
  assert.equal(publish.qos, 1);
  assert.equal(publish.properties?.contentType, 'application/json');
  assert.deepEqual(publish.properties?.userProperties, [['k', 'v']]);
  assert.equal(core.retained.get('cmd/go')?.payload.toString(), '{"n":1}');
  assert.throws(() => admin.publish({ topic: 'cmd/+', payload: Buffer.alloc(0) }), (e: unknown) => e instanceof AdminError && e.field === 'topic');
  assert.throws(() => admin.publish({ topic: '$SYS/broker/x', payload: Buffer.alloc(0) }), AdminError);
  core.stop();
});

void test('node, stats and listeners: counts of the core', () => {
  const { core, admin } = setup();
  connectedChannel(core, 'n1');
  admin.listenerStates = () => [{ name: 'mqtt:1883', url: 'mqtt://127.0.0.1:1883', port: 1883, protocol: 'mqtt', tls: false, running: true, connections: 0 }];
  assert.equal(admin.stats().clientsConnected, 1);
  assert.equal(admin.stats().sessions, 1);
  assert.equal(admin.node().pid, process.pid);
  // The unit channel has no listener name: counted under '' and not under mqtt:1883.
  assert.equal(admin.listeners()[0]?.connections, 0);
  core.stop();
});

void test('deleteSession ends a connected session with reason deleted (session.terminated), whether it would have ended with its connection or not', () => {
  const { core, admin } = setup();
  const reasons: string[] = [];
  core.hooks.add('session.terminated', (clientId, reason) => void reasons.push(`${clientId}:${reason}`));
  connectedChannel(core, 'c-clean', 5, true, 0);
  connectedChannel(core, 'c-kept', 5, false, 3600);
  assert.equal(admin.deleteSession('c-clean'), true);
  assert.equal(admin.deleteSession('c-kept'), true);
  assert.deepEqual(reasons, ['c-clean:deleted', 'c-kept:deleted']);
  assert.equal(core.sessions.size, 0);
  core.stop();
});
