/**
 * Retained messages with MQTT.js (MQTT 3.1.1 section 3.3.1.3).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from '../helpers/harness.js';

describe('retained messages', () => {
  // [MQTT-3.3.1-5] "If the RETAIN flag is set to 1, in a PUBLISH Packet sent by a Client to a Server,
  // the Server MUST store the Application Message and its QoS, so that it can be delivered to future
  // subscribers whose subscriptions match its topic name."
  // [MQTT-3.3.1-6] "When a new subscription is established, the last retained message, if any, on
  // each matching topic name MUST be sent to the subscriber."
  // [MQTT-3.3.1-8] "When sending a PUBLISH Packet to a Client the Server MUST set the RETAIN flag to 1
  // if a message is sent as a result of a new subscription being made by a Client."
  test('[MQTT-3.3.1-5][MQTT-3.3.1-6][MQTT-3.3.1-8] the last retained message per topic reaches new subscribers with RETAIN 1', async (t) => {
    const h = await setup(t);
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('ret/a', 'a1', { qos: 1, retain: true });
    await pub.publishAsync('ret/a', 'a2', { qos: 1, retain: true });
    await pub.publishAsync('ret/b', 'b1', { qos: 2, retain: true });
    await pub.publishAsync('other/c', 'c1', { qos: 1, retain: true });
    const s = await h.mqtt({ clientId: 'late' });
    await s.subscribeAsync('ret/+', { qos: 2 });
    const got = await s.inbox.next(2);
    got.sort((x, y) => x.topic.localeCompare(y.topic));
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload, m.retain, m.qos]),
      [
        ['ret/a', 'a2', true, 1],
        ['ret/b', 'b1', true, 2],
      ],
    );
    await s.inbox.expectNoMore();
  });

  // [MQTT-3.3.1-9] "It MUST set the RETAIN flag to 0 when a PUBLISH Packet is sent to a Client
  // because it matches an established subscription regardless of how the flag was set in the
  // message it received."
  test('[MQTT-3.3.1-9] live deliveries of retained publishes carry RETAIN 0', async (t) => {
    const h = await setup(t);
    const s = await h.mqtt({ clientId: 'early' });
    await s.subscribeAsync('live/t', { qos: 1 });
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('live/t', 'retained but live', { qos: 1, retain: true });
    const [m] = await s.inbox.next(1);
    assert.deepEqual([m?.payload, m?.retain], ['retained but live', false]);
  });

  // [MQTT-3.3.1-10] "A PUBLISH Packet with a RETAIN flag set to 1 and a payload containing zero bytes
  // will be processed as normal by the Server and sent to Clients with a subscription matching the
  // topic name. Additionally any existing retained message with the same topic name MUST be removed
  // and any future subscribers for the topic will not receive a retained message."
  // [MQTT-3.3.1-11] "A zero byte retained message MUST NOT be stored as a retained message on the
  // Server."
  test('[MQTT-3.3.1-10][MQTT-3.3.1-11] an empty retained payload is delivered and clears the retained message', async (t) => {
    const h = await setup(t);
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('clear/t', 'old', { qos: 1, retain: true });
    const s = await h.mqtt({ clientId: 'live' });
    await s.subscribeAsync('clear/t', { qos: 1 });
    await s.inbox.next(1);
    await pub.publishAsync('clear/t', '', { qos: 1, retain: true });
    const [empty] = await s.inbox.next(1);
    assert.deepEqual([empty?.payload, empty?.retain], ['', false], 'processed as normal');
    const late = await h.mqtt({ clientId: 'late' });
    await late.subscribeAsync('clear/#', { qos: 1 });
    await late.inbox.expectNoMore();
  });

  // [MQTT-3.3.1-7] "If the Server receives a QoS 0 message with the RETAIN flag set to 1 it MUST
  // discard any message previously retained for that topic."
  // [MQTT-3.3.1-12] "If the RETAIN flag is 0, in a PUBLISH Packet sent by a Client to a Server, the
  // Server MUST NOT store the message and MUST NOT remove or replace any existing retained message."
  test('[MQTT-3.3.1-7][MQTT-3.3.1-12] a QoS 0 retained publish replaces; a non-retained one does not', async (t) => {
    const h = await setup(t);
    const pub = await h.mqtt({ clientId: 'pub' });
    await pub.publishAsync('q0r/t', 'qos1 retained', { qos: 1, retain: true });
    await pub.publishAsync('q0r/t', 'qos0 retained', { qos: 0, retain: true });
    await pub.publishAsync('q0r/t', 'not retained', { qos: 1, retain: false });
    const s = await h.mqtt({ clientId: 'late' });
    await s.subscribeAsync('q0r/t', { qos: 1 });
    const [m] = await s.inbox.next(1);
    assert.deepEqual([m?.payload, m?.retain], ['qos0 retained', true]);
    await s.inbox.expectNoMore();
  });

  // [MQTT-3.1.2.7] "Retained messages do not form part of the Session state in the Server, they MUST
  // NOT be deleted when the Session ends."
  test('[MQTT-3.1.2-7] retained messages outlive the session that published them', async (t) => {
    const h = await setup(t);
    const pub = await h.mqtt({ clientId: 'gone', clean: true });
    await pub.publishAsync('outlive/t', 'still here', { qos: 1, retain: true });
    await pub.endAsync();
    const s = await h.mqtt({ clientId: 'late' });
    await s.subscribeAsync('outlive/t', { qos: 1 });
    const [m] = await s.inbox.next(1);
    assert.deepEqual([m?.payload, m?.retain], ['still here', true]);
  });
});
