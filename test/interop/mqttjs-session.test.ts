/**
 * Sessions with MQTT.js (MQTT 3.1.1 sections 3.1.2.4, 3.1.4 and 4.1): takeover, persistent and
 * clean sessions, the offline queue bound and the per-client inflight window.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mosquittoDiffers } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { puback, subscribe, suback } from '../helpers/packets.js';
import { waitFor } from '../helpers/wait.js';

describe('sessions', () => {
  // [MQTT-3.1.4-2] "If the ClientId represents a Client already connected to the Server then the
  // Server MUST disconnect the existing Client."
  test('[MQTT-3.1.4-2] a new connection with the same client id closes the old one', async (t) => {
    const h = await setup(t);
    const old = await h.mqtt({ clientId: 'same' });
    let oldClosed = false;
    old.on('close', () => {
      oldClosed = true;
    });
    const fresh = await h.mqtt({ clientId: 'same' });
    await waitFor(() => oldClosed, 2000, 'old connection closed');
    await fresh.subscribeAsync('takeover/t', { qos: 1 });
    await fresh.publishAsync('takeover/t', 'new one works', { qos: 1 });
    const [m] = await fresh.inbox.next(1);
    assert.equal(m?.payload, 'new one works');
  });

  // [MQTT-3.1.2-4] "If CleanSession is set to 0, the Server MUST resume communications with the
  // Client based on state from the current Session (as identified by the Client identifier). ... The
  // Client and Server MUST store the Session after the Client and Server are disconnected."
  // [MQTT-3.1.2-5] "After the disconnection of a Session that had CleanSession set to 0, the Server
  // MUST store further QoS 1 and QoS 2 messages that match any subscriptions that the client had at
  // the time of disconnection as part of the Session state."
  test('[MQTT-3.1.2-4][MQTT-3.1.2-5] clean session 0 keeps subscriptions and queues QoS 1 and 2 while offline', async (t) => {
    const h = await setup(t);
    const s = await h.mqtt({ clientId: 'durable', clean: false });
    await s.subscribeAsync('durable/+', { qos: 2 });
    await s.endAsync();
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('durable/1', 'q1 while away', { qos: 1 });
    await pub.publishAsync('durable/2', 'q2 while away', { qos: 2 });
    const back = await h.mqtt({ clientId: 'durable', clean: false });
    const got = await back.inbox.next(2);
    assert.deepEqual(got.map((m) => [m.topic, m.payload, m.qos]), [
      ['durable/1', 'q1 while away', 1],
      ['durable/2', 'q2 while away', 2],
    ]);
    // The subscription itself survived too.
    await pub.publishAsync('durable/3', 'live again', { qos: 1 });
    const [live] = await back.inbox.next(1);
    assert.equal(live?.payload, 'live again');
  });

  // [MQTT-3.1.2-6] "If CleanSession is set to 1, the Client and Server MUST discard any previous
  // Session and start a new one. This Session lasts as long as the Network Connection. State data
  // associated with this Session MUST NOT be reused in any subsequent Session"
  test('[MQTT-3.1.2-6] clean session 1 discards the previous session and is not kept', async (t) => {
    const h = await setup(t);
    const s = await h.mqtt({ clientId: 'fleeting', clean: false });
    await s.subscribeAsync('fleeting/t', { qos: 1 });
    await s.endAsync();
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('fleeting/t', 'queued for the old session', { qos: 1 });
    const clean = await h.mqtt({ clientId: 'fleeting', clean: true });
    await pub.publishAsync('fleeting/t', 'after clean connect', { qos: 1 });
    await clean.inbox.expectNoMore();
    await clean.endAsync();
    // Nor does the clean session leave anything behind for a later persistent one.
    const later = await h.mqtt({ clientId: 'fleeting', clean: false });
    assert.equal(later.connected, true);
    await pub.publishAsync('fleeting/t', 'nobody subscribed', { qos: 1 });
    await later.inbox.expectNoMore();
  });

  test('offline queue bound: maxQueuedMessages 5 keeps the first 5 in order, drops the rest', async (t) => {
    const h = await setup(t, { maxQueuedMessages: 5 });
    const s = await h.mqtt({ clientId: 'bounded', clean: false });
    await s.subscribeAsync('bound/t', { qos: 1 });
    await s.endAsync();
    const pub = await h.mqtt({ clientId: 'pub' });
    for (let i = 1; i <= 10; i++) await pub.publishAsync('bound/t', `m${i}`, { qos: 1 });
    const back = await h.mqtt({ clientId: 'bounded', clean: false });
    const got = await back.inbox.next(5);
    assert.deepEqual(got.map((m) => m.payload), ['m1', 'm2', 'm3', 'm4', 'm5']);
    await back.inbox.expectNoMore();
  });

  // Section 4.6: the per-client inflight window (maxInflightMessages) with a subscriber that does
  // not acknowledge; order per topic is kept [MQTT-4.6.0-6] and each message is sent once.
  // Mosquitto 2.0.11 keeps the window until the first PUBACK, then lets 3 be unacknowledged at once
  // (m2, m3, m4 after acking m1).
  test('[MQTT-4.6.0-6] inflight window: maxInflightMessages 2 sends 2 until acknowledged, in order', mosquittoDiffers('window exceeded after the first PUBACK (2.0.11)'), async (t) => {
    const h = await setup(t, { maxInflightMessages: 2 });
    const sub = await h.rawConnect({ clientId: 'slow' });
    sub.send(subscribe(1, [['window/t', 1]]));
    await sub.expect(suback(1, 1));
    const pub = await h.mqtt({ clientId: 'pub' });
    for (let i = 1; i <= 5; i++) await pub.publishAsync('window/t', `m${i}`, { qos: 1 });
    const first = await sub.readPublish();
    const second = await sub.readPublish();
    assert.deepEqual([first.payload.toString(), second.payload.toString()], ['m1', 'm2']);
    await sub.expectNothingPending();
    sub.send(puback(first.id!));
    const third = await sub.readPublish();
    assert.equal(third.payload.toString(), 'm3');
    await sub.expectNothingPending();
    sub.send(puback(second.id!));
    sub.send(puback(third.id!));
    const rest = [await sub.readPublish(), await sub.readPublish()];
    assert.deepEqual(rest.map((m) => [m.payload.toString(), m.dup]), [['m4', false], ['m5', false]]);
    for (const m of rest) sub.send(puback(m.id!));
    await sub.expectNothingPending();
  });
});
