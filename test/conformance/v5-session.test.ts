/**
 * MQTT 5.0 Clean Start and Session Expiry Interval (sections 3.1.2.4, 3.1.2.11.2, 3.14.2.2.2),
 * Will Delay Interval and will properties (3.1.3.2), Message Expiry Interval (3.3.2.3.3), over
 * raw sockets. Intervals are 1-2 s so that the file stays short (its tests run concurrently).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientGone, mosquittoDiffers } from '../helpers/broker.js';
import { setup, type Harness } from '../helpers/harness.js';
import { T } from '../helpers/packets.js';
import type { RawClient } from '../helpers/raw.js';
import { elapse } from '../helpers/wait.js';
import { ack5, disconnect5, expectDisconnect, P, parseAck5, prop, propAll, publish5, raw5, rawSub5, readPublish5, readType, subOptions, subscribe5, type Props, type Will5 } from '../helpers/v5.js';

const sei = (seconds: number): Props => [[P.SESSION_EXPIRY, seconds]];

/** A v5 client connected with `list` properties (and Clean Start `clean`), subscribed at QoS 1 to `filter`. */
async function subscribed(h: Harness, clientId: string, filter: string, list: Props = [], clean = true): Promise<RawClient> {
  const { c } = await raw5(h, { clientId, props: list, clean });
  c.send(subscribe5(1, [[filter, subOptions(1)]]));
  assert.deepEqual(parseAck5(await readType(c, T.SUBACK)).reasons, [1]);
  return c;
}

/** A v5 client with a session (the given expiry) subscribed at QoS 1 to `filter`, then gone. */
async function parkedSession(h: Harness, clientId: string, filter: string, expiry: number, end: 'disconnect' | 'drop' = 'disconnect'): Promise<void> {
  const c = await subscribed(h, clientId, filter, sei(expiry));
  if (end === 'drop') {
    c.close(); // no DISCONNECT: the only test that drops waits past the expiry next
    return;
  }
  // The broker closes the connection once it has handled DISCONNECT: the session is offline.
  c.send(disconnect5());
  await c.expectClose();
}

async function publishQos1(h: Harness, clientId: string, topic: string, payload: string, list: Props = [], retain = false): Promise<void> {
  const { c } = await raw5(h, { clientId });
  c.send(publish5({ topic, payload, qos: 1, id: 1, props: list, retain }));
  // 0x10 (no matching subscribers) is as good as 0x00 here; v5-acks checks Cicada's 0x00.
  const [reason] = parseAck5(await readType(c, T.PUBACK)).reasons;
  assert.ok(reason === 0x00 || reason === 0x10, `PUBACK reason 0x${reason!.toString(16)}`);
  c.close();
}

/** Reconnect with Clean Start 0 and check Session Present. */
async function resume(h: Harness, clientId: string, present: boolean, expiry = 0): Promise<RawClient> {
  return (await raw5(h, { clientId, clean: false, props: sei(expiry) }, present)).c;
}

describe('v5 Session Expiry Interval', { concurrency: true }, () => {
  // [MQTT-3.1.2-23] The Session State is kept after the connection closes only if the Session
  // Expiry Interval is greater than 0.
  test('[MQTT-3.1.2-23] Session Expiry Interval 0 (absent): the session ends at disconnect, even with Clean Start 0', async (t) => {
    const h = await setup(t);
    const c = await subscribed(h, 'sei0', 'sei0/t', [], false);
    c.send(disconnect5());
    await c.expectClose();
    const again = await resume(h, 'sei0', false);
    await publishQos1(h, 'sei0-pub', 'sei0/t', 'lost');
    await again.expectNothingPending();
  });

  test('[MQTT-3.1.2-23][MQTT-3.1.2-5] Session Expiry Interval 1 s: resumed within it (Session Present 1, queued QoS 1 delivered)', async (t) => {
    const h = await setup(t);
    await parkedSession(h, 'sei1-keep', 'sei1k/t', 1);
    await publishQos1(h, 'sei1k-pub', 'sei1k/t', 'kept');
    const c = await resume(h, 'sei1-keep', true);
    const m = await readPublish5(c);
    assert.deepEqual([m.topic, m.payload.toString(), m.qos], ['sei1k/t', 'kept', 1]);
  });

  test('[MQTT-3.1.2-23] Session Expiry Interval 1 s: gone after it (Session Present 0, the queued message is not delivered)', mosquittoDiffers('2.0.11 expires sessions lazily'), async (t) => {
    const h = await setup(t);
    await parkedSession(h, 'sei1-gone', 'sei1g/t', 1);
    await publishQos1(h, 'sei1g-pub', 'sei1g/t', 'expired with the session');
    await elapse(1600, 'the 1 s Session Expiry Interval passes');
    const c = await resume(h, 'sei1-gone', false);
    await c.expectNothingPending();
  });

  test('Session Expiry Interval 1 s also applies after a network failure (no DISCONNECT)', mosquittoDiffers('2.0.11 expires sessions lazily'), async (t) => {
    const h = await setup(t);
    await parkedSession(h, 'sei1-drop', 'sei1d/t', 1, 'drop');
    await elapse(1600, 'the 1 s Session Expiry Interval passes');
    await resume(h, 'sei1-drop', false);
  });

  test('Session Expiry Interval 0xFFFFFFFF: the session does not expire', async (t) => {
    const h = await setup(t);
    await parkedSession(h, 'seimax', 'seimax/t', 0xffffffff);
    await publishQos1(h, 'seimax-pub', 'seimax/t', 'forever');
    await elapse(1600, 'more than 1 s passes: a session that never expires is still there');
    const c = await resume(h, 'seimax', true);
    assert.equal((await readPublish5(c)).payload.toString(), 'forever');
  });

  test('the Session Expiry Interval changed at DISCONNECT: 60 -> 0 ends the session at once', async (t) => {
    const h = await setup(t);
    const c = await subscribed(h, 'seichg0', 'seichg0/t', sei(60));
    c.send(disconnect5(0, sei(0)));
    await c.expectClose();
    await resume(h, 'seichg0', false);
  });

  test('the Session Expiry Interval changed at DISCONNECT: 1 -> 60 keeps the session past 1 s', async (t) => {
    const h = await setup(t);
    const c = await subscribed(h, 'seichg60', 'seichg60/t', sei(1));
    c.send(disconnect5(0, sei(60)));
    await c.expectClose();
    await publishQos1(h, 'seichg60-pub', 'seichg60/t', 'still here');
    await elapse(1500, 'the first Session Expiry Interval (1 s) passes');
    const again = await resume(h, 'seichg60', true);
    assert.equal((await readPublish5(again)).payload.toString(), 'still here');
  });

  // "If the Session Expiry Interval in the CONNECT packet was zero, then it is a Protocol Error to
  // set a non-zero Session Expiry Interval in the DISCONNECT packet sent by the Client" (3.14.2.2.2).
  test('Session Expiry Interval 0 at CONNECT, non-zero at DISCONNECT: protocol error (DISCONNECT 0x82), the session is not kept', async (t) => {
    const h = await setup(t);
    const c = await subscribed(h, 'seierr', 'seierr/t');
    c.send(disconnect5(0, sei(30)));
    await expectDisconnect(c, 0x82);
    await resume(h, 'seierr', false);
  });

  test('a message queued for an offline session keeps its Subscription Identifier and properties', async (t) => {
    const h = await setup(t);
    const c = await subscribed(h, 'sei-sid', 'seisid/+', sei(60));
    c.send(subscribe5(2, [['seisid/t', subOptions(1)]], [[P.SUBSCRIPTION_ID, 9]]));
    await readType(c, T.SUBACK);
    c.send(disconnect5());
    await c.expectClose(); // handled: the session is offline, the message will be queued
    await publishQos1(h, 'seisid-pub', 'seisid/t', 'queued', [[P.USER_PROPERTY, ['k', 'v']], [P.CONTENT_TYPE, 'ct']]);
    const again = await resume(h, 'sei-sid', true, 60);
    const m = await readPublish5(again);
    assert.equal(m.payload.toString(), 'queued');
    assert.deepEqual(propAll(m.props, P.SUBSCRIPTION_ID), [9]);
    assert.deepEqual(propAll(m.props, P.USER_PROPERTY), [['k', 'v']]);
    assert.equal(prop(m.props, P.CONTENT_TYPE), 'ct');
  });

  test('[MQTT-3.1.2-4] Clean Start 1 discards an existing session (Session Present 0, nothing queued delivered)', async (t) => {
    const h = await setup(t);
    await parkedSession(h, 'cs1', 'cs1/t', 60);
    await publishQos1(h, 'cs1-pub', 'cs1/t', 'discarded');
    const { c } = await raw5(h, { clientId: 'cs1', props: sei(60) }, false);
    await c.expectNothingPending();
  });
});

/** Connect a v5 client with a will, and a subscriber to the will topic. */
async function withWill(h: Harness, clientId: string, will: Will5, expiry: number): Promise<{ c: RawClient; sub: RawClient }> {
  const sub = await rawSub5(h, `${clientId}-watch`, String(will.topic), 0);
  const { c } = await raw5(h, { clientId, will, props: sei(expiry) });
  return { c, sub };
}

describe('v5 Will Delay Interval and will properties', { concurrency: true }, () => {
  // [MQTT-3.1.3-9]: if a new connection to the session is made before the Will Delay Interval has
  // passed, the Server MUST NOT send the Will Message.
  test('[MQTT-3.1.3-9] will delay 1 s: not sent when the client reconnects within the delay', async (t) => {
    const h = await setup(t);
    const { c, sub } = await withWill(h, 'wd-back', { topic: 'wd/back', payload: 'gone', props: [[P.WILL_DELAY, 1]] }, 30);
    c.close();
    await clientGone(h.broker, 'wd-back');
    await resume(h, 'wd-back', true, 30);
    await sub.expectSilence(1500); // time is the behaviour: past the 1 s will delay, and still no will
  });

  test('will delay 1 s: sent after the delay, not before', async (t) => {
    const h = await setup(t);
    const { c, sub } = await withWill(h, 'wd-late', { topic: 'wd/late', payload: 'late', props: [[P.WILL_DELAY, 1]] }, 30);
    const start = Date.now();
    c.close();
    const m = await readPublish5(sub, 3000);
    const elapsed = Date.now() - start;
    assert.deepEqual([m.topic, m.payload.toString()], ['wd/late', 'late']);
    assert.ok(elapsed >= 900, `will sent after ${elapsed} ms, before the 1 s delay`);
  });

  // "The Server delays publishing the Client's Will Message until the Will Delay Interval has passed
  // or the Session ends, whichever happens first" (3.1.3.2.2).
  test('session expiry 1 s < will delay 30 s: the will is sent when the session ends', async (t) => {
    const h = await setup(t);
    const { c, sub } = await withWill(h, 'wd-end', { topic: 'wd/end', payload: 'session over', props: [[P.WILL_DELAY, 30]] }, 1);
    const start = Date.now();
    c.close();
    const m = await readPublish5(sub, 3000);
    const elapsed = Date.now() - start;
    assert.equal(m.payload.toString(), 'session over');
    assert.ok(elapsed >= 900 && elapsed < 2500, `will sent after ${elapsed} ms, expected at the session end (1 s)`);
  });

  test('session expiry 0 and will delay 30 s: the will is sent at once (the session ends with the connection)', mosquittoDiffers('2.0.11 waits for the will delay'), async (t) => {
    const h = await setup(t);
    const { c, sub } = await withWill(h, 'wd-zero', { topic: 'wd/zero', payload: 'now', props: [[P.WILL_DELAY, 30]] }, 0);
    c.close();
    assert.equal((await readPublish5(sub, 1000)).payload.toString(), 'now');
  });

  // [MQTT-3.1.2-10]: DISCONNECT 0x00 removes the will; 0x04 (disconnect with will message) publishes it.
  test('[MQTT-3.1.2-10] DISCONNECT 0x00: no will; DISCONNECT 0x04: the will is published', async (t) => {
    const h = await setup(t);
    const { c, sub } = await withWill(h, 'wd-normal', { topic: 'wd/dc', payload: 'normal' }, 0);
    c.send(disconnect5(0x00));
    await c.expectClose(); // the broker has handled the DISCONNECT
    await sub.expectNothingPending();
    const { c: c2 } = await raw5(h, { clientId: 'wd-with', will: { topic: 'wd/dc', payload: 'with will' } });
    c2.send(disconnect5(0x04));
    assert.equal((await readPublish5(sub)).payload.toString(), 'with will');
  });

  // [MQTT-3.1.3-10]: user properties of the will are forwarded in order; Content Type, Response
  // Topic, Correlation Data and Payload Format Indicator as the other PUBLISH properties.
  test('[MQTT-3.1.3-10][MQTT-3.3.2-4][MQTT-3.3.2-15][MQTT-3.3.2-16][MQTT-3.3.2-20] will properties forwarded unchanged', async (t) => {
    const h = await setup(t);
    const willProps: Props = [
      [P.PAYLOAD_FORMAT, 1],
      [P.CONTENT_TYPE, 'text/plain'],
      [P.RESPONSE_TOPIC, 'wd/reply'],
      [P.CORRELATION_DATA, Buffer.from([0, 1, 2, 0xff])],
      [P.USER_PROPERTY, ['b', '2']],
      [P.USER_PROPERTY, ['a', '1']],
      [P.USER_PROPERTY, ['b', '3']],
    ];
    const { c, sub } = await withWill(h, 'wd-props', { topic: 'wd/props', payload: 'bye', props: willProps }, 0);
    c.close();
    const m = await readPublish5(sub);
    assert.equal(m.payload.toString(), 'bye');
    assert.equal(prop(m.props, P.PAYLOAD_FORMAT), 1);
    assert.equal(prop(m.props, P.CONTENT_TYPE), 'text/plain');
    assert.equal(prop(m.props, P.RESPONSE_TOPIC), 'wd/reply');
    assert.equal((prop(m.props, P.CORRELATION_DATA) as Buffer).toString('hex'), '000102ff');
    assert.deepEqual(propAll(m.props, P.USER_PROPERTY), [['b', '2'], ['a', '1'], ['b', '3']]);
    assert.equal(prop(m.props, P.WILL_DELAY), undefined, 'the Will Delay Interval is not a PUBLISH property');
  });
});

describe('v5 Message Expiry Interval', { concurrency: true }, () => {
  // [MQTT-3.3.2-5]: a message whose expiry passed before onward delivery started MUST be deleted.
  test('[MQTT-3.3.2-5] a message queued for an offline session expires (1 s) and is not delivered; a later one is', mosquittoDiffers('2.0.11 delivers the expired queued message'), async (t) => {
    const h = await setup(t);
    await parkedSession(h, 'mei-q', 'meiq/t', 60);
    await publishQos1(h, 'meiq-pub1', 'meiq/t', 'stale', [[P.MESSAGE_EXPIRY, 1]]);
    await elapse(1400, 'the 1 s Message Expiry Interval passes');
    await publishQos1(h, 'meiq-pub2', 'meiq/t', 'fresh');
    const c = await resume(h, 'mei-q', true, 60);
    const m = await readPublish5(c);
    assert.equal(m.payload.toString(), 'fresh', 'the expired message was delivered');
    c.send(ack5(T.PUBACK, m.id!));
    await c.expectNothingPending();
  });

  test('[MQTT-3.3.2-5] a retained message past its expiry (1 s) is not sent on subscribe', async (t) => {
    const h = await setup(t);
    await publishQos1(h, 'meir-pub', 'meir/old', 'stale', [[P.MESSAGE_EXPIRY, 1]], true);
    await publishQos1(h, 'meir-pub2', 'meir/kept', 'kept', [], true);
    await elapse(1400, 'the 1 s Message Expiry Interval passes');
    const { c } = await raw5(h, { clientId: 'meir-sub' });
    c.send(subscribe5(1, [['meir/#', subOptions(0)]]));
    await readType(c, T.SUBACK);
    const m = await readPublish5(c);
    assert.deepEqual([m.topic, m.payload.toString(), m.retain], ['meir/kept', 'kept', true]);
    await c.expectNothingPending();
  });

  // [MQTT-3.3.2-6]: the Message Expiry Interval sent is the received value minus the time waited.
  test('[MQTT-3.3.2-6] a queued message (10 s) delivered after ~1.2 s offline carries the remaining interval (8 or 9)', async (t) => {
    const h = await setup(t);
    await parkedSession(h, 'mei-rem', 'meirem/t', 60);
    await publishQos1(h, 'meirem-pub', 'meirem/t', 'waiting', [[P.MESSAGE_EXPIRY, 10]]);
    await elapse(1200, 'the queued message waits ~1.2 s of its 10 s');
    const c = await resume(h, 'mei-rem', true, 60);
    const m = await readPublish5(c);
    const left = prop(m.props, P.MESSAGE_EXPIRY);
    assert.equal(typeof left, 'number', 'no Message Expiry Interval on the delivered message');
    assert.ok((left as number) <= 9 && (left as number) >= 8, `remaining interval ${String(left)}`);
  });

  test('[MQTT-3.3.2-6] a retained message (10 s) sent on subscribe after ~1.2 s carries the remaining interval; live delivery carries at most the original', async (t) => {
    const h = await setup(t);
    await publishQos1(h, 'meiret-pub', 'meiret/t', 'retained', [[P.MESSAGE_EXPIRY, 10]], true);
    await elapse(1200, 'the retained message waits ~1.2 s of its 10 s');
    const sub = await rawSub5(h, 'meiret-sub', 'meiret/t', 0);
    const r = await readPublish5(sub);
    const left = prop(r.props, P.MESSAGE_EXPIRY) as number;
    assert.ok(left <= 9 && left >= 8, `remaining interval ${left}`);
    await publishQos1(h, 'meiret-pub2', 'meiret/t', 'live', [[P.MESSAGE_EXPIRY, 10]]);
    const live = await readPublish5(sub);
    const liveLeft = prop(live.props, P.MESSAGE_EXPIRY) as number;
    assert.ok(liveLeft <= 10 && liveLeft >= 9, `live remaining interval ${liveLeft}`);
  });

  test('a message without Message Expiry Interval is delivered without one', async (t) => {
    const h = await setup(t);
    const sub = await rawSub5(h, 'mei-none-sub', 'meinone/t', 0);
    await publishQos1(h, 'mei-none-pub', 'meinone/t', 'plain');
    const m = await readPublish5(sub);
    assert.equal(prop(m.props, P.MESSAGE_EXPIRY), undefined);
  });
});

