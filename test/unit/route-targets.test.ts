// Route targets (issue 14, seams 3 and 4): a remote target (another node, a bridge, a rule sink)
// is routed to like a session, paces publishers like a slow socket and sees nothing that reports
// uncommitted state before the commit. Driven with plain calls on a BrokerCore; the remote peer
// is a real in-process implementation that records what it is handed and can be made slow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion, QoS } from '../../src/protocol/packets.js';
import type { BrokerCore } from '../../src/broker/core.js';
import type { Message } from '../../src/broker/message.js';
import { RemoteTarget, type RemotePeer } from '../../src/broker/remote.js';
import { connectedChannel, RecordingOutbox, unitCore } from '../helpers/channel.js';
import { durableCore } from '../helpers/durable-core.js';
import { waitFor } from '../helpers/wait.js';

interface Copy {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
  subscriptionIds: readonly number[] | undefined;
  /** Whether persistence had uncommitted writes when the copy was handed over. */
  uncommitted: boolean;
}

/** A peer that records each copy. Slow: it keeps what it takes pending until `passOn`. */
class RecordingPeer implements RemotePeer {
  readonly copies: Copy[] = [];
  pendingBytes = 0;

  constructor(
    private readonly core: BrokerCore,
    private readonly slow = false,
  ) {}

  take(message: Message, qos: QoS, retain: boolean, subscriptionIds: readonly number[] | undefined): void {
    const uncommitted = this.core.persistence?.uncommitted === true;
    this.copies.push({ topic: message.topic, payload: message.payload.toString(), qos, retain, subscriptionIds, uncommitted });
    if (this.slow) this.pendingBytes += message.payload.length;
  }

  /** Everything taken so far has left. */
  passOn(): void {
    this.pendingBytes = 0;
  }
}

function remote(core: BrokerCore, name: string, slow = false): { target: RemoteTarget; peer: RecordingPeer } {
  const peer = new RecordingPeer(core, slow);
  return { target: new RemoteTarget(core, name, peer), peer };
}

/** An outbox that counts how often its connection's input is paused. */
class PausingOutbox extends RecordingOutbox {
  pauses = 0;
  override pauseInput(): void {
    this.pauses++;
  }
  override resumeInput(): void {
    this.pauses--;
  }
}

function publisherChannel(core: BrokerCore, clientId: string, version: ProtocolVersion = 5): { channel: ReturnType<BrokerCore['openChannel']>; outbox: PausingOutbox } {
  const outbox = new PausingOutbox(() => channel.version);
  const channel = core.openChannel(outbox, '127.0.0.1');
  channel.handle({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId });
  return { channel, outbox };
}

void test('[MQTT-3.3.5-1] [MQTT-3.3.4-4] a remote target with overlapping routes gets one copy at the highest QoS with every subscription id', () => {
  const core = unitCore();
  const { target, peer } = remote(core, 'node-b');
  core.router.addRemote('a/#', target, { qos: 0, subscriptionId: 3 });
  core.router.addRemote('a/+', target, { qos: 1, subscriptionId: 5 });
  core.router.addRemote('a/b', target, { qos: 0 });
  core.publishAsBroker('a/b', Buffer.from('m'), 2, false);
  assert.equal(peer.copies.length, 1, 'one copy for three matching routes');
  assert.equal(peer.copies[0]?.qos, 1, 'the highest QoS of the matching routes');
  assert.deepEqual(peer.copies[0]?.subscriptionIds, [3, 5]);
  core.publishAsBroker('a/c', Buffer.from('n'), 2, false);
  assert.equal(peer.copies.length, 2);
  assert.deepEqual(peer.copies[1]?.subscriptionIds, [3, 5], 'a/b does not match a/c');
  assert.equal(core.router.subscriptionCount, 0, 'remote routes are not client subscriptions');
  core.stop();
});

void test('a local session and a remote target matching the same message each get one copy; removeRemote stops the copies', () => {
  const core = unitCore();
  const { channel, outbox } = connectedChannel(core, 'local');
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't/#', qos: 1 }, { topicFilter: 't/x', qos: 0 }] });
  const { target, peer } = remote(core, 'node-b');
  core.router.addRemote('t/#', target);
  core.router.addRemote('t/x', target, { qos: 1 });
  core.publishAsBroker('t/x', Buffer.from('1'), 1, false);
  assert.equal(outbox.of('publish').length, 1, 'the session got one copy');
  assert.equal(peer.copies.length, 1, 'the remote target got one copy');
  assert.equal(peer.copies[0]?.qos, 1);
  assert.equal(core.router.removeRemote('t/#', target), true);
  assert.equal(core.router.removeRemote('t/x', target), true);
  assert.equal(core.router.removeRemote('t/x', target), false, 'already gone');
  core.publishAsBroker('t/x', Buffer.from('2'), 1, false);
  assert.equal(peer.copies.length, 1, 'no copy after removeRemote');
  assert.equal(outbox.of('publish').length, 2);
  assert.equal(core.router.subscriptionCount, 2);
  core.stop();
});

void test('[MQTT-3.8.4-6] a remote copy goes at the lower of the message and route QoS; upgrade_outgoing_qos gives the route QoS', () => {
  const core = unitCore();
  const { target, peer } = remote(core, 'bridge');
  core.router.addRemote('q', target, { qos: 1 });
  for (const qos of [0, 1, 2] as const) core.publishAsBroker('q', Buffer.from(`q${qos}`), qos, false);
  assert.deepEqual(peer.copies.map((c) => c.qos), [0, 1, 1]);
  core.stop();

  const upgrading = unitCore({ upgradeOutgoingQos: true });
  const up = remote(upgrading, 'bridge');
  upgrading.router.addRemote('q', up.target, { qos: 1 });
  for (const qos of [0, 2] as const) upgrading.publishAsBroker('q', Buffer.from(`q${qos}`), qos, false);
  assert.deepEqual(up.peer.copies.map((c) => c.qos), [1, 1]);
  upgrading.stop();
});

void test('retain as published: a remote route keeps RETAIN by default and clears it when asked', () => {
  const core = unitCore();
  const keeps = remote(core, 'keeps');
  const clears = remote(core, 'clears');
  core.router.addRemote('r', keeps.target);
  core.router.addRemote('r', clears.target, { retainAsPublished: false });
  core.publishAsBroker('r', Buffer.from('x'), 0, true);
  assert.equal(keeps.peer.copies[0]?.retain, true);
  assert.equal(clears.peer.copies[0]?.retain, false);
  core.stop();
});

void test('a slow remote target pauses the publishing connection and resumes it when it makes progress', async () => {
  const core = unitCore();
  const { target, peer } = remote(core, 'slow-node', true);
  core.router.addRemote('flood/#', target, { qos: 0 });
  const { channel, outbox } = publisherChannel(core, 'publisher');
  const payload = Buffer.alloc(64 * 1024, 0x61);
  const publish = (): void => channel.handle({ type: 'publish', topic: 'flood/x', payload, qos: 0, retain: false, dup: false });
  // 1 MiB unsent is the high-water mark: the 17th 64 KiB copy crosses it.
  for (let i = 0; i < 16; i++) publish();
  assert.equal(outbox.pauses, 0, 'under the high-water mark: not paused');
  publish();
  assert.equal(outbox.pauses, 1, 'past it: the publisher stops being read');
  assert.equal(channel.throttledBy, target);
  peer.passOn();
  target.progress();
  assert.equal(outbox.pauses, 0, 'progress under the low-water mark resumes the publisher');
  assert.equal(channel.throttledBy, undefined);

  // A peer that makes no progress holds a publisher for one pause at most, then pauses nobody.
  for (let i = 0; i < 17; i++) publish();
  assert.equal(outbox.pauses, 1);
  await waitFor(() => outbox.pauses === 0, 2000, 'the pause ends without progress');
  assert.equal(target.flowStalled, true);
  publish();
  assert.equal(outbox.pauses, 0, 'a stalled target pauses nobody');
  assert.equal(peer.copies.length, 35, 'nothing was dropped under maxOutgoingBytes');
  core.stop();
});

void test('a remote target past maxOutgoingBytes has its QoS 0 copies dropped and counted, not its QoS 1 copies', () => {
  const core = unitCore({ maxOutgoingBytes: 1000 });
  const { target, peer } = remote(core, 'slow-node', true);
  core.router.addRemote('d', target);
  core.publishAsBroker('d', Buffer.alloc(1500), 0, false);
  core.publishAsBroker('d', Buffer.alloc(10), 0, false);
  core.publishAsBroker('d', Buffer.alloc(10), 1, false);
  assert.deepEqual(peer.copies.map((c) => c.qos), [0, 1]);
  assert.equal(target.dropped, 1);
  assert.equal(core.stats.messagesDropped, 1);
  core.stop();
});

void test('[MQTT-4.3.3-2] a remote target behind the commit gate sees no QoS 2 copy before the commit, and later copies wait behind it', async (t) => {
  const core = durableCore(t);
  const { target, peer } = remote(core, 'node-b');
  core.router.addRemote('g/#', target);
  // A publisher whose session is stored: its QoS 2 packet id is written before routing.
  const { channel } = connectedChannel(core, 'durable-publisher', 5, false, 3600);
  await waitFor(() => core.persistence?.uncommitted === false, 2000, 'the session is committed');
  channel.handle({ type: 'publish', topic: 'g/2', payload: Buffer.from('two'), qos: 2, retain: false, dup: false, packetId: 7 });
  assert.equal(core.persistence?.uncommitted, true, 'the incoming packet id is not committed yet');
  channel.handle({ type: 'publish', topic: 'g/0', payload: Buffer.from('zero'), qos: 0, retain: false, dup: false });
  assert.equal(peer.copies.length, 0, 'nothing handed over before the commit');
  await waitFor(() => peer.copies.length === 2, 2000, 'the held copies go after the commit');
  assert.deepEqual(peer.copies.map((c) => [c.payload, c.qos, c.uncommitted]), [['two', 2, false], ['zero', 0, false]], 'in order, after the commit');

  // A QoS 1 publication from a stored session is not held (a duplicate is allowed for QoS 1).
  channel.handle({ type: 'publish', topic: 'g/1', payload: Buffer.from('one'), qos: 1, retain: false, dup: false, packetId: 8 });
  assert.equal(peer.copies.length, 3, 'a QoS 1 copy goes at once');
});

void test('a remote target closed by its peer while held copies are released takes no more of them', async (t) => {
  const core = durableCore(t);
  const { target, peer } = remote(core, 'node-c');
  core.router.addRemote('h/#', target);
  const { channel } = connectedChannel(core, 'durable-publisher-2', 5, false, 3600);
  await waitFor(() => core.persistence?.uncommitted === false, 2000, 'the session is committed');
  // The peer closes its target when it takes the first copy.
  const take = peer.take.bind(peer);
  peer.take = (...args) => {
    take(...args);
    target.close();
  };
  channel.handle({ type: 'publish', topic: 'h/2', payload: Buffer.from('two'), qos: 2, retain: false, dup: false, packetId: 9 });
  channel.handle({ type: 'publish', topic: 'h/0', payload: Buffer.from('zero'), qos: 0, retain: false, dup: false });
  assert.equal(peer.copies.length, 0, 'both held for the commit');
  await waitFor(() => peer.copies.length > 0, 2000, 'the commit releases the first copy');
  await core.persistence?.commitIfDirty();
  assert.deepEqual(peer.copies.map((c) => c.payload), ['two'], 'nothing after the close');
  assert.equal(target.pendingBytes, 0);
});

void test('a remote target that is a share-group member receives its share (MQTT 5.0 section 4.8.2), and busy members are skipped', () => {
  const core = unitCore();
  const { channel, outbox } = connectedChannel(core, 'local-member');
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '$share/g/s/#', qos: 0 }] });
  const { target, peer } = remote(core, 'node-b', true);
  assert.equal(core.router.addRemote('s/#', target, { shareName: 'g' }), true);
  for (let i = 0; i < 4; i++) core.publishAsBroker('s/x', Buffer.from(`m${i}`), 0, false);
  assert.equal(outbox.of('publish').length, 2, 'the local member got half');
  assert.equal(peer.copies.length, 2, 'the remote member got half');
  assert.equal(core.router.sharedSubscriptionCount, 1, 'the remote member is not a client subscription');

  // A congested remote member is busy: the ready local member takes the next messages.
  for (let i = 0; i < 2; i++) core.publishAsBroker('s/x', Buffer.alloc(2 * 1024 * 1024), 0, false);
  assert.equal(peer.copies.length, 3, 'one large message each');
  for (let i = 0; i < 4; i++) core.publishAsBroker('s/x', Buffer.from(`n${i}`), 0, false);
  assert.equal(peer.copies.length, 3, 'the congested remote member took none');
  assert.equal(outbox.of('publish').length, 7, 'the local member took all four');

  assert.equal(core.router.removeRemote('s/#', target, 'g'), true);
  assert.equal(core.router.subscriptionCount, 1);
  core.stop();
});
