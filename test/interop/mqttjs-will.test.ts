/**
 * Will messages with MQTT.js (MQTT 3.1.1 section 3.1.2.5): published when the network connection
 * ends without DISCONNECT, never after DISCONNECT, with the will's QoS and retain flag.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientGone } from '../helpers/broker.js';
import { setup, type Harness } from '../helpers/harness.js';
import { hex } from '../helpers/packets.js';
import type { TestClient } from '../helpers/mqttjs.js';

async function watcher(h: Harness, filter = 'will/#'): Promise<TestClient> {
  const w = await h.mqtt({ clientId: 'watcher' });
  await w.subscribeAsync(filter, { qos: 2 });
  return w;
}

const will = (topic: string, qos: 0 | 1 | 2 = 1, retain = false) => ({ will: { topic, payload: Buffer.from(`${topic} gone`), qos, retain } });

describe('will messages', { concurrency: true }, () => {
  // [MQTT-3.1.2-8] "If the Will Flag is set to 1 this indicates that, if the Connect request is
  // accepted, a Will Message MUST be stored on the Server and associated with the Network
  // Connection. The Will Message MUST be published when the Network Connection is subsequently
  // closed unless the Will Message has been deleted by the Server on receipt of a DISCONNECT Packet"
  test('[MQTT-3.1.2-8] published when the socket closes without DISCONNECT', async (t) => {
    const h = await setup(t);
    const w = await watcher(h);
    const c = await h.mqtt({ clientId: 'abrupt', ...will('will/abrupt') });
    c.kill();
    const [m] = await w.inbox.next(1);
    assert.deepEqual([m?.topic, m?.payload, m?.qos, m?.retain], ['will/abrupt', 'will/abrupt gone', 1, false]);
  });

  test('[MQTT-3.1.2-8][MQTT-4.8.0-1] published when the server closes the connection for a protocol violation', async (t) => {
    const h = await setup(t);
    const w = await watcher(h);
    const c = await h.mqtt({ clientId: 'violator', ...will('will/violation') });
    // A PUBLISH with QoS 3 [MQTT-3.3.1-4], written under MQTT.js's feet.
    c.stream.write(hex('36 05 00 01 61 00 01'));
    const [m] = await w.inbox.next(1);
    assert.equal(m?.topic, 'will/violation');
  });

  // [MQTT-3.1.4-2] "If the ClientId represents a Client already connected to the Server then the
  // Server MUST disconnect the existing Client." The existing connection is closed without its
  // DISCONNECT, so its will is published [MQTT-3.1.2-8].
  test('[MQTT-3.1.4-2][MQTT-3.1.2-8] published when a new connection with the same client id takes over', async (t) => {
    const h = await setup(t);
    const w = await watcher(h);
    await h.mqtt({ clientId: 'twin', ...will('will/takeover') });
    await h.mqtt({ clientId: 'twin' });
    const [m] = await w.inbox.next(1);
    assert.equal(m?.topic, 'will/takeover');
  });

  // [MQTT-3.1.2-10] "The Will Message MUST be removed from the stored Session state in the Server once
  // it has been published or the Server has received a DISCONNECT packet from the Client."
  // [MQTT-3.14.4-3] "On receipt of DISCONNECT the Server MUST discard any Will Message associated with
  // the current connection without publishing it".
  test('[MQTT-3.1.2-10][MQTT-3.14.4-3] not published after DISCONNECT', async (t) => {
    const h = await setup(t);
    const w = await watcher(h);
    const c = await h.mqtt({ clientId: 'polite', ...will('will/polite') });
    await c.endAsync();
    await clientGone(h.broker, 'polite'); // the broker has handled the DISCONNECT and the close
    await w.inbox.expectNoMore();
  });

  // [MQTT-3.1.2-12] "If the Will Flag is set to 0, a Will Message MUST NOT be published when this
  // Network Connection ends."
  test('[MQTT-3.1.2-12] no will flag: nothing published on an abrupt close', async (t) => {
    const h = await setup(t);
    const w = await watcher(h, '#');
    const c = await h.mqtt({ clientId: 'nowill' });
    c.kill();
    await clientGone(h.broker, 'nowill');
    await w.inbox.expectNoMore();
  });

  // [MQTT-3.1.2-16] "If the Will Flag is set to 1 and If Will Retain is set to 0, the Server MUST
  // publish the Will Message as a non-retained message." [MQTT-3.1.2-17] "If the Will Flag is set to
  // 1 and If Will Retain is set to 1, the Server MUST publish the Will Message as a retained message."
  for (const qos of [0, 1, 2] as const) {
    test(`[MQTT-3.1.2-16][MQTT-3.1.2-17] will QoS ${qos} and retain are honoured`, async (t) => {
      const h = await setup(t);
      const w = await watcher(h);
      const kept = await h.mqtt({ clientId: 'kept', ...will('will/kept', qos, true) });
      const plain = await h.mqtt({ clientId: 'plain', ...will('will/plain', qos, false) });
      kept.kill();
      plain.kill();
      const got = await w.inbox.next(2);
      got.sort((a, b) => a.topic.localeCompare(b.topic));
      // A live delivery carries RETAIN 0 either way [MQTT-3.3.1-9]; the QoS is the will's.
      assert.deepEqual(got.map((m) => [m.topic, m.qos]), [['will/kept', qos], ['will/plain', qos]]);
      const late = await h.mqtt({ clientId: 'late' });
      await late.subscribeAsync('will/#', { qos: 2 });
      const [retained] = await late.inbox.next(1);
      assert.deepEqual([retained?.topic, retained?.retain, retained?.qos], ['will/kept', true, qos]);
      await late.inbox.expectNoMore();
    });
  }
});
