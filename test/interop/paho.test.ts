/**
 * Interop with Eclipse Paho (Python, Debian's python3-paho-mqtt 1.6 under /usr/bin/python3):
 * QoS 2 exactly once in both directions, and a persistent session receiving what was queued.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.js';
import { setup } from '../helpers/harness.js';
import { SYSTEM_PYTHON, type ProcessResult, type Spawned } from '../helpers/processes.js';

/**
 * argv: mode port client_id topic count. Prints READY once subscribed, one "MSG topic qos retain
 * payload" line per message, SESSION <flag> on connect; exits 0.7 s after `count` messages (to catch
 * duplicates) or after 5 s.
 */
const SCRIPT = `
import sys, time
import paho.mqtt.client as mqtt
mode, port, client_id, topic, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
got = []
def out(line):
    print(line, flush=True)
def on_connect(c, userdata, flags, rc):
    out("SESSION %d RC %d" % (flags.get("session present", 0), rc))
    if mode in ("sub", "persist-subscribe"):
        c.subscribe(topic, qos=2)
subscribed = []
def on_subscribe(c, userdata, mid, granted):
    subscribed.append(mid)
    out("READY %s" % (granted,))
unsubscribed = []
def on_unsubscribe(c, userdata, mid):
    unsubscribed.append(mid)
def on_message(c, userdata, msg):
    got.append(msg)
    out("MSG %s %d %d %s" % (msg.topic, msg.qos, int(msg.retain), msg.payload.decode()))
clean = mode in ("sub", "pub")
c = mqtt.Client(client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311)
c.on_connect, c.on_subscribe, c.on_message, c.on_unsubscribe = on_connect, on_subscribe, on_message, on_unsubscribe
c.connect("127.0.0.1", port, keepalive=30)
c.loop_start()
if mode == "pub":
    for i in range(count):
        c.publish(topic, "paho %d" % i, qos=2).wait_for_publish()
    out("PUBLISHED %d" % count)
elif mode == "persist-subscribe":
    deadline = time.time() + 5
    while time.time() < deadline and not subscribed:
        time.sleep(0.01)
else:
    deadline = time.time() + 5
    while time.time() < deadline and len(got) < count:
        time.sleep(0.01)
    # A round trip (UNSUBSCRIBE of a filter never subscribed, answered by UNSUBACK): a copy too
    # many, routed before the last message, would arrive before the answer.
    mid = c.unsubscribe("paho/no-such-filter")[1]
    deadline = time.time() + 5
    while time.time() < deadline and mid not in unsubscribed:
        time.sleep(0.01)
c.disconnect()
c.loop_stop()
`;

function paho(h: Harness, mode: string, clientId: string, topic: string, count: number): Spawned {
  return h.spawn(SYSTEM_PYTHON, ['-c', SCRIPT, mode, String(h.port), clientId, topic, String(count)]);
}

function lines(result: ProcessResult, prefix: string): string[] {
  return result.stdout.split('\n').filter((l) => l.startsWith(prefix));
}

describe('paho-mqtt (Python)', { concurrency: true }, () => {
  // [MQTT-4.3.3-2]: QoS 2 delivered exactly once to the paho subscriber.
  test('[MQTT-4.3.3-1][MQTT-4.3.3-2] QoS 2 from MQTT.js to a paho subscriber: each message exactly once', async (t) => {
    const h = await setup(t);
    const sub = paho(h, 'sub', 'pahosub', 'paho/q2', 5);
    await sub.waitForOutput('READY', 5000);
    const pub = await h.mqtt({ clientId: 'jspub' });
    for (let i = 0; i < 5; i++) await pub.publishAsync('paho/q2', `js ${i}`, { qos: 2 });
    const result = await sub.exit(8000);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result, 'MSG'), [0, 1, 2, 3, 4].map((i) => `MSG paho/q2 2 0 js ${i}`));
  });

  test('[MQTT-4.3.3-2] QoS 2 from a paho publisher to MQTT.js: each message exactly once', async (t) => {
    const h = await setup(t);
    const s = await h.mqtt({ clientId: 'jssub' });
    await s.subscribeAsync('paho/from', { qos: 2 });
    const result = await paho(h, 'pub', 'pahopub', 'paho/from', 5).exit(8000);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result, 'PUBLISHED'), ['PUBLISHED 5']);
    const got = await s.inbox.next(5);
    assert.deepEqual(got.map((m) => [m.payload, m.qos]), [0, 1, 2, 3, 4].map((i) => [`paho ${i}`, 2]));
    await s.inbox.expectNoMore();
  });

  // [MQTT-3.1.2-4], [MQTT-3.1.2-5], [MQTT-3.2.2-2]: clean_session=False resumes the session and
  // receives what was queued while offline.
  test('[MQTT-3.1.2-4][MQTT-3.1.2-5][MQTT-3.2.2-2] paho clean_session=False reconnects and receives the queued messages', async (t) => {
    const h = await setup(t);
    const first = await paho(h, 'persist-subscribe', 'pahodurable', 'paho/durable/#', 0).exit(8000);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(lines(first, 'SESSION'), ['SESSION 0 RC 0']);
    assert.equal(lines(first, 'READY').length, 1, first.stdout);
    const pub = await h.mqtt({ clientId: 'jspub' });
    await pub.publishAsync('paho/durable/a', 'queued 1', { qos: 1 });
    await pub.publishAsync('paho/durable/b', 'queued 2', { qos: 2 });
    await pub.publishAsync('paho/durable/a', 'queued 3', { qos: 1 });
    const again = await paho(h, 'persist-resume', 'pahodurable', 'paho/durable/#', 3).exit(8000);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(lines(again, 'SESSION'), ['SESSION 1 RC 0']);
    // Paho hands a QoS 2 message to the application only at PUBREL, so the order across QoS
    // levels is paho's; the QoS 1 messages of one topic keep their order [MQTT-4.6.0-6].
    assert.deepEqual(lines(again, 'MSG').sort(), ['MSG paho/durable/a 1 0 queued 1', 'MSG paho/durable/a 1 0 queued 3', 'MSG paho/durable/b 2 0 queued 2']);
  });
});
