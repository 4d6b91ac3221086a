// Bugs found in the review of the core (issue 14), driven with plain calls: a BrokerCore, Channels
// whose Outbox records what the broker writes, MemoryStorage for a restart. No sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/storage/memory.js';
import { connectedChannel, unitCore } from '../helpers/channel.js';

void test('[MQTT-3.8.3-4] a SUBSCRIBE that is a protocol error in a later filter stores none of its filters', () => {
  const core = unitCore();
  // A session that outlives the connection: what the packet stored would stay.
  const { channel, outbox } = connectedChannel(core, 'c1', 5, false, 3600);
  channel.handle({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { topicFilter: 'a/b', qos: 1 },
      { topicFilter: '$share/g/x', qos: 0, noLocal: true },
    ],
  });
  assert.equal(core.router.subscriptionCount, 0, 'the earlier filter a/b was not stored');
  assert.equal(core.sessions.get('c1')?.subscriptions.size, 0);
  assert.deepEqual(outbox.of('suback'), [], 'no SUBACK for a packet refused as a whole');
  assert.equal(outbox.of('disconnect')[0]?.reasonCode, 0x82, 'DISCONNECT Protocol Error');
  assert.equal(channel.state, 'closed');
  core.stop();
});

void test('BrokerCore.publish leaves no publisher behind in flow control when routing throws', () => {
  const core = unitCore();
  const { channel: subscriber, outbox } = connectedChannel(core, 'sub');
  subscriber.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 0 }] });
  const { channel: publisher } = connectedChannel(core, 'pub');
  const write = outbox.write.bind(outbox);
  outbox.write = () => {
    throw new Error('socket write failed');
  };
  assert.throws(() => core.publishAsBroker('t', Buffer.from('x'), 0, false), /socket write failed/);
  assert.throws(() => publisher.handle({ type: 'publish', topic: 't', payload: Buffer.from('y'), qos: 0, retain: false, dup: false }), /socket write failed/);
  assert.equal(core.flow.current, undefined, 'flow.current was reset');
  outbox.write = write;
  core.stop();
});

void test('restored shared-subscription deliveries keep their share group and move to another member when their session ends', async () => {
  const storage = new MemoryStorage();
  const before = unitCore({ persistence: true }, storage);
  for (const id of ['m1', 'm2']) {
    const { channel } = connectedChannel(before, id, 5, false, 3600);
    channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '$share/g/t', qos: 1 }] });
    channel.handle({ type: 'disconnect', reasonCode: 0 });
  }
  for (let i = 0; i < 4; i++) before.publishAsBroker('t', Buffer.from(`m${i}`), 1, false);
  await before.persistence?.commitIfDirty();
  before.stop();

  const after = unitCore({ persistence: true }, storage);
  await after.restore();
  const queued = (id: string): number => after.sessions.get(id)?.queue.length ?? -1;
  assert.equal(queued('m1') + queued('m2'), 4, 'the four messages were restored, queued for the two members');
  assert.ok(queued('m1') > 0, 'm1 holds restored shared deliveries');
  for (const delivery of after.sessions.get('m1')?.queue ?? []) assert.ok(delivery.group !== undefined, 'a restored shared delivery knows its group');
  const { outbox } = connectedChannel(after, 'm2', 5, false, 3600);
  // m1 comes back with Clean Start: its old session ends and what came through the group moves to m2.
  connectedChannel(after, 'm1', 5, true);
  const payloads = outbox.of('publish').map((p) => p.payload.toString()).sort();
  assert.deepEqual(payloads, ['m0', 'm1', 'm2', 'm3'], 'm2 got every message of the group');
  after.stop();
});

void test('a restored session with a plain and a shared subscription to the same topic: only the copies that came through the group move', async () => {
  const storage = new MemoryStorage();
  const before = unitCore({ persistence: true }, storage);
  for (const [id, filters] of [['both', ['$share/g/t', 't']], ['other', ['$share/g/t']]] as const) {
    const { channel } = connectedChannel(before, id, 5, false, 3600);
    channel.handle({ type: 'subscribe', packetId: 1, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos: 1 as const })) });
    channel.handle({ type: 'disconnect', reasonCode: 0 });
  }
  for (const payload of ['a', 'b', 'c', 'd']) before.publishAsBroker('t', Buffer.from(payload), 1, false);
  await before.persistence?.commitIfDirty();
  before.stop();

  const after = unitCore({ persistence: true }, storage);
  await after.restore();
  const queue = after.sessions.get('both')?.queue ?? [];
  const plain = queue.filter((d) => d.group === undefined).map((d) => d.message.payload.toString());
  assert.deepEqual(plain, ['a', 'b', 'c', 'd'], 'one plain copy of each message, not movable');
  const { outbox } = connectedChannel(after, 'other', 5, false, 3600);
  connectedChannel(after, 'both', 5, true);
  const payloads = outbox.of('publish').map((p) => p.payload.toString()).sort();
  assert.deepEqual(payloads, ['a', 'b', 'c', 'd'], 'the group delivered each message once, to the member left');
  after.stop();
});
