// Unit tests of the session's delivery state machine and the router, with no sockets: a fake
// link records what would be sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Message } from '../../src/broker/message.js';
import { Router } from '../../src/broker/router.js';
import { Session, type SessionHost, type SessionLink, type SubscriptionEntry } from '../../src/broker/session.js';
import type { QoS } from '../../src/protocol/packets.js';

interface Sent {
  topic: string;
  qos: QoS;
  packetId: number;
  dup: boolean;
  subIds: readonly number[] | undefined;
}

function fakeLink(receiveMaximum = 2): SessionLink & { sent: Sent[]; pubrels: number[] } {
  const sent: Sent[] = [];
  const pubrels: number[] = [];
  return {
    version: 4,
    receiveMaximum,
    waitsForCommit: false,
    waiters: undefined,
    flowStalled: false,
    caughtUp: () => true,
    sent,
    pubrels,
    sendPublish(message, qos, _retain, subIds, packetId, dup) {
      sent.push({ topic: message.topic, qos, packetId, dup, subIds });
      return true;
    },
    sendPubrel(packetId) {
      pubrels.push(packetId);
    },
  };
}

function host(maxQueued = 3, maxInflightBytes = 0): SessionHost & { dropped: number } {
  return {
    maxQueued,
    maxQueuedBytes: 0,
    maxInflightBytes,
    queueQos0: false,
    dropped: 0,
    now: () => Date.now(),
    onDropped() {
      this.dropped++;
    },
    saveDelivery() {},
    forgetDelivery() {},
    queueCongested() {},
    queueRelieved() {},
  };
}

const msg = (topic: string, qos: QoS = 1): Message => new Message(topic, Buffer.from('x'), qos, false, undefined, 'pub', 0);

test('[MQTT-4.6.0-6] inflight window holds at most receiveMaximum; the rest is queued and sent in order on ack', () => {
  const session = new Session('c', host(10));
  const link = fakeLink(2);
  session.attach(link);
  for (let i = 0; i < 5; i++) session.deliver(msg(`t/${i}`), 1, false, undefined);
  assert.deepEqual(link.sent.map((s) => s.topic), ['t/0', 't/1']);
  assert.equal(session.queue.length, 3);
  assert.equal(session.complete(link.sent[0]!.packetId), true);
  assert.deepEqual(link.sent.map((s) => s.topic), ['t/0', 't/1', 't/2']);
  assert.equal(session.complete(999), false, 'unknown packet id is reported');
});

test('max_inflight_bytes: no new delivery enters the window while its payload bytes are at the limit; a larger one goes alone', () => {
  const session = new Session('c', host(10, 250));
  const link = fakeLink(10);
  session.attach(link);
  const sized = (topic: string, bytes: number): Message => new Message(topic, Buffer.alloc(bytes), 1, false, undefined, 'pub', 0);
  session.deliver(sized('a', 100), 1, false, undefined);
  session.deliver(sized('b', 100), 1, false, undefined);
  session.deliver(sized('c', 100), 1, false, undefined); // 200 < 250: still room
  session.deliver(sized('d', 100), 1, false, undefined); // 300 >= 250: waits
  assert.deepEqual(link.sent.map((s) => s.topic), ['a', 'b', 'c']);
  assert.equal(session.inflightBytes, 300);
  session.complete(link.sent[0]!.packetId);
  session.complete(link.sent[1]!.packetId);
  assert.deepEqual(link.sent.map((s) => s.topic), ['a', 'b', 'c', 'd']);
  session.complete(link.sent[2]!.packetId);
  session.complete(link.sent[3]!.packetId);
  assert.equal(session.inflightBytes, 0);
  session.deliver(sized('big', 1000), 1, false, undefined);
  session.deliver(sized('after', 1), 1, false, undefined);
  assert.deepEqual(link.sent.slice(4).map((s) => s.topic), ['big'], 'a message above the limit is in flight alone');
});

test('offline queue is bounded by maxQueued; overflow is dropped and reported', () => {
  const h = host(3);
  const session = new Session('c', h);
  for (let i = 0; i < 5; i++) session.deliver(msg(`t/${i}`), 1, false, undefined);
  assert.equal(session.queue.length, 3);
  assert.equal(h.dropped, 2);
  session.deliver(msg('q0', 0), 0, false, undefined);
  assert.equal(session.queue.length, 3, 'QoS 0 is never queued for an offline session');
});

test('[MQTT-4.4.0-1] on attach, unacknowledged PUBLISHes are re-sent with DUP and PUBRELs re-sent', () => {
  const session = new Session('c', host(10));
  const first = fakeLink(5);
  session.attach(first);
  session.deliver(msg('a', 1), 1, false, undefined);
  session.deliver(msg('b', 2), 2, false, undefined);
  const idB = first.sent[1]!.packetId;
  assert.equal(session.received(idB), true);
  session.detach();
  const second = fakeLink(5);
  session.attach(second);
  assert.deepEqual(second.sent.map((s) => [s.topic, s.dup]), [['a', true]]);
  assert.deepEqual(second.pubrels, [idB]);
});

test('packet ids are unique among inflight messages and wrap around after 65535', () => {
  const session = new Session('c', host(10));
  const link = fakeLink(70000);
  session.attach(link);
  for (let i = 0; i < 65535; i++) session.deliver(msg('t'), 1, false, undefined);
  const ids = new Set(link.sent.map((s) => s.packetId));
  assert.equal(ids.size, 65535);
  assert.ok(!ids.has(0), 'packet id 0 is never used [MQTT-2.3.1-1]');
  session.complete(7);
  session.deliver(msg('t'), 1, false, undefined);
  assert.equal(link.sent.at(-1)!.packetId, 7);
});

function entry(session: Session, filter: string, qos: QoS, subscriptionId = 0): SubscriptionEntry {
  return { session, filter, rawFilter: filter, shareName: undefined, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId };
}

test('[MQTT-3.3.5-1] overlapping subscriptions deliver one copy at the highest QoS with every subscription id', () => {
  const router = new Router();
  const session = new Session('c', host());
  const link = fakeLink(10);
  session.attach(link);
  router.subscribe(entry(session, 'a/#', 0, 1));
  router.subscribe(entry(session, 'a/+', 2, 2));
  router.subscribe(entry(session, 'a/b', 1, 3));
  assert.equal(router.route(msg('a/b', 2)), 1);
  assert.equal(link.sent.length, 1);
  assert.equal(link.sent[0]!.qos, 2);
  assert.deepEqual([...link.sent[0]!.subIds!].sort(), [1, 2, 3]);
});

test('[MQTT-3.8.4-6] delivered QoS is the minimum of the published and the granted QoS', () => {
  const router = new Router();
  const session = new Session('c', host());
  const link = fakeLink(10);
  session.attach(link);
  router.subscribe(entry(session, 't', 1));
  router.route(msg('t', 2));
  router.route(msg('t', 0));
  assert.deepEqual(link.sent.map((s) => s.qos), [1, 0]);
});

test('[MQTT-3.8.3-3] No Local: a message is not delivered back to its publisher', () => {
  const router = new Router();
  const session = new Session('pub', host());
  const link = fakeLink(10);
  session.attach(link);
  router.subscribe({ ...entry(session, 't', 1), noLocal: true });
  assert.equal(router.route(msg('t', 1)), 0);
  assert.equal(link.sent.length, 0);
});

test('offline queue is also bounded by payload bytes (max_queued_bytes)', () => {
  const h = { ...host(100), maxQueuedBytes: 10 };
  const session = new Session('c', h);
  const big = (topic: string): Message => new Message(topic, Buffer.alloc(4), 1, false, undefined, 'pub', 0);
  for (let i = 0; i < 5; i++) session.deliver(big(`t/${i}`), 1, false, undefined);
  assert.equal(session.queue.length, 2, 'two 4-byte payloads fit in 10 bytes, the third does not');
  assert.equal(session.queuedBytes, 8);
  const link = fakeLink(10);
  session.attach(link);
  assert.equal(session.queuedBytes, 0, 'bytes are released as the queue drains');
});
