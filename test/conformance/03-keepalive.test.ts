/**
 * Keep alive (MQTT 3.1.1 sections 3.1.2.10 and 3.12): idle clients are cut off after one and a half
 * keepalive periods, PINGREQ is answered, and a keepalive timeout publishes the will. These tests
 * wait on real time, so they run concurrently (each has its own broker).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mosquittoDiffers } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { pingreq, pingresp } from '../helpers/packets.js';
import { elapse } from '../helpers/wait.js';

// Mosquitto 2.0.11 checks keepalives only every few seconds (measured: a keepalive of 1 s closes
// after about 5.6 s), so the timing tests are skipped for it.
const coarseKeepalive = mosquittoDiffers('checks keepalive only every ~5 s (1 s keepalive closed after ~5.6 s)');

describe('keep alive', { concurrency: true }, () => {
  // [MQTT-3.1.2-24] "If the Keep Alive value is non-zero and the Server does not receive a Control
  // Packet from the Client within one and a half times the Keep Alive time period, it MUST disconnect
  // the Network Connection to the Client as if the network had failed."
  test('[MQTT-3.1.2-24] keepalive 1 s and silence: closed after about 1.5 s, not before 1 s', coarseKeepalive, async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'silent', keepalive: 1 });
    const started = Date.now();
    assert.equal(await c.closesWithin(900), false, 'closed before the keepalive period elapsed');
    await c.expectClose(2600);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1000 && elapsed <= 3000, `closed after ${elapsed} ms`);
  });

  // [MQTT-3.12.4-1] "The Server MUST send a PINGRESP Packet in response to a PINGREQ packet."
  test('[MQTT-3.12.4-1][MQTT-3.1.2-24] PINGREQ is answered with PINGRESP and keeps the connection alive', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'pinger', keepalive: 1 });
    for (let i = 0; i < 5; i++) {
      await elapse(500, 'half the 1 s keepalive passes between pings');
      c.send(pingreq());
      await c.expect(pingresp(), 1000);
    }
    // 2.5 s with keepalive 1 s: only the pings kept it open.
    assert.equal(c.isClosed, false);
  });

  // [MQTT-3.1.2-8] "... The Will Message MUST be published when the Network Connection is
  // subsequently closed unless the Will Message has been deleted by the Server on receipt of a
  // DISCONNECT Packet". A keepalive timeout closes the connection "as if the network had failed".
  test('[MQTT-3.1.2-24][MQTT-3.1.2-8] a keepalive timeout publishes the will', coarseKeepalive, async (t) => {
    const h = await setup(t);
    const sub = await h.mqtt({ clientId: 'will-watcher' });
    await sub.subscribeAsync('ka/will', { qos: 1 });
    const c = await h.rawConnect({ clientId: 'dying', keepalive: 1, will: { topic: 'ka/will', payload: 'timed out', qos: 1 } });
    await c.expectClose(3000);
    const [m] = await sub.inbox.next(1, 2000);
    assert.equal(m?.payload, 'timed out');
    assert.equal(m?.topic, 'ka/will');
  });

  // Keep Alive 0 turns the mechanism off (section 3.1.2.10): the Server does not disconnect the
  // silent client for inactivity.
  test('keepalive 0: a silent client is not disconnected', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'forever', keepalive: 0 });
    await c.expectSilence(2500); // time is the behaviour: past 1.5 times any keepalive, still open
    c.send(pingreq());
    await c.expect(pingresp());
  });
});
