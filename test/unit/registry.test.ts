// The session registry (src/broker/registry.ts) and the core's timing, driven with plain calls and
// a fake clock (src/broker/clock.ts): connect, take-over, clean start, session expiry, will delay,
// keepalive and the CONNECT time-out. No sockets, no sleeping: time moves only in clock.advance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectPacket } from '../../src/protocol/packets.js';
import type { BrokerCore } from '../../src/broker/core.js';
import type { Channel } from '../../src/broker/channel.js';
import type { BrokerOptions } from '../../src/config/schema.js';
import { SessionRegistry, type OpenedSession } from '../../src/broker/registry.js';
import { MAX_TIMER_MS } from '../../src/broker/long-timer.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { RecordingOutbox, unitCore } from '../helpers/channel.js';
import { FakeClock } from '../helpers/fake-clock.js';

const DAY_S = 86_400;

function setup(options: BrokerOptions = {}, registry?: (core: BrokerCore) => SessionRegistry): { clock: FakeClock; core: BrokerCore } {
  const clock = new FakeClock();
  return { clock, core: unitCore(options, undefined, { clock, ...(registry === undefined ? {} : { registry }) }) };
}

interface Client {
  channel: Channel;
  outbox: RecordingOutbox;
}

/** A channel as a transport opens it, before any packet. */
function open(core: BrokerCore): Client {
  const outbox = new RecordingOutbox(() => channel.version);
  const channel: Channel = core.openChannel(outbox, '127.0.0.1');
  return { channel, outbox };
}

/** A 5.0 CONNECT with Clean Start 1 and no Keep Alive, unless `fields` say otherwise. */
function connect(core: BrokerCore, clientId: string, fields: Partial<ConnectPacket> = {}): Client {
  const client = open(core);
  client.channel.handle({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, ...fields });
  return client;
}

/** A persistent 5.0 session (Clean Start 0) that outlives its connection by `seconds`. */
function persistent(core: BrokerCore, clientId: string, seconds: number, fields: Partial<ConnectPacket> = {}): Client {
  return connect(core, clientId, { clean: false, properties: { sessionExpiryInterval: seconds }, ...fields });
}

/** A client subscribed to `filter` that collects what it gets. */
function watcher(core: BrokerCore, filter: string): RecordingOutbox {
  const { channel, outbox } = connect(core, `watch-${filter}`);
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: filter, qos: 0 }] });
  return outbox;
}

function topics(outbox: RecordingOutbox): string[] {
  return outbox.of('publish').map((p) => p.topic);
}

/** Step 1 ms at a time until `done` holds (at most `maxMs`): the clock time it first held. */
function timeUntil(clock: FakeClock, done: () => boolean, maxMs: number): number {
  for (let ms = 0; ms <= maxMs; ms++) {
    if (done()) return clock.time;
    clock.advance(1);
  }
  throw new Error(`condition not met within ${maxMs} ms of fake time`);
}

void test('connect: CONNACK in the same call (the local registry adds no event-loop turn), the session and the connection registered', () => {
  const { core } = setup();
  const { channel, outbox } = connect(core, 'c1');
  assert.equal(outbox.of('connack')[0]?.reasonCode, 0, 'CONNACK written before handle() returned');
  assert.equal(channel.state, 'connected');
  assert.equal(core.connected.get('c1'), channel);
  assert.equal(core.sessions.get('c1'), channel.session);
  assert.equal(core.stats.clientsConnected, 1);
  channel.handle({ type: 'disconnect', reasonCode: 0 });
  assert.equal(core.connected.has('c1'), false);
  assert.equal(core.sessions.has('c1'), false, 'a session with expiry 0 ends with its connection');
  core.stop();
});

void test('registry.open with plain calls: each claim has a greater epoch; a second claim of the id takes over the first channel', () => {
  const { core } = setup();
  const claim = (clean: boolean): { client: Client; opened: OpenedSession } => {
    const client = open(core);
    client.channel.clientId = 'plain';
    const opened = core.registry.open(client.channel, clean, 60);
    assert.ok(!(opened instanceof Promise), 'the local claim is synchronous');
    return { client, opened };
  };
  const first = claim(true);
  assert.equal(first.opened.present, false);
  assert.equal(core.connected.get('plain'), first.client.channel);
  first.client.channel.state = 'connected'; // what the CONNECT handler does once the session is open
  first.opened.session.attach(first.client.channel);
  const second = claim(false);
  assert.ok(second.opened.epoch > first.opened.epoch, `epoch ${second.opened.epoch} after ${first.opened.epoch}`);
  assert.equal(second.opened.present, true, 'the first claim made a session that outlives its connection');
  assert.equal(second.opened.session, first.opened.session);
  assert.equal(first.client.channel.state, 'closed', 'the first channel was taken over');
  assert.equal(core.connected.get('plain'), second.client.channel);
  core.stop();
});

void test('[MQTT-3.1.4-2] 3.1.1 take-over: the first connection is closed (no DISCONNECT in 3.1.1), the second resumes its session', () => {
  const { core } = setup();
  const first = connect(core, 'dup', { protocolVersion: 4, clean: false });
  first.channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 1 }] });
  const second = connect(core, 'dup', { protocolVersion: 4, clean: false });
  assert.equal(first.channel.state, 'closed');
  assert.equal(first.outbox.ended, true, 'the first connection was closed');
  assert.deepEqual(first.outbox.of('disconnect'), [], '3.1.1 has no server DISCONNECT');
  assert.equal(second.outbox.of('connack')[0]?.sessionPresent, true, '[MQTT-3.2.2-2] session present');
  assert.equal(core.connected.get('dup'), second.channel);
  assert.equal(second.channel.session?.subscriptions.has('t'), true, 'the subscription came along');
  assert.equal(core.stats.clientsConnected, 1);
  core.stop();
});

void test('[MQTT-3.1.4-3] 5.0 take-over: DISCONNECT 0x8E (Session taken over) to the first connection, then it is closed', () => {
  const { core } = setup();
  const first = connect(core, 'dup');
  const second = connect(core, 'dup');
  assert.deepEqual(first.outbox.of('disconnect').map((p) => p.reasonCode), [0x8e]);
  assert.equal(first.channel.state, 'closed');
  assert.equal(first.outbox.ended, true);
  assert.equal(second.channel.state, 'connected');
  assert.equal(core.connected.get('dup'), second.channel);
  core.stop();
});

void test('[MQTT-3.1.2-4] 5.0 Clean Start 1 discards the existing session: Session Present 0, its subscriptions and queued messages gone', () => {
  const { core } = setup();
  const old = persistent(core, 'cs', 3600);
  old.channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q', qos: 1 }] });
  old.channel.handle({ type: 'disconnect', reasonCode: 0 });
  core.publishAsBroker('q', Buffer.from('queued'), 1, false);
  assert.equal(core.sessions.get('cs')?.queue.length, 1);
  const fresh = connect(core, 'cs', { clean: true, properties: { sessionExpiryInterval: 3600 } });
  assert.equal(fresh.outbox.of('connack')[0]?.sessionPresent, false);
  assert.equal(fresh.channel.session?.subscriptions.size, 0);
  assert.equal(core.router.subscriptionCount, 0);
  assert.deepEqual(fresh.outbox.of('publish'), [], 'nothing of the old queue was sent');
  core.stop();
});

void test('[MQTT-3.1.2-23] session expiry: the disconnected session is kept until its interval passes, not a millisecond less', () => {
  const { clock, core } = setup();
  persistent(core, 'exp', 60).channel.transportClosed();
  clock.advance(59_999);
  assert.equal(core.sessions.has('exp'), true, 'kept before 60 s');
  clock.advance(1);
  assert.equal(core.sessions.has('exp'), false, 'gone at 60 s');
  assert.equal(core.stats.clientsExpired, 1);
  core.stop();
});

void test('[MQTT-3.1.2-23] session expiry of 30 days (more than the 24.8 days a Node timer holds): kept past 24.8 days, gone at 30 days', () => {
  const { clock, core } = setup();
  persistent(core, 'long', 30 * DAY_S).channel.transportClosed();
  clock.advance(MAX_TIMER_MS + 1);
  assert.equal(core.sessions.has('long'), true, 'expired after 24.8 days (a setTimeout overflow fires after 1 ms)');
  clock.advance(30 * DAY_S * 1000 - MAX_TIMER_MS - 2);
  assert.equal(core.sessions.has('long'), true, 'expired 1 ms early');
  clock.advance(1);
  assert.equal(core.sessions.has('long'), false);
  core.stop();
});

void test('a reconnection cancels the session expiry; a session expiring after its next connection counts from that disconnection', () => {
  const { clock, core } = setup();
  persistent(core, 'back', 60).channel.transportClosed();
  clock.advance(30_000);
  const again = persistent(core, 'back', 60);
  assert.equal(again.outbox.of('connack')[0]?.sessionPresent, true);
  clock.advance(60_000);
  assert.equal(core.sessions.has('back'), true, 'expired while connected');
  again.channel.transportClosed();
  clock.advance(59_999);
  assert.equal(core.sessions.has('back'), true);
  clock.advance(1);
  assert.equal(core.sessions.has('back'), false);
  core.stop();
});

/** A persistent client with a will on `will/<clientId>` whose network connection drops. */
function dropWithWill(core: BrokerCore, clientId: string, willDelayInterval: number, sessionExpiryInterval: number): void {
  const will = { topic: `will/${clientId}`, payload: Buffer.from('gone'), qos: 0 as const, retain: false, properties: { willDelayInterval } };
  persistent(core, clientId, sessionExpiryInterval, { will }).channel.transportClosed();
}

void test('[MQTT-3.1.3-9] will delay: the will is published when the Will Delay Interval passes, not before', () => {
  const { clock, core } = setup();
  const seen = watcher(core, 'will/#');
  dropWithWill(core, 'w', 10, 3600);
  clock.advance(9_999);
  assert.deepEqual(topics(seen), [], 'published before the delay');
  clock.advance(1);
  assert.deepEqual(topics(seen), ['will/w']);
  clock.advance(3600_000);
  assert.deepEqual(topics(seen), ['will/w'], 'published once');
  core.stop();
});

void test('[MQTT-3.1.3-9] will delay: a reconnection to the session before the delay passes cancels the will', () => {
  const { clock, core } = setup();
  const seen = watcher(core, 'will/#');
  dropWithWill(core, 'w', 10, 3600);
  clock.advance(5_000);
  const again = persistent(core, 'w', 3600);
  clock.advance(20_000);
  assert.deepEqual(topics(seen), []);
  again.channel.handle({ type: 'disconnect', reasonCode: 0 });
  clock.advance(3600_000);
  assert.deepEqual(topics(seen), [], 'the will of the first connection never went');
  core.stop();
});

void test('[MQTT-3.1.3-9] will delay longer than the session: the will is published when the session ends (expiry, or Clean Start)', () => {
  const { clock, core } = setup();
  const seen = watcher(core, 'will/#');
  dropWithWill(core, 'w', 100, 10);
  clock.advance(9_999);
  assert.deepEqual(topics(seen), []);
  clock.advance(1);
  assert.deepEqual(topics(seen), ['will/w'], 'published when the session expired (10 s), not at 100 s');
  assert.equal(core.sessions.has('w'), false);

  dropWithWill(core, 'w2', 100, 3600);
  clock.advance(5_000);
  connect(core, 'w2', { clean: true });
  assert.deepEqual(topics(seen), ['will/w', 'will/w2'], 'Clean Start ended the session: its will went at once');
  clock.advance(200_000);
  assert.deepEqual(topics(seen), ['will/w', 'will/w2'], 'and only once');
  core.stop();
});

void test('registry.discard ends a disconnected session at once: subscriptions leave the router, the delayed will goes now, no expiry fires later', () => {
  const { clock, core } = setup();
  const seen = watcher(core, 'will/#');
  const { channel } = persistent(core, 'gone', 3600, { will: { topic: 'will/gone', payload: Buffer.from('x'), qos: 0, retain: false, properties: { willDelayInterval: 600 } } });
  channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/+', qos: 1 }] });
  const session = channel.session;
  channel.transportClosed();
  assert.ok(session !== undefined);
  assert.equal(core.router.subscriptionCount, 2, "the watcher's and gone's");
  core.registry.discard(session, 'closed');
  assert.deepEqual(topics(seen), ['will/gone']);
  assert.equal(core.sessions.has('gone'), false);
  assert.equal(core.router.subscriptionCount, 1);
  clock.advance(7200_000);
  assert.deepEqual(topics(seen), ['will/gone'], 'the will went once');
  assert.equal(core.stats.clientsExpired, 0, 'a discarded session does not expire again');
  core.stop();
});

void test('[MQTT-3.1.3-9] a delayed will and a session expiry restored from the store run on the core clock, from the time of the disconnection', async () => {
  const clock = new FakeClock();
  const storage = new MemoryStorage();
  const before = unitCore({ persistence: true }, storage, { clock });
  dropWithWill(before, 'r', 30, 120);
  await before.persistence?.commitIfDirty();
  before.stop();
  clock.advance(10_000); // the broker is down for 10 s
  const after = unitCore({ persistence: true }, storage, { clock });
  await after.restore();
  const seen = watcher(after, 'will/#');
  clock.advance(19_999);
  assert.deepEqual(topics(seen), [], 'published before its time (30 s after the disconnection)');
  clock.advance(1);
  assert.deepEqual(topics(seen), ['will/r']);
  clock.advance(89_999);
  assert.equal(after.sessions.has('r'), true, 'expired before 120 s after the disconnection');
  clock.advance(1);
  assert.equal(after.sessions.has('r'), false);
  after.stop();
});

for (const [version, id, reason] of [
  [4, '[MQTT-3.1.2-24]', undefined],
  [5, '[MQTT-3.1.2-22]', 0x8d],
] as const) {
  void test(`${id} keepalive ${version === 5 ? '5.0' : '3.1.1'}: no packet for 1.5 x Keep Alive closes the connection within the next 250 ms sweep`, () => {
    for (const offset of [0, 1, 125, 249]) {
      const { clock, core } = setup();
      core.start();
      clock.advance(offset); // connections do not open in step with the sweep
      const { channel, outbox } = connect(core, 'ka', { protocolVersion: version, keepalive: 10 });
      const opened = channel.lastReceived;
      clock.advance(9_000);
      channel.lastReceived = clock.now(); // what the transport does with every chunk it reads
      channel.handle({ type: 'pingreq' });
      const last = channel.lastReceived;
      clock.advance(14_900);
      assert.equal(channel.state, 'connected', `offset ${offset}: closed early (counted from the CONNECT at ${opened}, not the PINGREQ)`);
      const closedAt = timeUntil(clock, () => channel.state === 'closed', 600);
      const silent = closedAt - last;
      assert.ok(silent > 15_000 && silent <= 15_250, `offset ${offset}: closed after ${silent} ms of silence`);
      assert.deepEqual(outbox.of('disconnect').map((p) => p.reasonCode), reason === undefined ? [] : [reason]);
      core.stop();
    }
  });
}

void test('CONNECT time-out: a connection that sends no CONNECT is closed after connect_timeout, within the next sweep', () => {
  const { clock, core } = setup({ connectTimeoutMs: 2_000 });
  core.start();
  clock.advance(77);
  const { channel, outbox } = open(core);
  const openedAt = clock.now();
  clock.advance(1_900);
  assert.equal(channel.state, 'new');
  const closedAt = timeUntil(clock, () => channel.state === 'closed', 1_000);
  assert.ok(closedAt - openedAt > 2_000 && closedAt - openedAt <= 2_250, `closed after ${closedAt - openedAt} ms`);
  assert.equal(outbox.ended, true);
  assert.deepEqual(outbox.packets, [], 'nothing is sent to a client that never connected');
  assert.equal(core.stats.connectTimeouts, 1);
  core.stop();
});

void test('[MQTT-3.3.2-6] message expiry runs on the core clock: a queued message goes out with its remaining interval, and not at all once expired', () => {
  const { clock, core } = setup();
  const sub = persistent(core, 'sub', 3600);
  sub.channel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'm', qos: 1 }] });
  sub.channel.handle({ type: 'disconnect', reasonCode: 0 });
  const pub = connect(core, 'pub');
  let packetId = 1;
  for (const [payload, interval] of [['short', 10], ['long', 60]] as const) {
    pub.channel.handle({ type: 'publish', topic: 'm', payload: Buffer.from(payload), qos: 1, packetId: packetId++, retain: false, dup: false, properties: { messageExpiryInterval: interval } });
  }
  assert.equal(core.sessions.get('sub')?.queue.length, 2);
  clock.advance(20_000);
  const again = persistent(core, 'sub', 3600);
  const got = again.outbox.of('publish');
  assert.deepEqual(got.map((p) => p.payload.toString()), ['long'], 'the 10 s message expired in the queue');
  assert.equal(got[0]?.properties?.messageExpiryInterval, 40);
  core.stop();
});

/** A registry whose claim is answered later, as a cluster's shared store would. */
class DeferredClaims extends SessionRegistry {
  readonly pending: Array<() => void> = [];

  override open(channel: Channel, clean: boolean, expiryInterval: number): Promise<OpenedSession> {
    return new Promise((resolve) => this.pending.push(() => resolve(this.attach(channel, clean, expiryInterval, 1000 + this.pending.length))));
  }
}

void test('an asynchronous claim: CONNACK waits for it, and packets sent meanwhile are handled after it, in order', async () => {
  let registry: DeferredClaims | undefined;
  const { core } = setup({}, (c) => (registry = new DeferredClaims(c)));
  const { channel, outbox } = connect(core, 'remote');
  channel.handle({ type: 'subscribe', packetId: 7, subscriptions: [{ topicFilter: 'x', qos: 0 }] });
  assert.equal(outbox.packets.length, 0, 'nothing answered before the claim');
  assert.equal(channel.state, 'new');
  registry?.pending[0]?.();
  await new Promise((resolve) => setImmediate(resolve)); // the claim's promise settles
  assert.deepEqual(outbox.packets.map((p) => p.type), ['connack', 'suback']);
  assert.equal(core.connected.get('remote'), channel);
  core.stop();
});

void test('an asynchronous claim that settles after its connection closed: the session is released (kept for its expiry, then ended), never left connected', async () => {
  let registry: DeferredClaims | undefined;
  const { clock, core } = setup({}, (c) => (registry = new DeferredClaims(c)));
  const { channel, outbox } = connect(core, 'gone-early', { clean: false, properties: { sessionExpiryInterval: 60 } });
  channel.transportClosed();
  registry?.pending[0]?.();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(outbox.of('connack').length, 0, 'no CONNACK to a closed connection');
  assert.equal(core.connected.has('gone-early'), false);
  assert.equal(core.sessions.get('gone-early')?.link, undefined);
  clock.advance(60_000);
  assert.equal(core.sessions.has('gone-early'), false, 'the released session expired');
  core.stop();
});
